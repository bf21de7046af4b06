// A SCIM 2.0 client connector (RFC 7643 resources, RFC 7644 protocol) over Node's global fetch.
//
// Accounts are Users (name = userName, identity = the link attribute, externalId or the enterprise employeeNumber,
// enabled = active); entitlements `TARGET:group/NAME` are Groups found by displayName. What the service says about
// itself (ServiceProviderConfig, ResourceTypes, Schemas) is read once per discovery_ttl_seconds and the connector
// adapts: no PATCH → PUT of the whole resource; no filtering → a scan of the listing; no Group resource type →
// users only. Servers as they really are: a filter refused although advertised (400 invalidFilter: for that
// attribute; 501: for all) → a scan from then on, warned about once; no Groups resource (404 or 501 on /Groups) →
// accounts without memberships, and a clear error for a group.
import { Buffer } from 'node:buffer';
import type { Account } from '../../model/actual-state.js';
import type { Diagnostic } from '../../model/diagnostic.js';
import type { TargetDefinition } from '../../model/policy.js';
import {
  ConnectorError,
  type AccountSpec,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorErrorCode,
} from '../connector.js';
import { settingsOrThrow, type SecretValue } from '../connector-kind.js';
import { resolveSecret, type ConnectorContext } from '../secrets.js';
import { SCIM_ENTERPRISE_USER, SCIM_USER, scimDiscovery, type ScimDiscovery } from './scim-discovery.js';
import { scimSettings, type ScimSettings } from './scim-settings.js';

export { SCIM_ENTERPRISE_USER, SCIM_GROUP, SCIM_USER } from './scim-discovery.js';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MEDIA_TYPE = 'application/scim+json';

/** Account attributes mapped to the enterprise extension (RFC 7643 §4.3). */
const ENTERPRISE_ATTRIBUTES = ['employeeNumber', 'costCenter', 'organization', 'division', 'department'] as const;

type Json = Record<string, unknown>;

interface Options {
  readonly url: string;
  readonly pageSize: number;
  readonly membershipBatch: number;
  readonly timeoutMs: number;
  readonly linkAttribute: 'externalId' | 'employeeNumber';
  readonly discoveryTtlMs: number;
  /** The enterprise attributes mapped from account attributes (employeeNumber is not, when it is the link). */
  readonly enterpriseAttributes: readonly string[];
}

/** A SCIM connector, with what it learnt of its service for `tenure targets check`. */
export interface ScimConnector extends Connector {
  renameAccount(name: string, newName: string, identity: string): Promise<void>;
  linkAccount(name: string, identity: string): Promise<void>;
  /** What the service says about itself, read at most once per `discovery_ttl_seconds`. */
  discover(): Promise<ScimDiscovery>;
}

/**
 * A string literal for a SCIM filter (RFC 7644 §3.4.2.2: JSON string rules): the value in double quotes,
 * with `\` and `"` (and control characters) escaped.
 */
export function scimString(value: string): string {
  return JSON.stringify(value);
}

/** Milliseconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * A request the server refused in a way the caller has a fallback for (a filter it does not support, a resource it
 * does not have). Never leaves the connector: every caller that asks for it catches it.
 */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | undefined,
    readonly what: string,
  ) {
    super(`${what} answered ${status}${scimType ? ` (${scimType})` : ''}`);
  }
}

/** Which answers a request's caller has a fallback for. */
type Refusal = (status: number, scimType: string | undefined) => boolean;

/** Obtains bearer tokens: a static one, or OAuth 2.0 client credentials (RFC 6749 §4.4), cached until expiry. */
interface TokenSource {
  get(): Promise<string>;
  /** Forget a cached token the server refused; true when a fresh one can be fetched. */
  invalidate(): boolean;
  readonly secrets: readonly string[];
}

export function createScimConnector(target: TargetDefinition, context: ConnectorContext): ScimConnector {
  return scimConnector(target.id, settingsOrThrow({ kind: 'scim', settings: scimSettings }, target), context);
}

/** A SCIM target on valid settings: no request is made, and no secret read, before the first operation. */
export function scimConnector(target: string, settings: ScimSettings, context: ConnectorContext): ScimConnector {
  return new ScimTarget(target, settings, context);
}

/** What every scim target can do. */
export const SCIM_CAPABILITIES: ConnectorCapabilities = {
  read: true,
  write: true,
  disable: true,
  delete: true,
  memberships: true,
  rotate: false,
  rename: true,
};

export class ScimTarget implements ScimConnector {
  readonly kind = 'scim';
  readonly capabilities: ConnectorCapabilities = SCIM_CAPABILITIES;
  private readonly settings: Options;
  private readonly tokens: TokenSource;
  /** The discovery documents by path, and when each was asked. */
  private readonly documents = new Map<string, { readonly at: number; readonly value: Promise<Json | undefined> }>();
  /** Group ids by displayName, and back. */
  private readonly groupIds = new Map<string, string>();
  private readonly groupNames = new Map<string, string>();
  /** Why we believe the service has no Groups resource (`GET /Groups answered 404`); undefined while it may. */
  private noGroups?: string;
  /** The last listEntitlements found no Groups resource (for locateEntitlement's message). */
  private listedNoGroups = false;
  /** Set once the server answered 501 to a filter: every lookup lists and matches locally from then on. */
  private filterRefused = false;
  /** `/Users userName`: filters on an attribute the server refused (400 invalidFilter); lookups by it scan. */
  private readonly refusedFilters = new Set<string>();
  /** User ids by a name the server holds in another case, learnt when a create was refused as a duplicate. */
  private readonly aliases = new Map<string, string>();
  private readonly notes: Diagnostic[] = [];

