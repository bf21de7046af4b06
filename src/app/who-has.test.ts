import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { UserError } from './errors.js';
import { whoHas } from './who-has.js';
import { Workspace } from './workspace.js';

const policy = `version: 1
name: Who-has test
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
  - id: directory:group/engineering
    risk: medium
    description: source code
  - id: directory:group/finance
roles:
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
`;
const csv = `id,status,department
E2,Active,Engineering
E1,Active,Engineering
E3,Active,Sales
E4,Terminated,Engineering
`;
const ENG = 'directory:group/engineering';

function org(): { dir: string; ws: Workspace } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-who-has-'));
  writeFileSync(join(dir, 'tenure.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), csv);
  const ws = new Workspace(
    { config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: new Date('2026-11-01T00:00:00Z') },
    {},
  );
  return { dir, ws };
}

describe('whoHas', () => {
  it('gives the declared entitlement and each identity that should hold it, by id, with the rule and values', async () => {
    const { dir, ws } = org();
    const r = await whoHas(ws, ENG);
    assert.equal(r.entitlement.id, ENG);
    assert.equal(r.entitlement.risk, 'medium');
    assert.equal(r.entitlement.description, 'source code');
    assert.deepEqual(
      r.holders.map((h) => h.identity),
      ['E1', 'E2'],
      'a terminated identity holds nothing',
    );
    assert.deepEqual(r.holders[0]!.provenance, [
      {
        role: 'engineer',
        chain: ['engineer'],
        rule: 'identity.department == "Engineering"',
        inputs: { department: 'Engineering' },
      },
    ]);
    assert.equal(existsSync(join(dir, 'state.db')), false, 'who-has reads no store it would have to make');
  });

  it('counts an exception recorded in the store as a path', async () => {
    const { ws } = org();
    const id = await ws.withStore('write', (store) =>
      store.write((w) =>
        w.addException(
          {
            identity: 'E3',
            entitlement: ENG,
            reason: 'pairing week',
            approver: 'E1',
            grantedBy: 'E1',
            from: new Date('2026-10-01T00:00:00Z'),
            until: new Date('2026-12-01T00:00:00Z'),
          },
          ws.auditContext('test fixture'),
        ),
      ),
    );
    const r = await whoHas(ws, ENG);
    assert.deepEqual(
      r.holders.map((h) => h.identity),
      ['E1', 'E2', 'E3'],
    );
    assert.equal(r.holders[2]!.provenance[0]!.exception?.id, id);
  });

  it('leaves out an exception edited in the database, and says so', async () => {
    const { dir, ws } = org();
    const id = await ws.withStore('write', (store) =>
      store.write((w) =>
        w.addException(
          {
            identity: 'E3',
            entitlement: ENG,
            reason: 'pairing week',
            approver: 'E1',
            grantedBy: 'E1',
            from: new Date('2026-10-01T00:00:00Z'),
            until: new Date('2026-10-15T00:00:00Z'),
          },
          ws.auditContext('test fixture'),
        ),
      ),
    );
    const db = new BetterSqlite3(join(dir, 'state.db'));
    db.exec(`update exceptions set valid_until = '2029-12-31T00:00:00.000Z' where id = ${id}`);
    db.close();
    const r = await whoHas(ws, ENG);
    assert.deepEqual(
      r.holders.map((h) => h.identity),
      ['E1', 'E2'],
      'the extended exception grants nothing',
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.subject]),
      [['audit.tampered_row', `exceptions:${id}`]],
    );
  });

  it('gives an empty list for a declared entitlement nobody should hold', async () => {
    const r = await whoHas(org().ws, 'directory:group/finance');
    assert.deepEqual(r.holders, []);
    assert.equal(r.entitlement.risk, 'low');
  });

  it('refuses an undeclared entitlement before reading the sources', async () => {
    const { dir, ws } = org();
    rmSync(join(dir, 'hr.csv'));
    await assert.rejects(whoHas(ws, 'directory:group/engineers'), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, '"directory:group/engineers" is not a declared entitlement');
      assert.equal(e.hint, `did you mean "${ENG}"?`);
      return true;
    });
  });
});
