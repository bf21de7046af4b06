import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from './errors.js';
import { openStore } from '../store/open-store.js';
import { validatePolicy, validateWithStore } from './validate.js';
import { Workspace } from './workspace.js';

const policy = `version: 1
name: Validate test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/engineering
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: senior-engineer
    inherits: [engineer]
`;
const csv = `employee_id,status,department
E1,Active,Engineering
E2,Active,Sales
`;

function workspace(files: Record<string, string>): { ws: Workspace; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-validate-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const ws = new Workspace(
    { config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: new Date('2026-11-01T00:00:00Z') },
    {},
  );
  return { ws, dir };
}

describe('validatePolicy', () => {
  it('counts what a valid policy declares and what each feed holds, without touching the store', () => {
    const { ws, dir } = workspace({ 'tenure.yaml': policy, 'hr.csv': csv });
    const v = validatePolicy(ws);
    assert.equal(v.ok, true);
    assert.deepEqual(v.diagnostics, []);
    assert.deepEqual(v.policy, { roles: 3, entitlements: 2, targets: 1, sources: 1, rules: 2 });
    assert.deepEqual(v.sources, [{ id: 'hr', rows: 2, identities: 2, skipped: 0 }]);
    assert.equal(existsSync(join(dir, 'state.db')), false, 'validate reads no store, so makes none');
  });

  it('reports a connection key the target kind does not read, with the closest one', () => {
    const typo = policy.replace('kind: memory', 'kind: memory\n    connection: { snapshots: actual.json }');
    const v = validatePolicy(workspace({ 'tenure.yaml': typo, 'hr.csv': csv }).ws);
    assert.equal(v.ok, false);
    const d = v.diagnostics.find((x) => x.code === 'policy.unknown_connection_key');
    assert.equal(d?.subject, 'directory');
    assert.equal(d?.hint, 'did you mean "snapshot"?');
    assert.ok(v.policy, 'the policy itself loaded');
  });

  it('gives every row problem as a diagnostic, or skips the rows when asked', () => {
    const bad = `${csv}E3,Active,\n`;
    const strict = validatePolicy(workspace({ 'tenure.yaml': policy, 'hr.csv': bad }).ws);
    assert.equal(strict.ok, false);
    assert.ok(strict.diagnostics.some((d) => d.severity === 'error'));

    const lenient = validatePolicy(workspace({ 'tenure.yaml': policy, 'hr.csv': bad }).ws, { skipInvalid: true });
    assert.deepEqual(lenient.sources, [{ id: 'hr', rows: 3, identities: 2, skipped: 1 }]);
    assert.equal(lenient.ok, true);
  });

  it('returns the diagnostics of a policy that does not load, with no summary', () => {
    const v = validatePolicy(
      workspace({ 'tenure.yaml': policy.replace('grants: [directory:group/staff]', 'grants: [nope]') }).ws,
    );
    assert.equal(v.ok, false);
    assert.equal(v.policy, undefined);
    assert.deepEqual(v.sources, []);
    assert.ok(v.diagnostics.some((d) => d.severity === 'error' && d.message.includes('nope')));
  });

  it('says where it looked for a policy file that is not there', () => {
    const { ws } = workspace({});
    assert.throws(
      () => validatePolicy(ws),
      (e: unknown) => e instanceof UserError && e.exitCode === 1 && /^policy file not found: /.test(e.message),
    );
  });

  it('warns about groups granted on a SCIM target whose last check found no Groups, naming when', async () => {
    const scim = policy
      .replace(
        'targets:\n',
        'targets:\n  - id: crm\n    kind: scim\n    connection: { url: "http://127.0.0.1:9/scim/v2", token: { env: CRM_TOKEN } }\n',
      )
      .replace('entitlements:\n', 'entitlements:\n  - id: crm:group/sales\n  - id: crm:group/unused\n')
      .replace('grants: [directory:group/staff]', 'grants: [directory:group/staff, crm:group/sales]');
    const { ws, dir } = workspace({ 'tenure.yaml': scim, 'hr.csv': csv });
    assert.deepEqual((await validateWithStore(ws)).diagnostics, [], 'no store: nothing known about the target');
    const store = await openStore(join(dir, 'state.db'));
    const record = (groups: boolean) =>
      store.write((w) =>
        w.recordDiscovery({
          target: 'crm',
          kind: 'scim',
          checkedAt: new Date('2026-12-03T09:41:00Z'),
          features: { groups, filter: true, patch: false },
        }),
      );
    await record(false);
    const v = await validateWithStore(ws);
    assert.equal(v.ok, true, 'a warning');
    assert.deepEqual(
      v.diagnostics.map((d) => [d.severity, d.code, d.subject, d.position?.line, d.message]),
      [
        [
          'warning',
          'target.no_groups',
          'crm:group/sales',
          19,
          'target "crm" has no Groups (tenure targets check found none on 2026-12-03 09:41 UTC), but the policy grants crm:group/sales (role staff)',
        ],
      ],
    );
    await record(true);
    assert.deepEqual((await validateWithStore(ws)).diagnostics, []);
    await store.close();
  });
});
