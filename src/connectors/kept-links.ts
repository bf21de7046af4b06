import type { Account, AccountLink } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { ConnectorError, type AccountSpec, type Connector } from './connector.js';

/** Where the links of targets that hold none are kept (the store, through the application layer). */
export interface LinkBook {
  /** The identity each account of the target belongs to, by the account's id. */
  links(target: string): Promise<ReadonlyMap<string, string>>;
  /** Tenure links the account to the identity from now on; later `links` calls see it. */
  record(link: AccountLink): void | Promise<void>;
  /** What the book has to say about the target's links (rows that do not match their audit records). */
  warnings?(target: string): readonly Diagnostic[];
}

/**
 * A connector whose target holds no link, with the links Tenure keeps: accounts are read with the identity the book
 * gives their id, a created or adopted account is recorded in the book, and a rename that already took effect is
 * recognised by the id the book links to the identity. Everything else is the target's own.
 */
export function withKeptLinks(inner: Connector, book: LinkBook): Connector {
  return new KeptLinksConnector(inner, book);
}

class KeptLinksConnector implements Connector {
  readonly target: string;
  readonly kind: string;
  readonly capabilities: Connector['capabilities'];
  readonly listEntitlements?: () => Promise<readonly string[]>;
  readonly locateEntitlement?: (entitlement: string) => string | undefined;

  constructor(
    private readonly inner: Connector,
    private readonly book: LinkBook,
  ) {
    this.target = inner.target;
    this.kind = inner.kind;
    this.capabilities = inner.capabilities;
    if (inner.listEntitlements) this.listEntitlements = () => inner.listEntitlements!();
    if (inner.locateEntitlement) this.locateEntitlement = (e) => inner.locateEntitlement!(e);
  }

  async listAccounts(): Promise<readonly Account[]> {
    const [accounts, links] = await Promise.all([this.inner.listAccounts(), this.book.links(this.target)]);
    return accounts.map((a) => linked(a, links));
  }

  async readAccount(name: string): Promise<Account | undefined> {
    const [account, links] = await Promise.all([this.inner.readAccount(name), this.book.links(this.target)]);
    return account === undefined ? undefined : linked(account, links);
  }

  async createAccount(spec: AccountSpec): Promise<Account> {
    const created = await this.inner.createAccount(spec);
    if (spec.identity === '') return created;
    await this.book.record({ target: this.target, accountId: created.id, account: spec.name, identity: spec.identity });
    return { ...created, identity: spec.identity };
  }

  async renameAccount(name: string, newName: string, identity: string): Promise<void> {
    if (!this.inner.renameAccount)
      throw new ConnectorError(this.target, 'invalid_input', `target "${this.target}" cannot rename accounts`);
    const account = await this.readAccount(name);
    if (account === undefined) {
      // Gone: done already when the account named newName is the identity's by its id (a resumed rename).
      if ((await this.readAccount(newName))?.identity === identity) return;
      throw new ConnectorError(
        this.target,
        'not_found',
        `target "${this.target}": account "${name}" does not exist, and no account "${newName}" is linked to ${identity}`,
      );
    }
    this.refuseOther(account, identity, 'renamed');
    return this.inner.renameAccount(name, newName, identity);
  }

  async linkAccount(name: string, identity: string): Promise<void> {
    const account = await this.readAccount(name);
    if (account === undefined)
      throw new ConnectorError(this.target, 'not_found', `target "${this.target}": account "${name}" does not exist`);
    this.refuseOther(account, identity, `linked to ${identity}`);
    if (account.identity === identity) return;
    await this.book.record({ target: this.target, accountId: account.id, account: name, identity });
  }

  updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    return this.inner.updateAccount(name, attributes);
  }

  disableAccount(name: string): Promise<void> {
    return this.inner.disableAccount(name);
  }

  enableAccount(name: string): Promise<void> {
    return this.inner.enableAccount(name);
  }

  deleteAccount(name: string): Promise<void> {
    // The link stays in the book as history: the id is never given to another account.
    return this.inner.deleteAccount(name);
  }

  listMembers(entitlement: string): Promise<readonly string[]> {
    return this.inner.listMembers(entitlement);
  }

  addMembership(name: string, entitlement: string): Promise<void> {
    return this.inner.addMembership(name, entitlement);
  }

  removeMembership(name: string, entitlement: string): Promise<void> {
    return this.inner.removeMembership(name, entitlement);
  }

  rotateCredential(name: string): Promise<void> {
    return this.inner.rotateCredential(name);
  }

  warnings(): readonly Diagnostic[] {
    return [...(this.inner.warnings?.() ?? []), ...(this.book.warnings?.(this.target) ?? [])];
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** An account the book links to someone else is not theirs to change. */
  private refuseOther(account: Account, identity: string, what: string): void {
    if (account.identity !== undefined && account.identity !== identity)
      throw new ConnectorError(
        this.target,
        'conflict',
        `target "${this.target}": account "${account.name}" is linked to ${account.identity}, not ${identity}; it is not ${what}`,
        'Tenure keeps the links of this target (link_attribute: none): see who the account belongs to with tenure drift',
      );
  }
}

function linked(account: Account, links: ReadonlyMap<string, string>): Account {
  const identity = links.get(account.id);
  return identity === undefined ? account : { ...account, identity };
}
