import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { folder, tenure } from './cli-harness.js';
import { hr } from './org-fixture.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';

// A leaver's disable on PostgreSQL with terminate_sessions_on_disable, when Tenure's own role (CREATEROLE only) may
// not end the leaver's open session: apply reports the disable as failed, and plan keeps showing it until it is done.
describe('tenure apply: a PostgreSQL disable whose session cannot be ended', () => {
  let server: PostgresServer;
  let admin: pg.Client;
  let dbUrl: string;
  let dir: string;
  let policy: string;
  const run = (...args: string[]) => tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args);
  const row = (status: string) => `E001,Employee,${status},Engineering,Developer,2024-01-01,`;

  before(async () => {
    server = await startPostgres();
    dbUrl = await createDatabase(server);
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('CREATE ROLE tenure LOGIN CREATEROLE');
    await admin.query('CREATE ROLE staff NOLOGIN');
    const url = new URL(dbUrl);
    url.username = 'tenure';
    policy = `version: 1
name: Sessions
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { field: worker_type, values: { Employee: employee } }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    start_date: start_date
    end_date: end_date
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: warehouse
    kind: postgres
    connection: { url: ${JSON.stringify(url.toString())}, terminate_sessions_on_disable: true }
entitlements:
  - id: warehouse:role/staff
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [warehouse:role/staff]
`;
    dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr([row('Active')]) });
  });
  after(async () => {
    await admin?.end();
    await server?.stop();
  });

  it('fails the disable naming pg_signal_backend, and the next plan still disables', async () => {
    assert.equal((await run('import')).code, 0);
    const created = await run('apply');
    assert.equal(created.code, 0, created.stderr + created.stdout);
    // The identity's session, open before it leaves (the test server trusts loopback logins).
    const u = new URL(dbUrl);
    u.username = 'E001';
    const leaver = new pg.Client({ connectionString: u.toString() });
    leaver.on('error', () => undefined);
    await leaver.connect();
    try {
      writeFileSync(join(dir, 'hr.csv'), hr([row('Terminated')]));
      assert.equal((await run('import')).code, 0);
      const refused = await run('apply');
      const out = refused.stdout + refused.stderr;
      assert.equal(refused.code, 4, out);
      assert.match(out, /account E001 in warehouse: NOT disabled — permission_denied: .*pg_signal_backend/);
      assert.match(out, /GRANT pg_signal_backend TO "tenure"/);
      await leaver.query('SELECT 1'); // still open
      const again = await run('plan');
      assert.match(again.stdout, /E001: disable account — E001 is terminated/, again.stdout);
      assert.match((await run('drift')).stdout, /E001 is terminated, but account E001 in warehouse is still enabled/);

      await admin.query('GRANT pg_signal_backend TO tenure');
      const done = await run('apply');
      assert.equal(done.code, 0, done.stdout + done.stderr);
      assert.match(done.stdout, /account E001 in warehouse: disabled/);
      await assert.rejects(leaver.query('SELECT 1'));
      assert.match((await run('plan')).stdout, /No changes/);
      assert.doesNotMatch((await run('drift')).stdout, /E001 is terminated/);
    } finally {
      await leaver.end().catch(() => undefined);
    }
  });

  it('plan names a declared group role the cluster lacks, and plans no grant of it', async () => {
    writeFileSync(
      join(dir, 'tenure.yaml'),
      policy
        .replace('  - id: warehouse:role/staff\n', '  - id: warehouse:role/staff\n  - id: warehouse:role/auditors\n')
        .replace('grants: [warehouse:role/staff]', 'grants: [warehouse:role/staff, warehouse:role/auditors]'),
    );
    writeFileSync(
      join(dir, 'hr.csv'),
      hr([row('Terminated'), 'E002,Employee,Active,Engineering,Developer,2024-01-01,']),
    );
    assert.equal((await run('import')).code, 0);
    const plan = await run('plan');
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(
      plan.stderr,
      /tenure\.yaml:\d+:\d+: warning: target "warehouse" has no warehouse:role\/auditors \(no role "auditors"\); 1 grant\(s\) held back, not planned: E002/,
    );
    assert.match(plan.stdout, /\+ E002: add warehouse:role\/staff/);
    assert.doesNotMatch(plan.stdout, /auditors/);
  });
});
