import type { SourcePosition } from './diagnostic.js';

/** Finding severities, lowest first: `--fail-on` compares by this order. */
export const FINDING_SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

export function severityRank(s: FindingSeverity): number {
  return FINDING_SEVERITIES.indexOf(s);
}

/**
 * A governance problem found by lint, drift or a review (DESIGN.md: "finding"): a value with a
 * stable code for scripts and the compliance report, the subject it is about, and words for a
 * person — what is wrong, why it matters, how to fix it.
 */
export interface Finding {
  /** Stable, dotted: `role.no_owner`, `sod.within_role`, `nhi.credential_too_old`, `drift.orphan_account` ... */
  readonly code: string;
  readonly severity: FindingSeverity;
  /** What it is about, typed by prefix: `role:ID`, `identity:ID`, `entitlement:ID`, `exception:N`, `account:TARGET/NAME`. */
  readonly subject: string;
  /** What is wrong, in one sentence with the specifics. */
  readonly message: string;
  /** Why it matters. */
  readonly why: string;
  /** How to fix it. */
  readonly fix: string;
  /** Where in the policy file, when the subject is declared there. */
  readonly position?: SourcePosition;
  /** Other subjects involved: the roles that cause a conflict, the owner who left ... */
  readonly related?: readonly string[];
}

/** Findings sorted most severe first, then by code and subject: stable output for diffs and CI. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0),
  );
}
