import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client, ResultCodeError, type Entry } from 'ldapts';
import type { Account } from '../../model/actual-state.js';
import type { TargetDefinition } from '../../model/policy.js';
import { ConnectorError, type AccountSpec, type Connector, type ConnectorCapabilities } from '../connector.js';
import { settingsOrThrow } from '../connector-kind.js';
import { resolveSecret, type ConnectorContext } from '../secrets.js';
import { ldapSettings, type DisableMethod, type LdapSettings } from './ldap-settings.js';
import { dnOf, ldapResultError, onDn } from './ldap-errors.js';
import { escapeDnValue, escapeFilterValue, normaliseDn, normalisedParent, parseDn } from './ldap-escape.js';

/**
 * An LDAP directory (OpenLDAP, 389-DS ...): accounts are inetOrgPerson entries `uid=NAME,<people_base>` with the
 * identity id in `employeeNumber`; entitlements `TARGET:group/NAME` are groupOfNames entries `cn=NAME,<groups_base>`
 * whose `member` values are account DNs.
 *
 * groupOfNames requires at least one `member`. When the last account leaves a group, the connector leaves the
 * group's own DN as a placeholder member (it always exists, so referential-integrity overlays keep it). Reading
 * ignores every member that is not an entry directly under people_base or disabled_base, the placeholder included.
 *
 * Names match the way the directory matches `uid`: case-insensitively, with insignificant spaces folded.
 */

export type { DisableMethod } from './ldap-settings.js';

/** The connection settings, validated, with defaults applied; the bind password is resolved at the first bind. */
interface LdapOptions {
  readonly url: string;
  /** Upgrade an ldap:// connection with StartTLS (RFC 4513) before binding. */
  readonly startTls: boolean;
  /** The CA certificate(s) to trust instead of Node's, read at the first connection; undefined for Node's. */
  readonly ca?: () => Buffer;
  readonly bindDn: string;
  readonly bindPassword: () => string;
  readonly peopleBase: string;
  readonly groupsBase: string;
  readonly disabledBase?: string;
  readonly disableMethod: DisableMethod;
  readonly disabledAttribute: string;
  readonly disabledValue: string;
  readonly pageSize: number;
  readonly timeoutMs: number;
}

const PERSON_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson'];

/** Account attributes the connector maps (keys case-insensitive); others are ignored. */
const MAPPED_ATTRIBUTES = [
  'cn',
  'sn',
  'givenName',
  'mail',
  'displayName',
  'title',
  'telephoneNumber',
  'mobile',
  'departmentNumber',
  'preferredLanguage',
];
const REQUIRED_ATTRIBUTES = new Set(['cn', 'sn']);

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
]);

export function createLdapConnector(target: TargetDefinition, context: ConnectorContext): Connector {
  return ldapConnector(target.id, settingsOrThrow({ kind: 'ldap', settings: ldapSettings }, target), context);
}

/** An LDAP target on valid settings: nothing is connected, and no secret read, before the first operation. */
export function ldapConnector(target: string, s: LdapSettings, context: ConnectorContext): Connector {
  const caFile = s.ca_file === undefined ? undefined : resolve(context.baseDir, s.ca_file);
  return new LdapConnector(target, {
    url: s.url,
    startTls: s.start_tls,
    ...(caFile === undefined ? {} : { ca: () => readCa(target, s.ca_file!, caFile) }),
    bindDn: s.bind_dn,
    bindPassword: () =>
      resolveSecret(target, 'connection.bind_password', s.bind_password, context.baseDir, context.env),
    peopleBase: s.people_base,
    groupsBase: s.groups_base,
    ...(s.disabled_base === undefined ? {} : { disabledBase: s.disabled_base }),
    disableMethod: s.disable_method,
    disabledAttribute: s.disabled_attribute,
    disabledValue: s.disabled_value,
    pageSize: s.page_size,
    timeoutMs: s.timeout_ms,
  });
}

