import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { chain } from '../src/audit/audit-chain.js';
import { parseCanonicalJson } from '../src/audit/canonical-json.js';
import type { AuditAction } from '../src/model/audit.js';
import { openStore } from '../src/store/open-store.js';
import { governedContent, rowDigest, type RowRef } from '../src/store/governed-rows.js';
import { org, people } from './org-fixture.js';

// What a tester with write access to the database tried: edit a governed row, cut the end off
// the log, rebuild the chain without the key. Each must be reported, by name, to a user.
const KEY = 'an audit key only the operators hold';

function sql(dir: string, statement: string): void {
  const db = new BetterSqlite3(join(dir, 'state.db'));
  db.exec(statement);
  db.close();
}

async function withGrant() {
  const o = org([...people(3), 'M001,Employee,Active,Finance,Controller,2020-01-01,']);
  assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
  const add = await o.run(
    '--as-of',
    '2026-11-01',
    'grant',
    'add',
    'E001',
    'directory:group/finance',
    '--until',
    '2026-11-15',
    '--reason',
    'quarter-end close',
    '--approver',
    'M001',
  );
  assert.equal(add.code, 0, add.stderr);
  return o;
}

const head = (stdout: string): string => /head (\d+:[0-9a-f]{64})/.exec(stdout)![1]!;

