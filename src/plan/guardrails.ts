import type { BreakerSettings, SodRule } from '../model/policy.js';
import type { DesiredState } from '../model/grant.js';
import type { Change, DeprovisionVerdict, SodConflict, TargetPlan } from '../model/plan.js';

const DEPROVISIONING: ReadonlySet<Change['action']> = new Set([
  'disable_account',
  'delete_account',
  'remove_membership',
]);

/**
 * The deprovisioning breaker, per target: a plan that would take access from more than
 * `maxPercent` of a target's accounts at once (ignoring fewer than `minCount`; always past
 * `maxCount`) is blocked until a person allows that many.
 */
export function deprovisionVerdict(t: TargetPlan, settings: BreakerSettings): DeprovisionVerdict {
  const accounts = new Set(t.changes.filter((c) => DEPROVISIONING.has(c.action)).map((c) => c.account)).size;
  const share = t.accountsBefore === 0 ? (accounts > 0 ? 100 : 0) : (accounts / t.accountsBefore) * 100;
  const blocked = accounts > settings.maxCount || (accounts >= settings.minCount && share > settings.maxPercent);
  const reason = blocked
    ? `${accounts} of ${t.accountsBefore} account(s) in ${t.target} (${Math.round(share)}%) would lose access at once; the limit is ${settings.maxPercent}% (at least ${settings.minCount}, never more than ${settings.maxCount})`
    : `${accounts} account(s) lose access: within the limit`;
  return { target: t.target, accounts, blocked, reason };
}

/**
 * Separation-of-duties conflicts the plan would create: identities whose desired access holds two
 * or more entitlements of one rule, where the plan adds at least one of them.
 */
export function sodConflicts(
  rules: readonly SodRule[],
  desired: DesiredState,
  changes: readonly Change[],
): SodConflict[] {
  const adds = new Map<string, Set<string>>();
  for (const c of changes) {
    if (c.action !== 'add_membership' || !c.identity || !c.entitlement) continue;
    const set = adds.get(c.identity) ?? new Set<string>();
    set.add(c.entitlement);
    adds.set(c.identity, set);
  }
  const out: SodConflict[] = [];
  for (const access of desired.identities) {
    const added = adds.get(access.identity);
    if (!added) continue;
    const held = new Set(access.grants.map((g) => g.entitlement));
    for (const heldRole of access.roles) held.add(`role:${heldRole}`);
    for (const rule of rules) {
      const hit = rule.conflicting.filter((e) => held.has(e));
      if (hit.length >= 2 && hit.some((e) => added.has(e))) {
        out.push({ rule: rule.id, identity: access.identity, entitlements: hit, severity: rule.severity });
      }
    }
  }
  return out;
}
