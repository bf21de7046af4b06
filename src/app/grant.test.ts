import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, UserError } from './errors.js';
import { grantException, listExceptions, revokeException } from './grant.js';
import { importSources } from './import.js';
import { Workspace } from './workspace.js';

// Exceptions through the application layer: what each use case returns, and what it leaves in
// the store and the audit log.
const policy = `version: 1
name: Grant app test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/finance
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
`;
const hr = `id,status,department
E001,Active,Engineering
E002,Active,Engineering
M001,Active,Finance
T001,Terminated,Finance
`;
const day = (text: string) => new Date(`${text}T00:00:00Z`);

/** A fresh organisation, imported on 2026-11-01; `at` gives a workspace for a day. */
async function organisation(): Promise<(when: string) => Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-app-grant-'));
  writeFileSync(join(dir, 'tenure.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), hr);
  const at = (when: string) =>
    new Workspace({ config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: day(when), as: 'operator' });
  await importSources(at('2026-11-01'), {});
  return at;
}

function auditOf(ws: Workspace) {
  return ws.withStore('read', (store) => store.auditRecords());
}

function userError(code: number, message: RegExp, hint?: RegExp) {
  return (e: unknown) =>
    e instanceof UserError &&
    e.exitCode === code &&
    message.test(e.message) &&
    (hint === undefined || hint.test(e.hint ?? ''));
}

const request = {
  identity: 'E001',
  entitlement: 'directory:group/finance',
  until: day('2026-11-15'),
  reason: ' quarter-end close ',
  approver: 'M001',
};

describe('grantException', () => {
  it('records the exception and its audit record, and returns what it granted', async () => {
    const at = await organisation();
    const ws = at('2026-11-01');
    const granted = await grantException(ws, request);
    assert.deepEqual(granted, {
      id: 1,
      identity: 'E001',
      entitlement: 'directory:group/finance',
      approver: 'M001',
      until: day('2026-11-15'),
    });
    const [stored] = await ws.withStore('read', (s) => s.exceptions('E001'));
    assert.deepEqual(
      [stored?.reason, stored?.approver, stored?.grantedBy, stored?.from, stored?.until],
      ['quarter-end close', 'M001', 'operator', day('2026-11-01'), day('2026-11-15')],
    );
    const record = (await auditOf(ws)).at(-1)!;
    assert.deepEqual(
      [
        record.action,
        record.subject,
        record.actor,
        record.reason,
        record.details.exception,
        record.details.actorSource,
      ],
      ['exception.granted', 'E001', 'operator', 'quarter-end close', 1, 'flag'],
    );
  });

  const refusals: [string, Partial<typeof request>, number, RegExp, RegExp?][] = [
    ['an unknown holder', { identity: 'E01' }, EXIT.invalid, /^no identity "E01" in the state store$/, /E001|E002/],
    ['an unknown approver', { approver: 'M01' }, EXIT.invalid, /^approver "M01" is not a known identity$/, /M001/],
    ['a self-approval', { approver: 'E001' }, EXIT.invalid, /nobody approves their own exception/],
    ['an approver who left', { approver: 'T001' }, EXIT.invalid, /^approver T001 is terminated, not active$/],
    [
      'an end not in the future',
      { until: day('2026-11-01') },
      EXIT.invalid,
      /^--until 2026-11-01 is not in the future$/,
    ],
    [
      'an end past the policy maximum',
      { until: day('2027-03-01') },
      EXIT.invalid,
      /^--until 2027-03-01 is more than 90 days away \(policy exceptions\.max_days\)$/,
      /the latest end allowed today is 2027-01-30/,
    ],
    ['a blank reason', { reason: '  ' }, EXIT.usage, /an exception needs a reason/],
    [
      'an undeclared entitlement',
      { entitlement: 'directory:group/financ' },
      EXIT.invalid,
      /is not a declared entitlement/,
      /did you mean "directory:group\/finance"\?/,
    ],
  ];
  for (const [name, change, code, message, hint] of refusals) {
    it(`refuses ${name} and records nothing`, async () => {
      const at = await organisation();
      const ws = at('2026-11-01');
      const before = (await auditOf(ws)).length;
      await assert.rejects(grantException(ws, { ...request, ...change }), userError(code, message, hint));
      assert.deepEqual(await ws.withStore('read', (s) => s.exceptions()), []);
      assert.equal((await auditOf(ws)).length, before);
    });
  }
});

describe('listExceptions', () => {
  it('lists those in force at its time, or all of them, with whether each is active', async () => {
    const at = await organisation();
    await grantException(at('2026-11-01'), request);
    await grantException(at('2026-11-01'), { ...request, identity: 'E002', until: day('2026-11-20') });
    const during = await listExceptions(at('2026-11-16'));
    assert.deepEqual(
      during.map((e) => [e.id, e.identity, e.active]),
      [[2, 'E002', true]],
    );
    const all = await listExceptions(at('2026-11-16'), { all: true });
    assert.deepEqual(
      all.map((e) => [e.id, e.active]),
      [
        [1, false],
        [2, true],
      ],
    );
    const one = await listExceptions(at('2026-11-02'), { identity: 'E001' });
    assert.deepEqual(
      one.map((e) => [e.id, e.identity, e.active]),
      [[1, 'E001', true]],
    );
  });
});

describe('revokeException', () => {
  it('ends an exception in force, with its audit record, once', async () => {
    const at = await organisation();
    await grantException(at('2026-11-01'), request);
    const ws = at('2026-11-03');
    const revoked = await revokeException(ws, { id: 1, reason: ' no longer needed ' });
    assert.deepEqual([revoked.id, revoked.identity, revoked.entitlement], [1, 'E001', 'directory:group/finance']);
    const [stored] = await ws.withStore('read', (s) => s.exceptions());
    assert.deepEqual(
      [stored?.revokedAt, stored?.revokedBy, stored?.revokeReason],
      [day('2026-11-03'), 'operator', 'no longer needed'],
    );
    const record = (await auditOf(ws)).at(-1)!;
    assert.deepEqual(
      [record.action, record.subject, record.reason, record.details.exception],
      ['exception.revoked', 'E001', 'no longer needed', 1],
    );
    assert.deepEqual(await listExceptions(at('2026-11-04')), []);

    const count = (await auditOf(ws)).length;
    await assert.rejects(
      revokeException(at('2026-11-04'), { id: 1, reason: 'twice' }),
      userError(EXIT.invalid, /^exception #1 is not in force/),
    );
    await assert.rejects(
      revokeException(at('2026-11-04'), { id: 7, reason: 'x' }),
      userError(EXIT.invalid, /^no exception #7$/),
    );
    await assert.rejects(revokeException(at('2026-11-04'), { id: 1, reason: ' ' }), userError(EXIT.usage, /say why/));
    assert.equal((await auditOf(ws)).length, count, 'refusals record nothing');
    const [after] = await ws.withStore('read', (s) => s.exceptions());
    assert.equal(after?.revokeReason, 'no longer needed', 'the first revocation stands');
  });
});