  constructor(
    readonly target: string,
    s: ScimSettings,
    context: ConnectorContext,
  ) {
    this.settings = {
      url: s.url.replace(/\/+$/, ''),
      pageSize: s.page_size,
      membershipBatch: s.membership_batch,
      timeoutMs: s.timeout_ms,
      linkAttribute: s.link_attribute,
      discoveryTtlMs: s.discovery_ttl_seconds * 1000,
      enterpriseAttributes: ENTERPRISE_ATTRIBUTES.filter(
        (a) => !(s.link_attribute === 'employeeNumber' && a === 'employeeNumber'),
      ),
    };
    this.tokens = this.tokenSource(s, context);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Connector

  async listAccounts(): Promise<readonly Account[]> {
    await this.checkLink();
    const users = await this.listAll('/Users');
    let memberships: Map<string, string[]> | undefined;
    const accounts: Account[] = [];
    for (const user of users) {
      let groups = this.groupsOf(user);
      if (!groups) {
        memberships ??= await this.allMemberships();
        groups = memberships.get(String(user.id)) ?? [];
      }
      accounts.push(this.toAccount(user, groups));
    }
    return accounts;
  }

  async readAccount(name: string): Promise<Account | undefined> {
    await this.checkLink();
    const user = await this.findUser(name);
    return user ? this.toAccount(user, await this.groupNamesOf(user)) : undefined;
  }

  async createAccount(spec: AccountSpec): Promise<Account> {
    await this.checkLink();
    // Match before create: never make a second account for a name the server already knows.
    const existing = await this.findUser(spec.name);
    if (existing) {
      throw this.error(
        'already_exists',
        `account ${JSON.stringify(spec.name)} already exists (id ${String(existing.id)})`,
      );
    }
    const body: Json = { schemas: [SCIM_USER], userName: spec.name, active: true };
    applyAttributes(body, spec.attributes, this.settings.enterpriseAttributes);
    if (spec.identity !== '') this.setLink(body, spec.identity);
    if (body[SCIM_ENTERPRISE_USER]) body.schemas = [SCIM_USER, SCIM_ENTERPRISE_USER];
    let created: Json | undefined;
    try {
      created = await this.request('POST', '/Users', body, { conflict: 'already_exists' });
    } catch (e) {
      // The server knows the name though its filter did not find it (it compares userName with case, or lags):
      // find the user in the listing once and remember it under this name, so that the create links to it and
      // the identity's next operations (its memberships) find it.
      if (e instanceof ConnectorError && e.code === 'already_exists') {
        const lower = spec.name.toLowerCase();
        const held = (await this.listAll('/Users')).find((u) => String(u.userName).toLowerCase() === lower);
        if (held) this.aliases.set(spec.name, String(held.id));
      }
      throw e;
    }
    // A server may answer 201 without a body (RFC 7644 says it SHOULD return the resource): read it back then.
    const user = created?.id !== undefined ? created : await this.requireUser(spec.name);
    return this.toAccount(user, []);
  }

  async updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    const user = await this.requireUser(name);
    const operations = attributeOperations(attributes, this.settings.enterpriseAttributes);
    if (operations.length === 0) return;
    if ((await this.discover()).patch) {
      await this.request('PATCH', `/Users/${enc(user.id)}`, { schemas: [PATCH_OP], Operations: operations });
    } else {
      const body = replaceable(user);
      applyAttributes(body, attributes, this.settings.enterpriseAttributes);
      if (body[SCIM_ENTERPRISE_USER]) body.schemas = [SCIM_USER, SCIM_ENTERPRISE_USER];
      await this.request('PUT', `/Users/${enc(user.id)}`, body);
    }
  }

  disableAccount(name: string): Promise<void> {
    return this.setActive(name, false);
  }

  enableAccount(name: string): Promise<void> {
    return this.setActive(name, true);
  }

  async deleteAccount(name: string): Promise<void> {
    const user = await this.requireUser(name);
    await this.request('DELETE', `/Users/${enc(user.id)}`);
  }

  /**
   * PATCHes (or PUTs) userName: the id, and so the group memberships, stay. When `name` is gone the account is looked
   * for by its link, so a rename that took effect before a crash is found done.
   */
  async renameAccount(name: string, newName: string, identity: string): Promise<void> {
    await this.checkLink();
    const user = await this.findUser(name);
    if (!user) {
      const linked = await this.findByLink(identity);
      if (linked && sameName(String(linked.userName), newName)) return;
      throw this.error('not_found', `account ${JSON.stringify(name)} does not exist`);
    }
    if (String(user.userName) === newName) return;
    const holder = await this.findUser(newName);
    if (holder && String(holder.id) !== String(user.id)) {
      throw this.error(
        'already_exists',
        `account ${JSON.stringify(newName)} already exists (id ${String(holder.id)}): ${JSON.stringify(name)} cannot take its name`,
      );
    }
    await this.replaceOne(user, 'userName', newName, (body) => (body.userName = newName));
    this.aliases.delete(name);
  }

