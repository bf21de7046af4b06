import { Attribute, Change, type Client, type Entry, type ResultCodeError } from 'ldapts';
import type { Account } from '../../model/actual-state.js';
import { ConnectorError, type AccountSpec, type Connector, type ConnectorCapabilities } from '../connector.js';
import { appendSecret } from '../secret-sink.js';
import { resolve } from 'node:path';
import { formatUac, isDisabled, parseUac, withDisabled } from './ad-account-control.js';
import { adError } from './ad-errors.js';
import { resultName, serverDiagnostic } from './ldap-errors.js';
import {
  escapeDnValue,
  escapeFilterValue,
  normaliseDn,
  normalisedParent,
  parseDn,
  sameDn,
  splitRdn,
} from './ldap-escape.js';
import type { ConnectorContext } from '../secrets.js';
import { isNoLink, type LdapSettings } from './ldap-settings.js';
import { all, first, pickAttributes, placementOf, uniqueEntries } from './ldap-entry.js';
import { LdapSession, sessionOptionsOf, type SessionOptions } from './ldap-session.js';
import { guidToString } from './object-guid.js';
import { RangedValuesError, readRangedValues } from './ranged-values.js';
import { samAccountNameProblem } from './sam-account-name.js';
import { randomPassword, unicodePwdValue } from './unicode-pwd.js';

/** An Active Directory target's settings, validated, with the flavor's defaults applied. */
export interface ActiveDirectoryOptions extends SessionOptions {
  readonly peopleBase: string;
  readonly groupsBase: string;
  /** Where disabled accounts are moved, besides being disabled; undefined to leave them where they are. */
  readonly disabledBase?: string;
  /** The attribute holding the identity id; undefined when Tenure keeps the link (`link_attribute: none`). */
  readonly linkAttribute?: string;
  readonly objectClasses: readonly string[];
  readonly accountScope: 'one' | 'sub';
  /** The domain of userPrincipalName (`NAME@upnSuffix`). */
  readonly upnSuffix: string;
  /** Where new and rotated passwords go (`NAME<TAB>PASSWORD` lines); undefined: a new account's password is discarded. */
  readonly secretSinkFile?: string;
  /** How many values of `member` to ask for at once (AD's MaxValRange is 1,500; tests ask for fewer). */
  readonly valueRangeStep?: number;
}

/** An Active Directory target on valid settings (`flavor: active_directory`): nothing is connected before the first operation. */
export function activeDirectoryConnector(
  target: string,
  s: LdapSettings,
  context: ConnectorContext,
  /** For tests: a smaller range of member values asked at once, so a real server's ranges are followed. */
  tuning: { readonly valueRangeStep?: number } = {},
): ActiveDirectoryConnector {
  return new ActiveDirectoryConnector(target, {
    ...tuning,
    ...sessionOptionsOf(target, s, context),
    peopleBase: s.people_base,
    groupsBase: s.groups_base,
    ...(s.disabled_base === undefined ? {} : { disabledBase: s.disabled_base }),
    ...(isNoLink(s.link_attribute) ? {} : { linkAttribute: s.link_attribute }),
    objectClasses: s.object_classes,
    accountScope: s.account_scope,
    // The settings require upn_suffix when people_base names no domain.
    upnSuffix: s.upn_suffix ?? '',
    ...(s.secret_sink === undefined ? {} : { secretSinkFile: resolve(context.baseDir, s.secret_sink.file) }),
  });
}

/**
 * The account attribute that places it: its parent DN (the OU). Read from the entry's DN and set by a move; the
 * policy gives it like any attribute (`targets[].attributes.parent`).
 */
const PARENT = 'parent';

/** userAccountControl of a new, enabled account: NORMAL_ACCOUNT (with a password, so PASSWD_NOTREQD is not needed). */
const NORMAL_ACCOUNT = 0x200;

/** Account attributes the connector maps (keys case-insensitive); others are ignored. */
const MAPPED_ATTRIBUTES = [
  'givenName',
  'sn',
  'displayName',
  'mail',
  'title',
  'department',
  'company',
  'telephoneNumber',
  'mobile',
  'physicalDeliveryOfficeName',
  'description',
  'employeeNumber',
  'employeeType',
];

function guidOf(entry: Entry): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === 'objectguid');
  const v = key === undefined ? undefined : entry[key];
  const b = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(b) && b.length === 16 ? guidToString(b) : undefined;
}

