import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { headText } from '../audit/audit-chain.js';
import { auditKeyFrom } from '../audit/audit-key.js';
import { folder } from '../../test/cli-harness.js';
import { hr, people, policy } from '../../test/org-fixture.js';
import { exportAudit, verifyAudit } from './audit.js';
import { UserError } from './errors.js';
import { importSources } from './import.js';
import { Workspace } from './workspace.js';

// The audit use cases on a store of their own: what verify finds, and what export hands a SIEM.
function world(rows = [...people(3), 'M001,Employee,Active,Finance,Controller,2020-01-01,']) {
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr(rows) });
  const state = join(dir, 'state.db');
  const at = (day: string) => new Workspace({ config: join(dir, 'tenure.yaml'), state, asOf: new Date(day) });
  return { dir, state, at, sql: (statement: string) => sqlite(state, statement) };
}

function sqlite(file: string, statement: string): void {
  const db = new BetterSqlite3(file);
  db.exec(statement);
  db.close();
}

/** An import and an exception: audit records, and one governed row that must match its record. */
async function withGrant(w: ReturnType<typeof world>): Promise<void> {
  const ws = w.at('2026-11-01');
  await importSources(ws, {});
  await ws.withStore('write', (store) =>
    store.write((wr) =>
      wr.addException(
        {
          identity: 'E001',
          entitlement: 'directory:group/finance',
          reason: 'quarter-end close',
          approver: 'M001',
          grantedBy: 'M001',
          from: ws.asOf,
          until: new Date('2026-11-15'),
        },
        ws.auditContext('quarter-end close'),
      ),
    ),
  );
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('verifyAudit', () => {
  afterEach(() => {
    delete process.env.TENURE_AUDIT_KEY;
  });

  it('finds an intact log and the governed rows it vouches for, without writing a byte', async () => {
    const w = world();
    await withGrant(w);
    const before = { bytes: sha256(w.state), files: readdirSync(w.dir).sort() };
    const v = await verifyAudit(w.at('2026-11-02'), { key: undefined });
    assert.equal(v.ok, true);
    assert.equal(v.chain.ok, true);
    assert.ok(v.chain.records > 1);
    assert.equal(v.chain.head?.seq, v.chain.records, 'the head is the last record');
    assert.deepEqual(
      [v.governed.checked, v.governed.tampered, v.governed.adopted],
      [1, [], []],
      'the exception is checked',
    );
    assert.equal(v.expectedHead, undefined);
    assert.equal(v.headProblem, undefined);
    // Opened read-only: no -wal or -shm file appears and the database is not touched.
    assert.deepEqual({ bytes: sha256(w.state), files: readdirSync(w.dir).sort() }, before);
  });

  it('names a governed row edited in the database, while the chain itself is whole', async () => {
    const w = world();
    await withGrant(w);
    w.sql(`update exceptions set valid_until = '2029-12-31T00:00:00.000Z', approver = identity where id = 1`);
    const v = await verifyAudit(w.at('2026-11-02'), { key: undefined });
    assert.equal(v.ok, false);
    assert.equal(v.chain.ok, true);
    assert.equal(v.governed.tampered.length, 1);
    const [t] = v.governed.tampered;
    assert.deepEqual([t!.table, t!.id], ['exceptions', 1]);
    assert.match(t!.problem, /its content differs from audit record \d+ \(exception\.granted\)/);
  });

  it('compares the log with a head seen earlier: cut off, rewritten, or grown', async () => {
    const w = world();
    await withGrant(w);
    const seen = (await verifyAudit(w.at('2026-11-02'), { key: undefined })).chain.head!;

    const same = await verifyAudit(w.at('2026-11-02'), { key: undefined, expectedHead: seen });
    assert.equal(same.ok, true);
    assert.deepEqual(same.expectedHead, seen);
    assert.equal(same.headProblem, undefined);
    // The head of an empty log is where every log started.
    const genesis = await verifyAudit(w.at('2026-11-02'), { key: undefined, expectedHead: { seq: 0, hash: '' } });
    assert.equal(genesis.headProblem, undefined);

    const rewritten = await verifyAudit(w.at('2026-11-02'), {
      key: undefined,
      expectedHead: { seq: seen.seq, hash: 'f'.repeat(64) },
    });
    assert.equal(rewritten.ok, false);
    assert.match(rewritten.headProblem!, new RegExp(`DIFFERS from the expected head: record ${seen.seq} has hash`));

    w.sql(`delete from audit_log where seq = ${seen.seq}`);
    const cut = await verifyAudit(w.at('2026-11-02'), { key: undefined, expectedHead: seen });
    assert.equal(cut.ok, false);
    assert.equal(
      cut.headProblem,
      `the audit log ENDS EARLY: expected head ${headText(seen)}, found ${headText(cut.chain.head)} (1 record(s) removed from the end?)`,
    );
  });

  it('checks a keyed chain only with its key', async () => {
    process.env.TENURE_AUDIT_KEY = 'an audit key only the operators hold';
    const w = world();
    await withGrant(w);
    const key = auditKeyFrom(process.env.TENURE_AUDIT_KEY);
    delete process.env.TENURE_AUDIT_KEY;
    const keyed = await verifyAudit(w.at('2026-11-02'), { key });
    assert.equal(keyed.ok, true);
    assert.deepEqual(keyed.chain.keyed, { from: 1, keyId: key!.id, checked: true });

    const without = await verifyAudit(w.at('2026-11-02'), { key: undefined });
    assert.equal(without.ok, false, 'keyed records that cannot be checked are not verified');
    assert.equal(without.chain.keyed?.checked, false);
    assert.equal(without.chain.firstBad, undefined, 'their sequence and links are whole');

    const other = await verifyAudit(w.at('2026-11-02'), { key: auditKeyFrom('another key') });
    assert.equal(other.ok, false);
    assert.match(other.chain.firstBad!.problem, /not with the TENURE_AUDIT_KEY given/);
  });

  it('says where it looked when there is no store, and creates none', async () => {
    const w = world();
    await assert.rejects(verifyAudit(w.at('2026-11-02'), { key: undefined }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.exitCode, 1);
      assert.equal(e.message, `no state store at ${w.state}`);
      return true;
    });
    assert.equal(existsSync(w.state), false);
  });
});

