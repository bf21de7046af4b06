import { Attribute, Change, ResultCodeError, type Client, type Entry } from 'ldapts';
import type { Account } from '../../model/actual-state.js';
import type { TargetDefinition } from '../../model/policy.js';
import { ConnectorError, type AccountSpec, type Connector, type ConnectorCapabilities } from '../connector.js';
import { settingsOrThrow } from '../connector-kind.js';
import type { ConnectorContext } from '../secrets.js';
import { ldapSettings, type DisableMethod, type GroupKind, type LdapSettings } from './ldap-settings.js';
import { activeDirectoryConnector } from './active-directory-connector.js';
import { all, first, pickAttributes, placementOf, uniqueEntries } from './ldap-entry.js';
import { LdapSession, sessionOptionsOf } from './ldap-session.js';
import {
  escapeDnValue,
  escapeFilterValue,
  normaliseDn,
  normalisedParent,
  parseDn,
  sameDn,
  splitRdn,
} from './ldap-escape.js';

/**
 * An LDAP directory (OpenLDAP, 389-DS ...): accounts are entries `<naming_attribute>=NAME,<people_base>` (by default
 * inetOrgPerson entries `uid=NAME`) with the identity id in `link_attribute` (`employeeNumber`), found one level
 * below people_base or in its whole subtree (`account_scope`); entitlements `TARGET:group/NAME` are group entries
 * `cn=NAME,<groups_base>` of `group_kind`, whose members are account DNs (`member`, `uniqueMember`) or account names
 * (`memberUid`).
 *
 * groupOfNames and groupOfUniqueNames require at least one member. When the last account leaves such a group, the
 * connector leaves the group's own DN as a placeholder member (it always exists, so referential-integrity overlays
 * keep it). Reading ignores every member DN that is not an account entry, the placeholder included.
 *
 * Names match the way the directory matches `uid` and `cn`: case-insensitively, with insignificant spaces folded.
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
  readonly linkAttribute: string;
  readonly namingAttribute: string;
  readonly objectClasses: readonly string[];
  readonly accountScope: 'one' | 'sub';
  readonly groupKind: GroupKind;
  /** The entitlements the policy declares for this target: the only groups a strip disable takes away. */
  readonly declared: ReadonlySet<string>;
  readonly pageSize: number;
  readonly timeoutMs: number;
}

/** The account attribute that places it: its parent DN (`attributes.parent`), read from the DN, set by a move. */
const PARENT = 'parent';

/** Classes whose entries must have `cn` and `sn`: Tenure fills them with the name when the policy does not. */
const PERSON_CLASSES = new Set(['person', 'organizationalperson', 'inetorgperson']);

/** How each group_kind holds its members. */
const GROUP_KINDS: Readonly<Record<GroupKind, { readonly attribute: string; readonly byDn: boolean }>> = {
  groupOfNames: { attribute: 'member', byDn: true },
  groupOfUniqueNames: { attribute: 'uniqueMember', byDn: true },
  posixGroup: { attribute: 'memberUid', byDn: false },
  // Active Directory's (flavor: active_directory, which has its own connector; listed for completeness).
  group: { attribute: 'member', byDn: true },
};

/** Prefixed to each userPassword value by a strip disable: `{CRYPT}` with a hash that no password hashes to. */
const LOCKED_BYTES = Buffer.from('{CRYPT}!tenure-locked!', 'latin1');

function isLocked(value: Buffer): boolean {
  return value.subarray(0, LOCKED_BYTES.length).equals(LOCKED_BYTES);
}

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

export function createLdapConnector(target: TargetDefinition, context: ConnectorContext): Connector {
  const settings = settingsOrThrow({ kind: 'ldap', settings: ldapSettings }, target);
  return settings.flavor === 'active_directory'
    ? activeDirectoryConnector(target.id, settings, context)
    : ldapConnector(target.id, settings, context);
}

/** An LDAP target on valid settings: nothing is connected, and no secret read, before the first operation. */
export function ldapConnector(target: string, s: LdapSettings, context: ConnectorContext): Connector {
  return new LdapConnector(target, {
    ...sessionOptionsOf(target, s, context),
    peopleBase: s.people_base,
    groupsBase: s.groups_base,
    ...(s.disabled_base === undefined ? {} : { disabledBase: s.disabled_base }),
    disableMethod: s.disable_method,
    disabledAttribute: s.disabled_attribute,
    disabledValue: s.disabled_value,
    linkAttribute: s.link_attribute,
    namingAttribute: s.naming_attribute,
    objectClasses: s.object_classes,
    accountScope: s.account_scope,
    groupKind: s.group_kind,
    declared: new Set(context.entitlements ?? []),
  });
}

