import type { Provenance } from '../model/grant.js';
import type { Role } from '../model/policy.js';

/** One entitlement a role confers, directly or through a parent, with the chain that leads to it. */
export interface ConferredGrant {
  readonly entitlement: string;
  readonly provenance: Provenance;
  /** The entitlement's position in sorted order, so merging per identity compares integers. */
  readonly rank: number;
  /** `[this]`, shared by every grant that has only this path. */
  readonly alone: readonly Provenance[];
}

export interface RoleClosure {
  /** Every role held by holding this one (itself first, then ancestors breadth-first). */
  readonly roles: readonly string[];
  /** Sorted by entitlement, then by chain length: the shortest path first. */
  readonly grants: readonly ConferredGrant[];
}

/**
 * What holding each role confers, with inheritance resolved once per policy rather than once
 * per identity. The policy loader has already refused cycles and unknown parents.
 */
export function computeRoleClosures(
  roles: readonly Role[],
  entitlementRank: ReadonlyMap<string, number>,
): ReadonlyMap<string, RoleClosure> {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const out = new Map<string, RoleClosure>();
  for (const role of roles) {
    const held: string[] = [];
    const grants: ConferredGrant[] = [];
    // Breadth-first, so the first chain found to an entitlement is a shortest one.
    const queue: { id: string; chain: string[] }[] = [{ id: role.id, chain: [role.id] }];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const { id, chain } = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      held.push(id);
      const r = byId.get(id);
      if (!r) continue;
      for (const e of r.grants) {
        const provenance: Provenance = { chain };
        grants.push({ entitlement: e, rank: entitlementRank.get(e) ?? -1, provenance, alone: [provenance] });
      }
      for (const parent of r.inherits) if (!seen.has(parent)) queue.push({ id: parent, chain: [...chain, parent] });
    }
    grants.sort((a, b) => a.rank - b.rank || a.provenance.chain.length - b.provenance.chain.length);
    // A role that reaches one entitlement by two chains keeps the shortest only: one reason per role.
    const unique = grants.filter((g, i) => i === 0 || grants[i - 1]!.rank !== g.rank);
    out.set(role.id, { roles: held, grants: unique });
  }
  return out;
}
