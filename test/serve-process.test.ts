import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { migrations } from '../src/store/migrations.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { onProcessEnd } from './support/server-process.js';

// `tenure serve` as an operator runs it: a real process on a loopback port, against a copy of
// examples/acme imported first, with tokens made by `tenure token create`.

const dir = mkdtempSync(join(tmpdir(), 'tenure-serve-'));
cpSync('examples/acme', dir, { recursive: true });
const config = join(dir, 'tenure.yaml');

function cli(...args: string[]) {
  return cliWith(process.env, ...args);
}

function cliWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, ...args], {
    encoding: 'utf8',
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Serving {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

const running = new Set<ChildProcess>();
onProcessEnd(() => {
  for (const c of running) c.kill('SIGKILL');
});

/** Starts `tenure serve` and resolves once it says where it listens (port 0: the system picks a free one). */
function serve(...args: string[]): Promise<Serving> {
  return serveWith(process.env, ...args);
}

function serveWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Serving> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, 'serve', '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (https?:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]!, stdout: () => out, stderr: () => err, exit });
    });
    void exit.then((code) => reject(new Error(`tenure serve exited ${code} before listening:\n${err}`)));
  });
}

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

function token(...args: string[]): string {
  const r = cli('token', 'create', ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

const ROUTES = [
  { path: '/api/v1/status', scope: 'governance:read' },
  { path: '/api/v1/identities/E000047', scope: 'identities:read' },
] as const;

describe('tenure serve (a real process)', () => {
  let server: Serving;
  const tokens: Record<string, string> = {};

  before(async () => {
    const imported = cli('import', '--limit', '0');
    assert.equal(imported.code, 0, imported.stderr);
    tokens.reader = token('--name', 'reader', '--scopes', 'governance:read,identities:read');
    tokens.planner = token('--name', 'planner', '--scopes', 'plans:read');
    tokens.revoked = token('--name', 'gone', '--scopes', 'governance:read,identities:read');
    assert.equal(cli('token', 'revoke', 'gone').code, 0);
    // Made as of a day long past: it expired in 2020.
    const past = cli(
      '--as-of',
      '2020-01-01',
      'token',
      'create',
      '--name',
      'older',
      '--scopes',
      'governance:read,identities:read',
    );
    assert.equal(past.code, 0, past.stderr);
    tokens.expired = past.stdout.trim();
    server = await serve();
  });
  after(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exit;
    }
  });

  it('answers /healthz and /readyz without a token, echoing the request id it logs', async () => {
    const health = await get(`${server.url}/healthz`, { 'x-request-id': 'probe-42' });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { status: 'ok' });
    assert.equal(health.headers.get('x-request-id'), 'probe-42');
    const made = await get(`${server.url}/healthz`);
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const ready = await get(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json(), {
      status: 'ready',
      schema: Object.keys(migrations('sqlite')).sort().at(-1),
    });
    const logged = server
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { reqId?: string; msg?: string });
    assert.ok(logged.some((l) => l.reqId === 'probe-42' && l.msg === 'request completed'));
  });

  it('refuses every API route without the right token: 401 with a challenge, or 403 for a missing scope', async () => {
    const unknown = `tnr_${'A'.repeat(43)}`;
    for (const route of ROUTES) {
      const url = `${server.url}${route.path}`;
      const cases: [string, Record<string, string>, number, string, RegExp?][] = [
        ['no token', {}, 401, 'auth.missing_token'],
        ['an empty bearer', { authorization: 'Bearer ' }, 401, 'auth.missing_token'],
        ['another scheme', { authorization: `Basic ${tokens.reader!}` }, 401, 'auth.malformed_token'],
        ['a malformed token', { authorization: 'Bearer not-a-token' }, 401, 'auth.malformed_token'],
        ['an unknown token', { authorization: `Bearer ${unknown}` }, 401, 'auth.invalid_token'],
        ['a revoked token', { authorization: `Bearer ${tokens.revoked!}` }, 401, 'auth.invalid_token', /revoked/],
        ['an expired token', { authorization: `Bearer ${tokens.expired!}` }, 401, 'auth.invalid_token', /expired/],
        [
          'a token without the scope',
          { authorization: `Bearer ${tokens.planner!}` },
          403,
          'auth.insufficient_scope',
          new RegExp(`needs the scope ${route.scope}; token planner has plans:read`),
        ],
      ];
      for (const [what, headers, status, code, message] of cases) {
        const r = await get(url, headers);
        assert.equal(r.status, status, `${route.path} with ${what}: ${r.text}`);
        const body = r.json() as { error: { code: string; message: string } };
        assert.equal(body.error.code, code, `${route.path} with ${what}`);
        if (message) assert.match(body.error.message, message);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="tenure"/, `${route.path} with ${what}`);
        if (status === 403) assert.match(r.headers.get('www-authenticate')!, /insufficient_scope/);
      }
      const ok = await get(url, { authorization: `Bearer ${tokens.reader!}` });
      assert.equal(ok.status, 200, `${route.path} with the scope: ${ok.text}`);
    }
  });

  it('gives /api/v1/status the document tenure status --json prints', async () => {
    const r = await get(`${server.url}/api/v1/status`, { authorization: `Bearer ${tokens.reader!}` });
    assert.equal(r.status, 200);
    const cliStatus = cli('--json', 'status');
    assert.equal(cliStatus.code, 0, cliStatus.stderr);
    assert.deepEqual(r.json(), JSON.parse(cliStatus.stdout));
    assert.equal((r.json() as { identities: number }).identities, 210);
  });

  it('gives an identity with its attributes and the why of tenure why --json', async () => {
    const r = await get(`${server.url}/api/v1/identities/E000047`, { authorization: `Bearer ${tokens.reader!}` });
    assert.equal(r.status, 200, r.text);
    const body = r.json() as {
      identity: { id: string; attributes: Record<string, unknown> };
      why: Record<string, unknown> & { grants: { entitlement: string }[] };
    };
    assert.equal(body.identity.id, 'E000047');
    assert.equal(body.identity.attributes.department, 'Engineering');
    const why = cli('--json', 'why', 'E000047');
    assert.equal(why.code, 0, why.stderr);
    // Both are computed at their own "now": everything but that instant is the same.
    const { asOf: _a, ...served } = body.why;
    const { asOf: _b, ...printed } = JSON.parse(why.stdout) as Record<string, unknown>;
    assert.deepEqual(served, printed);
    assert.ok(body.why.grants.some((g) => g.entitlement === 'apps:role/github-user'));
  });

  it('answers an unknown identity, an unknown route and a bad id in the error shape', async () => {
    const auth = { authorization: `Bearer ${tokens.reader!}` };
    const missing = await get(`${server.url}/api/v1/identities/E999999`, auth);
    assert.equal(missing.status, 404);
    assert.equal((missing.json() as { error: { code: string } }).error.code, 'not_found');
    assert.match((missing.json() as { error: { message: string } }).error.message, /no identity "E999999"/);
    const route = await get(`${server.url}/api/v1/nothing-here`, auth);
    assert.equal(route.status, 404);
    assert.deepEqual(route.json(), { error: { code: 'not_found', message: 'no route GET /api/v1/nothing-here' } });
    const long = await get(`${server.url}/api/v1/identities/${'x'.repeat(300)}`, auth);
    assert.equal(long.status, 400);
    const err = (long.json() as { error: { code: string; field: string; message: string } }).error;
    assert.equal(err.code, 'request.invalid');
    assert.equal(err.field, 'params.id');
  });

  it('records when a token was last used', () => {
    const list = cli('--json', 'token', 'list');
    const reader = (JSON.parse(list.stdout) as { tokens: { name: string; lastUsedAt: string | null }[] }).tokens.find(
      (t) => t.name === 'reader',
    );
    assert.ok(reader?.lastUsedAt, list.stdout);
    assert.ok(Date.now() - Date.parse(reader.lastUsedAt) < 10 * 60_000);
  });

  it('publishes OpenAPI 3.1 with each route’s scope, and metrics by route pattern', async () => {
    const doc = (await get(`${server.url}/api/v1/openapi.json`)).json() as {
      openapi: string;
      paths: Record<string, { get: { 'x-tenure-scope'?: string; security?: unknown } }>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const route of ROUTES) {
      const path = route.path.replace('E000047', '{id}');
      assert.equal(doc.paths[path]?.get['x-tenure-scope'], route.scope, path);
      assert.deepEqual(doc.paths[path]?.get.security, [{ bearer: [] }]);
    }
    assert.equal(doc.paths['/healthz']?.get['x-tenure-scope'], undefined);
    assert.ok(doc.components.schemas.Error && doc.components.schemas.IdentityWithAccess);
    const metrics = await get(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(metrics.text, /^process_cpu_user_seconds_total \d/m);
    assert.match(
      metrics.text,
      /^tenure_api_requests_total\{route="\/api\/v1\/identities\/:id",method="GET",status="200"\} [1-9]/m,
    );
    assert.match(
      metrics.text,
      /^tenure_api_requests_total\{route="\/api\/v1\/status",method="GET",status="401"\} [1-9]/m,
    );
    assert.match(
      metrics.text,
      /^tenure_api_request_duration_seconds_bucket\{le="\+Inf",route="\/api\/v1\/status",method="GET"\}/m,
    );
    // Route patterns, never raw URLs: an id in a path does not make a series of its own.
    assert.doesNotMatch(metrics.text, /E000047|E999999|nothing-here/);
  });

  it('refuses a second instance on the same SQLite store, naming the store and the other process', () => {
    const r = cli('serve', '--listen', '127.0.0.1:0');
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `another Tenure service already serves the state store at \\S+state\\.db: tenure serve \\(.+\\) on .+, pid ${server.child.pid}`,
      ),
    );
  });

  it('refuses plain HTTP on an address other machines reach', () => {
    const r = cli('serve', '--listen', '0.0.0.0:0');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen 0\.0\.0\.0:0 is reachable from other machines/);
    assert.match(r.stderr, /--tls-cert FILE --tls-key FILE, or --insecure-http/);
    const bad = cli('serve', '--listen', 'localhost');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--listen takes HOST:PORT/);
  });

  it('stops on SIGTERM with exit 0 and gives the store back to the next instance', async () => {
    server.child.kill('SIGTERM');
    assert.equal(await server.exit, 0, server.stderr());
    assert.match(server.stderr(), /SIGTERM received; finishing requests in flight/);
    const next = await serve();
    assert.equal((await get(`${next.url}/healthz`)).status, 200);
    next.child.kill('SIGINT');
    assert.equal(await next.exit, 0, next.stderr());
  });

  it('lets a new instance take over at once from one that was killed', async () => {
    const killed = await serve();
    const refused = cli('serve', '--listen', '127.0.0.1:0');
    assert.equal(refused.code, 3);
    killed.child.kill('SIGKILL');
    await killed.exit;
    // Its lease is not given back, but its process is gone from this host: no wait for expiry.
    const next = await serve();
    assert.equal((await get(`${next.url}/healthz`)).status, 200);
    next.child.kill('SIGTERM');
    assert.equal(await next.exit, 0, next.stderr());
  });
});

