import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { tenure } from './cli-harness.js';
import { header, org, people } from './org-fixture.js';

// `tenure import` end to end on the embedded SQLite store: successive HR files become lifecycle
// events, and a broken file never deprovisions anyone.
describe('tenure import', () => {
  it('records joiners on the first import and nothing when the same feed comes again', async () => {
    const o = org(people(3));
    const first = await o.run('--as-of', '2026-11-01', 'import');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /source hr: 3 rows, 3 new or changed, 0 gone; 3 joiner/);
    assert.match(first.stdout, /joiner\s+E001 joined/);
    const again = await o.run('--as-of', '2026-11-01', 'import');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /source hr: 3 rows, 0 new or changed, 0 gone; no events/);
    const events = JSON.parse((await o.run('--json', 'events')).stdout) as {
      events: { kind: string; grantsAdded: string[] }[];
    };
    assert.equal(events.events.length, 3);
    assert.deepEqual(events.events[0]!.grantsAdded, ['directory:group/engineering', 'directory:group/staff']);
  });

  it('records a mover with the grants gained and lost, and a leaver', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    o.write([
      ...people(1),
      'E002,Employee,Active,Finance,Accountant,2024-01-01,',
      'E003,Employee,Terminated,Engineering,Developer,2024-01-01,2026-11-01',
    ]);
    const r = await o.run('--as-of', '2026-11-02', '--json', 'import');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      sources: { events: { kind: string; identity: string; grantsAdded: string[]; grantsRemoved: string[] }[] }[];
    };
    const events = doc.sources[0]!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.identity]),
      [
        ['mover', 'E002'],
        ['leaver', 'E003'],
      ],
    );
    assert.deepEqual(events[0]!.grantsAdded, ['directory:group/finance']);
    assert.deepEqual(events[0]!.grantsRemoved, ['directory:group/engineering']);
    const history = await o.run('events', '--identity', 'E002');
    assert.match(history.stdout, /joiner .*\n.*mover/);
  });

  it('holds back a truncated HR file: nobody leaves, exit 3, until a person approves', async () => {
    const o = org(people(40));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    o.write(people(12)); // the export was cut off after 12 rows: 28 of 40 would leave
    const stopped = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(stopped.code, 3, stopped.stderr);
    assert.match(
      stopped.stderr,
      /source hr: STOPPED, nothing recorded\. 28 of 40 identities \(70%\) would leave at once/,
    );
    assert.match(stopped.stderr, /tenure import --approve-leavers 28/);
    const status = await o.run('status');
    assert.match(status.stdout, /Identities: 40/);
    assert.match(status.stdout, /Held back by a guardrail/);
    assert.equal(
      (JSON.parse((await o.run('--json', 'events')).stdout) as { events: unknown[] }).events.length,
      40,
      'only the 40 joiners',
    );
    // Plans work from what the import let in: all 40 still receive their access, and the held-back file is named.
    const planned = await o.run('--as-of', '2026-11-02', '--json', 'plan');
    const { plan, diagnostics } = JSON.parse(planned.stdout) as {
      plan: { summary: { identitiesAffected: number; byAction: Record<string, number> } };
      diagnostics: { code: string; message: string }[];
    };
    assert.equal(plan.summary.byAction.create_account, 40, 'everyone imported is planned for');
    assert.equal(plan.summary.byAction.disable_account ?? 0, 0);
    assert.ok(
      diagnostics.some(
        (d) => d.code === 'source.not_imported' && /hr\.csv changed after its last import/.test(d.message),
      ),
      JSON.stringify(diagnostics),
    );
    const noReason = await o.run('--as-of', '2026-11-02', 'import', '--approve-leavers', '28');
    assert.equal(noReason.code, 2, 'an override needs a reason');
    assert.match(noReason.stderr, /--approve-leavers .*say why with --reason/);
    const approved = await o.run(
      '--as-of',
      '2026-11-02',
      'import',
      '--approve-leavers',
      '28',
      '--reason',
      'the Lyon office closed',
    );
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /28 leaver/);
    const audit = (await o.run('audit', 'export')).stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; reason: string });
    assert.deepEqual(
      audit.filter((r) => r.action === 'approval.leavers').map((r) => r.reason),
      ['the Lyon office closed'],
      'the flag is recorded as an approval',
    );
  });

  it('never deprovisions the company from an empty file', async () => {
    const o = org(people(30));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    o.write(header + '\n');
    const r = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(r.code, 3);
    assert.match((await o.run('status')).stdout, /Identities: 30/);
  });

  it('refuses a feed with bad rows and records nothing', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    o.write([...people(3), 'E001,Employee,Active,Sales,Rep,2024-01-01,']);
    const dup = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /hr\.csv:5:1: error: rows 2 and 5 have the same key "E001"/);
    o.write('id,worker_type,status\nE001,Employee,Active\n');
    const changedHeader = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(changedHeader.code, 1);
    assert.match(changedHeader.stderr, /employee_id/);
    const events = JSON.parse((await o.run('--json', 'events')).stdout) as { events: unknown[] };
    assert.equal(events.events.length, 3);
  });

  it('keeps a tamper-evident audit log of the imports and events', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    const ok = await o.run('audit', 'verify');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /audit log intact: 4 record\(s\), hash chain verified/);
    const exported = await o.run('audit', 'export');
    const lines = exported.stdout.split('\n').map((l) => JSON.parse(l) as { action: string; subject: string });
    assert.deepEqual(
      lines.map((l) => l.action),
      ['import.completed', 'event.joiner', 'event.joiner', 'event.joiner'],
    );
    const db = new BetterSqlite3(join(o.dir, 'state.db'));
    db.prepare("update audit_log set subject = 'E999' where seq = 3").run();
    db.close();
    const bad = await o.run('audit', 'verify');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /audit log TAMPERED: record 3: its content does not match its hash/);
  });

  it('says clearly when another process holds the store', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    const db = new BetterSqlite3(join(o.dir, 'state.db'));
    db.exec('begin immediate');
    try {
      process.env.TENURE_LOCK_WAIT_MS = '300';
      const r = await o.run('--as-of', '2026-11-02', 'import');
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /another Tenure process is changing the state at .*state\.db/);
    } finally {
      delete process.env.TENURE_LOCK_WAIT_MS;
      db.exec('rollback');
      db.close();
    }
  });

  it('refuses a missing feed and records nothing', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    rmSync(join(o.dir, 'hr.csv'));
    const r = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /source "hr": file .*hr\.csv does not exist/);
    assert.match((await o.run('status')).stdout, /Identities: 3/);
  });

  it('refuses a store written by a newer Tenure', async () => {
    const o = org(people(1));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    const db = new BetterSqlite3(join(o.dir, 'state.db'));
    db.prepare(
      "insert into tenure_migrations (name, timestamp) values ('9999_future', '2030-01-01T00:00:00.000Z')",
    ).run();
    db.close();
    const r = await o.run('status');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /was written by a newer version of Tenure/);
    assert.match(r.stderr, /hint: upgrade Tenure/);
  });

  it('says clearly when a PostgreSQL URL cannot be reached', async () => {
    const o = org(people(1));
    const r = await tenure(
      '-c',
      join(o.dir, 'tenure.yaml'),
      '--state',
      'postgres://tenure:pw@127.0.0.1:1/tenure',
      'import',
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot reach the PostgreSQL state store at postgres:\/\/tenure:\*\*\*@127\.0\.0\.1:1\/tenure/,
    );
  });
});
