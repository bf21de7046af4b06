// A second real SCIM 2.0 server for integration tests, which this project did not write: the SCIM plugin of Better
// Auth (@better-auth/scim, an identity framework's inbound provisioning endpoint) on Better Auth's in-memory
// database, behind Node's HTTP server on a free loopback port. stop() closes it; nothing is written to disk.
//
// It serves /Users and /Groups with PATCH, filters on some attributes only, and checks a scope per resource on each
// bearer token: `usersOnlyToken` may use /Users but is refused (403) on /Groups.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scim } from '@better-auth/scim';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { getSchema } from 'better-auth/db';
import { toNodeHandler } from 'better-auth/node';

export interface BetterAuthScimServer {
  /** Base URL, e.g. http://127.0.0.1:PORT/api/auth/scim/v2 */
  readonly url: string;
  /** A token with every SCIM scope. */
  readonly token: string;
  /** A token allowed to read and write Users only. */
  readonly usersOnlyToken: string;
  /** The server's own tables (scimUser, scimGroup, scimGroupMember ...), to check what it holds without SCIM. */
  readonly tables: Readonly<Record<string, readonly Record<string, unknown>[]>>;
  stop(): Promise<void>;
}

export async function startBetterAuthScimServer(): Promise<BetterAuthScimServer> {
  const token = randomBytes(18).toString('base64url');
  const usersOnlyToken = randomBytes(18).toString('base64url');
  const tables: Record<string, Record<string, unknown>[]> = {};
  // Better Auth wants its own URL, so it is made once the port is known; nobody has the URL before.
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const options = {
    baseURL: `http://127.0.0.1:${port}`,
    secret: randomBytes(32).toString('base64url'),
    database: memoryAdapter(tables),
    logger: { disabled: true },
    telemetry: { enabled: false },
    plugins: [
      scim({
        connections: [
          {
            id: 'tenure-tests',
            credentials: [
              { type: 'bearer', id: 'all', token },
              {
                type: 'bearer',
                id: 'users-only',
                token: usersOnlyToken,
                scopes: ['scim.users.read', 'scim.users.write'],
              },
            ],
          },
        ],
      }),
    ],
  };
  // The in-memory database holds one array per table, and must be given them all before the first request.
  for (const table of Object.keys(getSchema(options))) tables[table] = [];
  const handle = toNodeHandler(betterAuth(options));
  server.on('request', (req, res) => void handle(req, res));
  return {
    url: `http://127.0.0.1:${port}/api/auth/scim/v2`,
    token,
    usersOnlyToken,
    tables,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