describe('tenure serve while another process writes the SQLite store', () => {
  it('answers without waiting for the write lock, and records the use later', async () => {
    const secret = token('--name', 'patient', '--scopes', 'governance:read');
    // However long commands are told to wait for the lock, the service's requests never do.
    const server = await serveWith({ ...process.env, TENURE_LOCK_WAIT_MS: '600000' });
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/store/hold-write-lock.ts', join(dir, '.tenure', 'state.db'), '0'],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    running.add(holder);
    let said = '';
    await new Promise<void>((resolve) =>
      holder.stdout.on('data', (b: Buffer) => {
        said += b.toString();
        if (said.includes('locked')) resolve();
      }),
    );
    const r = await get(`${server.url}/api/v1/status`, { authorization: `Bearer ${secret}` });
    assert.equal(r.status, 200, r.text);
    assert.equal((await get(`${server.url}/readyz`)).status, 200);
    // Answered while the other process still holds the lock: it has not been told to let go.
    assert.equal(said.includes('released'), false);
    holder.stdin.write('go\n');
    await new Promise((resolve) => holder.on('exit', resolve));
    running.delete(holder);
    const lastUsed = () =>
      (
        JSON.parse(cli('--json', 'token', 'list').stdout) as { tokens: { name: string; lastUsedAt: string | null }[] }
      ).tokens.find((t) => t.name === 'patient')?.lastUsedAt;
    // The use could not be written then and was not waited for; the next one is.
    assert.equal(lastUsed(), null);
    assert.equal((await get(`${server.url}/api/v1/status`, { authorization: `Bearer ${secret}` })).status, 200);
    assert.ok(lastUsed());
    server.child.kill('SIGTERM');
    assert.equal(await server.exit, 0, server.stderr());
  });
});

