import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { UserError } from './errors.js';
import { explainAccess } from './why.js';
import { Workspace } from './workspace.js';

const policy = `version: 1
name: Why test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    attributes:
      department: { field: department, type: string, required: true }
  - id: nhi
    format: json
    path: nhi.json
    key: name
    kind: { field: type }
    status: { constant: active }
    owner: owner_id
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/engineering
  - id: directory:group/loaders
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: senior-engineer
    when: identity.department == "Platform"
    inherits: [engineer]
  - id: loaders
    when: identity.kind == "service_account"
    grants: [directory:group/loaders]
`;
const csv = `id,status,department
E1,Active,Engineering
E2,Active,Platform
E3,Active,Sales
E4,Terminated,Engineering
`;
const nhi = JSON.stringify([{ name: 'svc-loader', type: 'service_account', owner_id: 'E4' }]);
const ENG = 'directory:group/engineering';

function org(): { dir: string; at: (day: string) => Workspace } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-why-'));
  writeFileSync(join(dir, 'tenure.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), csv);
  writeFileSync(join(dir, 'nhi.json'), nhi);
  const at = (day: string) =>
    new Workspace(
      { config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: new Date(`${day}T00:00:00Z`) },
      {},
    );
  return { dir, at };
}

describe('explainAccess from the feeds', () => {
  const { dir, at } = org();
  const ws = at('2026-11-01');

  it('gives every role that holds and every grant with its path', async () => {
    const x = await explainAccess(ws, 'E2');
    assert.equal(x.receives, true);
    assert.equal(x.entitlement, undefined);
    assert.deepEqual(
      x.access.matches.map((m) => [m.role, m.inputs]),
      [
        ['senior-engineer', { department: 'Platform' }],
        ['staff', { kind: 'employee' }],
      ],
    );
    assert.deepEqual(x.access.roles, ['engineer', 'senior-engineer', 'staff']);
    const eng = x.grants.find((g) => g.entitlement === ENG);
    assert.deepEqual(eng?.provenance[0]?.chain, ['senior-engineer', 'engineer'], 'inherited through senior-engineer');
    assert.equal(x.grants.length, 2);
    assert.equal(x.notGranted, undefined);
  });

  it('for one entitlement it lacks: each role that could grant it, and why its rule fails', async () => {
    const x = await explainAccess(ws, 'E3', ENG);
    assert.equal(x.entitlement, ENG);
    assert.deepEqual(x.grants, []);
    assert.deepEqual(x.notGranted, [
      {
        role: 'engineer',
        chain: ['engineer'],
        why: 'its rule identity.department == "Engineering" does not hold (department = "Sales")',
      },
      {
        role: 'senior-engineer',
        chain: ['senior-engineer', 'engineer'],
        why: 'its rule identity.department == "Platform" does not hold (department = "Sales")',
      },
    ]);
  });

  it('says a rule holds for an identity that receives nothing from roles', async () => {
    const x = await explainAccess(ws, 'E4', ENG);
    assert.equal(x.receives, false);
    assert.deepEqual(x.access.grants, []);
    assert.equal(x.notGranted?.[0]?.why, 'its rule identity.department == "Engineering" holds, yet E4 is terminated');
  });

  it('refuses an unknown identity with the closest id, and an undeclared entitlement', async () => {
    await assert.rejects(
      explainAccess(ws, 'E33'),
      (e: unknown) =>
        e instanceof UserError && e.message === 'no identity "E33" in the sources' && e.hint === 'did you mean "E3"?',
    );
    await assert.rejects(
      explainAccess(ws, 'X9999'),
      (e: unknown) =>
        e instanceof UserError &&
        /Tenure has never imported X9999, so an account linked to it is not managed: .*drift\.unknown_link/.test(
          e.hint ?? '',
        ),
      'without a store nothing was imported',
    );
    await assert.rejects(explainAccess(ws, 'E1', 'directory:group/engineers'), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, '"directory:group/engineers" is not a declared entitlement');
      return true;
    });
  });

  it('reads no store when there is none, and makes none', async () => {
    const x = await explainAccess(ws, 'svc-loader');
    assert.deepEqual(x.tampered, []);
    assert.equal(x.suspended, undefined);
    assert.equal(existsSync(join(dir, 'state.db')), false);
  });
});

