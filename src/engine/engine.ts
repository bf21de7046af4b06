import type { DesiredState, Grant, IdentityAccess, Provenance, RoleMatch } from '../model/grant.js';
import type { AttributeValue, Identity } from '../model/identity.js';
import type { CompiledRule } from '../policy/compile-rule.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { identityField, toCelIdentity } from '../policy/rule-environment.js';
import { candidateFilter, passes, type CandidateFilter } from './candidate-filter.js';
import { IdentityIndex } from './identity-index.js';
import { computeRoleClosures, type RoleClosure } from './role-closure.js';

export type Strategy = 'indexed' | 'naive';

interface RuleEntry {
  readonly role: string;
  readonly rule: CompiledRule;
  readonly filter: CandidateFilter;
}

/** Only active identities receive access from roles; the lifecycle decides the rest. */
export function receivesAccess(identity: Identity): boolean {
  return identity.status === 'active';
}

/**
 * The desired-state engine for one policy: role closures and candidate filters are computed
 * once, then reused for every identity. Pure: time is a parameter, nothing is read or written.
 */
export class Engine {
  readonly closures: ReadonlyMap<string, RoleClosure>;
  /** Rules in role-id order, so matches come out sorted. */
  private readonly entries: readonly RuleEntry[];

  constructor(readonly loaded: LoadedPolicy) {
    this.closures = computeRoleClosures(loaded.policy.roles);
    const entries: RuleEntry[] = [];
    for (const role of loaded.policy.roles) {
      const rule = loaded.rules.get(role.id);
      if (rule) entries.push({ role: role.id, rule, filter: candidateFilter(rule.ast, loaded.environment.fields) });
    }
    this.entries = entries;
  }

  /** The candidate filter of a role's rule (for explaining and testing the index). */
  filterOf(role: string): CandidateFilter | undefined {
    return this.entries.find((e) => e.role === role)?.filter;
  }

  /** Desired state of every identity, sorted by identity id. */
  desiredState(identities: readonly Identity[], asOf: Date, strategy: Strategy = 'indexed'): DesiredState {
    const sorted = [...identities].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const eligible = sorted.filter(receivesAccess);
    const cel = eligible.map(toCelIdentity);
    const matched: (number[] | undefined)[] = new Array<number[] | undefined>(eligible.length);
    const index = strategy === 'indexed' ? new IdentityIndex(eligible) : undefined;
    this.entries.forEach((entry, r) => {
      const positions = index?.candidates(entry.filter) ?? allPositions(eligible.length);
      for (const i of positions) {
        if (entry.rule.holds(cel[i], asOf)) (matched[i] ??= []).push(r);
      }
    });
    const byId = new Map<string, IdentityAccess>();
    eligible.forEach((identity, i) => byId.set(identity.id, this.access(identity, matched[i] ?? [])));
    return {
      asOf,
      identities: sorted.map((identity) => byId.get(identity.id) ?? emptyAccess(identity.id)),
    };
  }

  /** One identity's desired access, evaluating only the rules whose filter it passes. */
  identityAccess(identity: Identity, asOf: Date): IdentityAccess {
    if (!receivesAccess(identity)) return emptyAccess(identity.id);
    const cel = toCelIdentity(identity);
    const read = (field: string): unknown => identityField(identity, field);
    const matched: number[] = [];
    this.entries.forEach((entry, r) => {
      if (passes(entry.filter, read) && entry.rule.holds(cel, asOf)) matched.push(r);
    });
    return this.access(identity, matched);
  }

  private access(identity: Identity, matchedEntries: readonly number[]): IdentityAccess {
    if (matchedEntries.length === 0) return emptyAccess(identity.id);
    const matches: RoleMatch[] = [];
    const roles = new Set<string>();
    const byEntitlement = new Map<string, Provenance[]>();
    for (const r of matchedEntries) {
      const entry = this.entries[r]!;
      const inputs: Record<string, AttributeValue> = {};
      for (const field of entry.rule.reads) {
        const v = identityField(identity, field);
        if (v !== undefined) inputs[field] = v as AttributeValue;
      }
      const match: RoleMatch = { role: entry.role, rule: entry.rule.text, inputs };
      matches.push(match);
      const closure = this.closures.get(entry.role)!;
      for (const role of closure.roles) roles.add(role);
      for (const g of closure.grants) {
        const list = byEntitlement.get(g.entitlement);
        const p: Provenance = { match, chain: g.chain };
        if (list) list.push(p);
        else byEntitlement.set(g.entitlement, [p]);
      }
    }
    const grants: Grant[] = [];
    for (const entitlement of [...byEntitlement.keys()].sort()) {
      const provenance = byEntitlement.get(entitlement)!;
      if (provenance.length > 1) {
        provenance.sort(
          (a, b) =>
            a.chain.length - b.chain.length || (a.match.role < b.match.role ? -1 : a.match.role > b.match.role ? 1 : 0),
        );
      }
      grants.push({ identity: identity.id, entitlement, provenance });
    }
    return { identity: identity.id, matches, roles: [...roles].sort(), grants };
  }
}

function emptyAccess(identity: string): IdentityAccess {
  return { identity, matches: [], roles: [], grants: [] };
}

function allPositions(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