/**
 * A result error in AD's words when its diagnostic carries a Win32 code Tenure knows (`data 52e`, `0000052D` ...):
 * `<where>: cannot <what>: <result> (LDAP result N) on <dn>: <what the code means> (AD data 52e, ERROR_LOGON_FAILURE)`.
 */
function adResultError(
  target: string,
  where: string,
  what: string,
  e: ResultCodeError,
  dn: string | undefined,
): ConnectorError | undefined {
  const ad = adError(e.code, serverDiagnostic(e));
  if (ad === undefined) return undefined;
  const on = dn === undefined ? '' : ` on ${dn}`;
  return new ConnectorError(
    target,
    ad.code,
    `${where}: cannot ${what}: ${resultName(e.code)} (LDAP result ${e.code})${on}: ${ad.message}`,
    ad.hint,
  );
}

/** How AD compares sAMAccountName: case-insensitively. */
function fold(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * The DN of the domain a DN sits in: its trailing DC= components (`OU=Staff,DC=corp,DC=example,DC=com` →
 * `DC=corp,DC=example,DC=com`), where a domain-wide search for a sAMAccountName starts.
 */
function domainDn(dn: string): string {
  const rdns = parseDn(dn);
  let i = rdns.length;
  while (i > 0 && rdns[i - 1]!.length === 1 && rdns[i - 1]![0]!.type.toLowerCase() === 'dc') i--;
  const parts = splitAll(dn);
  return parts.slice(i).join(',');
}

/** A DN's RDNs as written (escapes kept). */
function splitAll(dn: string): string[] {
  const out: string[] = [];
  let rest = dn;
  while (rest !== '') {
    const [rdn, parent] = splitRdn(rest);
    out.push(rdn);
    rest = parent;
  }
  return out;
}

/**
 * Active Directory (`kind: ldap`, `flavor: active_directory`): accounts are `user` objects named by sAMAccountName
 * (at most 20 characters), `CN=NAME` under people_base and found anywhere below it; userPrincipalName is
 * `NAME@upn_suffix`; the identity id is in `link_attribute` (employeeNumber); objectGUID is the stable id. An account is
 * created enabled, with a random password sent over the encrypted connection (unicodePwd) and handed to the secret
 * sink, and must change it at first logon; disabling sets ACCOUNTDISABLE in userAccountControl (keeping its other
 * bits) and, with disabled_base, moves the account there. Entitlements `TARGET:group/NAME` are `group` objects
 * `CN=NAME,<groups_base>`; AD keeps `member` and `memberOf` in step through moves, renames and deletes.
 */
export class ActiveDirectoryConnector implements Connector {
  readonly kind = 'ldap';
  readonly capabilities: ConnectorCapabilities;
  private readonly session: LdapSession;
  private readonly peopleParent: string;
  private readonly disabledParent: string | undefined;
  private readonly groupsParent: string;
  private readonly domain: string;
  /** The filter every account entry matches: users (not computers, which are users too) with a sAMAccountName. */
  private readonly accountFilter: string;

  constructor(
    readonly target: string,
    private readonly settings: ActiveDirectoryOptions,
  ) {
    this.session = new LdapSession(target, settings, (where, what, e, dn) => adResultError(target, where, what, e, dn));
    this.peopleParent = normaliseDn(settings.peopleBase);
    this.disabledParent = settings.disabledBase === undefined ? undefined : normaliseDn(settings.disabledBase);
    this.groupsParent = normaliseDn(settings.groupsBase);
    this.domain = domainDn(settings.peopleBase) || settings.peopleBase;
    const classes = settings.objectClasses.filter((c) => c.toLowerCase() !== 'top');
    this.accountFilter = [
      ...classes.map((c) => `(objectClass=${c})`),
      '(!(objectClass=computer))',
      '(sAMAccountName=*)',
    ].join('');
    this.capabilities = {
      read: true,
      write: true,
      disable: true,
      delete: true,
      memberships: true,
      rotate: settings.secretSinkFile !== undefined,
      rename: true,
      ...(settings.linkAttribute === undefined ? { linkKeptByTenure: true } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reading

  async listAccounts(): Promise<readonly Account[]> {
    return this.session.run('list accounts', async () =>
      (await this.searchPeople(`(&${this.accountFilter})`)).map((e) => this.toAccount(e)),
    );
  }

  async readAccount(name: string): Promise<Account | undefined> {
    return this.session.run(`read account "${name}"`, async () => {
      const entry = await this.findAccount(name);
      return entry === undefined ? undefined : this.toAccount(entry);
    });
  }

  async listEntitlements(): Promise<readonly string[]> {
    return this.session.run('list groups', async () => {
      const groups = await this.session.search(this.settings.groupsBase, '(objectClass=group)', ['1.1']);
      return groups.flatMap((g) => this.entitlementOf(g.dn) ?? []).sort();
    });
  }

  locateEntitlement(entitlement: string): string | undefined {
    try {
      return `group ${this.groupDn(entitlement)}`;
    } catch {
      return undefined;
    }
  }

  /** The group's `member` values read in ranges to the end, as accounts' names. */
  async listMembers(entitlement: string): Promise<readonly string[]> {
    const groupDn = this.groupDn(entitlement);
    return this.session.run(`list members of ${entitlement}`, async () => {
      const members = new Set((await this.memberValues(groupDn)).flatMap((m) => this.safeNormalise(m) ?? []));
      const accounts = await this.searchPeople(`(&${this.accountFilter}(memberOf=${escapeFilterValue(groupDn)}))`, [
        'sAMAccountName',
      ]);
      return accounts
        .filter((a) => members.has(this.safeNormalise(a.dn) ?? ''))
        .map((a) => first(a, 'sAMAccountName') ?? a.dn)
        .sort();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Accounts

  async createAccount(spec: AccountSpec): Promise<Account> {
    this.checkName(spec.name);
    return this.session.run(`create account "${spec.name}"`, async () => {
      await this.refuseTaken(spec.name, undefined);
      const attributes: Record<string, string | string[]> = {
        objectClass: [...this.settings.objectClasses],
        sAMAccountName: spec.name,
        userPrincipalName: this.upnOf(spec.name),
      };
      for (const [key, value] of Object.entries(this.mapAttributes(spec.attributes)))
        if (value !== '') attributes[key] = value;
      if (spec.identity !== '' && this.settings.linkAttribute !== undefined)
        attributes[this.settings.linkAttribute] = spec.identity;
      // Created enabled with a random password, in one request: there is never an enabled account without one. The
      // sink has the password before AD does, so none is in force that nobody can learn; pwdLastSet 0 makes the
      // person choose their own at first logon.
      const password = randomPassword({ avoid: [spec.name, spec.attributes.displayName ?? ''] });
      if (this.settings.secretSinkFile !== undefined)
        await appendSecret(this.target, this.settings.secretSinkFile, spec.name, password);
      attributes.userAccountControl = formatUac(NORMAL_ACCOUNT);
      attributes.pwdLastSet = '0';
      const entry = [
        ...Object.entries(attributes).map(([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] })),
        new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(password)] }),
      ];
      const parent = this.placement(spec.name, spec.attributes[PARENT]) ?? this.settings.peopleBase;
      const dn = `CN=${escapeDnValue(spec.name)},${parent}`;
      await this.session.ldap(dn, (client) => client.add(dn, entry));
      // Read back at its DN (one base search): the objectGUID, its id, is AD's to give.
      const [created] = await this.session.search(dn, `(&${this.accountFilter})`, this.accountAttributes(), 'base', [
        'objectGUID',
      ]);
      if (created === undefined) {
        throw new ConnectorError(
          this.target,
          'internal',
          `target "${this.target}": account "${spec.name}" was created but cannot be read back`,
        );
      }
      await this.completeMemberOf(created);
      return this.toAccount(created);
    });
  }

  async updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    return this.session.run(`update account "${name}"`, async () => {
      let entry = await this.requireAccount(name);
      // The OU first: a move keeps every attribute and membership, and the attributes then change on the moved entry.
      const parent = this.placement(name, attributes[PARENT]);
      if (parent !== undefined && !sameDn(splitRdn(entry.dn)[1], parent)) entry = await this.move(entry, parent);
      const dn = entry.dn;
      const changes = Object.entries(this.mapAttributes(attributes)).map(
        ([key, value]) =>
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: key, values: value === '' ? [] : [value] }),
          }),
      );
      if (changes.length > 0) await this.session.ldap(dn, (client) => client.modify(dn, changes));
    });
  }

  async disableAccount(name: string): Promise<void> {
    return this.session.run(`disable account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      // Disabled first, moved after: a stop between the two leaves a disabled account, never a moved enabled one.
      await this.setDisabled(entry, true);
      if (this.settings.disabledBase !== undefined && !this.isUnder(entry.dn, this.disabledParent))
        await this.move(entry, this.settings.disabledBase);
    });
  }

  async enableAccount(name: string): Promise<void> {
    return this.session.run(`enable account "${name}"`, async () => {
      let entry = await this.requireAccount(name);
      // Moved back first, enabled after: an enabled account is never left among the disabled ones.
      if (this.disabledParent !== undefined && this.isUnder(entry.dn, this.disabledParent))
        entry = await this.move(entry, this.settings.peopleBase);
      await this.setDisabled(entry, false);
    });
  }

  async deleteAccount(name: string): Promise<void> {
    return this.session.run(`delete account "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      // AD removes the account's member values from every group itself (a linked attribute).
      await this.session.ldap(entry.dn, (client) => client.del(entry.dn));
    });
  }

  async renameAccount(name: string, newName: string, identity: string): Promise<void> {
    this.checkName(newName);
    return this.session.run(`rename account "${name}" to "${newName}"`, async () => {
      let entry = await this.findAccount(name);
      if (entry === undefined) {
        // Gone: done already when the account holding the new name is linked to the identity (a resumed rename). A link
        // Tenure keeps is its to check (kept-links.ts), so here the account holding the new name is enough.
        const renamed =
          this.settings.linkAttribute === undefined
            ? await this.findAccount(newName)
            : (await this.findLinked(identity, this.settings.linkAttribute)).find(
                (e) => fold(this.nameOf(e)) === fold(newName),
              );
        if (renamed === undefined) {
          throw new ConnectorError(
            this.target,
            'not_found',
            `target "${this.target}": account "${name}" does not exist, and no account "${newName}" is linked to ${identity}`,
          );
        }
        return;
      }
      const link = this.settings.linkAttribute === undefined ? [] : all(entry, this.settings.linkAttribute);
      if (link.length > 0 && !link.includes(identity)) {
        throw new ConnectorError(
          this.target,
          'conflict',
          `target "${this.target}": account "${name}" is linked to ${link.join(', ')}, not ${identity}; it is not renamed`,
        );
      }
      if (this.nameOf(entry) === newName) return;
      await this.refuseTaken(newName, entry);
      // The CN first when it is the old name, then sAMAccountName: a stop between the two leaves the account found by
      // its old name, and the rename is done again from there.
      const [rdn, parent] = splitRdn(entry.dn);
      const cn = parseDn(rdn)[0]?.[0];
      if (cn !== undefined && cn.type.toLowerCase() === 'cn' && fold(cn.value) === fold(this.nameOf(entry))) {
        const newRdn = `CN=${escapeDnValue(newName)}`;
        const oldDn = entry.dn;
        await this.session.ldap(oldDn, (client) => client.modifyDN(oldDn, newRdn));
        entry = await this.refind(entry, `${newRdn},${parent}`);
      }
      const changes = [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'sAMAccountName', values: [newName] }),
        }),
      ];
      const upn = first(entry, 'userPrincipalName');
      if (upn === undefined || fold(upn) === fold(this.upnOf(name)))
        changes.push(
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userPrincipalName', values: [this.upnOf(newName)] }),
          }),
        );
      const dn = entry.dn;
      await this.session.ldap(dn, (client) => client.modify(dn, changes));
    });
  }

  async linkAccount(name: string, identity: string): Promise<void> {
    return this.session.run(`link account "${name}" to ${identity}`, async () => {
      const entry = await this.requireAccount(name);
      // Without a link attribute the link is Tenure's to record (kept-links.ts): the account only has to be there.
      if (this.settings.linkAttribute !== undefined)
        await this.session.writeLink(entry, this.settings.linkAttribute, name, identity);
    });
  }

  /** A new random password, in the sink before AD has it. */
  async rotateCredential(name: string): Promise<void> {
    const sink = this.settings.secretSinkFile;
    if (sink === undefined) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}" has no secret_sink: a rotated password would have nowhere to go`,
        'add connection.secret_sink: { file: PATH }',
      );
    }
    return this.session.run(`rotate the password of "${name}"`, async () => {
      const entry = await this.requireAccount(name);
      const password = randomPassword();
      await appendSecret(this.target, sink, this.nameOf(entry), password);
      await this.session.ldap(entry.dn, (client) =>
        client.modify(entry.dn, [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(password)] }),
          }),
        ]),
      );
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Memberships: one value added or removed, never the whole group read.

  async addMembership(name: string, entitlement: string): Promise<void> {
    const groupDn = this.groupDn(entitlement);
    return this.session.run(`add "${name}" to ${entitlement}`, async () => {
      const entry = await this.requireAccount(name);
      // entryAlreadyExists: the account is a member already (AD's ERROR_MEMBER_IN_ALIAS).
      await this.session.ignoring(68, () =>
        this.session.ldap(groupDn, (client) =>
          client.modify(groupDn, [
            new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [entry.dn] }) }),
          ]),
        ),
      );
    });
  }

  async removeMembership(name: string, entitlement: string): Promise<void> {
    const groupDn = this.groupDn(entitlement);
    return this.session.run(`remove "${name}" from ${entitlement}`, async () => {
      const entry = await this.requireAccount(name);
      // Asked of the server, not read from the group: whether this one value is there (a missing group is an error).
      const holding = await this.session.search(
        groupDn,
        `(&(objectClass=group)(member=${escapeFilterValue(entry.dn)}))`,
        ['1.1'],
        'base',
      );
      if (holding.length === 0) return;
      await this.session.ignoring([16, 53], () =>
        this.session.ldap(groupDn, (client) =>
          client.modify(groupDn, [
            new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [entry.dn] }) }),
          ]),
        ),
      );
    });
  }

  close(): Promise<void> {
    return this.session.close();
  }

  /** Read-only questions on the bound client (`tenure targets check`); failures are mapped as every operation's. */
  inspect<T>(what: string, question: (client: Client) => Promise<T>): Promise<T> {
    return this.session.run(what, async () => question(await this.session.connected()));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  private placement(name: string, parent: string | undefined): string | undefined {
    return placementOf({ target: this.target, ...this.settings }, name, parent);
  }

  private checkName(name: string): void {
    const problem = samAccountNameProblem(name);
    if (problem !== undefined) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}": account name ${JSON.stringify(name)} ${problem}`,
        "change the target's account_name rule so that it makes names AD accepts",
      );
    }
  }

  private upnOf(name: string): string {
    return `${name}@${this.settings.upnSuffix}`;
  }

  /**
   * sAMAccountName is unique in the whole domain (users, groups, computers): a name held outside the accounts this
   * target reads is a conflict, not an account to link to.
   */
  private async refuseTaken(name: string, self: Entry | undefined): Promise<void> {
    const holders = await this.session.search(
      this.domain,
      `(sAMAccountName=${escapeFilterValue(name)})`,
      ['sAMAccountName'],
      'sub',
    );
    const other = holders.find((h) => self === undefined || normaliseDn(h.dn) !== normaliseDn(self.dn));
    if (other === undefined) return;
    if (self === undefined && this.isAccountDn(other.dn)) {
      throw new ConnectorError(
        this.target,
        'already_exists',
        `target "${this.target}": account "${name}" already exists`,
      );
    }
    throw new ConnectorError(
      this.target,
      self === undefined ? 'conflict' : 'already_exists',
      `target "${this.target}": sAMAccountName "${name}" is taken by ${other.dn}` +
        (this.isAccountDn(other.dn) ? '' : ', outside the accounts this target manages'),
      'sAMAccountName is unique in the whole domain: give the account another name (targets[].account_name)',
    );
  }

  private async setDisabled(entry: Entry, disabled: boolean): Promise<void> {
    const uac = parseUac(first(entry, 'userAccountControl')) ?? NORMAL_ACCOUNT;
    if (isDisabled(uac) === disabled) return;
    const next = withDisabled(uac, disabled);
    await this.session.ldap(entry.dn, (client) =>
      client.modify(entry.dn, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: [formatUac(next)] }),
        }),
      ]),
    );
  }

  /** Moves an account under another OU, keeping its RDN; AD keeps its memberships. Returns it as it is after. */
  private async move(entry: Entry, newParent: string): Promise<Entry> {
    const newDn = `${splitRdn(entry.dn)[0]},${newParent}`;
    // Both DNs in an error: the move can fail for the entry (gone) or for where it goes (no such OU).
    await this.session.ldap(`${entry.dn} → ${newDn}`, (client) => client.modifyDN(entry.dn, newDn));
    return this.refind(entry, newDn);
  }

  /** The entry again after its DN changed: by its objectGUID, which survives moves and renames. */
  private async refind(before: Entry, newDn: string): Promise<Entry> {
    const found = await this.session.search(newDn, `(&${this.accountFilter})`, this.accountAttributes(), 'base', [
      'objectGUID',
    ]);
    const entry = found[0];
    if (entry === undefined || guidOf(entry) !== guidOf(before)) {
      throw new ConnectorError(
        this.target,
        'internal',
        `target "${this.target}": account ${before.dn} cannot be found at ${newDn} after it moved`,
      );
    }
    return entry;
  }

  private groupDn(entitlement: string): string {
    const prefix = `${this.target}:group/`;
    if (!entitlement.startsWith(prefix) || entitlement.length === prefix.length) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}": ${JSON.stringify(entitlement)} is not a group of this target`,
        `Active Directory entitlements look like ${prefix}NAME (the group's CN under groups_base)`,
      );
    }
    return `CN=${escapeDnValue(entitlement.slice(prefix.length))},${this.settings.groupsBase}`;
  }

  private entitlementOf(groupDn: string): string | undefined {
    try {
      if (normalisedParent(groupDn) !== this.groupsParent) return undefined;
      const ava = parseDn(groupDn)[0];
      const cn = ava?.length === 1 && ava[0]!.type.toLowerCase() === 'cn' ? ava[0]!.value : undefined;
      return cn === undefined ? undefined : `${this.target}:group/${cn}`;
    } catch {
      return undefined;
    }
  }

  /** Every value of a group's `member`, asked for in ranges (AD answers at most MaxValRange values at once). */
  private async memberValues(groupDn: string): Promise<string[]> {
    const step = this.settings.valueRangeStep ?? 1500;
    const fetch = async (range: string): Promise<Record<string, unknown>> => {
      const found = await this.session.search(groupDn, '(objectClass=group)', [range], 'base');
      if (found[0] === undefined) {
        throw new ConnectorError(
          this.target,
          'not_found',
          `target "${this.target}": ${groupDn} is not a group`,
          'Tenure manages group objects under connection.groups_base; check the entitlement name (Tenure does not create groups)',
        );
      }
      return found[0];
    };
    try {
      return await readRangedValues('member', await fetch(`member;range=0-${step - 1}`), fetch, step);
    } catch (e) {
      if (!(e instanceof RangedValuesError)) throw e;
      throw new ConnectorError(
        this.target,
        'internal',
        `target "${this.target}": reading the members of ${groupDn}: ${e.message}`,
      );
    }
  }

  /**
   * memberOf as asked in account searches: plain, so AD answers `memberOf;range=0-1499` only for an account in more than
   * 1,500 groups; with a smaller step (tests) explicitly ranged, as Samba ranges only when asked.
   */
  private memberOfAsked(): string {
    const step = this.settings.valueRangeStep;
    return step === undefined ? 'memberOf' : `memberOf;range=0-${step - 1}`;
  }

  /** An account's memberOf read to the end when AD answered it in ranges; the entry then holds it whole. */
  private async completeMemberOf(entry: Entry): Promise<void> {
    if (!Object.keys(entry).some((k) => /^memberOf;range=/i.test(k))) return;
    const fetch = async (range: string): Promise<Record<string, unknown>> => {
      const [found] = await this.session.search(entry.dn, '(objectClass=user)', [range], 'base');
      if (found === undefined)
        throw new ConnectorError(this.target, 'not_found', `target "${this.target}": ${entry.dn} is gone`);
      return found;
    };
    let values: string[];
    try {
      values = await readRangedValues('memberOf', entry, fetch, this.settings.valueRangeStep);
    } catch (e) {
      if (!(e instanceof RangedValuesError)) throw e;
      throw new ConnectorError(
        this.target,
        'internal',
        `target "${this.target}": reading the groups of ${entry.dn}: ${e.message}`,
      );
    }
    for (const key of Object.keys(entry)) if (/^memberOf(;|$)/i.test(key)) delete entry[key];
    entry.memberOf = values;
  }

  private safeNormalise(dn: string): string | undefined {
    try {
      return normaliseDn(dn);
    } catch {
      return undefined;
    }
  }

  private isUnder(dn: string, parent: string | undefined): boolean {
    if (parent === undefined) return false;
    const whole = this.safeNormalise(dn);
    return whole !== undefined && whole.endsWith(`,${parent}`);
  }

  /** Whether a DN is where accounts are read: under people_base (one level, or any depth), or disabled_base. */
  private isAccountDn(dn: string): boolean {
    let parent: string;
    try {
      parent = normalisedParent(dn);
    } catch {
      return false;
    }
    if (parent === this.peopleParent || parent === this.disabledParent) return true;
    return this.settings.accountScope === 'sub' && this.isUnder(dn, this.peopleParent);
  }

  private nameOf(entry: Entry): string {
    return first(entry, 'sAMAccountName') ?? entry.dn;
  }

  private toAccount(entry: Entry): Account {
    const identity = this.settings.linkAttribute === undefined ? undefined : first(entry, this.settings.linkAttribute);
    const attributes: Record<string, string> = {};
    for (const name of MAPPED_ATTRIBUTES) if (this.isMapped(name)) attributes[name] = first(entry, name) ?? '';
    attributes[PARENT] = splitRdn(entry.dn)[1];
    const entitlements = all(entry, 'memberOf')
      .flatMap((g) => this.entitlementOf(g) ?? [])
      .sort();
    return {
      id: guidOf(entry) ?? entry.dn,
      name: this.nameOf(entry),
      ...(identity === undefined ? {} : { identity }),
      enabled: !isDisabled(parseUac(first(entry, 'userAccountControl')) ?? 0),
      entitlements,
      attributes,
    };
  }

  /** Whether an attribute is the policy's to set: not the link. */
  private isMapped(name: string): boolean {
    return name.toLowerCase() !== this.settings.linkAttribute?.toLowerCase();
  }

  private mapAttributes(attributes: Readonly<Record<string, string>>): Record<string, string> {
    return pickAttributes(attributes, MAPPED_ATTRIBUTES, (name) => this.isMapped(name));
  }

  private accountAttributes(): string[] {
    return [
      'sAMAccountName',
      'userPrincipalName',
      'userAccountControl',
      'objectGUID',
      this.memberOfAsked(),
      ...(this.settings.linkAttribute === undefined ? [] : [this.settings.linkAttribute]),
      ...MAPPED_ATTRIBUTES,
    ];
  }

  /** Account entries matching a filter, under people_base (account_scope) and disabled_base, each once. */
  private async searchPeople(filter: string, attributes = this.accountAttributes()): Promise<Entry[]> {
    const buffers = attributes.includes('objectGUID') ? ['objectGUID'] : [];
    const entries = await this.session.search(
      this.settings.peopleBase,
      filter,
      attributes,
      this.settings.accountScope,
      buffers,
    );
    if (this.settings.disabledBase !== undefined)
      entries.push(...(await this.session.search(this.settings.disabledBase, filter, attributes, 'one', buffers)));
    // disabled_base may sit inside people_base, where a subtree search finds its entries already.
    const unique = uniqueEntries(entries);
    for (const entry of unique) await this.completeMemberOf(entry);
    return unique;
  }

  /** The account whose sAMAccountName matches (AD compares it ignoring case). */
  private async findAccount(name: string): Promise<Entry | undefined> {
    const entries = await this.searchPeople(`(&${this.accountFilter}(sAMAccountName=${escapeFilterValue(name)}))`);
    return entries.find((e) => this.nameOf(e) === name) ?? entries.find((e) => fold(this.nameOf(e)) === fold(name));
  }

  private async findLinked(identity: string, linkAttribute: string): Promise<Entry[]> {
    const entries = await this.searchPeople(
      `(&${this.accountFilter}(${linkAttribute}=${escapeFilterValue(identity)}))`,
    );
    return entries.filter((e) => all(e, linkAttribute).includes(identity));
  }

  private async requireAccount(name: string): Promise<Entry> {
    const entry = await this.findAccount(name);
    if (entry === undefined) {
      throw new ConnectorError(this.target, 'not_found', `target "${this.target}": account "${name}" does not exist`);
    }
    return entry;
  }
}
