// A real SCIM 2.0 server for integration tests, built from the scimmy + scimmy-routers libraries (which we did not
// write) on express, with an in-memory store per server. Listens on a free loopback port; stop() closes it.
//
// SCIMMY keeps its resource declarations and service provider config in module-level singletons, so the resource
// handlers are declared once per process and find their store through the router's per-request `context`: several
// servers in one process each keep their own users and groups.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';

export interface ScimServerOptions {
  /** The bearer token the server accepts (random when absent). */
  readonly token?: string;
  /** Answer every Nth request with 429 and `Retry-After: 1` (counting from the first). */
  readonly rateLimitEvery?: number;
  /** Return a User's `groups` attribute (true by default); false makes clients find groups by filtering. */
  readonly userGroups?: boolean;
}

export interface ScimServer {
  /** Base URL, e.g. http://127.0.0.1:PORT/scim/v2 */
  readonly url: string;
  readonly token: string;
  /** Requests received so far (all of them, including refused ones). */
  readonly requests: number;
  /** Can be changed while running: every Nth request (counted from now) answers 429; 0 or undefined: never. */
  rateLimitEvery: number | undefined;
  /** Can be changed while running: whether Users carry their `groups`. */
  userGroups: boolean;
  /**
   * What /ServiceProviderConfig advertises (the endpoints keep working). SCIMMY holds this process-wide: it applies
   * to every server in the process.
   */
  advertise(features: { patch?: boolean; filter?: boolean }): void;
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;

interface Store {
  readonly users: Map<string, Json>;
  readonly groups: Map<string, Json>;
  userGroups: boolean;
}

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A plain-JSON copy of a SCIMMY schema instance (drops its getters, proxies and Dates). */
const plain = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json;

const fail = (status: number, scimType: string | null, message: string): never => {
  throw new SCIMMY.Types.Error(status, scimType as string, message);
};

const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const isStore = (ctx: unknown): ctx is Store => !!ctx && typeof ctx === 'object' && 'users' in ctx;
const storeOf = (ctx: unknown): Store => (isStore(ctx) ? ctx : fail(500, null, 'no store in request context'));

/** What the handlers see of a SCIMMY resource instance. */
interface ResourceLike {
  id?: string;
  filter?: { match(values: unknown[]): unknown[] };
}

function meta(existing: Json | undefined, resourceType: string): Json {
  const now = new Date().toISOString();
  const old = (existing?.meta ?? {}) as Json;
  return { resourceType, created: old.created ?? now, lastModified: now };
}

function withGroups(store: Store, user: Json): Json {
  if (!store.userGroups) return user;
  const groups = [...store.groups.values()]
    .filter((g) => ((g.members ?? []) as Json[]).some((m) => m.value === user.id))
    .map((g) => ({ value: g.id, display: g.displayName, type: 'direct' }));
  return { ...user, groups };
}

function egress(resource: ResourceLike, all: Json[]): Json | Json[] {
  const matched = resource.filter ? (resource.filter.match(all) as Json[]) : all;
  if (resource.id) return matched[0] ?? fail(404, null, `Resource ${resource.id} not found`);
  return matched;
}

let declared = false;

function declareResources(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(SCIMMY.Resources.User)
    .extend(SCIMMY.Schemas.EnterpriseUser, false)
    .ingress((resource, instance, ctx) => {
      const store = storeOf(ctx);
      const data = plain(instance);
      delete data.groups; // read-only: memberships change through Groups
      const userName = text(data.userName);
      const id = resource.id ?? randomUUID();
      const existing = resource.id ? store.users.get(id) : undefined;
      if (resource.id && !existing) fail(404, null, `Resource ${id} not found`);
      for (const other of store.users.values()) {
        // userName is not caseExact in RFC 7643 §4.1.1, and unique across the service provider
        if (other.id !== id && String(other.userName).toLowerCase() === userName.toLowerCase()) {
          fail(409, 'uniqueness', `userName ${JSON.stringify(userName)} is already in use`);
        }
      }
      const user: Json = { ...data, id, meta: meta(existing, 'User') };
      store.users.set(id, user);
      return withGroups(store, user) as never;
    })
    .egress((resource, ctx) => {
      const store = storeOf(ctx);
      return egress(
        resource,
        [...store.users.values()].map((u) => withGroups(store, u)),
      ) as never;
    })
    .degress((resource, ctx) => {
      const store = storeOf(ctx);
      const id = resource.id ?? '';
      if (!store.users.delete(id)) fail(404, null, `Resource ${id} not found`);
      for (const group of store.groups.values()) {
        group.members = ((group.members ?? []) as Json[]).filter((m) => m.value !== id);
      }
    });

  SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .ingress((resource, instance, ctx) => {
      const store = storeOf(ctx);
      const data = plain(instance);
      const id = resource.id ?? randomUUID();
      const existing = resource.id ? store.groups.get(id) : undefined;
      if (resource.id && !existing) fail(404, null, `Resource ${id} not found`);
      const displayName = text(data.displayName);
      for (const other of store.groups.values()) {
        if (other.id !== id && other.displayName === displayName) {
          fail(409, 'uniqueness', `group ${JSON.stringify(displayName)} already exists`);
        }
      }
      // Members are users of this server, each once (an `add` of an existing member changes nothing).
      const seen = new Set<string>();
      const members: Json[] = [];
      for (const m of (data.members ?? []) as Json[]) {
        const value = String(m.value);
        const user = store.users.get(value);
        if (!user) fail(400, 'invalidValue', `member ${value} is not a user of this server`);
        if (seen.has(value)) continue;
        seen.add(value);
        members.push({ value, display: user?.userName, type: 'User' });
      }
      const group: Json = { ...data, id, members, meta: meta(existing, 'Group') };
      store.groups.set(id, group);
      return group as never;
    })
    .egress((resource, ctx) => egress(resource, [...storeOf(ctx).groups.values()]) as never)
    .degress((resource, ctx) => {
      const id = resource.id ?? '';
      if (!storeOf(ctx).groups.delete(id)) fail(404, null, `Resource ${id} not found`);
    });
}

const sameToken = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

export async function startScimServer(options: ScimServerOptions = {}): Promise<ScimServer> {
  declareResources();
  const token = options.token ?? randomBytes(18).toString('base64url');
  const store: Store = { users: new Map(), groups: new Map(), userGroups: options.userGroups ?? true };
  let requests = 0;
  let rateLimitEvery = options.rateLimitEvery;
  let limitedFrom = 0;

  const app = express();
  app.use((req, res, next) => {
    requests++;
    // Express 5 makes req.query a getter that parses afresh on every read, so scimmy-routers' cast of startIndex
    // and count to numbers is lost and SCIMMY ignores them: pin a writable copy for the router to cast.
    Object.defineProperty(req, 'query', { value: { ...req.query }, writable: true, configurable: true });
    if (rateLimitEvery && (requests - limitedFrom) % rateLimitEvery === 0) {
      res
        .status(429)
        .set('Retry-After', '1')
        .type('application/scim+json')
        .send({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
          status: '429',
          detail: 'Too many requests',
        });
      return;
    }
    next();
  });
  // Each SCIMMYRouters appends its scheme to SCIMMY's process-wide config: start from none so servers do not pile up.
  SCIMMY.Config.set('authenticationSchemes', []);
  app.use(
    '/scim/v2',
    new SCIMMYRouters({
      type: 'bearer',
      docUri: 'https://example.com/tenure/scim-test-server',
      handler: (req) => {
        const header = req.header('Authorization') ?? '';
        if (!header.startsWith('Bearer ') || !sameToken(header.slice('Bearer '.length), token)) {
          throw new Error('Authorization failed');
        }
        return 'tenure';
      },
      context: () => store,
    }),
  );

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/scim/v2`,
    token,
    get requests() {
      return requests;
    },
    get rateLimitEvery() {
      return rateLimitEvery;
    },
    set rateLimitEvery(n: number | undefined) {
      rateLimitEvery = n;
      limitedFrom = requests;
    },
    get userGroups() {
      return store.userGroups;
    },
    set userGroups(on: boolean) {
      store.userGroups = on;
    },
    advertise(features) {
      for (const [key, supported] of Object.entries(features)) {
        SCIMMY.Config.set(key, supported);
      }
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

export { ENTERPRISE };
