import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createApiToken, listApiTokens } from '../app/api-tokens.js';
import { openService, type ServiceContext } from '../app/service.js';
import { Workspace, type WorkspaceSpec } from '../app/workspace.js';
import { buildServer } from './build-server.js';

// The server in-process, with a clock the test moves: what a route declares is checked in the
// order a client meets it (token, scope, then the body), and a token ages as the clock says.

const stateFile = join(mkdtempSync(join(tmpdir(), 'tenure-server-')), 'state.db');
const spec: WorkspaceSpec = { config: 'examples/acme/tenure.yaml', state: stateFile };
const start = Date.parse('2026-11-01T09:00:00Z');
let now = start;
const clock = () => new Date(now);

describe('the service in-process', () => {
  let service: ServiceContext;
  let app: FastifyInstance;
  let writer = '';
  let reader = '';

  before(async () => {
    const ws = new Workspace(spec, {}, clock);
    writer = (await createApiToken(ws, { name: 'feeder', scopes: ['sources:write'] })).secret;
    reader = (await createApiToken(ws, { name: 'reader', scopes: ['governance:read'] })).secret;
    service = await openService(spec, { env: {}, clock });
    app = await buildServer({ service, logger: false });
    // A route with a body, as the next slices add them: the test's own, not the product's.
    app.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/test-records',
      {
        config: { scope: 'sources:write' },
        schema: { body: z.object({ records: z.array(z.object({ email: z.email() })) }) },
      },
      (request) => ({ accepted: request.body.records.length }),
    );
    await app.ready();
  });
  after(async () => {
    await app.close();
    await service.close();
  });

  const post = (payload: string, token?: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/test-records',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload,
    });

  it('checks the token and its scope before the body is read', async () => {
    const broken = '{"records": [';
    const none = await post(broken);
    assert.equal(none.statusCode, 401);
    assert.equal(none.json<{ error: { code: string } }>().error.code, 'auth.missing_token');
    const wrong = await post(broken, reader);
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json<{ error: { code: string } }>().error.code, 'auth.insufficient_scope');
    const parsed = await post(broken, writer);
    assert.equal(parsed.statusCode, 400);
    assert.equal(parsed.json<{ error: { code: string } }>().error.code, 'request.invalid');
  });

  it('names the field a body fails on', async () => {
    const r = await post(JSON.stringify({ records: [{ email: 'a@example.org' }, { email: 'nope' }] }), writer);
    assert.equal(r.statusCode, 400);
    const { error } = r.json<{ error: { code: string; field: string; message: string } }>();
    assert.equal(error.code, 'request.invalid');
    assert.equal(error.field, 'body.records.1.email');
    assert.match(error.message, /^body\.records\.1\.email: /);
    const ok = await post(JSON.stringify({ records: [{ email: 'a@example.org' }] }), writer);
    assert.deepEqual(ok.json(), { accepted: 1 });
  });

  it('records a use at most once a minute', async () => {
    const lastUsed = async () =>
      (await listApiTokens(new Workspace(spec, {}, clock))).find((t) => t.name === 'reader')?.lastUsedAt?.getTime();
    const call = () => app.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${reader}` } });
    // The token was used by the first test, at the start: a minute on, a use is recorded again.
    const t1 = start + 120_000;
    now = t1;
    assert.equal((await call()).statusCode, 200);
    assert.equal(await lastUsed(), t1);
    now = t1 + 50_000;
    await call();
    assert.equal(await lastUsed(), t1);
    now = t1 + 62_000;
    await call();
    assert.equal(await lastUsed(), t1 + 62_000);
  });

  it("is not ready while the store lacks this version's schema, and says why", async () => {
    const ready = await app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    const latest = ready.json<{ schema: string }>().schema;
    // As if the store had been put back to the one before this version (a restored backup).
    const db = new BetterSqlite3(stateFile);
    const row = db.prepare('select * from tenure_migrations where name = ?').get(latest) as Record<string, unknown>;
    db.prepare('delete from tenure_migrations where name = ?').run(latest);
    try {
      const r = await app.inject({ url: '/readyz' });
      assert.equal(r.statusCode, 503);
      const { error } = r.json<{ error: { code: string; message: string } }>();
      assert.equal(error.code, 'store.unavailable');
      assert.match(error.message, new RegExp(`the store's schema is \\d{4}_\\w+; this program needs ${latest}`));
    } finally {
      const columns = Object.keys(row);
      db.prepare(
        `insert into tenure_migrations (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
      ).run(...(Object.values(row) as (string | number)[]));
      db.close();
    }
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
  });

  it('finishes a request in flight before it has closed', async () => {
    const own = await buildServer({ service, logger: false });
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let arrived = (): void => undefined;
    const inside = new Promise<void>((resolve) => (arrived = resolve));
    own.get('/api/v1/test-slow', { config: { scope: 'governance:read' } }, async () => {
      arrived();
      await gate;
      return { done: true };
    });
    await own.listen({ host: '127.0.0.1', port: 0 });
    const pending = fetch(`${own.listeningOrigin}/api/v1/test-slow`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    await inside;
    let closed = false;
    const closing = own.close().then(() => (closed = true));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false, 'closed with a request in flight');
    open();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { done: true });
    await closing;
    assert.equal(closed, true);
  });

  it('refuses a token once its 90 days are over', async () => {
    const call = () => app.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${reader}` } });
    now = start + 89 * 86_400_000;
    assert.equal((await call()).statusCode, 200);
    now = start + 90 * 86_400_000;
    const r = await call();
    assert.equal(r.statusCode, 401);
    assert.deepEqual(r.json(), {
      error: { code: 'auth.invalid_token', message: 'this token has expired; tenure token create makes a new one' },
    });
    now = start;
  });
});
