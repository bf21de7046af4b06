import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { Engine } from '../engine/engine.js';
import type { Identity } from '../model/identity.js';
import type { SodConflict } from '../model/plan.js';
import type { LoadedPolicy } from '../policy/load-policy.js';

export interface RoleFix {
  readonly role: string;
  /** The entitlement the role no longer grants. */
  readonly entitlement: string;
  /** The separation-of-duties rule it broke. */
  readonly rule: string;
}

/**
 * What a role owner does when a plan is blocked by a separation-of-duties conflict, done the
 * simplest way for the demo: a role that grants both sides of a rule stops granting the later
 * one; otherwise the roles that give the identity the later entitlement stop granting it. Returns
 * the edited policy text (comments and layout kept) and the fixes, each a sentence for the log.
 */
export function fixConflictingRoles(
  policyText: string,
  loaded: LoadedPolicy,
  conflicts: readonly SodConflict[],
  identities: readonly Identity[],
  asOf: Date,
): { text: string; fixes: RoleFix[] } {
  const engine = new Engine(loaded);
  const byId = new Map(identities.map((i) => [i.id, i]));
  const grantsOf = new Map(loaded.policy.roles.map((r) => [r.id, new Set(r.grants)]));
  const fixes = new Map<string, RoleFix>();
  for (const c of conflicts) {
    const later = c.entitlements[c.entitlements.length - 1]!;
    const identity = byId.get(c.identity);
    if (!identity) continue;
    const access = engine.identityAccess(identity, asOf);
    // A role this identity holds that grants both sides is the mistake itself.
    let roles = access.roles.filter((r) => c.entitlements.every((e) => grantsOf.get(r)?.has(e)));
    if (roles.length === 0) {
      const grant = access.grants.find((gr) => gr.entitlement === later);
      // The role at the end of each chain is the one that names the entitlement.
      roles = (grant?.provenance ?? []).flatMap((p) => (p.chain.length > 0 ? [p.chain[p.chain.length - 1]!] : []));
    }
    for (const role of roles) fixes.set(`${role} ${later}`, { role, entitlement: later, rule: c.rule });
  }

  const doc = parseDocument(policyText);
  const roles = doc.get('roles');
  for (const fix of fixes.values()) {
    if (!isSeq(roles)) break;
    const role = roles.items.find((r) => isMap(r) && r.get('id') === fix.role);
    const grants = isMap(role) ? role.get('grants') : undefined;
    if (!isSeq(grants)) continue;
    const at = grants.items.findIndex((g) => (isScalar(g) ? g.value : g) === fix.entitlement);
    if (at >= 0) grants.delete(at);
  }
  return { text: doc.toString({ lineWidth: 0 }), fixes: [...fixes.values()] };
}
