import type { Account } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';

/** What a connector can do; the executor never asks for more. */
export interface ConnectorCapabilities {
  readonly read: boolean;
  readonly write: boolean;
  /** Accounts can be disabled and enabled (else only deleted). */
  readonly disable: boolean;
  readonly delete: boolean;
  /** Group-like entitlements: list, add and remove members. */
  readonly memberships: boolean;
  /** A credential can be rotated (a new secret set and handed to a sink). */
  readonly rotate: boolean;
  /** An account can be renamed in place, keeping its memberships (`renameAccount`), and linked (`linkAccount`). */
  readonly rename: boolean;
  /**
   * The target holds no link (an AD target with `link_attribute: none`): its accounts come without `identity`, and
   * Tenure keeps which account, by its stable id, belongs to whom (kept-links.ts). Absent: the connector writes and
   * reads the link itself.
   */
  readonly linkKeptByTenure?: boolean;
}

/** The account to create: its name, the identity it belongs to, and target attributes. */
export interface AccountSpec {
  readonly name: string;
  readonly identity: string;
  /** Target attributes (`givenName`, `mail`, `displayName` ...); the connector maps what it knows. */
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * The contract every target connector implements (after Kysely's one-interface-per-dialect).
 * Names are account names; entitlements are full ids (`directory:group/engineers`). Every write
 * is idempotent where the target allows: adding a membership that exists or removing one that
 * does not succeeds. Problems are thrown as ConnectorError with a closed code.
 */
export interface Connector {
  readonly target: string;
  readonly kind: string;
  readonly capabilities: ConnectorCapabilities;
  /** Every account, read page by page, with the managed entitlements each holds. */
  listAccounts(): Promise<readonly Account[]>;
  readAccount(name: string): Promise<Account | undefined>;
  /**
   * Every entitlement that exists in the target now (`directory:group/engineers`), held by anyone or
   * not. Optional: a connector that can list them lets the plan report a declared entitlement the
   * target lacks before anything runs; one that cannot leaves it out.
   */
  listEntitlements?(): Promise<readonly string[]>;
  /** Where the target keeps an entitlement (an LDAP group's DN), for messages; undefined when it is not one of its. */
  locateEntitlement?(entitlement: string): string | undefined;
  /** Creates an account; `already_exists` when one has the name. */
  createAccount(spec: AccountSpec): Promise<Account>;
  updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void>;
  disableAccount(name: string): Promise<void>;
  enableAccount(name: string): Promise<void>;
  deleteAccount(name: string): Promise<void>;
  /**
   * Gives the account `name`, linked to `identity`, the name `newName`, keeping its memberships and
   * its link. Idempotent: when `name` is gone and the account named `newName` is linked to
   * `identity`, the rename is done (a resumed rename that took effect before a crash succeeds).
   * `already_exists` when another account holds `newName`; `not_found` when neither is there.
   * Optional until every kind renames: the `rename` capability says whether it is there.
   */
  renameAccount?(name: string, newName: string, identity: string): Promise<void>;
  /**
   * Records `identity` in the account's link attribute, so an account adopted by its name is found
   * by its link from now on (and a later rename finds it). Idempotent. Present when `rename` is.
   */
  linkAccount?(name: string, identity: string): Promise<void>;
  /** Account names that hold the entitlement. */
  listMembers(entitlement: string): Promise<readonly string[]>;
  addMembership(name: string, entitlement: string): Promise<void>;
  removeMembership(name: string, entitlement: string): Promise<void>;
  /** Sets a new random secret and hands it to the configured sink; `invalid_input` where unsupported. */
  rotateCredential(name: string): Promise<void>;
  /**
   * Warnings about how the target was reached (a fallback taken because the server refused something), each once
   * per connector, i.e. per target and run. Read before close().
   */
  warnings?(): readonly Diagnostic[];
  close(): Promise<void>;
}

/** The closed set of connector error codes; the executor decides retries from the code alone. */
export const CONNECTOR_ERROR_CODES = [
  'unreachable',
  'rate_limited',
  'already_exists',
  'not_found',
  'invalid_input',
  'permission_denied',
  'conflict',
  'timeout',
  'internal',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ConnectorErrorCode> = new Set(['unreachable', 'rate_limited', 'timeout', 'internal']);

export class ConnectorError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly target: string,
    readonly code: ConnectorErrorCode,
    message: string,
    readonly hint?: string,
    /** For rate_limited: how long the target asked us to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ConnectorError';
    this.retryable = RETRYABLE.has(code);
  }
}
