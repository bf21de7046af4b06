import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { folder, tenure } from './cli-harness.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { hr, nhi, policy } from './fixtures/nhi-organisation.js';

// The non-human identity lifecycle: when an owner leaves, their service accounts are offered to
// the owner's manager with a deadline; only that person can confirm.
describe('tenure nhi', () => {
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr('Active'), 'nhi.json': nhi });
  const run = (asOf: string, ...args: string[]) =>
    tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', asOf, ...args);

  it('offers the NHIs of an owner who left to the owner’s manager, with a deadline', async () => {
    assert.equal((await run('2026-11-01', 'import')).code, 0);
    const quiet = await run('2026-11-01', 'nhi', 'list');
    assert.match(
      quiet.stdout,
      /svc-old \(service_account\): owner E002 \(active\); credential \d+ days old — rotation due \(max 90\)/,
    );
    assert.doesNotMatch(quiet.stdout, /svc-loader/, 'an NHI with an active owner and a fresh credential is fine');
    writeFileSync(join(dir, 'hr.csv'), hr('Terminated'));
    const imported = await run('2026-11-02', 'import');
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /owner_gone\s+svc-loader: owner E001 is terminated/);
    const list = await run('2026-11-02', 'nhi', 'list');
    assert.match(
      list.stdout,
      /svc-loader \(service_account\): owner E001 \(terminated\); E001 left; M001 must confirm by 2026-11-09 \(tenure nhi confirm svc-loader --as M001\)/,
    );
    const audit = (await run('2026-11-02', 'audit', 'export')).stdout;
    assert.match(audit, /"action":"nhi\.custody_proposed".*M001 is asked to take it over by 2026-11-09/);
  });

  it('lets only the person asked confirm, and says what else is wrong', async () => {
    const wrong = await run('2026-11-03', 'nhi', 'confirm', 'svc-loader', '--as', 'E002');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /M001 was asked to take over svc-loader, not E002/);
    const none = await run('2026-11-03', 'nhi', 'confirm', 'svc-olt', '--as', 'M001');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /svc-olt has no hand-over waiting for a confirmation/);
    const ok = await run('2026-11-03', '--json', 'nhi', 'confirm', 'svc-loader', '--as', 'M001');
    assert.equal(ok.code, 0, ok.stderr);
    const list = JSON.parse((await run('2026-11-03', '--json', 'nhi', 'list', '--all')).stdout) as {
      identities: { id: string; owner: string; ownerStatus: string; custody: { state: string } | null }[];
    };
    const loader = list.identities.find((i) => i.id === 'svc-loader')!;
    assert.deepEqual([loader.owner, loader.ownerStatus, loader.custody?.state], ['M001', 'active', 'confirmed']);
    const again = await run('2026-11-03', 'nhi', 'confirm', 'svc-loader', '--as', 'M001');
    assert.equal(again.code, 1, 'nothing is waiting any more');
  });
});

// The same lifecycle against a real PostgreSQL 15 target, which can rotate passwords: an old
// credential is rotated once; a hand-over nobody confirms suspends the service account (membership
// removed, password revoked, login disabled); a late confirmation restores its access.
describe('tenure nhi with a PostgreSQL target', () => {
  const RUN = `n${randomBytes(3).toString('hex')}`;
  const loader = `svc-loader-${RUN}`;
  const group = `loader_${RUN}`;
  let server: PostgresServer;
  let admin: pg.Client;
  let dir: string;
  const run = (asOf: string, ...args: string[]) =>
    tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', asOf, ...args);
  const role = async () =>
    (
      await admin.query<{ rolcanlogin: boolean; groups: string[] }>(
        `SELECT r.rolcanlogin, ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
           WHERE m.member = r.oid)::text[] AS groups FROM pg_roles r WHERE r.rolname = $1`,
        [loader],
      )
    ).rows[0];
  const sinkLines = () =>
    existsSync(join(dir, 'secrets.tsv')) ? readFileSync(join(dir, 'secrets.tsv'), 'utf8').trim().split('\n') : [];

  before(async () => {
    server = await startPostgres();
    const url = await createDatabase(server);
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query(`CREATE ROLE "${group}" NOLOGIN`);
    const text = policy
      .replace(
        '  - id: warehouse\n    kind: memory',
        `  - id: warehouse\n    kind: postgres\n    connection: { url: ${JSON.stringify(url)}, secret_sink: { file: secrets.tsv } }`,
      )
      .replace('warehouse:role/loader', `warehouse:role/${group}`)
      .replace('grants: [warehouse:role/loader]', `grants: [warehouse:role/${group}]`);
    const feed = JSON.stringify([
      { name: loader, type: 'service_account', owner_id: 'E001', created_at: '2025-01-01', rotated_at: '2026-06-01' },
    ]);
    dir = folder({ 'tenure.yaml': text, 'hr.csv': hr('Active'), 'nhi.json': feed });
  });
  after(async () => {
    await admin.query(`DROP ROLE IF EXISTS "${loader}"`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS "${group}"`).catch(() => undefined);
    await admin.end();
    await server.stop();
  });

  it('rotates an old credential once, through the connector', async () => {
    assert.equal((await run('2026-11-01', 'import')).code, 0);
    const created = await run('2026-11-01', 'apply');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`account ${loader} in warehouse: created`));
    // Its credential (last rotated 2026-06-01, by the inventory) is past the policy's 90 days.
    const first = await run('2026-11-01', 'apply');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`account ${loader} in warehouse: credential rotated`));
    assert.equal(sinkLines().length, 1, 'the new password went to the secret sink');
    assert.deepEqual(await role(), { rolcanlogin: true, groups: [group] });
    const again = JSON.parse((await run('2026-11-02', '--json', 'plan')).stdout) as {
      plan: { summary: { changes: number } };
    };
    assert.equal(again.plan.summary.changes, 0, 'not rotated again: Tenure remembers its own rotation');
  });

  it('suspends an NHI nobody took over by the deadline, and restores it on a late confirmation', async () => {
    writeFileSync(join(dir, 'hr.csv'), hr('Terminated'));
    assert.equal((await run('2026-11-03', 'import')).code, 0);
    const within = JSON.parse((await run('2026-11-05', '--json', 'plan')).stdout) as {
      plan: { summary: { changes: number } };
    };
    assert.equal(within.plan.summary.changes, 0, 'nothing happens before the deadline');
    const suspended = await run('2026-11-11', 'apply');
    assert.equal(suspended.code, 0, suspended.stderr);
    assert.match(suspended.stdout, new RegExp(`account ${loader} in warehouse: credential rotated`));
    assert.match(suspended.stdout, new RegExp(`account ${loader} in warehouse: disabled`));
    assert.deepEqual(await role(), { rolcanlogin: false, groups: [] });
    assert.equal(sinkLines().length, 2, 'the old password no longer works');
    assert.match(
      (await run('2026-11-11', 'why', loader)).stdout,
      /SUSPENDED: its owner E001 left and nobody confirmed/,
    );
    const plan = await run('2026-11-11', 'plan');
    assert.match(plan.stdout, /No changes: every target matches the policy/, 'suspended stays suspended, revoked once');
    assert.equal((await run('2026-11-12', 'nhi', 'confirm', loader, '--as', 'M001')).code, 0);
    const restored = await run('2026-11-12', 'apply');
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await role(), { rolcanlogin: true, groups: [group] });
  });
});
