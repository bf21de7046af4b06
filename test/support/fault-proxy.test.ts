import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startHttpFaultProxy, startTcpFaultProxy, type HttpFaultProxy, type TcpFaultProxy } from './fault-proxy.js';

// Each mode of the fault proxy does what it says, against tiny upstreams that count what reaches them.

/**
 * Waits until the condition holds. The 30 s bound only ends a wait for a broken proxy with a
 * message; it is no timing: on loopback, a busy machine makes each step slower, never that slow.
 */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'the condition did not come true within 30 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The error a fetch failed with at the socket level (ECONNREFUSED ...), or the abort's name. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return err.cause?.code ?? err.name;
  }
  return 'answered';
}

describe('HTTP fault proxy', () => {
  let upstream: HttpServer;
  let proxy: HttpFaultProxy;
  let reached: string[];

  before(async () => {
    reached = [];
    upstream = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        reached.push(`${req.method} ${req.url}`);
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-Seen-Auth': req.headers.authorization ?? '' });
        res.end(JSON.stringify({ method: req.method, path: req.url, body }));
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = await startHttpFaultProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });
  after(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  const call = (path: string, init: RequestInit = {}) => fetch(proxy.url + path, init);

  it('forwards method, path, headers and body, and the answer back', async () => {
    await proxy.set({ kind: 'none' });
    const r = await call('/scim/v2/Users?filter=x', {
      method: 'POST',
      headers: { Authorization: 'Bearer t' },
      body: 'hi',
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('x-seen-auth'), 'Bearer t');
    assert.deepEqual(await r.json(), { method: 'POST', path: '/scim/v2/Users?filter=x', body: 'hi' });
  });

  it('answers every Nth request with 500 and a SCIM error, without passing it on', async () => {
    reached.length = 0;
    await proxy.set({ kind: 'error', every: 3 });
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const r = await call(`/n/${i}`);
      statuses.push(r.status);
      if (r.status === 500) {
        assert.match(r.headers.get('content-type') ?? '', /application\/scim\+json/);
        const body = (await r.json()) as { schemas: string[]; status: string };
        assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.equal(body.status, '500');
      } else await r.text();
    }
    assert.deepEqual(statuses, [201, 201, 500, 201, 201, 500]);
    assert.deepEqual(reached, ['GET /n/1', 'GET /n/2', 'GET /n/4', 'GET /n/5']);
    assert.deepEqual(
      proxy.requests.slice(-6).map((r) => r.outcome),
      ['forwarded', 'forwarded', 'error', 'forwarded', 'forwarded', 'error'],
    );
  });

  it('can count writes only, and lose the answer after the server carried the request out', async () => {
    reached.length = 0;
    await proxy.set({ kind: 'error', every: 2, writesOnly: true, afterForwarding: true });
    const statuses: number[] = [];
    for (const method of ['GET', 'POST', 'GET', 'PATCH', 'DELETE', 'PUT']) {
      const r = await call(`/${method}`, { method });
      statuses.push(r.status);
      await r.text();
    }
    assert.deepEqual(statuses, [201, 201, 201, 500, 201, 500]);
    assert.deepEqual(reached, ['GET /GET', 'POST /POST', 'GET /GET', 'PATCH /PATCH', 'DELETE /DELETE', 'PUT /PUT']);
  });

  it('answers every Nth request with 429 and Retry-After', async () => {
    await proxy.set({ kind: 'throttle', every: 2, retryAfterSeconds: 1 });
    const first = await call('/a');
    await first.text();
    const second = await call('/b');
    assert.equal(first.status, 201);
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('retry-after'), '1');
    assert.equal(((await second.json()) as { status: string }).status, '429');
  });

  it('hangs: accepts a request and never answers it; switching back answers again', async () => {
    reached.length = 0;
    await proxy.set({ kind: 'hang' });
    // The client gives up once the proxy has held the request a while, not at a set time from the
    // start: on a busy machine the request may take longer than that to reach the proxy.
    const giveUp = new AbortController();
    const hung = failure(call('/hung', { signal: giveUp.signal }));
    await until(() => proxy.requests.at(-1)?.path === '/hung');
    await new Promise((r) => setTimeout(r, 200)); // a slower machine only waits longer for nothing
    giveUp.abort();
    assert.equal(await hung, 'AbortError', 'no answer came while the proxy held the request');
    assert.deepEqual(reached, [], 'the request never reached the server');
    assert.equal(proxy.requests.at(-1)?.outcome, 'hang');
    await until(() => proxy.released === 1);
    const held = call('/held', { signal: AbortSignal.timeout(30_000) });
    await until(() => proxy.requests.at(-1)?.path === '/held');
    await proxy.set({ kind: 'none' });
    assert.match(await failure(held), /^(UND_ERR_SOCKET|TypeError)$/, 'a held request is cut when the hang ends');
    assert.equal(proxy.released, 1, 'counted: the request the client gave up on, not the one the proxy cut');
    assert.equal((await call('/after')).status, 201);
  });

  it('refuses connections, open ones included, and listens again on the same port', async () => {
    const before = await call('/keep-alive'); // leaves a kept-alive connection open
    await before.text();
    await proxy.set({ kind: 'refuse' });
    // The kept-alive connection was cut: the client finds it closed, or has noticed already and reconnects.
    assert.match(await failure(call('/cut')), /^(UND_ERR_SOCKET|ECONNREFUSED)$/);
    assert.equal(await failure(call('/refused')), 'ECONNREFUSED');
    assert.ok(!proxy.requests.some((r) => r.path === '/cut' || r.path === '/refused'), 'nothing was accepted');
    await proxy.set({ kind: 'none' });
    const r = await call('/back');
    assert.equal(r.status, 201);
    assert.equal(new URL(proxy.url).port, String(proxy.port));
  });
});