describe('tenure serve over TLS', () => {
  it('serves HTTPS with the certificate and key given', async () => {
    const pki = mkdtempSync(join(tmpdir(), 'tenure-tls-'));
    const cert = join(pki, 'cert.pem');
    const key = join(pki, 'key.pem');
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    const half = cli('serve', '--listen', '127.0.0.1:0', '--tls-cert', cert);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /TLS needs both --tls-cert FILE and --tls-key FILE/);
    const tls = await serve('--tls-cert', cert, '--tls-key', key);
    assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${tls.url}/healthz`, { ca: readFileSync(cert) }, (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(JSON.parse(body), { status: 'ok' });
    tls.child.kill('SIGTERM');
    assert.equal(await tls.exit, 0, tls.stderr());
  });
});

describe('tenure serve on PostgreSQL', () => {
  let pg: PostgresServer | undefined;
  after(async () => {
    await pg?.stop();
  });

  it('runs two instances on one store, both answering', async () => {
    pg = await startPostgres();
    const env = { ...process.env, TENURE_DATABASE_URL: await createDatabase(pg) };
    assert.equal(cliWith(env, 'import', '--limit', '0').code, 0);
    const made = cliWith(env, 'token', 'create', '--name', 'reader', '--scopes', 'governance:read');
    assert.equal(made.code, 0, made.stderr);
    const secret = made.stdout.trim();
    const one = await serveWith(env);
    const two = await serveWith(env);
    for (const s of [one, two]) {
      const r = await get(`${s.url}/api/v1/status`, { authorization: `Bearer ${secret}` });
      assert.equal(r.status, 200, r.text);
      assert.equal((r.json() as { identities: number }).identities, 210);
      assert.equal((await get(`${s.url}/readyz`)).status, 200);
    }
    for (const s of [one, two]) {
      s.child.kill('SIGTERM');
      assert.equal(await s.exit, 0, s.stderr());
    }
  });
});