function readCa(target: string, shown: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConnectorError(
      target,
      'invalid_input',
      `target "${target}": connection.ca_file ${shown} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'ca_file is relative to the policy file; it holds the PEM certificate of the authority that signed the directory certificate',
    );
  }
}

/** Node's certificate verification failures: the server is there, but is not the one the settings trust. */
const CERTIFICATE_ERRORS = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/** An attribute's values as strings; attribute names are matched case-insensitively. */
function all(entry: Entry, attribute: string): string[] {
  const lower = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === lower && k !== 'dn');
  const v = key === undefined ? undefined : entry[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

function first(entry: Entry, attribute: string): string | undefined {
  return all(entry, attribute)[0];
}

/** The first RDN's value of a DN (`cn=a,ou=groups` → `a`), or undefined when its type is not `type`. */
function rdnValue(dn: string, type: string): string | undefined {
  const rdn = parseDn(dn)[0];
  const ava = rdn?.length === 1 ? rdn[0] : undefined;
  return ava !== undefined && ava.type.toLowerCase() === type ? ava.value : undefined;
}

/** What every ldap target can do. */
export const LDAP_CAPABILITIES: ConnectorCapabilities = {
  read: true,
  write: true,
  disable: true,
  delete: true,
  memberships: true,
  rotate: false,
  rename: false,
};

export class LdapConnector implements Connector {
  readonly kind = 'ldap';
  readonly capabilities: ConnectorCapabilities = LDAP_CAPABILITIES;
  private clientInstance: Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly accountParents: ReadonlySet<string>;
  private readonly disabledParent: string | undefined;

  constructor(
    readonly target: string,
    private readonly settings: LdapOptions,
  ) {
    this.disabledParent = settings.disabledBase === undefined ? undefined : normaliseDn(settings.disabledBase);
    this.accountParents = new Set([
      normaliseDn(settings.peopleBase),
      ...(this.disabledParent ? [this.disabledParent] : []),
    ]);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reading

  async listAccounts(): Promise<readonly Account[]> {
    return this.run('list accounts', async () => {
      const groups = await this.search(this.settings.groupsBase, '(objectClass=groupOfNames)', ['member']);
      const byMember = new Map<string, string[]>();
      for (const group of groups) {
        const entitlement = this.entitlementOf(group.dn);
        if (entitlement === undefined) continue;
        for (const member of all(group, 'member')) {
          const key = this.safeNormalise(member);
          if (key === undefined) continue;
          const list = byMember.get(key) ?? [];
          list.push(entitlement);
          byMember.set(key, list);
        }
      }
      const entries = await this.searchPeople('(objectClass=inetOrgPerson)');
      return entries.map((entry) =>
        this.toAccount(entry, (byMember.get(this.safeNormalise(entry.dn) ?? '') ?? []).sort()),
      );
    });
  }

  async readAccount(name: string): Promise<Account | undefined> {
    return this.run(`read account "${name}"`, async () => {
      const entry = await this.findAccount(name);
      return entry === undefined ? undefined : this.toAccount(entry, await this.entitlementsOf(entry.dn));
    });
  }

  async listEntitlements(): Promise<readonly string[]> {
    return this.run('list groups', async () => {
      const groups = await this.search(this.settings.groupsBase, '(objectClass=groupOfNames)', ['1.1']);
      return groups.flatMap((g) => this.entitlementOf(g.dn) ?? []).sort();
    });
  }

  locateEntitlement(entitlement: string): string | undefined {
    try {
      return `groupOfNames ${this.groupDn(entitlement)}`;
    } catch {
      return undefined;
    }
  }

  async listMembers(entitlement: string): Promise<readonly string[]> {
    const groupDn = this.groupDn(entitlement);
    return this.run(`list members of ${entitlement}`, async () => {
      const group = await this.readGroup(groupDn, entitlement);
      const names: string[] = [];
      for (const member of all(group, 'member')) {
        const name = this.accountNameOf(member);
        if (name !== undefined) names.push(name);
      }
      return names.sort();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Accounts

  async createAccount(spec: AccountSpec): Promise<Account> {
    if (spec.name === '' || spec.name.trim() === '') {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}": an account name cannot be empty`,
      );
    }
    return this.run(`create account "${spec.name}"`, async () => {
      // The server's entryAlreadyExists (68) says the name is taken under people_base; an account
      // moved to disabled_base has another DN, so only the move method needs a search first.
      if (this.settings.disableMethod === 'move' && (await this.findAccount(spec.name)) !== undefined) {
        throw new ConnectorError(
          this.target,
          'already_exists',
          `target "${this.target}": account "${spec.name}" already exists`,
        );
      }
      const mapped = this.mapAttributes(spec.attributes);
      const attributes: Record<string, string | string[]> = {
        objectClass: PERSON_CLASSES,
        uid: spec.name,
        cn: spec.name,
        sn: spec.name,
      };
      for (const [key, value] of Object.entries(mapped)) if (value !== '') attributes[key] = value;
      if (mapped.cn === undefined && mapped.displayName) attributes.cn = mapped.displayName;
      if (spec.identity !== '') attributes.employeeNumber = spec.identity;
      const dn = this.accountDn(spec.name, this.settings.peopleBase);
      await this.ldap(dn, (client) => client.add(dn, attributes));
      const created = await this.findAccount(spec.name);
      if (created === undefined) {
        throw new ConnectorError(
          this.target,
          'internal',
          `target "${this.target}": account "${spec.name}" was created but cannot be read back`,
        );
      }
      return this.toAccount(created, []);
    });
  }

  async updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    return this.run(`update account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      const changes: Change[] = [];
      for (const [key, value] of Object.entries(this.mapAttributes(attributes))) {
        if (value === '' && REQUIRED_ATTRIBUTES.has(key)) {
          throw new ConnectorError(
            this.target,
            'invalid_input',
            `target "${this.target}": attribute ${key} of account "${name}" is required and cannot be emptied`,
          );
        }
        changes.push(
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: key, values: value === '' ? [] : [value] }),
          }),
        );
      }
      if (changes.length > 0) await this.ldap(entry.dn, (client) => client.modify(entry.dn, changes));
    });
  }

  async disableAccount(name: string): Promise<void> {
    return this.run(`disable account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      const { disableMethod } = this.settings;
      if (disableMethod === 'move') {
        if (normalisedParent(entry.dn) === this.disabledParent) return;
        await this.moveAccount(entry, this.settings.disabledBase!);
        return;
      }
      if (disableMethod === 'strip') {
        for (const group of await this.groupsOf(entry.dn)) await this.removeMember(group.dn, entry.dn);
        const scrambled = `{CRYPT}!tenure-disabled!${randomBytes(24).toString('hex')}`;
        await this.ldap(entry.dn, (client) =>
          client.modify(entry.dn, [
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'userPassword', values: [scrambled] }),
            }),
          ]),
        );
      }
      if (!this.isEnabled(entry)) return;
      await this.ignoring(20, () =>
        this.ldap(entry.dn, (client) =>
          client.modify(entry.dn, [
            new Change({
              operation: 'add',
              modification: new Attribute({
                type: this.settings.disabledAttribute,
                values: [this.settings.disabledValue],
              }),
            }),
          ]),
        ),
      );
    });
  }

  async enableAccount(name: string): Promise<void> {
    return this.run(`enable account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      if (this.settings.disableMethod === 'move') {
        if (normalisedParent(entry.dn) !== this.disabledParent) return;
        await this.moveAccount(entry, this.settings.peopleBase);
        return;
      }
      // 'strip' leaves the password scrambled and the memberships removed: the next plan grants them again.
      const values = all(entry, this.settings.disabledAttribute).filter(
        (v) => v.toLowerCase() === this.settings.disabledValue.toLowerCase(),
      );
      if (values.length === 0) return;
      await this.ignoring(16, () =>
        this.ldap(entry.dn, (client) =>
          client.modify(entry.dn, [
            new Change({
              operation: 'delete',
              modification: new Attribute({ type: this.settings.disabledAttribute, values }),
            }),
          ]),
        ),
      );
    });
  }

  async deleteAccount(name: string): Promise<void> {
    return this.run(`delete account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      // Memberships first, so that no group names a DN that a later account of the same name would inherit.
      for (const group of await this.groupsOf(entry.dn)) await this.removeMember(group.dn, entry.dn);
      await this.ldap(entry.dn, (client) => client.del(entry.dn));
    });
  }

  rotateCredential(name: string): Promise<void> {
    return Promise.reject(
      new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}": LDAP password rotation is not supported yet (account "${name}")`,
      ),
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Memberships

  async addMembership(name: string, entitlement: string): Promise<void> {
    const groupDn = this.groupDn(entitlement);
    return this.run(`add "${name}" to ${entitlement}`, async () => {
      const entry = await this.requireAccount(name);
      await this.readGroup(groupDn, entitlement);
      await this.ignoring(20, () =>
        this.ldap(groupDn, (client) =>
          client.modify(groupDn, [
            new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [entry.dn] }) }),
          ]),
        ),
      );
    });
  }

  async removeMembership(name: string, entitlement: string): Promise<void> {
    const groupDn = this.groupDn(entitlement);
    return this.run(`remove "${name}" from ${entitlement}`, async () => {
      const entry = await this.requireAccount(name);
      await this.readGroup(groupDn, entitlement);
      await this.removeMember(groupDn, entry.dn);
    });
  }

  async close(): Promise<void> {
    await this.clientInstance?.unbind().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  private accountDn(name: string, base: string): string {
    return `uid=${escapeDnValue(name)},${base}`;
  }

  /** The group DN of an entitlement of this target; invalid_input for another target's or kind. */
  private groupDn(entitlement: string): string {
    const prefix = `${this.target}:group/`;
    if (!entitlement.startsWith(prefix) || entitlement.length === prefix.length) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}": ${JSON.stringify(entitlement)} is not a group of this target`,
        `LDAP entitlements look like ${prefix}NAME`,
      );
    }
    return `cn=${escapeDnValue(entitlement.slice(prefix.length))},${this.settings.groupsBase}`;
  }

  private entitlementOf(groupDn: string): string | undefined {
    try {
      const cn = rdnValue(groupDn, 'cn');
      return cn === undefined ? undefined : `${this.target}:group/${cn}`;
    } catch {
      return undefined;
    }
  }

  private safeNormalise(dn: string): string | undefined {
    try {
      return normaliseDn(dn);
    } catch {
      return undefined;
    }
  }

  /** The account name of a member DN, or undefined for a placeholder or an entry outside the account bases. */
  private accountNameOf(memberDn: string): string | undefined {
    try {
      if (!this.accountParents.has(normalisedParent(memberDn))) return undefined;
      return rdnValue(memberDn, 'uid');
    } catch {
      return undefined;
    }
  }

  private toAccount(entry: Entry, entitlements: readonly string[]): Account {
    const identity = first(entry, 'employeeNumber');
    // The mapped attributes, read back so a plan can see one that drifted from the policy ('' when unset).
    const attributes: Record<string, string> = {};
    for (const name of MAPPED_ATTRIBUTES)
      if (name.toLowerCase() !== this.settings.disabledAttribute.toLowerCase())
        attributes[name] = first(entry, name) ?? '';
    return {
      id: first(entry, 'entryUUID') ?? entry.dn,
      name: first(entry, 'uid') ?? rdnValue(entry.dn, 'uid') ?? entry.dn,
      ...(identity === undefined ? {} : { identity }),
      enabled: this.isEnabled(entry),
      entitlements,
      attributes,
    };
  }

  private isEnabled(entry: Entry): boolean {
    if (this.settings.disableMethod === 'move') return normalisedParent(entry.dn) !== this.disabledParent;
    const disabled = this.settings.disabledValue.toLowerCase();
    return !all(entry, this.settings.disabledAttribute).some((v) => v.toLowerCase() === disabled);
  }

  private mapAttributes(attributes: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(attributes)) {
      const name = MAPPED_ATTRIBUTES.find((a) => a.toLowerCase() === key.toLowerCase());
      if (name !== undefined && name.toLowerCase() !== this.settings.disabledAttribute.toLowerCase()) out[name] = value;
    }
    return out;
  }

  private accountAttributes(): string[] {
    return ['uid', 'employeeNumber', 'entryUUID', this.settings.disabledAttribute, ...MAPPED_ATTRIBUTES];
  }

  private async searchPeople(filter: string): Promise<Entry[]> {
    const attributes = this.accountAttributes();
    const entries = await this.search(this.settings.peopleBase, filter, attributes);
    if (this.settings.disableMethod === 'move') {
      entries.push(...(await this.search(this.settings.disabledBase!, filter, attributes)));
    }
    return entries;
  }

  /** The account entry whose uid matches the name (the directory's matching), preferring an exact match. */
  private async findAccount(name: string): Promise<Entry | undefined> {
    const entries = await this.searchPeople(`(&(objectClass=inetOrgPerson)(uid=${escapeFilterValue(name)}))`);
    return entries.find((e) => all(e, 'uid').includes(name)) ?? entries[0];
  }

  private async requireAccount(name: string): Promise<Entry> {
    const entry = await this.findAccount(name);
    if (entry === undefined) {
      throw new ConnectorError(this.target, 'not_found', `target "${this.target}": account "${name}" does not exist`);
    }
    return entry;
  }

  private async readGroup(groupDn: string, entitlement: string): Promise<Entry> {
    const what = `find group ${entitlement}`;
    const { searchEntries } = await this.ldap(groupDn, (client) =>
      client.search(groupDn, { scope: 'base', filter: '(objectClass=groupOfNames)', attributes: ['member'] }),
    ).catch((e: unknown) => {
      throw e instanceof ResultCodeError ? this.mapError(what, e) : e;
    });
    const group = searchEntries[0];
    if (group === undefined) {
      throw new ConnectorError(
        this.target,
        'not_found',
        `target "${this.target}" (${this.settings.url}): cannot ${what}: ${groupDn} is not a groupOfNames`,
        'Tenure manages groupOfNames entries under connection.groups_base; check the entitlement name',
      );
    }
    return group;
  }

  private async groupsOf(accountDn: string): Promise<Entry[]> {
    return this.search(
      this.settings.groupsBase,
      `(&(objectClass=groupOfNames)(member=${escapeFilterValue(accountDn)}))`,
      ['member'],
    );
  }

  private async entitlementsOf(accountDn: string): Promise<string[]> {
    const groups = await this.groupsOf(accountDn);
    return groups.flatMap((g) => this.entitlementOf(g.dn) ?? []).sort();
  }

  /** Removes one member; when it is the last, the group's own DN stays as a placeholder (groupOfNames needs one). */
  private async removeMember(groupDn: string, memberDn: string): Promise<void> {
    const { searchEntries } = await this.ldap(groupDn, (client) =>
      client.search(groupDn, { scope: 'base', attributes: ['member'] }),
    );
    const group = searchEntries[0];
    if (group === undefined) return;
    const target = normaliseDn(memberDn);
    const members = all(group, 'member');
    const present = members.filter((m) => this.safeNormalise(m) === target);
    if (present.length === 0) return;
    const changes = [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: present }) }),
    ];
    if (present.length === members.length) {
      changes.unshift(
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [group.dn] }) }),
      );
    }
    await this.ignoring(16, () => this.ldap(group.dn, (client) => client.modify(group.dn, changes)));
  }

  /** Moves an account under another base, keeping its memberships (groups name the new DN). */
  private async moveAccount(entry: Entry, newBase: string): Promise<void> {
    const name = first(entry, 'uid') ?? rdnValue(entry.dn, 'uid');
    if (name === undefined) {
      throw new ConnectorError(this.target, 'internal', `target "${this.target}": ${entry.dn} has no uid`);
    }
    const groups = await this.groupsOf(entry.dn);
    const newDn = this.accountDn(name, newBase);
    await this.ldap(entry.dn, (client) => client.modifyDN(entry.dn, newDn));
    const old = normaliseDn(entry.dn);
    for (const group of groups) {
      const stale = all(group, 'member').filter((m) => this.safeNormalise(m) === old);
      if (stale.length === 0) continue;
      await this.ignoring(20, () =>
        this.ldap(group.dn, (client) =>
          client.modify(group.dn, [
            new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [newDn] }) }),
            new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: stale }) }),
          ]),
        ),
      );
    }
  }

  /** A paged search (RFC 2696) one level under base. */
  private async search(base: string, filter: string, attributes: string[]): Promise<Entry[]> {
    const { searchEntries } = await this.ldap(base, (client) =>
      client.search(base, { scope: 'one', filter, attributes, paged: { pageSize: this.settings.pageSize } }),
    );
    return searchEntries;
  }

  /** Runs an LDAP call, treating one result code as success (typeOrValueExists on add, noSuchAttribute on delete). */
  private async ignoring(code: number, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      if (!(e instanceof ResultCodeError && e.code === code)) throw e;
    }
  }

  /**
   * The client, connected and bound. ldapts connects again by itself inside any call that finds the connection gone,
   * but two of its connects at once leave one of the calls waiting forever (ldapts/ldapts#256), and the executor runs
   * several operations at once on this one client: so every call comes through here, where one connect (with its
   * bind) serves every call waiting for it.
   */
  private async connected(): Promise<Client> {
    if (!this.client.isBound) {
      this.connecting ??= this.connectAndBind().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    return this.client;
  }

  /**
   * The client, made at the first operation (the CA file is read then). Node checks the server's certificate and
   * that it names the URL's host, for ldaps:// and for StartTLS alike.
   */
  private get client(): Client {
    if (this.clientInstance === undefined) {
      const tls = this.tlsOptions();
      this.clientInstance = new Client({
        url: this.settings.url,
        timeout: this.settings.timeoutMs,
        connectTimeout: Math.min(this.settings.timeoutMs, 10_000),
        // ldapts never replays a bind made after StartTLS on a fresh connection (it would go in clear): connected()
        // upgrades and binds again instead.
        autoRebind: true,
        ...(tls.ca !== undefined && !this.settings.startTls ? { tlsOptions: tls } : {}),
      });
    }
    return this.clientInstance;
  }

  private tlsOptions(): ConnectionOptions {
    const host = new URL(this.settings.url).hostname.replace(/^\[(.*)\]$/, '$1');
    return {
      host,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(this.settings.ca ? { ca: this.settings.ca() } : {}),
    };
  }

  private async connectAndBind(): Promise<void> {
    const client = this.client;
    if (this.settings.startTls) {
      // A connection left upgraded but unbound (a failed bind) starts over: StartTLS cannot be asked twice.
      if (client.isConnected) await client.unbind().catch(() => undefined);
      try {
        await client.startTLS(this.tlsOptions());
      } catch (e) {
        await client.unbind().catch(() => undefined);
        if (e instanceof ResultCodeError) {
          const error = this.mapError('start TLS', e);
          throw new ConnectorError(
            this.target,
            error.code === 'unreachable' ? 'unreachable' : 'invalid_input',
            error.message,
            'the directory refused StartTLS: enable TLS on it, or use its ldaps:// URL without start_tls',
          );
        }
        throw e;
      }
    }
    await onDn(this.settings.bindDn, () => client.bind(this.settings.bindDn, this.settings.bindPassword()));
  }

  /** One LDAP call on the entry `dn`, on the connected client; a result error remembers the DN for its message. */
  private async ldap<T>(dn: string, call: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connected();
    return onDn(dn, () => call(client));
  }

  /** Binds when needed, runs the operation, and turns every failure into a ConnectorError. */
  private async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      await this.connected();
      return await operation();
    } catch (e) {
      throw this.mapError(what, e);
    }
  }

  private mapError(what: string, e: unknown): ConnectorError {
    if (e instanceof ConnectorError) return e;
    const where = `target "${this.target}" (${this.settings.url})`;
    if (e instanceof ResultCodeError) return ldapResultError(this.target, where, what, e, dnOf(e));
    const err = e as NodeJS.ErrnoException;
    const message = err instanceof Error ? err.message : String(e);
    if (err.code !== undefined && CERTIFICATE_ERRORS.has(err.code)) {
      return new ConnectorError(
        this.target,
        'invalid_input',
        `${where}: cannot ${what}: the directory's TLS certificate was refused: ${message} (${err.code})`,
        err.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? "the certificate does not name the URL's host: use the host name it was issued for in connection.url"
          : 'set connection.ca_file to the PEM certificate of the authority that signed it (relative to the policy file)',
      );
    }
    if (
      (err.code !== undefined && CONNECTION_ERRORS.has(err.code)) ||
      /connection timeout|socket error|connection closed|socket connection not established/i.test(message)
    ) {
      return new ConnectorError(
        this.target,
        'unreachable',
        `${where}: cannot ${what}: ${message}`,
        'check connection.url and that the directory is running',
      );
    }
    if (/operation timed out/i.test(message)) {
      return new ConnectorError(this.target, 'timeout', `${where}: cannot ${what}: ${message}`);
    }
    return new ConnectorError(this.target, 'internal', `${where}: cannot ${what}: ${message}`);
  }

  /** Read-only questions on the bound client (`tenure targets check`); failures are mapped as every operation's. */
  inspect<T>(what: string, question: (client: Client) => Promise<T>): Promise<T> {
    return this.run(what, async () => question(await this.connected()));
  }
}