/** An attribute's values as bytes (a password hash is not text). */
function bytes(entry: Entry, attribute: string): Buffer[] {
  const lower = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === lower && k !== 'dn');
  const v = key === undefined ? undefined : entry[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x)));
}

/** How the directory compares names (caseIgnoreMatch): case and insignificant spaces ignored. */
function fold(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Sets an attribute of an entry to add, replacing a key that differs only in case. */
function put(attributes: Record<string, string | string[]>, name: string, value: string | string[]): void {
  for (const key of Object.keys(attributes)) if (key.toLowerCase() === name.toLowerCase()) delete attributes[key];
  attributes[name] = value;
}

/** The first RDN's value of a DN (`cn=a,ou=groups` → `a`), or undefined when its type is not `type`. */
function rdnValue(dn: string, type: string): string | undefined {
  const rdn = parseDn(dn)[0];
  const ava = rdn?.length === 1 ? rdn[0] : undefined;
  return ava !== undefined && ava.type.toLowerCase() === type.toLowerCase() ? ava.value : undefined;
}

/** What every ldap target can do. */
export const LDAP_CAPABILITIES: ConnectorCapabilities = {
  read: true,
  write: true,
  disable: true,
  delete: true,
  memberships: true,
  rotate: false,
  rename: true,
};

export class LdapConnector implements Connector {
  readonly kind = 'ldap';
  readonly capabilities: ConnectorCapabilities = LDAP_CAPABILITIES;
  private readonly session: LdapSession;
  private readonly peopleParent: string;
  private readonly disabledParent: string | undefined;
  private readonly group: { readonly objectClass: GroupKind; readonly attribute: string; readonly byDn: boolean };
  /** The filter every account entry matches: each configured object class (but `top`) and a name. */
  private readonly accountFilter: string;

  constructor(
    readonly target: string,
    private readonly settings: LdapOptions,
  ) {
    this.session = new LdapSession(target, settings);
    this.peopleParent = normaliseDn(settings.peopleBase);
    this.disabledParent = settings.disabledBase === undefined ? undefined : normaliseDn(settings.disabledBase);
    this.group = { objectClass: settings.groupKind, ...GROUP_KINDS[settings.groupKind] };
    const classes = settings.objectClasses.filter((c) => c.toLowerCase() !== 'top');
    this.accountFilter = [...classes.map((c) => `(objectClass=${c})`), `(${settings.namingAttribute}=*)`].join('');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reading

  async listAccounts(): Promise<readonly Account[]> {
    return this.run('list accounts', async () => {
      const groups = await this.search(this.settings.groupsBase, this.groupFilter(), [this.group.attribute]);
      const byMember = new Map<string, string[]>();
      for (const group of groups) {
        const entitlement = this.entitlementOf(group.dn);
        if (entitlement === undefined) continue;
        for (const member of all(group, this.group.attribute)) {
          const key = this.memberKey(member);
          if (key === undefined) continue;
          const list = byMember.get(key) ?? [];
          list.push(entitlement);
          byMember.set(key, list);
        }
      }
      const entries = await this.searchPeople(`(&${this.accountFilter})`);
      return entries.map((entry) => this.toAccount(entry, (byMember.get(this.keyOf(entry) ?? '') ?? []).sort()));
    });
  }

  async readAccount(name: string): Promise<Account | undefined> {
    return this.run(`read account "${name}"`, async () => {
      const entry = await this.findAccount(name);
      return entry === undefined ? undefined : this.toAccount(entry, await this.entitlementsOf(entry));
    });
  }

  async listEntitlements(): Promise<readonly string[]> {
    return this.run('list groups', async () => {
      const groups = await this.search(this.settings.groupsBase, this.groupFilter(), ['1.1']);
      return groups.flatMap((g) => this.entitlementOf(g.dn) ?? []).sort();
    });
  }

  locateEntitlement(entitlement: string): string | undefined {
    try {
      return `${this.group.objectClass} ${this.groupDn(entitlement)}`;
    } catch {
      return undefined;
    }
  }

  async listMembers(entitlement: string): Promise<readonly string[]> {
    const groupDn = this.groupDn(entitlement);
    return this.run(`list members of ${entitlement}`, async () => {
      const group = await this.readGroup(groupDn, entitlement);
      const names: string[] = [];
      for (const member of all(group, this.group.attribute)) {
        const name = this.group.byDn ? await this.accountNameOf(member, group.dn) : member;
        if (name !== undefined) names.push(name);
      }
      return names.sort();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Accounts

  async createAccount(spec: AccountSpec): Promise<Account> {
    this.checkName(spec.name);
    return this.run(`create account "${spec.name}"`, async () => {
      // The server's entryAlreadyExists (68) says the name is taken directly under people_base; an account moved to
      // disabled_base, or in a sub-OU, has another DN, so those need a search first.
      if (
        (this.settings.disableMethod === 'move' || this.settings.accountScope === 'sub') &&
        (await this.findAccount(spec.name)) !== undefined
      ) {
        throw new ConnectorError(
          this.target,
          'already_exists',
          `target "${this.target}": account "${spec.name}" already exists`,
        );
      }
      const mapped = this.mapAttributes(spec.attributes);
      const attributes: Record<string, string | string[]> = { objectClass: [...this.settings.objectClasses] };
      const person = this.settings.objectClasses.some((c) => PERSON_CLASSES.has(c.toLowerCase()));
      if (person) {
        attributes.cn = spec.name;
        attributes.sn = spec.name;
      }
      for (const [key, value] of Object.entries(mapped)) if (value !== '') put(attributes, key, value);
      if (person && mapped.cn === undefined && mapped.displayName && !this.isNaming('cn'))
        put(attributes, 'cn', mapped.displayName);
      // Last: the name owns the naming attribute, and the identity the link.
      put(attributes, this.settings.namingAttribute, spec.name);
      if (spec.identity !== '') put(attributes, this.settings.linkAttribute, spec.identity);
      const parent = placementOf({ target: this.target, ...this.settings }, spec.name, spec.attributes[PARENT]);
      const dn = this.accountDn(spec.name, parent);
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
      let entry = await this.requireAccount(name);
      // The OU first (`attributes.parent`): a move keeps the entry's attributes, and its groups are rewritten.
      const parent = placementOf({ target: this.target, ...this.settings }, name, attributes[PARENT]);
      if (parent !== undefined && !sameDn(splitRdn(entry.dn)[1], parent)) entry = await this.moveAccount(entry, parent);
      const dn = entry.dn;
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
      if (changes.length > 0) await this.ldap(dn, (client) => client.modify(dn, changes));
    });
  }

  async disableAccount(name: string): Promise<void> {
    return this.run(`disable account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      const { disableMethod } = this.settings;
      if (disableMethod === 'move') {
        if (this.isUnderDisabled(entry.dn)) return;
        await this.moveAccount(entry, this.settings.disabledBase!);
        return;
      }
      if (disableMethod === 'strip') {
        // Only the groups the policy declares: a membership Tenure does not manage is not its to take.
        for (const group of await this.groupsOf(entry)) {
          const entitlement = this.entitlementOf(group.dn);
          if (entitlement !== undefined && this.settings.declared.has(entitlement))
            await this.removeMember(group.dn, entry);
        }
        await this.lockPassword(entry.dn);
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
        if (!this.isUnderDisabled(entry.dn)) return;
        await this.moveAccount(entry, this.settings.peopleBase);
        return;
      }
      // 'strip' gives the password back; the memberships it took come back with the next plan.
      if (this.settings.disableMethod === 'strip') await this.unlockPassword(entry.dn);
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
      // Every group, declared or not, so that none names a DN or name that a later account would inherit.
      for (const group of await this.groupsOf(entry)) await this.removeMember(group.dn, entry);
      await this.ldap(entry.dn, (client) => client.del(entry.dn));
    });
  }

  async renameAccount(name: string, newName: string, identity: string): Promise<void> {
    this.checkName(newName);
    return this.run(`rename account "${name}" to "${newName}"`, async () => {
      const entry = await this.findAccount(name);
      if (entry === undefined) {
        // Gone: done already when the account holding the new name is linked to the identity (a resumed rename).
        const renamed = (await this.findLinked(identity)).find((e) => fold(this.nameOf(e)) === fold(newName));
        if (renamed === undefined) {
          throw new ConnectorError(
            this.target,
            'not_found',
            `target "${this.target}": account "${name}" does not exist, and no account "${newName}" is linked to ${identity}`,
          );
        }
        // The groups may still name the old DN or name, if the last run stopped between the two steps.
        await this.rewriteMembers(this.dnWithName(renamed, name), name, renamed);
        return;
      }
      const link = all(entry, this.settings.linkAttribute);
      if (link.length > 0 && !link.includes(identity)) {
        throw new ConnectorError(
          this.target,
          'conflict',
          `target "${this.target}": account "${name}" is linked to ${link.join(', ')}, not ${identity}; it is not renamed`,
        );
      }
      const oldName = this.nameOf(entry);
      if (oldName === newName) return;
      const taken = await this.findAccount(newName);
      if (taken !== undefined && normaliseDn(taken.dn) !== normaliseDn(entry.dn)) {
        throw new ConnectorError(
          this.target,
          'already_exists',
          `target "${this.target}": account "${newName}" already exists; "${name}" is not renamed`,
        );
      }
      if (rdnValue(entry.dn, this.settings.namingAttribute) !== undefined) {
        // A modify-DN to the new RDN under the same parent; the server replaces the naming attribute's value.
        const newRdn = splitRdn(this.dnWithName(entry, newName))[0];
        await this.ldap(entry.dn, (client) => client.modifyDN(entry.dn, newRdn));
      } else {
        // The entry is named by another attribute (cn=Full Name with a uid): its DN stays, the name is a value.
        await this.ldap(entry.dn, (client) =>
          client.modify(entry.dn, [
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: this.settings.namingAttribute, values: [newName] }),
            }),
          ]),
        );
      }
      const renamed = await this.refind(entry, newName);
      await this.rewriteMembers(entry.dn, oldName, renamed);
    });
  }

  async linkAccount(name: string, identity: string): Promise<void> {
    return this.run(`link account "${name}" to ${identity}`, async () =>
      this.session.writeLink(await this.requireAccount(name), this.settings.linkAttribute, name, identity),
    );
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
      await this.addValue(groupDn, this.memberValue(entry));
    });
  }

  async removeMembership(name: string, entitlement: string): Promise<void> {
    const groupDn = this.groupDn(entitlement);
    return this.run(`remove "${name}" from ${entitlement}`, async () => {
      const entry = await this.requireAccount(name);
      await this.readGroup(groupDn, entitlement);
      await this.removeMember(groupDn, entry);
    });
  }

  close(): Promise<void> {
    return this.session.close();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  private checkName(name: string): void {
    if (name === '' || name.trim() === '') {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}": an account name cannot be empty`,
      );
    }
  }

  private isNaming(attribute: string): boolean {
    return this.settings.namingAttribute.toLowerCase() === attribute.toLowerCase();
  }

  /** Where a new account goes: directly under people_base, whatever account_scope. */
  private accountDn(name: string, parent = this.settings.peopleBase): string {
    return `${this.settings.namingAttribute}=${escapeDnValue(name)},${parent}`;
  }

  /** The entry's DN were it named `name`: a new RDN when the RDN is the naming attribute, else the same DN. */
  private dnWithName(entry: Entry, name: string): string {
    if (rdnValue(entry.dn, this.settings.namingAttribute) === undefined) return entry.dn;
    const [rdn, parent] = splitRdn(entry.dn);
    return `${rdn.slice(0, rdn.indexOf('=')).trim()}=${escapeDnValue(name)},${parent}`;
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

  private groupFilter(): string {
    return `(objectClass=${this.group.objectClass})`;
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
      // A uniqueMember value may carry an optional unique id after the DN (RFC 4517 NameAndOptionalUID).
      return normaliseDn(dn.replace(/#'[01]*'B$/, ''));
    } catch {
      return undefined;
    }
  }

  /** How a group member value is compared: a normalised DN, or a memberUid as it is (caseExactIA5Match). */
  private memberKey(value: string): string | undefined {
    return this.group.byDn ? this.safeNormalise(value) : value;
  }

  /** The key of an account among group member values. */
  private keyOf(entry: Entry): string | undefined {
    return this.memberKey(this.memberValue(entry));
  }

  /** What a group holds for this account: its DN, or its name for memberUid. */
  private memberValue(entry: Entry): string {
    return this.group.byDn ? entry.dn : this.nameOf(entry);
  }

  /** Whether a DN is where accounts are read: under people_base (one level, or any depth), or disabled_base. */
  private isAccountDn(dn: string): boolean {
    const parent = normalisedParent(dn);
    if (parent === this.peopleParent || (parent !== '' && parent === this.disabledParent)) return true;
    if (this.settings.accountScope !== 'sub') return false;
    const whole = normaliseDn(dn);
    return whole.endsWith(`,${this.peopleParent}`);
  }

  private isUnderDisabled(dn: string): boolean {
    if (this.disabledParent === undefined) return false;
    return normaliseDn(dn).endsWith(`,${this.disabledParent}`);
  }

  /** The account name of a member DN, or undefined for a placeholder or an entry that is no account. */
  private async accountNameOf(memberDn: string, groupDn: string): Promise<string | undefined> {
    try {
      const dn = memberDn.replace(/#'[01]*'B$/, '');
      if (normaliseDn(dn) === normaliseDn(groupDn) || !this.isAccountDn(dn)) return undefined;
      const name = rdnValue(dn, this.settings.namingAttribute);
      if (name !== undefined) return name;
    } catch {
      return undefined;
    }
    // Named by another attribute: the name is a value of the entry.
    const { searchEntries } = await this.ldap(memberDn, (client) =>
      client.search(memberDn, {
        scope: 'base',
        filter: `(&${this.accountFilter})`,
        attributes: [this.settings.namingAttribute],
      }),
    ).catch((e: unknown) => {
      if (e instanceof ResultCodeError && e.code === 32) return { searchEntries: [] as Entry[] };
      throw e;
    });
    return searchEntries[0] === undefined ? undefined : this.nameOf(searchEntries[0]);
  }

  /** The account's name: its RDN's value when the RDN is the naming attribute, else that attribute's value. */
  private nameOf(entry: Entry): string {
    const rdn = rdnValue(entry.dn, this.settings.namingAttribute);
    if (rdn !== undefined) return all(entry, this.settings.namingAttribute).find((v) => v === rdn) ?? rdn;
    return first(entry, this.settings.namingAttribute) ?? entry.dn;
  }

  private toAccount(entry: Entry, entitlements: readonly string[]): Account {
    const identity = first(entry, this.settings.linkAttribute);
    // The mapped attributes, read back so a plan can see one that drifted from the policy ('' when unset).
    const attributes: Record<string, string> = {};
    for (const name of MAPPED_ATTRIBUTES) if (this.isMapped(name)) attributes[name] = first(entry, name) ?? '';
    attributes[PARENT] = splitRdn(entry.dn)[1];
    return {
      id: first(entry, 'entryUUID') ?? entry.dn,
      name: this.nameOf(entry),
      ...(identity === undefined ? {} : { identity }),
      enabled: this.isEnabled(entry),
      entitlements,
      attributes,
    };
  }

  /** Whether an attribute is the policy's to set: not the name, the link or the disabled mark. */
  private isMapped(name: string): boolean {
    const lower = name.toLowerCase();
    return (
      lower !== this.settings.disabledAttribute.toLowerCase() &&
      lower !== this.settings.linkAttribute.toLowerCase() &&
      lower !== this.settings.namingAttribute.toLowerCase()
    );
  }

  private isEnabled(entry: Entry): boolean {
    if (this.settings.disableMethod === 'move') return !this.isUnderDisabled(entry.dn);
    const disabled = this.settings.disabledValue.toLowerCase();
    return !all(entry, this.settings.disabledAttribute).some((v) => v.toLowerCase() === disabled);
  }

  private mapAttributes(attributes: Readonly<Record<string, string>>): Record<string, string> {
    return pickAttributes(attributes, MAPPED_ATTRIBUTES, (name) => this.isMapped(name));
  }

  private accountAttributes(): string[] {
    const { namingAttribute, linkAttribute, disabledAttribute } = this.settings;
    // entryUUID is operational: the server returns it only when asked by name.
    return [namingAttribute, linkAttribute, 'entryUUID', disabledAttribute, ...MAPPED_ATTRIBUTES];
  }

  /** Account entries matching a filter, under people_base (account_scope) and disabled_base, each once. */
  private async searchPeople(filter: string): Promise<Entry[]> {
    const attributes = this.accountAttributes();
    const entries = await this.search(this.settings.peopleBase, filter, attributes, this.settings.accountScope);
    if (this.settings.disableMethod === 'move') {
      entries.push(...(await this.search(this.settings.disabledBase!, filter, attributes)));
    }
    // disabled_base may sit inside people_base, where a subtree search finds its entries already.
    return uniqueEntries(entries);
  }

  /** The account entry whose name matches (the directory's matching), preferring an exact match. */
  private async findAccount(name: string): Promise<Entry | undefined> {
    const entries = await this.searchPeople(
      `(&${this.accountFilter}(${this.settings.namingAttribute}=${escapeFilterValue(name)}))`,
    );
    // A multi-valued cn matches by any value: only the entry whose name it is counts.
    const named = entries.filter((e) => fold(this.nameOf(e)) === fold(name));
    return named.find((e) => this.nameOf(e) === name) ?? named[0];
  }

  /** The account entries whose link attribute holds the identity. */
  private async findLinked(identity: string): Promise<Entry[]> {
    const entries = await this.searchPeople(
      `(&${this.accountFilter}(${this.settings.linkAttribute}=${escapeFilterValue(identity)}))`,
    );
    return entries.filter((e) => all(e, this.settings.linkAttribute).includes(identity));
  }

  /** The entry again after its DN changed: by its entryUUID, the id that survives a modify-DN. */
  private async refind(before: Entry, name: string): Promise<Entry> {
    const uuid = first(before, 'entryUUID');
    const found =
      uuid === undefined
        ? await this.findAccount(name)
        : (await this.searchPeople(`(entryUUID=${escapeFilterValue(uuid)})`))[0];
    if (found === undefined) {
      throw new ConnectorError(
        this.target,
        'internal',
        `target "${this.target}": account "${name}" (entryUUID ${uuid ?? 'unknown'}) cannot be found after its DN changed`,
      );
    }
    return found;
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
      client.search(groupDn, { scope: 'base', filter: this.groupFilter(), attributes: [this.group.attribute] }),
    ).catch((e: unknown) => {
      throw e instanceof ResultCodeError ? this.mapError(what, e) : e;
    });
    const group = searchEntries[0];
    if (group === undefined) {
      throw new ConnectorError(
        this.target,
        'not_found',
        `target "${this.target}" (${this.settings.url}): cannot ${what}: ${groupDn} is not a ${this.group.objectClass}`,
        `Tenure manages ${this.group.objectClass} entries under connection.groups_base (connection.group_kind); check the entitlement name`,
      );
    }
    return group;
  }

  /** The groups under groups_base that hold this account. */
  private async groupsOf(entry: Entry): Promise<Entry[]> {
    return this.groupsHolding(this.memberValue(entry));
  }

  private async groupsHolding(value: string): Promise<Entry[]> {
    return this.search(
      this.settings.groupsBase,
      `(&${this.groupFilter()}(${this.group.attribute}=${escapeFilterValue(value)}))`,
      [this.group.attribute],
    );
  }

  private async entitlementsOf(entry: Entry): Promise<string[]> {
    const groups = await this.groupsOf(entry);
    return groups.flatMap((g) => this.entitlementOf(g.dn) ?? []).sort();
  }

  private async addValue(groupDn: string, value: string): Promise<void> {
    const { attribute } = this.group;
    await this.ignoring(20, () =>
      this.ldap(groupDn, (client) =>
        client.modify(groupDn, [
          new Change({ operation: 'add', modification: new Attribute({ type: attribute, values: [value] }) }),
        ]),
      ),
    );
  }

  /**
   * Removes the values naming one account (a DN, or a name for memberUid). When they are the last of a group that
   * must have a member, the group's own DN stays as a placeholder.
   */
  private async removeMember(groupDn: string, entry: Entry): Promise<void> {
    await this.removeValues(groupDn, this.keyOf(entry));
  }

  private async removeValues(groupDn: string, key: string | undefined): Promise<void> {
    const { attribute, byDn } = this.group;
    const { searchEntries } = await this.ldap(groupDn, (client) =>
      client.search(groupDn, { scope: 'base', attributes: [attribute] }),
    );
    const group = searchEntries[0];
    if (group === undefined || key === undefined) return;
    const members = all(group, attribute);
    const present = members.filter((m) => this.memberKey(m) === key);
    if (present.length === 0) return;
    const changes = [
      new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values: present }) }),
    ];
    if (byDn && present.length === members.length) {
      changes.unshift(
        new Change({ operation: 'add', modification: new Attribute({ type: attribute, values: [group.dn] }) }),
      );
    }
    await this.ignoring(16, () => this.ldap(group.dn, (client) => client.modify(group.dn, changes)));
  }

  /**
   * After an account's DN or name changed: every group that still names the old DN (or the old name, for memberUid)
   * names the new one instead. Read after the change, so what a referential-integrity overlay already rewrote is
   * left as it is.
   */
  private async rewriteMembers(oldDn: string, oldName: string, entry: Entry): Promise<void> {
    const old = this.group.byDn ? oldDn : oldName;
    const oldKey = this.memberKey(old);
    if (oldKey === undefined || oldKey === this.keyOf(entry)) return;
    for (const group of await this.groupsHolding(old)) {
      await this.addValue(group.dn, this.memberValue(entry));
      await this.removeValues(group.dn, oldKey);
    }
  }

  /** Moves an account under another base, keeping its RDN and its memberships (groups name the new DN). */
  private async moveAccount(entry: Entry, newBase: string): Promise<Entry> {
    const newDn = `${splitRdn(entry.dn)[0]},${newBase}`;
    // Both DNs in an error: the move can fail for the entry (gone) or for where it goes (no such OU).
    await this.ldap(`${entry.dn} → ${newDn}`, (client) => client.modifyDN(entry.dn, newDn));
    const name = this.nameOf(entry);
    const moved = await this.refind(entry, name);
    await this.rewriteMembers(entry.dn, name, moved);
    return moved;
  }

  /**
   * Makes every userPassword value unusable, reversibly: each hash stays in the entry behind a prefix. An entry with
   * no value the bind DN can read gets the bare prefix: it may hold a password that cannot be read, which is then
   * replaced (locked, and lost: that account needs a password reset after enable).
   */
  private async lockPassword(dn: string): Promise<void> {
    const values = await this.passwords(dn);
    if (values.length > 0 && values.every((v) => isLocked(v))) return;
    const locked =
      values.length === 0 ? [LOCKED_BYTES] : values.map((v) => (isLocked(v) ? v : Buffer.concat([LOCKED_BYTES, v])));
    await this.replacePasswords(dn, locked);
  }

  /** Takes off what lockPassword put on (the bare prefix goes entirely); a value locked another way stays. */
  private async unlockPassword(dn: string): Promise<void> {
    const values = await this.passwords(dn);
    if (values.length === 0) {
      // Nothing readable: the bare marker may be there all the same (a bind DN that may write but not read).
      await this.ignoring(16, () =>
        this.ldap(dn, (client) =>
          client.modify(dn, [
            new Change({
              operation: 'delete',
              modification: new Attribute({ type: 'userPassword', values: [LOCKED_BYTES] }),
            }),
          ]),
        ),
      );
      return;
    }
    if (!values.some((v) => isLocked(v))) return;
    const unlocked = values.map((v) => (isLocked(v) ? v.subarray(LOCKED_BYTES.length) : v)).filter((v) => v.length > 0);
    await this.replacePasswords(dn, unlocked);
  }

  private async passwords(dn: string): Promise<Buffer[]> {
    const { searchEntries } = await this.ldap(dn, (client) =>
      client.search(dn, { scope: 'base', attributes: ['userPassword'], explicitBufferAttributes: ['userPassword'] }),
    );
    return searchEntries[0] === undefined ? [] : bytes(searchEntries[0], 'userPassword');
  }

  private async replacePasswords(dn: string, values: Buffer[]): Promise<void> {
    await this.ldap(dn, (client) =>
      client.modify(dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values }) }),
      ]),
    );
  }

  private search(base: string, filter: string, attributes: string[], scope: 'one' | 'sub' = 'one'): Promise<Entry[]> {
    return this.session.search(base, filter, attributes, scope);
  }

  private ignoring(code: number, call: () => Promise<void>): Promise<void> {
    return this.session.ignoring(code, call);
  }

  private ldap<T>(dn: string, call: (client: Client) => Promise<T>): Promise<T> {
    return this.session.ldap(dn, call);
  }

  private run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return this.session.run(what, operation);
  }

  private mapError(what: string, e: unknown): ConnectorError {
    return this.session.mapError(what, e);
  }

  /** Read-only questions on the bound client (`tenure targets check`); failures are mapped as every operation's. */
  inspect<T>(what: string, question: (client: Client) => Promise<T>): Promise<T> {
    return this.session.run(what, async () => question(await this.session.connected()));
  }
}
