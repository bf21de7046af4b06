import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from './errors.js';
import { impactOf } from './impact.js';
import { Workspace } from './workspace.js';

const policy = `version: 1
name: Impact test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    status: { field: status, values: { Active: active } }
    attributes:
      department: { field: department, type: string, required: true }
      title: { field: title, type: string }
targets:
  - id: directory
    kind: memory
  - id: apps
    kind: memory
entitlements:
  - id: directory:group/engineering
  - id: apps:role/erp-create
    risk: high
  - id: apps:role/erp-approve
    risk: critical
roles:
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: payments-clerk
    when: identity.department == "Finance"
    grants: [apps:role/erp-create]
  - id: payments-approver
    when: identity.title == "Finance Manager"
    grants: [apps:role/erp-approve]
policies:
  separation_of_duties:
    - id: create-approve
      conflicting: [apps:role/erp-create, apps:role/erp-approve]
      severity: critical
`;
const csv = `id,status,department,title
E1,Active,Engineering,Developer
E2,Active,Research,Scientist
E3,Active,Finance,Controller
`;
// The change under review: research joins engineering.
const widened = policy.replace(
  'when: identity.department == "Engineering"',
  'when: identity.department in ["Engineering", "Research"]',
);

function org(current: string): { dir: string; ws: Workspace } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-impact-'));
  writeFileSync(join(dir, 'tenure.yaml'), current);
  writeFileSync(join(dir, 'base.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), csv);
  const ws = new Workspace(
    { config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: new Date('2026-11-01T00:00:00Z') },
    {},
  );
  return { dir, ws };
}

function git(cwd: string, ...args: string[]): void {
  execFileSync(
    'git',
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.org', '-c', 'commit.gpgsign=false', ...args],
    { cwd, stdio: 'ignore' },
  );
}

describe('impactOf', () => {
  it('measures the change from a base file: who gains what, and nothing blocks it', async () => {
    const { dir, ws } = org(widened);
    const r = await impactOf(ws, { file: join(dir, 'base.yaml') });
    assert.equal(r.base, join(dir, 'base.yaml'));
    assert.equal(r.impact.blocked, false);
    assert.equal(r.impact.summary.identitiesGaining, 1);
    assert.equal(r.impact.summary.grantsAdded, 1);
    assert.deepEqual(
      r.impact.entitlements.map((e) => [e.entitlement, e.gainers, e.losers]),
      [['directory:group/engineering', ['E2'], []]],
    );
    assert.deepEqual(r.diagnostics, []);
    assert.equal(existsSync(join(dir, 'state.db')), false, 'impact reads no store it would have to make');
  });

  it('reads the base from a git ref of the policy file, named REF:PATH', async () => {
    const { dir, ws } = org(policy);
    git(dir, 'init', '--quiet');
    git(dir, 'add', 'tenure.yaml');
    git(dir, 'commit', '--quiet', '-m', 'the policy');
    writeFileSync(join(dir, 'tenure.yaml'), widened);
    const r = await impactOf(ws, { gitRef: 'HEAD' });
    assert.equal(r.base, 'HEAD:tenure.yaml');
    assert.equal(r.impact.summary.grantsAdded, 1);
    await assert.rejects(
      impactOf(ws, { gitRef: 'no-such-branch' }),
      (e: unknown) => e instanceof UserError && /no commit, branch or tag of that name exists/.test(e.message),
    );
  });

  it('reports a change that breaks separation of duties as blocked', async () => {
    const { dir, ws } = org(
      policy.replace('when: identity.title == "Finance Manager"', 'when: identity.title == "Controller"'),
    );
    const r = await impactOf(ws, { file: join(dir, 'base.yaml') });
    assert.equal(r.impact.blocked, true);
    assert.deepEqual(
      r.impact.sodConflicts.map((c) => [c.identity, c.rule]),
      [['E3', 'create-approve']],
    );
  });

  it('refuses a base that is not a valid policy, or cannot be read', async () => {
    const { dir, ws } = org(widened);
    writeFileSync(join(dir, 'broken.yaml'), policy.replace('grants: [apps:role/erp-create]', 'grants: [nope]'));
    await assert.rejects(impactOf(ws, { file: join(dir, 'broken.yaml') }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /^the base policy .*broken\.yaml has 1 error\(s\)$/);
      assert.ok(e.diagnostics.some((d) => d.severity === 'error'));
      return true;
    });
    await assert.rejects(
      impactOf(ws, { file: join(dir, 'missing.yaml') }),
      (e: unknown) => e instanceof UserError && /missing\.yaml cannot be read \(ENOENT\)/.test(e.message),
    );
  });
});