  /** Writes the identity into the link attribute (externalId, or the enterprise employeeNumber). */
  async linkAccount(name: string, identity: string): Promise<void> {
    await this.checkLink();
    const user = await this.requireUser(name);
    if (this.linkOf(user) === identity) return;
    await this.replaceOne(user, this.linkPath(), identity, (body) => this.setLink(body, identity));
  }

  /**
   * What the service says about itself: its ServiceProviderConfig, ResourceTypes and Schemas (RFC 7643 §5–7), read
   * together and each kept for `discovery_ttl_seconds`, so that a long-running process sees a service that changed.
   * An endpoint the service lacks (404, 501) leaves the defaults; a passing failure of ResourceTypes or Schemas too,
   * listed in `unanswered` (see document); any other failure is thrown, and asked again next time.
   */
  async discover(): Promise<ScimDiscovery> {
    const unanswered: string[] = [];
    const [spc, types, schemas] = await Promise.all([
      this.document('/ServiceProviderConfig'),
      this.document('/ResourceTypes', unanswered),
      this.document('/Schemas', unanswered),
    ]);
    return { ...scimDiscovery(spc, types, schemas), unanswered };
  }

  /** Every group by its display name; none when the service has no Groups (so a plan reports each declared one). */
  async listEntitlements(): Promise<readonly string[]> {
    const groups = await this.listGroups({ attributes: 'displayName' });
    this.listedNoGroups = groups === undefined;
    return (groups ?? [])
      .filter((g) => typeof g.displayName === 'string')
      .map((g) => `${this.target}:group/${this.remember(String(g.displayName), String(g.id))}`)
      .sort();
  }

  locateEntitlement(entitlement: string): string | undefined {
    const prefix = `${this.target}:group/`;
    if (!entitlement.startsWith(prefix)) return undefined;
    const name = JSON.stringify(entitlement.slice(prefix.length));
    return this.listedNoGroups ? `Group ${name}: the service has no Groups resource` : `Group ${name}`;
  }

  async listMembers(entitlement: string): Promise<readonly string[]> {
    const groupName = this.groupNameOf(entitlement);
    const group = await this.withGroup(groupName, (id) => this.request('GET', `/Groups/${enc(id)}`));
    const ids = ((group?.members ?? []) as Json[])
      .filter((m) => m.type === undefined || m.type === 'User')
      .map((m) => String(m.value));
    const names: string[] = [];
    // Resolve ids to userNames a batch at a time (one `id eq .. or id eq ..` filter per batch).
    for (let i = 0; i < ids.length; i += this.settings.membershipBatch) {
      const batch = ids.slice(i, i + this.settings.membershipBatch);
      const filter = batch.map((id) => `id eq ${scimString(id)}`).join(' or ');
      const users = await this.filtered('/Users', filter, { attributes: 'userName' });
      if (users) {
        names.push(...users.filter((u) => batch.includes(String(u.id))).map((u) => String(u.userName)));
      } else {
        for (const id of batch) {
          const user = await this.request('GET', `/Users/${enc(id)}`, undefined, { missingIsUndefined: true });
          if (user) names.push(String(user.userName));
        }
      }
    }
    return names;
  }

  async addMembership(name: string, entitlement: string): Promise<void> {
    const groupName = this.groupNameOf(entitlement);
    const user = await this.requireUser(name);
    const userId = String(user.id);
    if (this.groupsOf(user)?.includes(groupName)) return;
    await this.withGroup(groupName, async (groupId) => {
      if ((await this.discover()).patch) {
        const op = { op: 'add', path: 'members', value: [{ value: userId }] };
        return this.request('PATCH', `/Groups/${enc(groupId)}`, { schemas: [PATCH_OP], Operations: [op] });
      }
      return this.putMembers(groupId, (members) =>
        members.some((m) => m.value === userId) ? undefined : [...members, { value: userId }],
      );
    });
  }

  async removeMembership(name: string, entitlement: string): Promise<void> {
    const groupName = this.groupNameOf(entitlement);
    const user = await this.requireUser(name);
    const userId = String(user.id);
    const held = this.groupsOf(user);
    if (held && !held.includes(groupName)) return;
    await this.withGroup(groupName, async (groupId) => {
      if ((await this.discover()).patch) {
        const op = { op: 'remove', path: `members[value eq ${scimString(userId)}]` };
        // A server may answer 400 noTarget for a member that is already gone: that is the state we want.
        return this.request(
          'PATCH',
          `/Groups/${enc(groupId)}`,
          { schemas: [PATCH_OP], Operations: [op] },
          {
            noTargetIsOk: true,
          },
        );
      }
      return this.putMembers(groupId, (members) =>
        members.some((m) => m.value === userId) ? members.filter((m) => m.value !== userId) : undefined,
      );
    });
  }

