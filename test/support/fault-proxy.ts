// A loopback proxy placed in front of a real server, whose fault can be switched while it runs: the network and
// server failures a connector meets in production, made on demand. HTTP mode speaks HTTP/1.1 (for SCIM) and can fail
// single requests; TCP mode pipes bytes (for LDAP, PostgreSQL). Switching to `refuse` stops listening (connections
// are refused); switching away from it listens again on the same port.
import {
  Agent,
  createServer as createHttpServer,
  request,
  type IncomingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import {
  createConnection,
  createServer as createTcpServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';

export type HttpFault =
  | { readonly kind: 'none' }
  /**
   * Every Nth request (counted from the switch) answers 500 with a SCIM error body. It never reaches the server, unless
   * `afterForwarding`: then the server carries it out and its answer is lost.
   */
  | {
      readonly kind: 'error';
      readonly every: number;
      readonly writesOnly?: boolean;
      readonly afterForwarding?: boolean;
    }
  /** Every Nth request (counted from the switch) answers 429 with `Retry-After`; it never reaches the server. */
  | {
      readonly kind: 'throttle';
      readonly every: number;
      readonly writesOnly?: boolean;
      readonly retryAfterSeconds?: number;
    }
  /** Requests are accepted and never answered. */
  | { readonly kind: 'hang' }
  | { readonly kind: 'refuse' };

export type TcpFault =
  | { readonly kind: 'none' }
  /** Connections are accepted, and no byte is passed on either way, on new and open connections alike. */
  | { readonly kind: 'hang' }
  | { readonly kind: 'refuse' };

export interface RequestSeen {
  readonly method: string;
  readonly path: string;
  /** When it arrived (Date.now()). */
  readonly at: number;
  /** What the proxy did with it. */
  readonly outcome: 'forwarded' | 'error' | 'throttle' | 'hang' | 'refuse';
}

export interface HttpFaultProxy {
  /** http://127.0.0.1:PORT — the upstream's paths are kept as they are. */
  readonly url: string;
  readonly port: number;
  readonly fault: HttpFault;
  /** Switches the fault; resolves once it is in force (for `refuse`: once the port is closed). */
  set(fault: HttpFault): Promise<void>;
  /** Every request the proxy saw, in order, with what it did with it. */
  readonly requests: readonly RequestSeen[];
  /** Requests held by `hang` that the client gave up on (closed) while the hang lasted. */
  readonly released: number;
  close(): Promise<void>;
}

export interface TcpFaultProxy {
  readonly host: string;
  readonly port: number;
  readonly fault: TcpFault;
  /** Switches the fault; resolves once it is in force (for `refuse`: once the port is closed). */
  set(fault: TcpFault): Promise<void>;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections held by `hang` (new or open ones) that the client closed while the hang lasted. */
  readonly released: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not passed on.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function stopListening(server: Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** A proxy to the HTTP server at `upstream` (its origin: http://host:port). */
export async function startHttpFaultProxy(upstream: string): Promise<HttpFaultProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  const requests: RequestSeen[] = [];
  let fault: HttpFault = { kind: 'none' };
  let counted = 0;
  let released = 0;

  const server = createHttpServer((req, res) => {
    const method = req.method ?? 'GET';
    const current = fault;
    const outcome = decide(current, method);
    requests.push({ method, path: req.url ?? '/', at: Date.now(), outcome });
    const scimError = (status: number, detail: string, headers: Record<string, string> = {}): void => {
      req.resume();
      if (res.destroyed) return;
      res.writeHead(status, { 'Content-Type': 'application/scim+json', ...headers });
      res.end(
        JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail }),
      );
    };
    switch (outcome) {
      case 'refuse':
        // Accepted on a connection opened before the switch: drop it, as a server going down would.
        req.socket.destroy();
        return;
      case 'hang':
        hung.add(res);
        res.once('close', () => {
          if (hung.delete(res)) released++;
        });
        return;
      case 'error':
        if (current.kind === 'error' && current.afterForwarding) {
          forward(() => scimError(500, 'injected fault: the answer was lost'));
        } else scimError(500, 'injected fault: internal server error');
        return;
      case 'throttle':
        scimError(429, 'injected fault: too many requests', {
          'Retry-After': String(current.kind === 'throttle' ? (current.retryAfterSeconds ?? 1) : 1),
        });
        return;
      case 'forwarded':
        forward();
    }

    /** Passes the request on; the answer comes back, or `instead` runs once the server has answered. */
    function forward(instead?: () => void): void {
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: endToEnd(req.headers),
          agent,
        },
        (answer) => {
          if (instead || res.destroyed) {
            answer.resume();
            answer.once('end', () => instead?.());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
          answer.pipe(res);
        },
      );
      out.on('error', (e) => {
        if (res.headersSent || res.destroyed) res.destroy();
        else scimError(502, `the upstream cannot be reached: ${e.message}`);
      });
      req.pipe(out);
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  function decide(f: HttpFault, method: string): RequestSeen['outcome'] {
    switch (f.kind) {
      case 'none':
        return 'forwarded';
      case 'hang':
      case 'refuse':
        return f.kind;
      case 'error':
      case 'throttle':
        if (f.writesOnly && (method === 'GET' || method === 'HEAD')) return 'forwarded';
        return ++counted % f.every === 0 ? f.kind : 'forwarded';
    }
  }

  const port = await listen(server, 0);
  return {
    url: `http://${HOST}:${port}`,
    port,
    get fault() {
      return fault;
    },
    requests,
    get released() {
      return released;
    },
    async set(next) {
      if ((next.kind === 'error' || next.kind === 'throttle') && !(Number.isInteger(next.every) && next.every > 0)) {
        throw new Error(`fault ${next.kind}: every must be a positive whole number`);
      }
      const previous = fault;
      fault = next;
      counted = 0;
      if (previous.kind === 'hang' && next.kind !== 'hang') {
        const held = [...hung];
        hung.clear();
        for (const res of held) res.destroy();
      }
      if (next.kind === 'refuse') {
        const closed = stopListening(server);
        for (const socket of sockets) socket.destroy();
        await closed;
      } else if (!server.listening) {
        await listen(server, port);
      }
    },
    async close() {
      fault = { kind: 'refuse' };
      const closed = stopListening(server);
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}

/** A proxy to the TCP server at host:port. Bytes are passed on as they come (no backpressure: test traffic is small). */
export async function startTcpFaultProxy(upstream: { host: string; port: number }): Promise<TcpFaultProxy> {
  const open = new Set<Socket>();
  let fault: TcpFault = { kind: 'none' };
  let connections = 0;
  let released = 0;

  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  };

  const server = createTcpServer((client) => {
    connections++;
    track(client);
    // The proxy changes the fault before it cuts connections itself, so a close seen while hanging is the client's.
    client.once('close', () => {
      if (fault.kind === 'hang') released++;
    });
    // A connection made while hanging never reaches the server: it is held until the fault changes.
    if (fault.kind !== 'none') return;
    const peer = createConnection(upstream.port, upstream.host);
    track(peer);
    // While hanging, bytes are swallowed both ways: each side waits for answers that never come.
    client.on('data', (chunk: Buffer) => {
      if (fault.kind === 'none') peer.write(chunk);
    });
    peer.on('data', (chunk: Buffer) => {
      if (fault.kind === 'none') client.write(chunk);
    });
    client.once('close', () => peer.destroy());
    // A hang hides the server's end too: the client only hears of it when the fault changes.
    peer.once('close', () => {
      if (fault.kind !== 'hang') client.destroy();
    });
  });

  const port = await listen(server, 0);
  return {
    host: HOST,
    port,
    get fault() {
      return fault;
    },
    get connections() {
      return connections;
    },
    get released() {
      return released;
    },
    async set(next) {
      const previous = fault;
      fault = next;
      // Connections that lost bytes while hanging are out of step: they are cut, as a failed network would.
      if (previous.kind === 'hang' && next.kind !== 'hang') for (const socket of open) socket.destroy();
      if (next.kind === 'refuse') {
        const closed = stopListening(server);
        for (const socket of open) socket.destroy();
        await closed;
      } else if (!server.listening) {
        await listen(server, port);
      }
    },
    async close() {
      fault = { kind: 'refuse' };
      const closed = stopListening(server);
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}
