import type { Denial } from './review.js';
import type { AttributeValue } from './identity.js';

/** Why a role applies to an identity: its rule held, for these attribute values. */
export interface RoleMatch {
  readonly role: string;
  readonly rule: string;
  /** The identity's values of the attributes the rule reads (absent ones omitted). */
  readonly inputs: Readonly<Record<string, AttributeValue>>;
}

/**
 * One path by which an entitlement reaches an identity: the role chain from the role whose rule
 * held (`chain[0]`, whose RoleMatch in IdentityAccess.matches has the rule and the values) down
 * to the role that lists the entitlement (`[senior-eng, engineer]`). Shared between identities.
 */
export interface Provenance {
  /** Empty for an exception. */
  readonly chain: readonly string[];
  /** Set when the grant comes from a time-bound exception rather than a role. */
  readonly exception?: {
    readonly id: number;
    readonly reason: string;
    readonly approver: string;
    readonly until: Date;
  };
}

/** One entitlement an identity should have, with every reason it should. */
export interface Grant {
  readonly identity: string;
  readonly entitlement: string;
  /** Sorted by chain length, then matched role id: the shortest explanation first. */
  readonly provenance: readonly Provenance[];
}

/** One identity's desired access. */
export interface IdentityAccess {
  readonly identity: string;
  /** Roles whose rule held, sorted by id. */
  readonly matches: readonly RoleMatch[];
  /** Every role the identity holds, matched or inherited, sorted. */
  readonly roles: readonly string[];
  /** Sorted by entitlement id. */
  readonly grants: readonly Grant[];
  /** Entitlements the roles grant but a denial (a revoke in an access review) holds back; absent when none. */
  readonly denied?: readonly DeniedGrant[];
}

/** A role grant held back by a denial: what the roles would give, and the decision that says no. */
export interface DeniedGrant {
  readonly entitlement: string;
  readonly provenance: readonly Provenance[];
  readonly denial: Denial;
}

/** All grants of all identities; a pure function of identities, policy and time. */
export interface DesiredState {
  /** Sorted by identity id. */
  readonly identities: readonly IdentityAccess[];
  readonly asOf: Date;
}
