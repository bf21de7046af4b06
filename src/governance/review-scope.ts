import type { DesiredState } from '../model/grant.js';
import { isNonHuman, type Identity } from '../model/identity.js';
import type { Policy } from '../model/policy.js';
import type { Denial, ReviewItem } from '../model/review.js';
import { explainProvenance } from '../plan/explain.js';

export type ReviewScope =
  | { readonly kind: 'role'; readonly id: string }
  | { readonly kind: 'target'; readonly id: string }
  | { readonly kind: 'manager'; readonly id: string }
  | { readonly kind: 'nhi-owners' };

/** `role:ID`, `target:ID`, `manager:ID` or `nhi-owners`; undefined for anything else. */
export function parseScope(text: string): ReviewScope | undefined {
  if (text === 'nhi-owners') return { kind: 'nhi-owners' };
  const m = /^(role|target|manager):(.+)$/.exec(text);
  return m ? { kind: m[1] as 'role' | 'target' | 'manager', id: m[2]! } : undefined;
}

export function scopeText(s: ReviewScope): string {
  return s.kind === 'nhi-owners' ? s.kind : `${s.kind}:${s.id}`;
}

export type NewItem = Omit<ReviewItem, 'id' | 'campaign' | 'decision' | 'comment' | 'decidedAt' | 'decidedBy'>;

/**
 * The items of a campaign: one per identity and entitlement in scope, from desired state (so
 * each carries its provenance), with the reviewer who should decide it. Reviewers: the role's
 * business owner for a role campaign, the identity's manager otherwise, the owner for a non-human
 * identity; never the holder themself — then their manager, then the role's technical owner.
 */
export function reviewItemsFor(
  scope: ReviewScope,
  policy: Policy,
  identities: readonly Identity[],
  desired: DesiredState,
): NewItem[] {
  const byId = new Map(identities.map((i) => [i.id, i]));
  const roles = new Map(policy.roles.map((r) => [r.id, r]));
  const out: NewItem[] = [];
  for (const access of desired.identities) {
    const identity = byId.get(access.identity);
    if (!identity) continue;
    if (scope.kind === 'manager' && identity.manager !== scope.id) continue;
    if (scope.kind === 'nhi-owners' && !isNonHuman(identity.kind)) continue;
    for (const grant of access.grants) {
      const viaRole = grant.provenance.filter((p) => p.chain.length > 0);
      if (scope.kind === 'role' && !viaRole.some((p) => p.chain.includes(scope.id))) continue;
      if (scope.kind === 'target' && !grant.entitlement.startsWith(`${scope.id}:`)) continue;
      // The roles that name the entitlement (the end of each chain), for flagging a revoke to their owners.
      const granting = [...new Set(viaRole.map((p) => p.chain[p.chain.length - 1]!))].sort();
      const owner = (id: string | undefined) => (id ? roles.get(id) : undefined);
      const first = scope.kind === 'role' ? owner(scope.id) : owner(viaRole[0]?.chain[0]);
      const candidates = [
        scope.kind === 'role' ? first?.businessOwner : undefined,
        scope.kind === 'nhi-owners' || isNonHuman(identity.kind) ? identity.owner : undefined,
        scope.kind === 'manager' ? scope.id : undefined,
        identity.manager,
        first?.businessOwner,
        first?.technicalOwner,
      ];
      const reviewer = candidates.find((c) => c !== undefined && c !== identity.id);
      const lastUsed = identity.credential?.lastUsed;
      out.push({
        identity: identity.id,
        entitlement: grant.entitlement,
        ...(reviewer ? { reviewer } : {}),
        provenance: grant.provenance.map(explainProvenance).join('; '),
        roles: granting,
        ...(lastUsed ? { lastUsed } : {}),
      });
    }
  }
  return out;
}

/** For `why`: a denial in words. */
export function explainDenial(d: Denial): string {
  return `revoked by ${d.origin} on ${d.at.toISOString().slice(0, 10)} (decided by ${d.decidedBy}: ${d.reason})`;
}

/** Roles whose grants reviewers revoked, with how many: each is flagged for its owners to look at the rule. */
export function flaggedRoles(
  denials: readonly Denial[],
  policy: Policy,
): { role: string; revoked: number; businessOwner?: string; technicalOwner?: string }[] {
  const counts = new Map<string, number>();
  for (const d of denials) {
    if (d.liftedAt) continue;
    for (const r of d.roles) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const roles = new Map(policy.roles.map((r) => [r.id, r]));
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([role, revoked]) => {
      const r = roles.get(role);
      return {
        role,
        revoked,
        ...(r?.businessOwner ? { businessOwner: r.businessOwner } : {}),
        ...(r?.technicalOwner ? { technicalOwner: r.technicalOwner } : {}),
      };
    });
}
