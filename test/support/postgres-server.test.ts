import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createDatabase, startPostgres, type PostgresServer } from './postgres-server.js';

/** 'open' when something accepts TCP connections on 127.0.0.1:port, else the error code (ECONNREFUSED). */
function probePort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function queryOne(url: string, sql: string): Promise<Record<string, unknown>> {
  const rows = await withClient(url, async (client) => (await client.query<Record<string, unknown>>(sql)).rows);
  assert.equal(rows.length, 1);
  return rows[0]!;
}

describe('startPostgres', () => {
  let server: PostgresServer;
  let startMs = 0;

  before(async () => {
    const started = performance.now();
    server = await startPostgres();
    startMs = performance.now() - started;
  });

  after(async () => {
    await server?.stop();
  });

  test('runs PostgreSQL 15 or newer on a loopback port, in its data folder', async (t) => {
    t.diagnostic(`start took ${Math.round(startMs)} ms`);
    assert.equal(server.url, `postgres://postgres@127.0.0.1:${server.port}/postgres`);
    const row = await queryOne(
      server.url,
      "SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num, " +
        "inet_server_addr()::text AS addr, inet_server_port() AS port, current_setting('data_directory') AS dir",
    );
    const version = await withClient(server.url, async (client) => {
      const result = await client.query<{ server_version: string }>('SHOW server_version');
      return result.rows[0]?.server_version ?? '';
    });
    assert.match(version, /^\d+/);
    assert.ok(Number(/^(\d+)/.exec(version)?.[1]) >= 15, `server_version ${version} is older than 15`);
    assert.equal(row.version, version);
    assert.ok(Number(row.num) >= 150000);
    assert.equal(row.addr, '127.0.0.1/32');
    assert.equal(row.port, server.port);
    assert.equal(row.dir, server.dataDir);
    assert.ok(existsSync(join(server.dataDir, 'PG_VERSION')));
  });

  test('createDatabase gives separate, empty databases', async () => {
    const first = await createDatabase(server);
    const second = await createDatabase(server);
    assert.notEqual(first, second);
    const tables = "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'";
    assert.deepEqual(await queryOne(second, tables), { n: 0 });

    await withClient(first, async (client) => {
      await client.query('CREATE TABLE marker (id int PRIMARY KEY)');
      await client.query('INSERT INTO marker VALUES (1)');
    });
    const firstName = new URL(first).pathname.slice(1);
    const secondName = new URL(second).pathname.slice(1);
    assert.deepEqual(await queryOne(first, "SELECT current_database() AS db, to_regclass('marker')::text AS t"), {
      db: firstName,
      t: 'marker',
    });
    assert.deepEqual(await queryOne(second, "SELECT current_database() AS db, to_regclass('marker')::text AS t"), {
      db: secondName,
      t: null,
    });
    assert.deepEqual(await queryOne(second, tables), { n: 0 });
  });

  test('createDatabase takes a chosen name, and refuses unsafe or taken ones', async () => {
    const url = await createDatabase(server, 'tenure_chosen');
    assert.equal(url, `postgres://postgres@127.0.0.1:${server.port}/tenure_chosen`);
    assert.deepEqual(await queryOne(url, 'SELECT current_database() AS db'), { db: 'tenure_chosen' });
    await assert.rejects(createDatabase(server, 'tenure_chosen'), /already exists/);
    await assert.rejects(createDatabase(server, 'x"; DROP DATABASE postgres; --'), TypeError);
    await assert.rejects(createDatabase(server, 'Upper'), TypeError);
    await assert.rejects(createDatabase(server, 'a'.repeat(64)), TypeError);
  });

  test('TENURE_TEST_DATABASE_URL reuses that server, and stop() leaves it running', async () => {
    const saved = process.env.TENURE_TEST_DATABASE_URL;
    process.env.TENURE_TEST_DATABASE_URL = server.url;
    try {
      const reused = await startPostgres();
      assert.equal(reused.url, server.url);
      assert.equal(reused.port, server.port);
      assert.equal(reused.dataDir, '');
      const url = await createDatabase(reused);
      await reused.stop();
      assert.deepEqual(await queryOne(url, 'SELECT 1 AS one'), { one: 1 });
      assert.equal(await probePort(server.port), 'open');
    } finally {
      if (saved === undefined) delete process.env.TENURE_TEST_DATABASE_URL;
      else process.env.TENURE_TEST_DATABASE_URL = saved;
    }
  });

  test('stop() stops the server and removes its folder', async (t) => {
    assert.equal(await probePort(server.port), 'open');
    assert.ok(existsSync(server.dataDir));
    const started = performance.now();
    await server.stop();
    t.diagnostic(`stop took ${Math.round(performance.now() - started)} ms`);
    assert.equal(await probePort(server.port), 'ECONNREFUSED');
    assert.equal(existsSync(server.dataDir), false);
    await server.stop(); // a second stop is harmless
  });
});

describe('safety net', () => {
  const moduleUrl = new URL('./postgres-server.ts', import.meta.url).href;

  /** Runs a child Node process that starts a server, prints its port and folder, then runs `then`. */
  function child(then: string): {
    info: Promise<{ port: number; dataDir: string }>;
    exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
    kill(signal: NodeJS.Signals): void;
  } {
    const script =
      `const { startPostgres } = await import(${JSON.stringify(moduleUrl)});\n` +
      'const s = await startPostgres();\n' +
      'console.log(JSON.stringify({ port: s.port, dataDir: s.dataDir }));\n' +
      then;
    const env = { ...process.env };
    delete env.TENURE_TEST_DATABASE_URL;
    delete env.NODE_TEST_CONTEXT; // a plain script, not a test file
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
      proc.once('close', (code, signal) => resolve({ code, signal, stderr })),
    );
    const info = new Promise<{ port: number; dataDir: string }>((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) resolve(JSON.parse(line) as { port: number; dataDir: string });
      });
      void exit.then(({ code }) => reject(new Error(`child exited (${String(code)}) before starting: ${stderr}`)));
    });
    return { info, exit, kill: (signal) => proc.kill(signal) };
  }

  test('a server nobody stopped is stopped when the process exits', async () => {
    const run = child('// exits without stop()');
    const { port, dataDir } = await run.info;
    const { code, stderr } = await run.exit;
    assert.equal(code, 0, stderr);
    assert.equal(await probePort(port), 'ECONNREFUSED');
    assert.equal(existsSync(dataDir), false);
  });

  test('a server nobody stopped is stopped when the process is killed by SIGTERM', async () => {
    const run = child('setInterval(() => {}, 1000);');
    const { port, dataDir } = await run.info;
    assert.equal(await probePort(port), 'open');
    run.kill('SIGTERM');
    const { signal } = await run.exit;
    assert.equal(signal, 'SIGTERM');
    assert.equal(await probePort(port), 'ECONNREFUSED');
    assert.equal(existsSync(dataDir), false);
  });
});
