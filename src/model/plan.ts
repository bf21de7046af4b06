import type { RiskLevel } from './entitlement.js';

/** The closed set of actions a plan can hold (DESIGN.md: plans are immutable data). */
export const CHANGE_ACTIONS = [
  'create_account',
  'enable_account',
  'add_membership',
  'remove_membership',
  'disable_account',
] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

export interface Change {
  readonly target: string;
  readonly action: ChangeAction;
  /** The identity the change is for; absent for an account no identity explains. */
  readonly identity?: string;
  /** The account name in the target. */
  readonly account: string;
  /** For membership changes: the entitlement id. */
  readonly entitlement?: string;
  readonly risk?: RiskLevel;
  /** For humans only; scripts read the other fields. */
  readonly reason: string;
}

export interface TargetPlan {
  readonly target: string;
  /** Ordered: per identity, account before memberships; removals before disables. */
  readonly changes: readonly Change[];
  readonly counts: Readonly<Record<ChangeAction, number>>;
  /** Accounts the target holds now; the base for breaker percentages. */
  readonly accountsBefore: number;
  /** Accounts no identity explains; left alone here, reported by drift. */
  readonly unlinkedAccounts: number;
}

export interface PlanSummary {
  readonly changes: number;
  readonly identitiesAffected: number;
  readonly byAction: Readonly<Record<ChangeAction, number>>;
  /** Grants of high or critical entitlements this plan adds. */
  readonly highRiskGrants: number;
}

export interface Plan {
  readonly formatVersion: 1;
  /** The policy's name. */
  readonly policy: string;
  readonly asOf: string;
  readonly targets: readonly TargetPlan[];
  readonly summary: PlanSummary;
}