describe('exportAudit', () => {
  it('gives every record oldest first with the head, or those since a date with the whole log’s head', async () => {
    const w = world(people(3));
    await importSources(w.at('2026-11-01'), {});
    const before = { bytes: sha256(w.state), files: readdirSync(w.dir).sort() };
    const first = await exportAudit(w.at('2026-11-02'));
    assert.ok(first.records.length > 0);
    assert.deepEqual(
      first.records.map((r) => r.seq),
      first.records.map((_, i) => i + 1),
    );
    assert.deepEqual(first.head, { seq: first.records.at(-1)!.seq, hash: first.records.at(-1)!.hash });
    assert.deepEqual({ bytes: sha256(w.state), files: readdirSync(w.dir).sort() }, before, 'nothing written');

    await importSources(w.at('2026-11-10'), {});
    const all = await exportAudit(w.at('2026-11-10'));
    const since = await exportAudit(w.at('2026-11-10'), { since: new Date('2026-11-05') });
    assert.ok(all.records.length > first.records.length, 'the second import wrote records');
    assert.deepEqual(
      since.records.map((r) => r.seq),
      all.records.filter((r) => r.at >= new Date('2026-11-05')).map((r) => r.seq),
    );
    assert.ok(since.records.length < all.records.length);
    assert.deepEqual(since.head, all.head, 'the head is the whole log’s');

    const none = await exportAudit(w.at('2026-11-10'), { since: new Date('2027-01-01') });
    assert.deepEqual(none.records, []);
    assert.deepEqual(none.head, all.head);
  });
});
