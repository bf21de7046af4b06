import type { RiskLevel } from './entitlement.js';

/** The closed set of actions a plan can hold (DESIGN.md: plans are immutable data). */
export const CHANGE_ACTIONS = [
  'create_account',
  'rename_account',
  'link_account',
  'enable_account',
  'update_account',
  'add_membership',
  'remove_membership',
  'disable_account',
  'delete_account',
  'rotate_credential',
] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

export interface Change {
  readonly target: string;
  readonly action: ChangeAction;
  /** The identity the change is for; absent for an account no identity explains. */
  readonly identity?: string;
  /** The account name in the target (for `rename_account`, the name it has before). */
  readonly account: string;
  /** For `rename_account`: the name the policy computes now; the identity's later changes use it. */
  readonly newName?: string;
  /** For membership changes: the entitlement id. */
  readonly entitlement?: string;
  readonly risk?: RiskLevel;
  /** For `update_account`: the attributes to set, with their new values. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** For `rotate_credential`: a rotation due by age, or a revocation (a suspended non-human identity). */
  readonly purpose?: 'rotation' | 'revocation';
  /** For humans only; scripts read the other fields. */
  readonly reason: string;
}

export interface TargetPlan {
  readonly target: string;
  /**
   * Ordered: per identity, create/enable the account, add memberships, remove memberships, then
   * disable or delete the account (memberships are removed before the account goes).
   */
  readonly changes: readonly Change[];
  readonly counts: Readonly<Record<ChangeAction, number>>;
  /** How many changes the mover grace period holds back (`deferredChanges.length`; 0 when none). */
  readonly deferred: number;
  /**
   * Changes the desired state calls for but the plan does not make yet: removals (and the disable
   * of an account the move took away) of a recent mover, kept until the mover grace period ends.
   * Same order as `changes`; each reason says until when.
   */
  readonly deferredChanges: readonly Change[];
  /** Accounts the target holds now; the base for breaker percentages. */
  readonly accountsBefore: number;
  /**
   * Accounts no identity explains, an account linked to an id Tenure never imported included;
   * left alone here, reported by drift.
   */
  readonly unlinkedAccounts: number;
  /**
   * Existing accounts this plan links to an identity by their name, because they record no
   * identity (Tenure did not create them, or a create found them): Tenure adopts them and
   * manages what they hold from now on. Informational: not changes, not in the digest (the
   * state hash covers the accounts and identities they come from). Sorted by identity.
   */
  readonly adopted: readonly AdoptedAccount[];
}

/** An existing account the plan links to an identity by name, with what it already holds. */
export interface AdoptedAccount {
  readonly identity: string;
  readonly account: string;
  readonly enabled: boolean;
  /** Every entitlement it holds now, those the policy does not declare included. */
  readonly entitlements: readonly string[];
  /** For humans only: how it was linked. */
  readonly reason: string;
}

/** The deprovisioning breaker's verdict for one target. */
export interface DeprovisionVerdict {
  readonly target: string;
  /** Accounts the plan disables, deletes or takes memberships from. */
  readonly accounts: number;
  readonly blocked: boolean;
  readonly reason: string;
}

/** An identity that would hold two or more entitlements of one separation-of-duties rule. */
export interface SodConflict {
  readonly rule: string;
  readonly identity: string;
  readonly entitlements: readonly string[];
  readonly severity: string;
}

/** Whether a person must allow the plan before it is applied, and why. */
export interface Guardrails {
  readonly blocked: boolean;
  readonly deprovision: readonly DeprovisionVerdict[];
  readonly sodConflicts: readonly SodConflict[];
}

export interface PlanSummary {
  readonly changes: number;
  readonly identitiesAffected: number;
  readonly byAction: Readonly<Record<ChangeAction, number>>;
  /** Grants of high or critical entitlements this plan adds. */
  readonly highRiskGrants: number;
}

/** What a plan was computed as: apply recomputes a saved plan by the same function. */
export const PLAN_KINDS = ['plan', 'drift-remediation'] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];

export interface Plan {
  readonly formatVersion: 1;
  readonly kind: PlanKind;
  /** Drift remediation of some targets only (`tenure drift --target`). */
  readonly onlyTargets?: readonly string[];
  /**
   * The changes of these identities only (`--identity`, "provision now"): everything else the targets hold is left
   * as it is, and is not this plan's to report. A saved one is applied by computing it again for the same identities.
   */
  readonly onlyIdentities?: readonly string[];
  /**
   * SHA-256 of the plan's changes (canonical JSON of each target's changes): what a saved plan
   * must still equal when applied. Set when a plan is saved or applied.
   */
  readonly digest?: string;
  /** SHA-256 of the policy file it was computed under (set when a plan is saved or applied). */
  readonly policyHash?: string;
  /** SHA-256 of the state it was computed from: identities, exceptions and the targets' accounts. */
  readonly stateHash?: string;
  /** The policy's name. */
  readonly policy: string;
  readonly asOf: string;
  readonly targets: readonly TargetPlan[];
  readonly summary: PlanSummary;
  /** The blast radius checks: a blocked plan is applied only when a person allows it. */
  readonly guardrails: Guardrails;
}