describe('explainAccess with governed state in the store', () => {
  const { dir, at } = org();
  let exception = 0;

  before(async () => {
    const ws = at('2026-10-01');
    await ws.withStore('write', (store) =>
      store.write(async (w) => {
        const audit = ws.auditContext('test fixture');
        exception = await w.addException(
          {
            identity: 'E3',
            entitlement: ENG,
            reason: 'on-call cover',
            approver: 'E1',
            grantedBy: 'E1',
            from: new Date('2026-10-01T00:00:00Z'),
            until: new Date('2026-12-01T00:00:00Z'),
          },
          audit,
        );
        await w.addDenials(
          [
            {
              identity: 'E1',
              entitlement: ENG,
              origin: 'review 1, item 1',
              reason: 'no longer on the team',
              decidedBy: 'E2',
              at: new Date('2026-10-15T00:00:00Z'),
              roles: ['engineer'],
            },
          ],
          audit,
        );
        // L1 came in through a source since dropped, then left it: a leaver, not an unknown id.
        const seq = await w.beginImport(
          'legacy',
          new Date('2026-09-01T00:00:00Z'),
          new Date('2026-09-01T00:00:00Z'),
          1,
        );
        const l1 = { id: 'L1', kind: 'employee' as const, status: 'active' as const, attributes: {}, source: 'legacy' };
        await w.replaceSnapshot('legacy', [l1], seq, new Date('2026-09-01T00:00:00Z'));
        await w.replaceSnapshot('legacy', [], seq, new Date('2026-09-02T00:00:00Z'));
        await w.addCustody(
          {
            nhi: 'svc-loader',
            previousOwner: 'E4',
            proposedOwner: 'E2',
            since: new Date('2026-10-01T00:00:00Z'),
            deadline: new Date('2026-10-08T00:00:00Z'),
          },
          audit,
        );
      }),
    );
  });

  it('explains a grant that comes from an exception', async () => {
    const x = await explainAccess(at('2026-11-01'), 'E3', ENG);
    assert.equal(x.grants.length, 1);
    assert.equal(x.grants[0]!.provenance[0]!.exception?.id, exception);
    assert.equal(x.grants[0]!.provenance[0]!.exception?.reason, 'on-call cover');
    assert.equal(x.notGranted, undefined);
  });

  it('names the review decision that holds back what the roles grant', async () => {
    const x = await explainAccess(at('2026-11-01'), 'E1', ENG);
    assert.deepEqual(x.grants, []);
    assert.equal(x.denied.length, 1);
    assert.equal(x.denied[0]!.denial.reason, 'no longer on the team');
    assert.deepEqual(x.denied[0]!.provenance[0]!.chain, ['engineer']);
    assert.equal(x.notGranted, undefined, 'denied is not the same as not granted');
  });

  it('marks a non-human identity suspended once its custody deadline passed unconfirmed', async () => {
    assert.equal((await explainAccess(at('2026-10-05'), 'svc-loader')).suspended, undefined, 'before the deadline');
    const x = await explainAccess(at('2026-11-01'), 'svc-loader');
    assert.equal(x.suspended?.previousOwner, 'E4');
    assert.equal(x.suspended?.deadline.toISOString(), '2026-10-08T00:00:00.000Z');
  });

  it('tells an id Tenure imported once (a leaver) from one it never imported', async () => {
    const hint = async (id: string) => {
      try {
        await explainAccess(at('2026-11-01'), id);
      } catch (e) {
        return e instanceof UserError ? e.hint : undefined;
      }
      return undefined;
    };
    assert.match((await hint('L1')) ?? '', /^L1 was imported and has left every source: plans remove the memberships/);
    assert.match((await hint('X9999')) ?? '', /Tenure has never imported X9999/);
  });

  // Last: it edits the store behind Tenure's back.
  it('names an exception edited in the database, and does not honour it', async () => {
    const db = new BetterSqlite3(join(dir, 'state.db'));
    db.exec(`update exceptions set valid_until = '2029-12-31T00:00:00.000Z' where id = ${exception}`);
    db.close();
    const x = await explainAccess(at('2026-11-01'), 'E3', ENG);
    assert.deepEqual(x.grants, []);
    assert.deepEqual(
      x.tampered.map((d) => [d.code, d.subject]),
      [['audit.tampered_row', `exceptions:${exception}`]],
    );
  });
});
