/** One account in a target, as a connector (or a snapshot file) reports it. */
export interface Account {
  /** The target's own stable id for the account (DN, SCIM id, role name ...). */
  readonly id: string;
  /** The account name (userName, uid, role name). */
  readonly name: string;
  /** The identity it is linked to, when known. */
  readonly identity?: string;
  readonly enabled: boolean;
  /** Entitlement ids held, `target:kind/name`. */
  readonly entitlements: readonly string[];
  /**
   * The account attributes the connector maps and reads back (`mail`, `displayName` ...); absent
   * when it reads none. The planner updates only attributes a target reports.
   */
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface TargetState {
  readonly target: string;
  readonly accounts: readonly Account[];
  /**
   * Every entitlement the target has now, held by anyone or not (`Connector.listEntitlements`);
   * absent when its connector cannot tell. A declared entitlement missing here cannot be granted.
   */
  readonly entitlements?: readonly string[];
  /** Where the target keeps a declared entitlement (an LDAP group's DN), by id, for messages. */
  readonly locations?: Readonly<Record<string, string>>;
}

/** What the targets hold now. */
export interface ActualState {
  readonly targets: readonly TargetState[];
}

/**
 * A link Tenure keeps itself, for a target that holds none (an AD target with `link_attribute: none`): the account's
 * own stable id in the target (objectGUID), which survives renames and moves, belongs to the identity.
 */
export interface AccountLink {
  readonly target: string;
  readonly accountId: string;
  /** The account's name when it was linked. */
  readonly account: string;
  readonly identity: string;
}
