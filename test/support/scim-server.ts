// A real SCIM 2.0 server for integration tests, built from the scimmy + scimmy-routers libraries (which we did not
// write) on express, with an in-memory store per server. Listens on a free loopback port; stop() closes it.
//
// SCIMMY keeps its resource declarations and service provider config in module-level singletons, so the resource
// handlers are declared once per process and find their store through the router's per-request `context`: several
// servers in one process each keep their own users and groups.
//
// SCIMMY parses the filter and hands it to our handlers, which would have to match it against every resource: the
// store keeps indexes (userName, externalId, displayName, memberships) so that equality filters and reads by id are
// lookups. The indexes only narrow the candidates; SCIMMY's filter still decides what matches.
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
  /**
   * Serve Groups (true by default). false: the service has no Groups resource, as many real ones: every `/Groups`
   * request answers 404, and Users carry no `groups` attribute.
   */
  readonly groups?: boolean;
  /**
   * Refuse any request with a `filter` query (while still advertising filtering, as real servers do): 400 with
   * scimType `invalidFilter`, or 501 Not Implemented. Undefined: filters work.
   */
  readonly refuseFilters?: 400 | 501;
  /** Serve /ResourceTypes and /Schemas (true by default); false: they answer 404, as on services that lack them. */
  readonly discovery?: boolean;
  /** Offer the enterprise User extension in /ResourceTypes and /Schemas (true by default). */
  readonly enterprise?: boolean;
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
  /** Can be changed while running: whether the service has a Groups resource (see ScimServerOptions.groups). */
  groups: boolean;
  /** Can be changed while running: refuse filtered requests (see ScimServerOptions.refuseFilters). */
  refuseFilters: 400 | 501 | undefined;
  /** Can be changed while running: whether /ResourceTypes and /Schemas are served. */
  discovery: boolean;
  /** Can be changed while running: whether /ResourceTypes and /Schemas offer the enterprise extension. */
  enterprise: boolean;
  /** Requests refused because they carried a filter, so far. */
  readonly refusedFilters: number;
  /** Requests received so far for this path below the base URL (`/ServiceProviderConfig`), any query. */
  requestsTo(path: string): number;
  /**
   * What /ServiceProviderConfig advertises (the endpoints keep working). SCIMMY holds this process-wide: it applies
   * to every server in the process.
   */
  advertise(features: { patch?: boolean; filter?: boolean }): void;
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;

/**
 * Ids by the value of each indexed attribute, so that an equality filter is a lookup rather than a scan of every
 * resource. Attribute names and string values are kept lower-cased: a lookup returns a superset of what SCIMMY's
 * `eq` matches, and SCIMMY's own filter still decides on those candidates.
 */
class ValueIndex {
  private readonly byAttribute = new Map<string, Map<string, Set<string>>>();

  constructor(attributes: readonly string[]) {
    for (const a of attributes) this.byAttribute.set(a.toLowerCase(), new Map());
  }

  indexes(attribute: string): boolean {
    return this.byAttribute.has(attribute.toLowerCase());
  }

  add(id: string, resource: Json): void {
    for (const [value, byValue] of this.entries(resource)) {
      const ids = byValue.get(value) ?? new Set<string>();
      ids.add(id);
      byValue.set(value, ids);
    }
  }

  remove(id: string, resource: Json): void {
    for (const [value, byValue] of this.entries(resource)) {
      const ids = byValue.get(value);
      ids?.delete(id);
      if (ids?.size === 0) byValue.delete(value);
    }
  }

  /** Ids whose attribute equals value, ignoring case. */
  lookup(attribute: string, value: string): ReadonlySet<string> {
    return this.byAttribute.get(attribute.toLowerCase())?.get(value.toLowerCase()) ?? new Set();
  }

  /** [lower-cased value, that attribute's value → ids map] for each indexed attribute the resource holds as a string. */
  private *entries(resource: Json): Generator<[string, Map<string, Set<string>>]> {
    for (const [key, value] of Object.entries(resource)) {
      const byValue = this.byAttribute.get(key.toLowerCase());
      if (byValue && typeof value === 'string') yield [value.toLowerCase(), byValue];
    }
  }
}

