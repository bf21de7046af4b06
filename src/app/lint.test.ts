import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FINDING_SEVERITIES } from '../model/finding.js';
import { lintNow } from './lint.js';
import { Workspace } from './workspace.js';

const policy = `version: 1
name: Lint test
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
  - id: apps
    kind: memory
entitlements:
  - id: apps:role/erp-create
    risk: high
  - id: apps:role/erp-approve
    risk: critical
roles:
  - id: payments-clerk
    when: identity.department == "Finance"
    grants: [apps:role/erp-create]
    business_owner: M1
    technical_owner: M1
  - id: payments-approver
    when: identity.title == "Finance Manager"
    grants: [apps:role/erp-approve]
    business_owner: M1
    technical_owner: M1
policies:
  separation_of_duties:
    - id: create-approve
      conflicting: [apps:role/erp-create, apps:role/erp-approve]
      severity: critical
`;
const clerks = `id,status,department,title
M1,Active,Operations,Finance Manager
E1,Active,Finance,Accountant
`;

function org(csv: string): { dir: string; ws: Workspace } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-lint-'));
  writeFileSync(join(dir, 'tenure.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), csv);
  const ws = new Workspace(
    { config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: new Date('2026-11-01T00:00:00Z') },
    {},
  );
  return { dir, ws };
}

describe('lintNow', () => {
  it('finds a separation-of-duties conflict and fails on it at or above the threshold', async () => {
    const { dir, ws } = org(`${clerks}E2,Active,Finance,Finance Manager\n`);
    const r = await lintNow(ws, { failOn: 'high' });
    assert.equal(r.policy, 'Lint test');
    assert.equal(r.asOf.toISOString(), '2026-11-01T00:00:00.000Z');
    const conflict = r.findings.find((f) => f.code === 'sod.identity_conflict');
    assert.equal(conflict?.subject, 'identity:E2');
    assert.equal(conflict?.severity, 'critical');
    assert.equal(r.failOn, 'high');
    assert.equal(r.failing, r.findings.filter((f) => f.severity === 'high' || f.severity === 'critical').length);
    assert.ok(r.failing >= 1);
    assert.equal(r.ok, false);
    assert.equal(existsSync(join(dir, 'state.db')), false, 'lint reads no store it would have to make');
  });

  it('counts every finding once by severity', async () => {
    const r = await lintNow(org(`${clerks}E2,Active,Finance,Finance Manager\n`).ws);
    assert.deepEqual(Object.keys(r.counts), [...FINDING_SEVERITIES]);
    for (const s of FINDING_SEVERITIES) assert.equal(r.counts[s], r.findings.filter((f) => f.severity === s).length, s);
  });

  it('passes without a threshold, whatever it finds', async () => {
    const r = await lintNow(org(`${clerks}E2,Active,Finance,Finance Manager\n`).ws);
    assert.ok(r.findings.length > 0);
    assert.equal(r.failOn, undefined);
    assert.equal(r.failing, 0);
    assert.equal(r.ok, true);
  });

  it('passes at a threshold nothing reaches', async () => {
    const r = await lintNow(org(clerks).ws, { failOn: 'critical' });
    assert.deepEqual(
      r.findings.filter((f) => f.severity === 'critical'),
      [],
    );
    assert.equal(r.failing, 0);
    assert.equal(r.ok, true);
  });

  it('carries the policy’s warnings, then the sources’, beside the findings', async () => {
    const { dir, ws } = org('id,status,department,title\n');
    writeFileSync(
      join(dir, 'tenure.yaml'),
      policy.replace('kind: memory', 'kind: memory\n    connection: { password: hunter2 }'),
    );
    const r = await lintNow(ws);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.code]),
      [
        ['warning', 'policy.inline_secret'],
        ['warning', 'source.no_records'],
      ],
    );
  });
});