describe('tenure audit verify: governed rows, the head, the key', () => {
  afterEach(() => {
    delete process.env.TENURE_AUDIT_KEY;
  });

  it('names an exception edited in the database (extended to 2029, self-approved)', async () => {
    const o = await withGrant();
    const before = await o.run('audit', 'verify');
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /audit log intact: 6 record\(s\), hash chain verified; head 6:[0-9a-f]{64}/);
    assert.match(before.stdout, /governed rows: 1 checked, 0 tampered/);
    sql(o.dir, `update exceptions set valid_until = '2029-12-31T00:00:00.000Z', approver = identity where id = 1`);
    const after = await o.run('audit', 'verify');
    assert.equal(after.code, 1);
    // The chain itself is whole: the row is what was edited, and it is named.
    assert.match(after.stdout, /audit log intact: 6 record\(s\)/);
    assert.match(
      after.stderr,
      /TAMPERED: exceptions #1: its content differs from audit record 6 \(exception\.granted\)/,
    );
    assert.match(after.stderr, /governed rows: 1 checked, 1 tampered/);
    // The cheap check plans will use leaves it out.
    const store = await openStore(join(o.dir, 'state.db'), { readOnly: true });
    const trusted = await store.trustedGovernedState();
    await store.close();
    assert.deepEqual(trusted.exceptions, []);
    assert.deepEqual(
      trusted.tampered.map((t) => [t.table, t.id]),
      [['exceptions', 1]],
    );
  });

  it('finds records cut off the end only against the head seen before', async () => {
    const o = await withGrant();
    const seen = head((await o.run('audit', 'verify')).stdout);
    const exported = await o.run('audit', 'export');
    assert.match(exported.stderr, new RegExp(`head ${seen}`));
    sql(o.dir, `delete from audit_log where seq in (5, 6)`);
    const checked = await o.run('audit', 'verify', '--expect-head', seen);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, new RegExp(`the audit log ENDS EARLY: expected head ${seen}, found 4:[0-9a-f]{64}`));
    assert.match(checked.stderr, /TAMPERED: exceptions #1: no (audit|exception\.granted) record names it/);
    // Records that wrote no governed row (an import's events) are missed without the head.
    const o2 = org(people(3));
    assert.equal((await o2.run('--as-of', '2026-11-01', 'import')).code, 0);
    const seen2 = head((await o2.run('audit', 'verify')).stdout);
    sql(o2.dir, `delete from audit_log where seq in (3, 4)`);
    assert.equal((await o2.run('audit', 'verify')).code, 0, 'without a head to compare, a shorter log looks whole');
    const cut = await o2.run('audit', 'verify', '--expect-head', seen2);
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /ENDS EARLY: .* \(2 record\(s\) removed from the end\?\)/);
    const bad = await o.run('audit', 'verify', '--expect-head', '6-abc');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--expect-head "6-abc" is not SEQ:HASH/);
    assert.match(bad.stderr, /64 hex digit hash/);
  });

  it('reports a row whose audit records were deleted, and a record naming a deleted row', async () => {
    const o = await withGrant();
    sql(o.dir, `delete from audit_log where seq = 6`);
    const r = await o.run('audit', 'verify');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TAMPERED: exceptions #1: no (audit|exception\.granted) record names it/);
  });

  it('with TENURE_AUDIT_KEY, a chain edited and rebuilt without the key fails', async () => {
    process.env.TENURE_AUDIT_KEY = KEY;
    const o = await withGrant();
    const good = await o.run('audit', 'verify');
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /keyed with key id [0-9a-f]{8} from record 1/);
    delete process.env.TENURE_AUDIT_KEY;
    const without = await o.run('audit', 'verify');
    assert.equal(without.code, 1);
    assert.match(without.stderr, /NOT VERIFIED: records 1–6 are keyed .* cannot be checked without TENURE_AUDIT_KEY/);
    const refused = await o.run('--as-of', '2026-11-02', 'grant', 'revoke', '1', '--reason', 'done');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the audit log is keyed .* TENURE_AUDIT_KEY is not set; nothing was changed/);
    // The attacker: extend the exception, fix its digest in the record, rebuild every hash with plain SHA-256.
    sql(o.dir, `update exceptions set valid_until = '2029-12-31T00:00:00.000Z', approver = identity where id = 1`);
    const db = new BetterSqlite3(join(o.dir, 'state.db'));
    const row = db.prepare('select * from exceptions where id = 1').get() as Record<string, unknown>;
    const digest = rowDigest('exceptions', 1, governedContent('exceptions', row));
    const records = db.prepare('select * from audit_log order by seq').all() as Record<string, string>[];
    const rebuilt = chain(
      undefined,
      records.map((r) => {
        const details = parseCanonicalJson<Record<string, unknown>>(r.details!);
        if (Array.isArray(details.rows)) details.rows = (details.rows as RowRef[]).map((ref) => ({ ...ref, digest }));
        return {
          at: new Date(r.at!),
          actor: r.actor!,
          action: r.action as AuditAction,
          subject: r.subject!,
          reason: r.reason!,
          details,
        };
      }),
    );
    const update = db.prepare(
      'update audit_log set details = ?, previous_hash = ?, hash = ?, key_id = null where seq = ?',
    );
    for (const r of rebuilt) update.run(r.detailsJson, r.previousHash, r.hash, r.seq);
    db.close();
    process.env.TENURE_AUDIT_KEY = KEY;
    const caught = await o.run('audit', 'verify');
    assert.equal(caught.code, 1);
    assert.match(caught.stderr, /audit log TAMPERED: record 6: no record is chained with TENURE_AUDIT_KEY/);
  });

  it('says an empty log is empty, and reads a store without changing it', async () => {
    const o = org(people(1));
    const missing = await o.run('audit', 'verify');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no state store at .*state\.db/);
    await (await openStore(join(o.dir, 'state.db'))).close();
    const file = join(o.dir, 'state.db');
    const mtime = statSync(file).mtimeMs;
    const files = readdirSync(o.dir).sort();
    const empty = await o.run('audit', 'verify');
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /audit log is empty: 0 records, nothing to verify/);
    assert.doesNotMatch(empty.stdout, /intact/);
    // Read-only: no -wal or -shm file appears and the database file is not touched.
    assert.deepEqual(readdirSync(o.dir).sort(), files);
    assert.equal(existsSync(`${file}-shm`), false);
    assert.equal(statSync(file).mtimeMs, mtime);
  });

  it('verifies as an unprivileged user in a read-only folder (root ignores chmod, so it runs as nobody)', async (t) => {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) return t.skip('needs root and setpriv');
    const o = org(people(2));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    chmodSync(join(o.dir, 'state.db'), 0o444);
    chmodSync(o.dir, 0o555);
    const r = spawnSync(
      '/usr/bin/setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        'bin/tenure.js',
        '--state',
        join(o.dir, 'state.db'),
        'audit',
        'verify',
      ],
      { encoding: 'utf8' },
    );
    chmodSync(o.dir, 0o755);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /audit log intact: 3 record\(s\)/);
    assert.deepEqual(readdirSync(o.dir).sort(), ['hr.csv', 'state.db', 'tenure.yaml']);
  });
});
