import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiToken } from '../app/api-tokens.js';
import { openService, type ServiceContext } from '../app/service.js';
import { Workspace, type WorkspaceSpec } from '../app/workspace.js';
import { buildServer } from './build-server.js';

// Policy reload, the policy hash instances agree on, and the request limits, on the server in-process
// over a copy of examples/acme: what a caller sees, and what the store and the audit log keep.

const dir = mkdtempSync(join(tmpdir(), 'tenure-policy-routes-'));
cpSync('examples/acme', dir, { recursive: true });
const config = join(dir, 'tenure.yaml');
const original = readFileSync(config, 'utf8');
const spec: WorkspaceSpec = { config, state: join(dir, 'state.db') };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface ErrorAnswer {
  error: { code: string; message: string; diagnostics?: string[] };
}

describe('policy reload and request limits (in-process)', () => {
  let service: ServiceContext;
  let app: FastifyInstance;
  let limited: FastifyInstance;
  const tokens: Record<string, string> = {};

  before(async () => {
    const ws = new Workspace(spec, {});
    for (const [name, scopes] of [
      ['reloader', ['policy:reload']],
      ['reader', ['governance:read']],
      ['helpdesk', ['plans:apply']],
      ['feed', ['sources:write']],
    ] as const)
      tokens[name] = (await createApiToken(ws, { name, scopes: [...scopes] })).secret;
    service = await openService(spec, { env: {} });
    app = await buildServer({ service, logger: false, rateLimit: 'off' });
    limited = await buildServer({ service, logger: false, rateLimit: { perSecond: 0.01, burst: 3 } });
  });
  after(async () => {
    await app.close();
    await limited.close();
    await service.close();
  });

  const call = (method: 'GET' | 'POST', url: string, token: string, server = app) =>
    server.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

  it('GET /api/v1/policy gives the text in use, its hash and when it was loaded', async () => {
    const r = await call('GET', '/api/v1/policy', tokens.reader!);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json<{ hash: string; text: string; loadedAt: string; file: string }>();
    assert.equal(body.text, original);
    assert.equal(body.hash, sha256(original));
    assert.ok(!Number.isNaN(Date.parse(body.loadedAt)));
    assert.equal((await call('GET', '/api/v1/policy', tokens.reloader!)).statusCode, 403);
  });

  it('refuses an invalid policy with its file:line:col problems, and keeps the one in use', async () => {
    writeFileSync(config, `${original}\nroles_typo: []\n`);
    try {
      const r = await call('POST', '/api/v1/policy/reload', tokens.reloader!);
      assert.equal(r.statusCode, 400, r.body);
      const { error } = r.json<ErrorAnswer>();
      assert.equal(error.code, 'policy.invalid');
      assert.match(error.message, /the policy in use stays/);
      assert.ok(error.diagnostics && error.diagnostics.length > 0, r.body);
      assert.ok(
        error.diagnostics.some((d) => /tenure\.yaml:\d+:\d+: error: .*roles_typo/.test(d)),
        error.diagnostics.join('\n'),
      );
      const inUse = await call('GET', '/api/v1/policy', tokens.reader!);
      assert.equal(inUse.json<{ hash: string }>().hash, sha256(original));
      assert.equal(service.policy().hash, sha256(original));
    } finally {
      writeFileSync(config, original);
    }
  });

  it('swaps in a valid policy for requests that start after, says both hashes and plans it, and audits it', async () => {
    // A request that began before the reload keeps the policy it began with.
    const inFlight = service.workspace();
    const before = inFlight.policy().loaded;
    // The engineering contractors' role goes: the plan under the new policy shows it, nothing is applied.
    const changed = original.replace(/\n {2}- id: engineering-contractor\n[\s\S]*?(?=\n {2}- id: )/, '');
    assert.notEqual(changed, original);
    writeFileSync(config, changed);
    const r = await call('POST', '/api/v1/policy/reload', tokens.reloader!);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json<{
      previousHash: string;
      hash: string;
      changed: boolean;
      plan: {
        changes: number;
        byAction: Record<string, number>;
        byTarget: { target: string; changes: number }[];
        guardrails: { blocked: boolean };
      } | null;
    }>();
    assert.equal(body.previousHash, sha256(original));
    assert.equal(body.hash, sha256(changed));
    assert.equal(body.changed, true);
    assert.ok(body.plan, r.body);
    // Nothing was imported or applied: the whole organisation is still to be created, under the new roles.
    assert.ok(body.plan.byAction.create_account! > 0);
    assert.equal(
      body.plan.byTarget.reduce((n, t) => n + t.changes, 0),
      body.plan.changes,
    );
    assert.equal(typeof body.plan.guardrails.blocked, 'boolean');

    assert.equal(inFlight.policy().loaded, before);
    assert.notEqual(service.workspace().policy().loaded, before);
    assert.ok(
      !service
        .workspace()
        .policy()
        .loaded.policy.roles.some((role) => role.id === 'engineering-contractor'),
    );
    const inUse = await call('GET', '/api/v1/policy', tokens.reader!);
    assert.equal(inUse.json<{ text: string }>().text, changed);

    const records = await service.store.auditRecords();
    const reloaded = records.filter((x) => x.action === 'policy.reloaded');
    assert.equal(reloaded.length, 1);
    assert.equal(reloaded[0]!.details.previousHash, sha256(original));
    assert.equal(reloaded[0]!.details.hash, sha256(changed));
    assert.match(reloaded[0]!.actor, /^token:reloader#\d+$/);
    // The hash other instances compare is the new one.
    const live = await service.store.liveInstances(new Date());
    assert.deepEqual(
      live.map((i) => i.policyHash),
      [sha256(changed)],
    );
    writeFileSync(config, original);
    const back = await call('POST', '/api/v1/policy/reload', tokens.reloader!);
    assert.equal(back.json<{ hash: string }>().hash, sha256(original));
  });

  it('swaps in a valid policy even when a target cannot be read, saying why there is no plan', async () => {
    const snapshot = join(dir, 'actual', 'directory.json');
    const kept = readFileSync(snapshot, 'utf8');
    writeFileSync(snapshot, '{ not json');
    const changed = `${original}\n# a target is down\n`;
    writeFileSync(config, changed);
    try {
      const r = await call('POST', '/api/v1/policy/reload', tokens.reloader!);
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json<{ hash: string; plan: unknown; planProblem?: string }>();
      assert.equal(body.plan, null);
      assert.match(body.planProblem ?? '', /directory/);
      assert.equal(body.hash, sha256(changed));
      assert.equal(service.policy().hash, sha256(changed));
    } finally {
      writeFileSync(snapshot, kept);
      writeFileSync(config, original);
      assert.equal((await call('POST', '/api/v1/policy/reload', tokens.reloader!)).statusCode, 200);
    }
  });

  it('refuses an apply while another live instance serves another policy; a stopped one does not count', async () => {
    const now = new Date();
    const other = {
      id: 'other-instance',
      host: 'elsewhere',
      pid: 1,
      policyHash: sha256('another policy'),
      loadedAt: now,
      seenAt: now,
    };
    await service.store.announceInstance({ ...other, expiresAt: new Date(now.getTime() + 60_000) });
    const before = (await service.store.auditRecords()).length;
    const r = await call('POST', '/api/v1/identities/E000047/reconcile', tokens.helpdesk!);
    assert.equal(r.statusCode, 409, r.body);
    const { error } = r.json<ErrorAnswer>();
    assert.equal(error.code, 'policy.mismatch');
    assert.match(error.message, /elsewhere pid 1 serves/);
    const pushed = await app.inject({
      method: 'DELETE',
      url: '/api/v1/sources/hr/records/E000047',
      headers: { authorization: `Bearer ${tokens.feed!}` },
    });
    assert.equal(pushed.statusCode, 409, pushed.body);
    assert.equal(pushed.json<ErrorAnswer>().error.code, 'policy.mismatch');
    // Refused before anything was recorded or applied.
    assert.equal((await service.store.auditRecords()).length, before);

    // Its heartbeat ran out: it is taken as stopped, and the apply goes ahead.
    await service.store.announceInstance({ ...other, expiresAt: new Date(now.getTime() - 1) });
    const ok = await call('POST', '/api/v1/identities/E000047/reconcile', tokens.helpdesk!);
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('answers 413 request.too_large for a body over 1 MB, before parsing it', async () => {
    // Not JSON at all: a parsed body would be 400; the size is refused first.
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sources/hr/records',
      headers: { authorization: `Bearer ${tokens.feed!}`, 'content-type': 'application/json' },
      payload: `{"records": [${'x'.repeat(1024 * 1024 + 1)}`,
    });
    assert.equal(r.statusCode, 413, r.body);
    assert.equal(r.json<ErrorAnswer>().error.code, 'request.too_large');
  });

  it('limits each token after its burst with 429 and Retry-After; health is never limited', async () => {
    for (let i = 0; i < 3; i++)
      assert.equal((await call('GET', '/api/v1/policy', tokens.reader!, limited)).statusCode, 200);
    const r = await call('GET', '/api/v1/policy', tokens.reader!, limited);
    assert.equal(r.statusCode, 429, r.body);
    assert.equal(r.json<ErrorAnswer>().error.code, 'request.rate_limited');
    assert.ok(Number(r.headers['retry-after']) >= 1, String(r.headers['retry-after']));
    // Another token has its own bucket.
    const other = await call('POST', '/api/v1/policy/reload', tokens.reloader!, limited);
    assert.equal(other.statusCode, 200, other.body);
    for (let i = 0; i < 10; i++) {
      assert.equal((await limited.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await limited.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    }
  });
});
