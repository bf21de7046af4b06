import type { LifecycleEvent } from '../model/lifecycle.js';
import type { BreakerSettings } from '../model/policy.js';

/** Events that take an identity's access away at once: a leaver, or an end date reached. */
export function countsAsLeaver(e: LifecycleEvent): boolean {
  return e.kind === 'leaver' || e.kind === 'end_date_reached';
}

/**
 * The mass-leaver circuit breaker: an import that would make too many identities leave at once
 * is stopped before anything is deprovisioned. Tripped when more than `maxCount` leave, or when at
 * least `minCount` leave and they are more than `maxPercent` of the population (the identities
 * the source had before the import). A population of 0 counts every leaver above the percentage.
 */
export function massLeaverVerdict(
  leavers: number,
  population: number,
  settings: BreakerSettings,
): { tripped: boolean; reason: string } {
  const { maxPercent, minCount, maxCount } = settings;
  const share = population > 0 ? (leavers / population) * 100 : leavers > 0 ? Infinity : 0;
  const who = `${n(leavers)} of ${n(population)} ${population === 1 ? 'identity' : 'identities'}${
    Number.isFinite(share) ? ` (${percent(share, maxPercent)})` : ''
  }`;
  const limit = `${trim(maxPercent)}% (at least ${n(minCount)}, never more than ${n(maxCount)})`;
  const looksLike = 'A truncated or empty HR file looks like this.';

  if (leavers >= minCount && leavers > (population * maxPercent) / 100)
    return { tripped: true, reason: `${who} would leave at once; the limit is ${limit}. ${looksLike}` };
  if (leavers > maxCount)
    return {
      tripped: true,
      reason:
        `${who} would leave at once; more than ${n(maxCount)} is never allowed at once, whatever the share ` +
        `(the limit is ${trim(maxPercent)}%, at least ${n(minCount)}). ${looksLike}`,
    };
  if (leavers < minCount)
    return {
      tripped: false,
      reason: `${who} would leave; fewer than ${n(minCount)}, so the ${trim(maxPercent)}% limit does not apply.`,
    };
  return { tripped: false, reason: `${who} would leave; within the limit of ${limit}.` };
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function trim(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/**
 * A share as people read it: whole percent ("24%"), unless rounding would hide how it compares
 * with the limit (10.04% against 10%) or make a small share look like zero (0.05%).
 */
function percent(share: number, limit: number): string {
  const whole = Math.round(share);
  if (share >= 1 && (whole !== limit || share === limit)) return `${n(whole)}%`;
  if (share === 0) return '0%';
  return `${share.toLocaleString('en-US', share >= 1 ? { maximumFractionDigits: 2 } : { maximumSignificantDigits: 2 })}%`;
}