interface Store {
  readonly users: Map<string, Json>;
  readonly groups: Map<string, Json>;
  userGroups: boolean;
  /** Whether the service has a Groups resource. */
  hasGroups: boolean;
  readonly userIndex: ValueIndex;
  readonly groupIndex: ValueIndex;
  /** User id → ids of the groups it is a member of (kept with every group write and every delete). */
  readonly groupsOfUser: Map<string, Set<string>>;
  /** Creation order of every resource, so that indexed answers come in the order a scan would give. */
  readonly position: Map<string, number>;
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

/** One `or` branch of a parsed SCIMMY filter: attribute → comparison, nested attributes, or several comparisons. */
type FilterBranch = Record<string, unknown>;

/** What the handlers see of a SCIMMY resource instance. */
interface ResourceLike {
  id?: string;
  filter?: { match(values: unknown[]): unknown[] } & ArrayLike<FilterBranch>;
}

/** The string a comparison tests equality with (`["eq", "x"]`, or one of several on the attribute); else undefined. */
function equalTo(comparison: unknown): string | undefined {
  if (!Array.isArray(comparison)) return undefined;
  if (comparison.every(Array.isArray)) {
    for (const c of comparison) {
      const value = equalTo(c);
      if (value !== undefined) return value;
    }
    return undefined;
  }
  const [comparator, value] = comparison as unknown[];
  return comparison.length === 2 && String(comparator).toLowerCase() === 'eq' && typeof value === 'string'
    ? value
    : undefined;
}

/**
 * The ids a filter can match, when each of its `or` branches holds an equality the store can look up (`lookup`
 * answers undefined for attributes it does not index); undefined when some branch needs a scan.
 */
function candidates(
  filter: ArrayLike<FilterBranch>,
  lookup: (attribute: string, comparison: unknown) => Iterable<string> | undefined,
): Set<string> | undefined {
  const ids = new Set<string>();
  for (let i = 0; i < filter.length; i++) {
    let found: Iterable<string> | undefined;
    for (const [attribute, comparison] of Object.entries(filter[i]!)) {
      found = lookup(attribute.toLowerCase(), comparison);
      if (found) break;
    }
    if (!found) return undefined;
    for (const id of found) ids.add(id);
  }
  return ids;
}

/** The resources with these ids, in creation order. */
function inOrder(store: Store, ids: Iterable<string>, from: Map<string, Json>): Json[] {
  const found: Json[] = [];
  for (const id of ids) {
    const resource = from.get(id);
    if (resource) found.push(resource);
  }
  if (found.length > 1) found.sort((a, b) => store.position.get(String(a.id))! - store.position.get(String(b.id))!);
  return found;
}

function meta(existing: Json | undefined, resourceType: string): Json {
  const now = new Date().toISOString();
  const old = (existing?.meta ?? {}) as Json;
  return { resourceType, created: old.created ?? now, lastModified: now };
}

function withGroups(store: Store, user: Json): Json {
  if (!store.userGroups || !store.hasGroups) return user;
  const groups = inOrder(store, store.groupsOfUser.get(String(user.id)) ?? [], store.groups).map((g) => ({
    value: g.id,
    display: g.displayName,
    type: 'direct',
  }));
  return { ...user, groups };
}

/** What a read asks for: by id or by an indexed equality from the indexes, otherwise every resource. */
function egress(
  resource: ResourceLike,
  select: (ids?: Iterable<string>) => Json[],
  lookup: Parameters<typeof candidates>[1],
): Json | Json[] {
  const filter = resource.filter;
  const ids = resource.id !== undefined ? [resource.id] : filter ? candidates(filter, lookup) : undefined;
  const pool = select(ids);
  // SCIMMY's filter still decides (the index only narrows what it looks at).
  const matched = filter ? (filter.match(pool) as Json[]) : pool;
  if (resource.id) return matched[0] ?? fail(404, null, `Resource ${resource.id} not found`);
  return matched;
}

function setMemberships(store: Store, groupId: string, before: readonly Json[], after: readonly Json[]): void {
  const now = new Set(after.map((m) => String(m.value)));
  for (const m of before) {
    const userId = String(m.value);
    if (now.has(userId)) continue;
    const groups = store.groupsOfUser.get(userId);
    groups?.delete(groupId);
    if (groups?.size === 0) store.groupsOfUser.delete(userId);
  }
  for (const userId of now) {
    const groups = store.groupsOfUser.get(userId) ?? new Set<string>();
    groups.add(groupId);
    store.groupsOfUser.set(userId, groups);
  }
}

let declared = false;
/** Resources created in this process, for their creation order. */
let created = 0;

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
      // userName is not caseExact in RFC 7643 §4.1.1, and unique across the service provider
      for (const other of store.userIndex.lookup('userName', userName)) {
        if (other !== id) fail(409, 'uniqueness', `userName ${JSON.stringify(userName)} is already in use`);
      }
      const user: Json = { ...data, id, meta: meta(existing, 'User') };
      if (existing) store.userIndex.remove(id, existing);
      else store.position.set(id, created++);
      store.userIndex.add(id, user);
      store.users.set(id, user);
      return withGroups(store, user) as never;
    })
    .egress((resource, ctx) => {
      const store = storeOf(ctx);
      return egress(
        resource,
        (ids) => (ids ? inOrder(store, ids, store.users) : [...store.users.values()]).map((u) => withGroups(store, u)),
        (attribute, comparison) => {
          const value = equalTo(comparison);
          if (value === undefined) return undefined;
          if (attribute === 'id') return [value];
          return store.userIndex.indexes(attribute) ? store.userIndex.lookup(attribute, value) : undefined;
        },
      ) as never;
    })
    .degress((resource, ctx) => {
      const store = storeOf(ctx);
      const id = resource.id ?? '';
      const user = store.users.get(id);
      if (!user) return fail(404, null, `Resource ${id} not found`);
      store.users.delete(id);
      store.userIndex.remove(id, user);
      store.position.delete(id);
      for (const groupId of store.groupsOfUser.get(id) ?? []) {
        const group = store.groups.get(groupId);
        if (group) group.members = ((group.members ?? []) as Json[]).filter((m) => m.value !== id);
      }
      store.groupsOfUser.delete(id);
    });

  SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .ingress((resource, instance, ctx) => {
      const store = storeOf(ctx);
      const data = plain(instance);
      const id = resource.id ?? randomUUID();
      const existing = resource.id ? store.groups.get(id) : undefined;
      if (resource.id && !existing) fail(404, null, `Resource ${id} not found`);
      const displayName = text(data.displayName);
      for (const other of store.groupIndex.lookup('displayName', displayName)) {
        if (other !== id && store.groups.get(other)?.displayName === displayName) {
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
      if (existing) store.groupIndex.remove(id, existing);
      else store.position.set(id, created++);
      store.groupIndex.add(id, group);
      setMemberships(store, id, (existing?.members ?? []) as Json[], members);
      store.groups.set(id, group);
      return group as never;
    })
    .egress((resource, ctx) => {
      const store = storeOf(ctx);
      return egress(
        resource,
        (ids) => (ids ? inOrder(store, ids, store.groups) : [...store.groups.values()]),
        (attribute, comparison) => {
          // `members.value eq "USER-ID"` (how a client finds a user's groups): from the membership index.
          if (attribute === 'members' && comparison && typeof comparison === 'object' && !Array.isArray(comparison)) {
            const [[key, inner] = []] = Object.entries(comparison);
            const userId = key?.toLowerCase() === 'value' ? equalTo(inner) : undefined;
            return userId === undefined ? undefined : (store.groupsOfUser.get(userId) ?? []);
          }
          const value = equalTo(comparison);
          if (value === undefined) return undefined;
          if (attribute === 'id') return [value];
          return store.groupIndex.indexes(attribute) ? store.groupIndex.lookup(attribute, value) : undefined;
        },
      ) as never;
    })
    .degress((resource, ctx) => {
      const store = storeOf(ctx);
      const id = resource.id ?? '';
      const group = store.groups.get(id);
      if (!group) return fail(404, null, `Resource ${id} not found`);
      store.groups.delete(id);
      store.groupIndex.remove(id, group);
      store.position.delete(id);
      setMemberships(store, id, (group.members ?? []) as Json[], []);
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
  const store: Store = {
    users: new Map(),
    groups: new Map(),
    userGroups: options.userGroups ?? true,
    hasGroups: options.groups ?? true,
    userIndex: new ValueIndex(['userName', 'externalId']),
    groupIndex: new ValueIndex(['displayName', 'externalId']),
    groupsOfUser: new Map(),
    position: new Map(),
  };
  let requests = 0;
  let rateLimitEvery = options.rateLimitEvery;
  let limitedFrom = 0;
  let refuseFilters = options.refuseFilters;
  let refusedFilters = 0;
  let discovery = options.discovery ?? true;
  let enterprise = options.enterprise ?? true;
  const byPath = new Map<string, number>();
  const scimError = (res: express.Response, status: number, detail: string, scimType?: string): void => {
    res
      .status(status)
      .type('application/scim+json')
      .send({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: String(status),
        ...(scimType ? { scimType } : {}),
        detail,
      });
  };

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
    const path = req.path.replace(/\/+$/, '');
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    if (!store.hasGroups && /^\/scim\/v2\/Groups(\/|$)/.test(path)) {
      scimError(res, 404, `Resource Groups not found`);
      return;
    }
    if (/^\/scim\/v2\/(ResourceTypes|Schemas)(\/|$)/.test(path)) {
      if (!discovery) {
        scimError(res, 404, `Resource ${path} not found`);
        return;
      }
      // SCIMMY declares its resource types process-wide: what this server lacks is taken out of its answer.
      const send = res.send.bind(res);
      res.send = (body: unknown) => {
        const document = plain(body);
        if (Array.isArray(document.Resources)) {
          document.Resources = (document.Resources as Json[])
            .filter((r) => (store.hasGroups || r.id !== 'Group') && (enterprise || r.id !== ENTERPRISE))
            .map((r) => (enterprise || !Array.isArray(r.schemaExtensions) ? r : { ...r, schemaExtensions: [] }));
        }
        return send(document);
      };
    }
    const filtered = req.query.filter !== undefined || path.endsWith('/.search');
    if (refuseFilters && filtered) {
      refusedFilters++;
      if (refuseFilters === 501) scimError(res, 501, 'Filtering is not implemented');
      else scimError(res, 400, 'Filtering is not supported by this service', 'invalidFilter');
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
    get groups() {
      return store.hasGroups;
    },
    set groups(on: boolean) {
      store.hasGroups = on;
    },
    get refuseFilters() {
      return refuseFilters;
    },
    set refuseFilters(how: 400 | 501 | undefined) {
      refuseFilters = how;
    },
    get discovery() {
      return discovery;
    },
    set discovery(on: boolean) {
      discovery = on;
    },
    get enterprise() {
      return enterprise;
    },
    set enterprise(on: boolean) {
      enterprise = on;
    },
    get refusedFilters() {
      return refusedFilters;
    },
    requestsTo: (path) => byPath.get(`/scim/v2${path}`) ?? 0,
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