  rotateCredential(name: string): Promise<void> {
    return Promise.reject(
      this.error(
        'invalid_input',
        `SCIM accounts have no credential Tenure can rotate (account ${JSON.stringify(name)})`,
      ),
    );
  }

  /** What the run should know about this server: one warning per kind of fallback taken. */
  warnings(): readonly Diagnostic[] {
    return [...this.notes];
  }

  close(): Promise<void> {
    this.groupIds.clear();
    this.groupNames.clear();
    this.documents.clear();
    this.noGroups = undefined;
    this.filterRefused = false;
    this.refusedFilters.clear();
    this.aliases.clear();
    return Promise.resolve();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Users

  /**
   * The user with exactly this userName. Filters first (`userName eq "..."`), then checks every answer itself so
   * that a lax or broken filter can never hand back another user. Servers that cannot parse an escaped string
   * (scimmy 1.x among them) answer 400 or match nothing: for names that need escaping we then scan the listing.
   * Without an exact match, a user whose userName differs only in case counts (userName is not caseExact, RFC 7643
   * §4.1.1: the server would refuse to create the name, and a create that finds it links to it).
   */
  private async findUser(name: string): Promise<Json | undefined> {
    const alias = this.aliases.get(name);
    if (alias !== undefined) {
      const user = await this.request('GET', `/Users/${enc(alias)}`, undefined, { missingIsUndefined: true });
      if (user) return user;
      this.aliases.delete(name);
    }
    const pick = (users: readonly Json[]): Json | undefined =>
      users.find((u) => u.userName === name) ??
      users.find((u) => String(u.userName).toLowerCase() === name.toLowerCase());
    const escaped = needsEscape(name);
    const users = await this.filtered('/Users', `userName eq ${scimString(name)}`, {}, escaped);
    if (users) {
      const found = pick(users);
      if (found || !escaped) return found;
    }
    return pick(await this.listAll('/Users'));
  }

  private async requireUser(name: string): Promise<Json> {
    const user = await this.findUser(name);
    if (!user) throw this.error('not_found', `account ${JSON.stringify(name)} does not exist`);
    return user;
  }

  /**
   * The user linked to this identity (by the link attribute), checked locally whatever the filter answered. Only a
   * rename whose old name is gone asks, so an empty answer is confirmed by the listing: some services match nothing
   * on an extension attribute (`urn:...:employeeNumber eq`) rather than refusing the filter.
   */
  private async findByLink(identity: string): Promise<Json | undefined> {
    if (identity === '') return undefined;
    const pick = (users: readonly Json[]) => users.find((u) => this.linkOf(u) === identity);
    const users = await this.filtered('/Users', `${this.linkPath()} eq ${scimString(identity)}`, {}, true);
    return (users && pick(users)) ?? pick(await this.listAll('/Users'));
  }

  /** The identity a user is linked to: its link attribute, when set. */
  private linkOf(user: Json): string | undefined {
    const value =
      this.settings.linkAttribute === 'externalId'
        ? user.externalId
        : ((user[SCIM_ENTERPRISE_USER] as Json | undefined) ?? {}).employeeNumber;
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  private setLink(body: Json, identity: string): void {
    if (this.settings.linkAttribute === 'externalId') {
      body.externalId = identity;
      return;
    }
    body[SCIM_ENTERPRISE_USER] = {
      ...(body[SCIM_ENTERPRISE_USER] ?? {}),
      employeeNumber: identity,
    };
    const schemas = Array.isArray(body.schemas) ? (body.schemas as string[]) : [SCIM_USER];
    if (!schemas.includes(SCIM_ENTERPRISE_USER)) body.schemas = [...schemas, SCIM_ENTERPRISE_USER];
  }

  /** The link attribute as a PATCH path and in filters. */
  private linkPath(): string {
    return this.settings.linkAttribute === 'externalId' ? 'externalId' : `${SCIM_ENTERPRISE_USER}:employeeNumber`;
  }

  /**
   * One discovery document, kept for discovery_ttl_seconds once answered (a missing one, 404 or 501, as undefined);
   * each is kept apart, so that a failure of one does not cost the others a new request. A document that only
   * refines the defaults (`optional` given) does not fail the caller for a passing failure (5xx, timeout, 429):
   * the defaults stand in, it is noted there, and asked again next time. The ServiceProviderConfig decides how to
   * write, so its failure is thrown.
   */
  private document(path: string, optional?: string[]): Promise<Json | undefined> {
    const now = Date.now();
    const cached = this.documents.get(path);
    let value = cached && now - cached.at < this.settings.discoveryTtlMs ? cached.value : undefined;
    if (!value) {
      const read = this.request('GET', path, undefined, {
        missingIsUndefined: true,
        refuse: (status) => status === 501,
      }).catch((e: unknown) => {
        if (e instanceof Refused) return undefined;
        throw e;
      });
      const entry = { at: now, value: read };
      this.documents.set(path, entry);
      read.catch(() => {
        if (this.documents.get(path) === entry) this.documents.delete(path);
      });
      value = read;
    }
    if (!optional) return value;
    return value.catch((e: unknown) => {
      if (!(e instanceof ConnectorError && e.retryable)) throw e;
      optional.push(path);
      return undefined;
    });
  }

  /** With employeeNumber as the link, the service must have the enterprise extension: else nothing can be linked. */
  private async checkLink(): Promise<void> {
    if (this.settings.linkAttribute !== 'employeeNumber') return;
    if ((await this.discover()).enterpriseUser) return;
    throw this.error(
      'invalid_input',
      `connection.link_attribute is employeeNumber, but the SCIM server does not offer the enterprise extension (${SCIM_ENTERPRISE_USER}) on Users`,
      'set connection.link_attribute: externalId, or turn on the enterprise User extension in the service',
    );
  }

  /** One attribute of a user replaced: a PATCH where the service has it, else the whole user PUT back. */
  private async replaceOne(user: Json, path: string, value: unknown, change: (body: Json) => void): Promise<void> {
    if ((await this.discover()).patch) {
      const body = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path, value }] };
      await this.request('PATCH', `/Users/${enc(user.id)}`, body);
    } else {
      const body = replaceable(user);
      change(body);
      await this.request('PUT', `/Users/${enc(user.id)}`, body);
    }
  }

  private async setActive(name: string, active: boolean): Promise<void> {
    const user = await this.requireUser(name);
    if ((await this.discover()).patch) {
      const body = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: active }] };
      await this.request('PATCH', `/Users/${enc(user.id)}`, body);
    } else {
      await this.request('PUT', `/Users/${enc(user.id)}`, { ...replaceable(user), active });
    }
  }

  private toAccount(user: Json, groups: readonly string[]): Account {
    const identity = this.linkOf(user);
    return {
      id: String(user.id),
      name: String(user.userName),
      ...(identity !== undefined ? { identity } : {}),
      enabled: user.active !== false,
      entitlements: groups.map((g) => `${this.target}:group/${g}`).sort(),
      attributes: readAttributes(user, this.settings.enterpriseAttributes),
    };
  }

  /** Group names from a User's `groups` attribute, or undefined when the server does not return it. */
  private groupsOf(user: Json): string[] | undefined {
    if (!Array.isArray(user.groups)) return undefined;
    const names: string[] = [];
    for (const g of user.groups as Json[]) {
      const id = String(g.value);
      const name = this.groupNames.get(id) ?? str(g.display);
      if (name === undefined) return undefined; // no display name: let the caller look the groups up
      this.remember(name, id);
      names.push(name);
    }
    return names;
  }

  /** The names of the groups a user is in: from its `groups` attribute, else by filtering Groups on members. */
  private async groupNamesOf(user: Json): Promise<string[]> {
    const fromUser = this.groupsOf(user);
    if (fromUser) return fromUser;
    if (await this.groupsAbsent()) return [];
    const groups = await this.filtered('/Groups', `members.value eq ${scimString(String(user.id))}`, {
      attributes: 'displayName',
    });
    if (groups) return groups.map((g) => this.remember(String(g.displayName), String(g.id)));
    return (await this.allMemberships()).get(String(user.id)) ?? [];
  }

  /** User id → group names, from every group with its members. */
  private async allMemberships(): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>();
    for (const g of (await this.listGroups({ attributes: 'displayName,members' })) ?? []) {
      const name = this.remember(String(g.displayName), String(g.id));
      for (const m of (g.members ?? []) as Json[]) {
        const id = String(m.value);
        byUser.set(id, [...(byUser.get(id) ?? []), name]);
      }
    }
    return byUser;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Groups

  /** The group name in `TARGET:group/NAME`; `invalid_input` for any other entitlement. */
  private groupNameOf(entitlement: string): string {
    const prefix = `${this.target}:group/`;
    if (!entitlement.startsWith(prefix) || entitlement.length === prefix.length) {
      throw this.error(
        'invalid_input',
        `entitlement ${JSON.stringify(entitlement)} is not a group of target "${this.target}"`,
        `SCIM entitlements are written ${prefix}NAME`,
      );
    }
    return entitlement.slice(prefix.length);
  }

  private remember(name: string, id: string): string {
    this.groupIds.set(name, id);
    this.groupNames.set(id, name);
    return name;
  }

  private async groupId(name: string): Promise<string> {
    const cached = this.groupIds.get(name);
    if (cached) return cached;
    const pick = (groups: readonly Json[]) => groups.find((g) => g.displayName === name);
    const escaped = needsEscape(name);
    const absent = await this.groupsAbsent();
    const groups = !absent
      ? await this.filtered('/Groups', `displayName eq ${scimString(name)}`, { excludedAttributes: 'members' }, escaped)
      : undefined;
    let found = groups && pick(groups);
    if (!found && !(await this.groupsAbsent()) && (!groups || escaped)) {
      found = pick((await this.listGroups({ attributes: 'displayName' })) ?? []);
    }
    if (await this.groupsAbsent()) {
      throw this.error(
        'invalid_input',
        `the SCIM server has no Groups resource (${this.noGroupsReason()}): group ${JSON.stringify(name)} cannot be granted or read`,
        `this target holds accounts only: remove its group entitlements (${this.target}:group/...) from the policy, or turn on Groups in the server`,
      );
    }
    if (!found) throw this.error('not_found', `group ${JSON.stringify(name)} does not exist`);
    const id = String(found.id);
    this.remember(name, id);
    return id;
  }

  /** Runs `use` with the group's id; if a cached id has gone stale (404), forgets it and tries once more. */
  private async withGroup(name: string, use: (id: string) => Promise<Json | undefined>): Promise<Json | undefined> {
    const wasCached = this.groupIds.has(name);
    const id = await this.groupId(name);
    try {
      return await use(id);
    } catch (e) {
      if (!(wasCached && e instanceof ConnectorError && e.code === 'not_found')) throw e;
      this.groupIds.delete(name);
      this.groupNames.delete(id);
      return use(await this.groupId(name));
    }
  }

  /** Without PATCH: read the group, change its member list, PUT it back whole (skipped when nothing changes). */
  private async putMembers(
    groupId: string,
    change: (members: Json[]) => Json[] | undefined,
  ): Promise<Json | undefined> {
    const group = await this.request('GET', `/Groups/${enc(groupId)}`);
    const members = ((group?.members ?? []) as Json[]).map((m) => ({ value: String(m.value) }));
    const next = change(members);
    if (!next) return group;
    return this.request('PUT', `/Groups/${enc(groupId)}`, { ...replaceable(group ?? {}), members: next });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Protocol

  /**
   * A filtered listing, or undefined when the caller must list and match locally: the server does not advertise
   * filtering, or refuses the filter (400 `invalidFilter`, 501). A refusal is remembered for the connector's life
   * and warned about once, except a `quiet` one (a name that needs escaping, which some servers cannot parse while
   * they filter plain names well). A listing of Groups that answers 404 means the service has no Groups: [].
   */
  private async filtered(
    path: '/Users' | '/Groups',
    filter: string,
    query: Record<string, string> = {},
    quiet = false,
  ): Promise<Json[] | undefined> {
    // A service may filter on some attributes and not others: a refusal is remembered for the attribute.
    const attribute = `${path} ${filter.split(' ', 1)[0]!.toLowerCase()}`;
    if (this.filterRefused || this.refusedFilters.has(attribute) || !(await this.discover()).filter) return undefined;
    if (path === '/Groups' && (await this.groupsAbsent())) return [];
    try {
      return await this.listAll(
        path,
        { ...query, filter },
        (status, scimType) =>
          status === 501 ||
          (status === 400 && (scimType === 'invalidFilter' || quiet)) ||
          (path === '/Groups' && status === 404),
      );
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      if (e.status === 404) {
        this.noGroups = e.message;
        return [];
      }
      if (quiet) return undefined;
      // Lookups running at once may all be refused: the first to come back warns.
      const first = !this.filterRefused && this.refusedFilters.size === 0;
      if (e.status === 501) this.filterRefused = true;
      else this.refusedFilters.add(attribute);
      if (first) {
        this.notes.push({
          severity: 'warning',
          code: 'connector.filter_refused',
          subject: this.target,
          message: `target "${this.target}": the SCIM server refused a filter (${e.message}); Tenure lists and matches locally instead, reading every user or group for each lookup it cannot filter`,
          hint: 'fine for small targets; for large ones enable filtering (userName, externalId, displayName, members.value) in the server',
        });
      }
      return undefined;
    }
  }

  /**
   * Whether the service has no Groups: a 404 or 501 on /Groups was seen, or its ResourceTypes lists no Group (read
   * again with the discovery, so a service that gains Groups is seen to).
   */
  private async groupsAbsent(): Promise<boolean> {
    if (this.noGroups !== undefined) return true;
    return !(await this.discover()).groups;
  }

  /** Why the service has no Groups, for messages. */
  private noGroupsReason(): string {
    return this.noGroups ?? 'its /ResourceTypes lists no Group';
  }

  /** Every group, or undefined when the service has no Groups resource (404 or 501 on `GET /Groups`). */
  private async listGroups(query: Record<string, string>): Promise<Json[] | undefined> {
    if (await this.groupsAbsent()) return undefined;
    try {
      return await this.listAll('/Groups', query, (status) => status === 404 || status === 501);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      this.noGroups = e.message;
      return undefined;
    }
  }

  /** Every resource of a listing, page after page (startIndex/count) until totalResults. */
  private async listAll(path: string, query: Record<string, string> = {}, refuse?: Refusal): Promise<Json[]> {
    const all: Json[] = [];
    let startIndex = 1;
    for (;;) {
      const params = new URLSearchParams({
        ...query,
        startIndex: String(startIndex),
        count: String(this.settings.pageSize),
      });
      const page = await this.request('GET', `${path}?${params.toString()}`, undefined, refuse ? { refuse } : {});
      const resources = Array.isArray(page?.Resources) ? (page.Resources as Json[]) : [];
      all.push(...resources);
      const total = typeof page?.totalResults === 'number' ? page.totalResults : all.length;
      if (resources.length === 0 || all.length >= total) return all;
      startIndex += resources.length;
    }
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    options: {
      conflict?: ConnectorErrorCode;
      missingIsUndefined?: boolean;
      noTargetIsOk?: boolean;
      refuse?: Refusal;
    } = {},
  ): Promise<Json | undefined> {
    const what = `SCIM ${method} ${path.split('?')[0]}`;
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.get();
      let response: Response;
      try {
        response = await fetch(this.settings.url + path, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: `${MEDIA_TYPE}, application/json`,
            ...(body !== undefined ? { 'Content-Type': MEDIA_TYPE } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.settings.timeoutMs),
        });
      } catch (e) {
        throw this.transportError(what, e);
      }
      const text = await response.text().catch(() => '');
      let json: Json | undefined;
      try {
        json = text ? (JSON.parse(text) as Json) : undefined;
      } catch {
        json = undefined;
      }
      if (response.ok) return json;
      if (response.status === 401 && attempt === 0 && this.tokens.invalidate()) continue;
      if (response.status === 404 && options.missingIsUndefined) return undefined;
      const scimType = str(json?.scimType);
      if (options.refuse?.(response.status, scimType)) throw new Refused(response.status, scimType, what);
      if (response.status === 400 && scimType === 'noTarget' && options.noTargetIsOk) return undefined;
      throw this.httpError(what, response, json, options.conflict);
    }
  }

  private httpError(what: string, response: Response, json: Json | undefined, conflict?: ConnectorErrorCode) {
    const status = response.status;
    const scimType = str(json?.scimType);
    const detail = str(json?.detail) ?? str(json?.message) ?? response.statusText;
    const message = `${what} answered ${status}${scimType ? ` (${scimType})` : ''}: ${detail}`;
    // A token allowed Users but not Groups is common (a scope per resource): not the same as a service without Groups.
    if (status === 403 && / \/Groups\b/.test(what)) {
      return this.error(
        'permission_denied',
        message,
        `the token may not use Groups: give it access to Groups (read and write) in the service, or grant only ${this.target}:account on this target`,
      );
    }
    if (status === 401 || status === 403) {
      return this.error('permission_denied', message, 'check the token (connection.token or connection.oauth)');
    }
    if (status === 404) return this.error('not_found', message);
    if (status === 409) {
      return this.error(scimType === 'uniqueness' ? 'already_exists' : (conflict ?? 'conflict'), message);
    }
    if (status === 429) {
      const wait = parseRetryAfter(response.headers.get('Retry-After'));
      return this.error('rate_limited', message, 'the target throttles requests; retry later', wait);
    }
    if (status === 408 || status === 504) return this.error('timeout', message);
    if (status >= 500) return this.error('internal', message);
    if (status === 412) return this.error('conflict', message);
    return this.error('invalid_input', message);
  }

  private transportError(what: string, e: unknown): ConnectorError {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
      return this.error(
        'timeout',
        `${what} took longer than ${this.settings.timeoutMs} ms`,
        'raise connection.timeout_ms',
      );
    }
    const reason = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
    return this.error('unreachable', `${what}: ${this.settings.url} cannot be reached (${reason})`);
  }

  /** A ConnectorError whose text never carries a secret. */
  private error(code: ConnectorErrorCode, message: string, hint?: string, retryAfterMs?: number): ConnectorError {
    const scrub = (s: string) =>
      (this.tokens?.secrets ?? []).reduce((acc, secret) => (secret ? acc.split(secret).join('***') : acc), s);
    return new ConnectorError(
      this.target,
      code,
      `target "${this.target}": ${scrub(message)}`,
      hint === undefined ? undefined : scrub(hint),
      retryAfterMs,
    );
  }

  /** Secrets are read at the first request, not when the connector is made. */
  private tokenSource(s: ScimSettings, context: ConnectorContext): TokenSource {
    const secrets: string[] = [];
    const secret = (field: string, value: SecretValue): string => {
      const v = resolveSecret(this.target, field, value, context.baseDir, context.env);
      if (!secrets.includes(v)) secrets.push(v);
      return v;
    };
    if (s.token !== undefined) {
      const ref = s.token;
      return { get: () => Promise.resolve(secret('connection.token', ref)), invalidate: () => false, secrets };
    }
    const oauth = s.oauth!;
    const tokenUrl = oauth.token_url;
    const clientId = oauth.client_id;
    const scope = oauth.scope;
    let cached: { token: string; expiresAt: number } | undefined;
    let pending: Promise<string> | undefined;
    const fetchToken = async (): Promise<string> => {
      const what = `OAuth token request to ${tokenUrl}`;
      const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
      const clientSecret = secret('connection.oauth.client_secret', oauth.client_secret);
      const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
        'base64',
      );
      let response: Response;
      try {
        response = await fetch(tokenUrl, {
          method: 'POST',
          headers: {
            Authorization: `Basic ${basic}`,
            'Content-Type': 'application/x-www-form-urlencoded',
            Accept: 'application/json',
          },
          body: form.toString(),
          signal: AbortSignal.timeout(this.settings.timeoutMs),
        });
      } catch (e) {
        throw this.transportError(what, e);
      }
      const json = (await response.json().catch(() => undefined)) as Json | undefined;
      if (!response.ok) {
        const detail = str(json?.error_description) ?? str(json?.error) ?? response.statusText;
        if (response.status === 400 || response.status === 401) {
          throw this.error('permission_denied', `${what} was refused (${response.status}): ${detail}`);
        }
        throw this.httpError(what, response, undefined);
      }
      const token = str(json?.access_token);
      if (!token) throw this.error('internal', `${what} answered without an access_token`);
      secrets.push(token);
      const lifetime = typeof json?.expires_in === 'number' ? json.expires_in : 3600;
      // Renew a little early so a token does not expire in flight.
      cached = { token, expiresAt: Date.now() + Math.max(0, lifetime - 30) * 1000 };
      return token;
    };
    return {
      get: () => {
        if (cached && Date.now() < cached.expiresAt) return Promise.resolve(cached.token);
        pending ??= fetchToken().finally(() => (pending = undefined));
        return pending;
      },
      invalidate: () => {
        const had = cached !== undefined;
        cached = undefined;
        return had;
      },
      secrets,
    };
  }

  /** GET below the base URL with the target's authentication (`tenure targets check`); undefined on 404 or `absent`. */
  async checkGet(path: string, absent: readonly number[] = []): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.request('GET', path, undefined, {
        missingIsUndefined: true,
        refuse: (s) => absent.includes(s),
      });
    } catch (e) {
      if (e instanceof Refused) return undefined;
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Attribute mapping

const enc = (id: unknown): string => encodeURIComponent(String(id));
/** userName is not caseExact (RFC 7643 §4.1.1). */
const sameName = (a: string, b: string): boolean => a === b || a.toLowerCase() === b.toLowerCase();
const needsEscape = (value: string): boolean =>
  value.includes('"') || value.includes('\\') || [...value].some((ch) => ch.charCodeAt(0) < 0x20);

/** Sets the SCIM attributes an AccountSpec's attributes map to (givenName, sn, mail, displayName, enterprise). */
function applyAttributes(
  body: Json,
  attributes: Readonly<Record<string, string>>,
  enterpriseAttributes: readonly string[],
): void {
  const a = attributes;
  if (a.displayName !== undefined) body.displayName = a.displayName;
  if (a.givenName !== undefined || a.sn !== undefined) {
    const name = { ...((body.name as Json | undefined) ?? {}) };
    if (a.givenName !== undefined) name.givenName = a.givenName;
    if (a.sn !== undefined) name.familyName = a.sn;
    body.name = name;
  }
  if (a.mail !== undefined) body.emails = [{ value: a.mail, type: 'work', primary: true }];
  const enterprise: Json = { ...((body[SCIM_ENTERPRISE_USER] as Json | undefined) ?? {}) };
  let any = false;
  for (const key of enterpriseAttributes) {
    if (a[key] !== undefined) {
      enterprise[key] = a[key];
      any = true;
    }
  }
  if (any) body[SCIM_ENTERPRISE_USER] = enterprise;
}

/** The attributes we map, read back from a User ('' when unset): the inverse of applyAttributes. */
function readAttributes(user: Json, enterpriseAttributes: readonly string[]): Record<string, string> {
  const name = (user.name as Json | undefined) ?? {};
  const emails = Array.isArray(user.emails) ? (user.emails as Json[]) : [];
  const email = emails.find((e) => e.primary === true) ?? emails[0];
  const enterprise = (user[SCIM_ENTERPRISE_USER] as Json | undefined) ?? {};
  const out: Record<string, string> = {
    displayName: str(user.displayName) ?? '',
    givenName: str(name.givenName) ?? '',
    sn: str(name.familyName) ?? '',
    mail: str(email?.value) ?? '',
  };
  for (const key of enterpriseAttributes) out[key] = str(enterprise[key]) ?? '';
  return out;
}

/** PATCH operations (RFC 7644 §3.5.2.3 replace) for the attributes we map. */
function attributeOperations(a: Readonly<Record<string, string>>, enterpriseAttributes: readonly string[]): Json[] {
  const ops: Json[] = [];
  const replace = (path: string, value: unknown) => ops.push({ op: 'replace', path, value });
  if (a.displayName !== undefined) replace('displayName', a.displayName);
  if (a.givenName !== undefined) replace('name.givenName', a.givenName);
  if (a.sn !== undefined) replace('name.familyName', a.sn);
  if (a.mail !== undefined) replace('emails', [{ value: a.mail, type: 'work', primary: true }]);
  for (const key of enterpriseAttributes) {
    if (a[key] !== undefined) replace(`${SCIM_ENTERPRISE_USER}:${key}`, a[key]);
  }
  return ops;
}

/** A resource as it can be PUT back: without server-owned (meta) and read-only (groups) attributes. */
function replaceable(resource: Json): Json {
  const { meta: _meta, groups: _groups, ...rest } = resource;
  return rest;
}
