import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { Change } from '../model/plan.js';

/**
 * The digest of a plan's changes: SHA-256 of the canonical JSON of each target's changes, in
 * order. A saved plan is applied only while its changes still equal what Tenure computes now,
 * so an edited file (an added grant, a renamed account) and a stale one are both refused.
 */
export function changesDigest(
  targets: readonly { readonly target: string; readonly changes: readonly Change[] }[],
): string {
  return createHash('sha256')
    .update(
      canonicalJson(targets.filter((t) => t.changes.length > 0).map((t) => ({ target: t.target, changes: t.changes }))),
    )
    .digest('hex');
}

/**
 * A plan's journal key: the same plan always resumes the same journal; a plan of another state,
 * or another plan of the same state (a drift remediation), never shares one.
 */
export function planIdOf(plan: {
  readonly policyHash?: string;
  readonly stateHash?: string;
  readonly digest?: string;
}): string {
  return `${(plan.policyHash ?? '').slice(0, 16)}-${(plan.stateHash ?? '').slice(0, 16)}-${(plan.digest ?? '').slice(0, 16)}`;
}