describe('TCP fault proxy', () => {
  let echo: Server;
  let proxy: TcpFaultProxy;
  const upstreamSockets = new Set<Socket>();

  before(async () => {
    echo = createTcpServer((s) => {
      upstreamSockets.add(s);
      s.on('close', () => upstreamSockets.delete(s));
      s.on('error', () => undefined);
      s.pipe(s);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = await startTcpFaultProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
  });
  after(async () => {
    await proxy.close();
    for (const s of upstreamSockets) s.destroy();
    echo.close();
  });

  /** Connects to the proxy; `error` is the connection's error code once it fails. */
  async function open(): Promise<Socket> {
    const socket = connect(proxy.port, proxy.host);
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    return socket;
  }

  /** What comes back for `text`: all of it, however long a busy machine takes to echo it. */
  async function roundTrip(socket: Socket, text: string): Promise<string> {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString();
    };
    socket.on('data', onData);
    socket.write(text);
    await until(() => got.length >= text.length);
    socket.off('data', onData);
    return got;
  }

  /**
   * What comes back for `text` in the next 300 ms: empty on a connection that carries nothing.
   * A quiet spell, not a deadline: a slower machine only waits longer to hear nothing.
   */
  async function heard(socket: Socket, text: string): Promise<string> {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString();
    };
    socket.on('data', onData);
    socket.write(text);
    await new Promise((r) => setTimeout(r, 300));
    socket.off('data', onData);
    return got;
  }

  it('pipes bytes both ways', async () => {
    const s = await open();
    assert.equal(await roundTrip(s, 'hello'), 'hello');
    s.destroy();
  });

  it('hangs: open and new connections stay up but carry nothing; switching back cuts the stuck ones', async () => {
    const old = await open();
    assert.equal(await roundTrip(old, 'before'), 'before');
    await proxy.set({ kind: 'hang' });
    assert.equal(await heard(old, 'during'), '', 'an open connection carries nothing');
    const fresh = await open(); // accepted: the connect succeeds
    assert.equal(await heard(fresh, 'new'), '', 'a new connection carries nothing');
    assert.equal(old.destroyed || fresh.destroyed, false, 'neither connection was closed');
    const given = await open();
    given.destroy(); // the client gives up on a held connection
    await until(() => proxy.released === 1);
    const closed = Promise.all([once(old, 'close'), once(fresh, 'close')]);
    await proxy.set({ kind: 'none' });
    await closed;
    assert.equal(proxy.released, 1, 'connections the proxy cut itself are not counted');
    const after = await open();
    assert.equal(await roundTrip(after, 'again'), 'again');
    after.destroy();
  });

  it('refuses connections, cutting open ones, and listens again on the same port', async () => {
    const old = await open();
    const closed = once(old, 'close');
    await proxy.set({ kind: 'refuse' });
    await closed;
    const refused = connect(proxy.port, proxy.host);
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');
    await proxy.set({ kind: 'none' });
    const back = await open();
    assert.equal(await roundTrip(back, 'back'), 'back');
    back.destroy();
    assert.ok(proxy.connections >= 5);
  });
});
