/** Access reviews: a campaign asks named reviewers to keep or revoke each grant in a scope. */
export type ReviewDecision = 'keep' | 'revoke';

export interface ReviewCampaign {
  readonly id: number;
  /** `role:ID`, `target:ID`, `manager:ID` or `nhi-owners`. */
  readonly scope: string;
  readonly createdAt: Date;
  /** Who started it (the operator's name). */
  readonly createdBy: string;
  readonly due?: Date;
  /** What closing the campaign does with items nobody decided. */
  readonly noResponse: ReviewDecision;
  readonly state: 'open' | 'closed';
  readonly closedAt?: Date;
  readonly closedBy?: string;
}

export interface ReviewItem {
  readonly id: number;
  readonly campaign: number;
  readonly identity: string;
  readonly entitlement: string;
  /** The identity id of the person asked to decide; absent when nobody could be found. */
  readonly reviewer?: string;
  /** Why the identity has it, in words, when the campaign started. */
  readonly provenance: string;
  /** The roles that granted it when the campaign started (empty for an exception). */
  readonly roles: readonly string[];
  readonly lastUsed?: Date;
  readonly decision?: ReviewDecision;
  readonly comment?: string;
  readonly decidedAt?: Date;
  /** The reviewer who decided, or `no-response` when closing the campaign applied its default. */
  readonly decidedBy?: string;
}

/**
 * A revoke that sticks: the engine leaves this entitlement out of the identity's role-based
 * access from `at` on, whatever the roles say, until the denial is lifted. A later, explicit
 * exception (`tenure grant add`) still grants it: that is a person's deliberate decision.
 */
export interface Denial {
  readonly id: number;
  readonly identity: string;
  readonly entitlement: string;
  /** Where it came from, e.g. `review 3, item 17`. */
  readonly origin: string;
  readonly reason: string;
  readonly decidedBy: string;
  readonly at: Date;
  /** The roles that granted it when it was revoked: flagged for their owners. */
  readonly roles: readonly string[];
  readonly liftedAt?: Date;
}

export function denialActive(d: Denial, asOf: Date): boolean {
  const t = asOf.getTime();
  return d.at.getTime() <= t && (d.liftedAt === undefined || d.liftedAt.getTime() > t);
}
