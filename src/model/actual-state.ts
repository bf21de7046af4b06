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
}

export interface TargetState {
  readonly target: string;
  readonly accounts: readonly Account[];
}

/** What the targets hold now. */
export interface ActualState {
  readonly targets: readonly TargetState[];
}
