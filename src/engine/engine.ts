import type { Checked, SourcePosition } from '../model/diagnostic.js';
import type { DeniedGrant, DesiredState, Grant, IdentityAccess, Provenance, RoleMatch } from '../model/grant.js';
import type { AttributeValue, Identity } from '../model/identity.js';
import { exceptionActive, type AccessException } from '../model/exception.js';
import { denialActive, type Denial } from '../model/review.js';
import type { CompiledRule } from '../policy/compile-rule.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { identityField, toCelIdentity } from '../policy/rule-environment.js';
import { analyseRule, passes, type CandidateFilter } from './candidate-filter.js';
import { IdentityIndex } from './identity-index.js';
import { computeRoleClosures, type ConferredGrant, type RoleClosure } from './role-closure.js';
import { RuleBudgetExceeded, RuleWatch, type RuleTimeBudget } from './rule-watchdog.js';

export { RuleBudgetExceeded, type RuleTimeBudget } from './rule-watchdog.js';

export interface EngineOptions {
  /** Stops a runaway rule between identities; absent, rules run unwatched. */
  readonly ruleTime?: RuleTimeBudget;
}

export type Strategy = 'indexed' | 'naive';

interface RuleEntry {
  readonly role: string;
  readonly rule: CompiledRule;
  readonly filter: CandidateFilter;
  /** The filter admits exactly the identities the rule holds for: CEL need not run. */
  readonly exact: boolean;
  readonly closure: RoleClosure;
  /** Ranks (positions in `roleIds`) of every role the closure holds. */
  readonly closureRoles: readonly number[];
  /** Where the rule is written, for a rule stopped by the time budget. */
  readonly position?: SourcePosition;
}

const DAY_MS = 86_400_000;

/**
 * Whether an identity receives access from roles at `asOf`: an active identity whose end date
 * has not been reached, and whose start date (less the days access is due before it) has come;
 * a pre-hire once that day has come. Leave of absence suspends access; terminated ends it.
 */
export function receivesAccess(identity: Identity, asOf: Date, daysBeforeStart = 0, untilEndDate = false): boolean {
  const t = asOf.getTime();
  if (identity.endDate !== undefined && identity.endDate.getTime() <= t) return false;
  const due = identity.startDate === undefined || identity.startDate.getTime() - daysBeforeStart * DAY_MS <= t;
  if (identity.status === 'active') return due;
  // leaver.disable: at_end_date keeps a terminated identity's access until its (future) end date.
  if (identity.status === 'terminated') return untilEndDate && identity.endDate !== undefined && due;
  if (identity.status === 'pre_hire') return identity.startDate !== undefined && due;
  return false;
}

/**
 * The desired-state engine for one policy: role closures and candidate filters are computed
 * once, then reused for every identity. Pure: time is a parameter, nothing is read or written.
 */
export class Engine {
  readonly closures: ReadonlyMap<string, RoleClosure>;
  /** Rules in role-id order, so matches come out sorted. */
  private readonly entries: readonly RuleEntry[];
  private readonly entitlementIds: readonly string[];
  private readonly roleIds: readonly string[];
  private readonly entitlementRank: ReadonlyMap<string, number>;

  constructor(
    readonly loaded: LoadedPolicy,
    private readonly options: EngineOptions = {},
  ) {
    this.entitlementIds = loaded.policy.entitlements.map((e) => e.id).sort();
    this.entitlementRank = new Map(this.entitlementIds.map((id, i) => [id, i]));
    this.closures = computeRoleClosures(loaded.policy.roles, this.entitlementRank);
    this.roleIds = loaded.policy.roles.map((r) => r.id).sort();
    const roleRank = new Map(this.roleIds.map((id, i) => [id, i]));
    const entries: RuleEntry[] = [];
    for (const role of loaded.policy.roles) {
      const rule = loaded.rules.get(role.id);
      if (!rule) continue;
      const { filter, exact } = analyseRule(rule.ast, loaded.environment.fields);
      const closure = this.closures.get(role.id)!;
      entries.push({
        role: role.id,
        rule,
        filter,
        exact,
        closure,
        closureRoles: closure.roles.map((r) => roleRank.get(r)!),
        ...(role.whenPosition ? { position: role.whenPosition } : {}),
      });
    }
    this.entries = entries;
  }

  /** The candidate filter of a role's rule and whether it is exact (for explaining and testing the index). */
  filterOf(role: string): { filter: CandidateFilter; exact: boolean } | undefined {
    const e = this.entries.find((x) => x.role === role);
    return e && { filter: e.filter, exact: e.exact };
  }

  /**
   * Desired state of every identity, sorted by identity id. With `ruleTime`, a rule over its
   * budget throws RuleBudgetExceeded (tryDesiredState returns it as a diagnostic instead).
   */
  desiredState(
    identities: readonly Identity[],
    asOf: Date,
    strategy: Strategy = 'indexed',
    exceptions: readonly AccessException[] = [],
    denials: readonly Denial[] = [],
  ): DesiredState {
    const granted = this.exceptionGrants(exceptions, asOf);
    const denied = denialsByIdentity(denials, asOf);
    const sorted = [...identities].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const eligible = sorted.filter((i) => this.receives(i, asOf));
    const cel = new Array<unknown>(eligible.length);
    const matched: (number[] | undefined)[] = new Array<number[] | undefined>(eligible.length);
    const index = strategy === 'indexed' ? new IdentityIndex(eligible) : undefined;
    let all: number[] | undefined;
    // Rules that read an absent attribute fail by throwing; a stack trace per failure is waste.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      this.entries.forEach((entry, r) => {
        const positions = index?.candidates(entry.filter) ?? (all ??= eligible.map((_, i) => i));
        const skipCel = index !== undefined && entry.exact && entry.filter.kind !== 'all';
        const watch = this.watch(entry, positions.length);
        const test = (k: number): void => {
          const i = positions[k]!;
          if (skipCel || entry.rule.holds((cel[i] ??= toCelIdentity(eligible[i]!)), asOf)) (matched[i] ??= []).push(r);
        };
        if (watch) watch.each(positions.length, test);
        else for (let k = 0; k < positions.length; k++) test(k);
      });
    } finally {
      Error.stackTraceLimit = limit;
    }
    const scratch = new Scratch(this.entitlementIds.length, this.roleIds.length);
    // `eligible` is a subsequence of `sorted`: walk both instead of keying a map by id.
    const out: IdentityAccess[] = [];
    let j = 0;
    for (const identity of sorted) {
      const m = eligible[j] === identity ? (matched[j++] ?? []) : undefined;
      out.push(
        m
          ? this.access(identity, m, scratch, granted.get(identity.id), denied.get(identity.id))
          : emptyAccess(identity.id),
      );
    }
    return { asOf, identities: out };
  }

  /** desiredState as a value: a rule stopped by `ruleTime` is an error diagnostic and no result. */
  tryDesiredState(
    identities: readonly Identity[],
    asOf: Date,
    strategy: Strategy = 'indexed',
    exceptions: readonly AccessException[] = [],
    denials: readonly Denial[] = [],
  ): Checked<DesiredState | undefined> {
    try {
      return { result: this.desiredState(identities, asOf, strategy, exceptions, denials), diagnostics: [] };
    } catch (e) {
      if (e instanceof RuleBudgetExceeded) return { result: undefined, diagnostics: [e.diagnostic] };
      throw e;
    }
  }

  /** One identity's desired access, evaluating only the rules whose filter it passes. */
  identityAccess(
    identity: Identity,
    asOf: Date,
    exceptions: readonly AccessException[] = [],
    denials: readonly Denial[] = [],
  ): IdentityAccess {
    if (!this.receives(identity, asOf)) return emptyAccess(identity.id);
    const cel = toCelIdentity(identity);
    const read = (field: string): unknown => identityField(identity, field);
    const matched: number[] = [];
    this.entries.forEach((entry, r) => {
      if (!passes(entry.filter, read)) return;
      const watch = entry.exact ? undefined : this.watch(entry, 1);
      const holds =
        entry.exact || (watch ? watch.time(() => entry.rule.holds(cel, asOf)) : entry.rule.holds(cel, asOf));
      if (holds) matched.push(r);
    });
    const scratch = new Scratch(this.entitlementIds.length, this.roleIds.length);
    return this.access(
      identity,
      matched,
      scratch,
      this.exceptionGrants(exceptions, asOf).get(identity.id),
      denialsByIdentity(denials, asOf).get(identity.id),
    );
  }

  private watch(entry: RuleEntry, of: number): RuleWatch | undefined {
    const budget = this.options.ruleTime;
    return budget && new RuleWatch(budget, entry.role, of, entry.position);
  }

  /** Whether the identity receives access at `asOf` under this policy's joiner and leaver rules. */
  receives(identity: Identity, asOf: Date): boolean {
    const p = this.loaded.policy.policies;
    return receivesAccess(identity, asOf, p.joiner.accessDaysBeforeStart, p.leaver.disable === 'at_end_date');
  }

  /** Exceptions in force at `asOf`, by identity, as grants with their own provenance. */
  private exceptionGrants(exceptions: readonly AccessException[], asOf: Date): Map<string, ConferredGrant[]> {
    const out = new Map<string, ConferredGrant[]>();
    for (const e of exceptions) {
      const rank = this.entitlementRank.get(e.entitlement);
      if (rank === undefined || !exceptionActive(e, asOf)) continue;
      const provenance: Provenance = {
        chain: [],
        exception: { id: e.id, reason: e.reason, approver: e.approver, until: e.until },
      };
      const list = out.get(e.identity) ?? [];
      list.push({ entitlement: e.entitlement, rank, provenance, alone: [provenance] });
      out.set(e.identity, list);
    }
    return out;
  }

  private access(
    identity: Identity,
    matchedEntries: readonly number[],
    scratch: Scratch,
    exceptionGrants?: readonly ConferredGrant[],
    denials?: ReadonlyMap<string, Denial>,
  ): IdentityAccess {
    if (matchedEntries.length === 0 && !exceptionGrants) return emptyAccess(identity.id);
    for (const g of exceptionGrants ?? []) scratch.add(g);
    const matches: RoleMatch[] = [];
    for (const r of matchedEntries) {
      const entry = this.entries[r]!;
      matches.push(new Match(entry.role, entry.rule, identity));
      for (const role of entry.closureRoles) scratch.addRole(role);
      for (const g of entry.closure.grants) scratch.add(g);
    }
    const grants: Grant[] = [];
    const held: DeniedGrant[] = [];
    for (const rank of scratch.ranks()) {
      const found = scratch.take(rank);
      let provenance: readonly Provenance[];
      if (found.length === 1) provenance = found[0]!.alone;
      else {
        found.sort(byExplanation);
        provenance = found.map((g) => g.provenance);
      }
      const entitlement = this.entitlementIds[rank]!;
      const denial = denials?.get(entitlement);
      if (denial) {
        // A revoke sticks against the roles; an exception is a later, explicit decision and still grants.
        const explicit = provenance.filter((p) => p.exception !== undefined);
        const byRoles = provenance.filter((p) => p.exception === undefined);
        if (byRoles.length > 0) held.push({ entitlement, provenance: byRoles, denial });
        if (explicit.length === 0) continue;
        provenance = explicit;
      }
      grants.push({ identity: identity.id, entitlement, provenance });
    }
    const roles = scratch.roles().map((r) => this.roleIds[r]!);
    return held.length > 0
      ? { identity: identity.id, matches, roles, grants, denied: held }
      : { identity: identity.id, matches, roles, grants };
  }
}

/**
 * A role match whose inputs (the values of the attributes the rule reads) are read from the
 * identity when asked for: identities are immutable, so this is the same value computed later,
 * and desired state for a large organisation does not allocate a million small objects.
 */
class Match implements RoleMatch {
  readonly #compiled: CompiledRule;
  readonly #identity: Identity;
  #inputs: Readonly<Record<string, AttributeValue>> | undefined;

  constructor(
    readonly role: string,
    compiled: CompiledRule,
    identity: Identity,
  ) {
    this.#compiled = compiled;
    this.#identity = identity;
  }

  get rule(): string {
    return this.#compiled.text;
  }

  get inputs(): Readonly<Record<string, AttributeValue>> {
    if (!this.#inputs) {
      const inputs: Record<string, AttributeValue> = {};
      for (const field of this.#compiled.reads) {
        const v = identityField(this.#identity, field);
        if (v !== undefined) inputs[field] = v as AttributeValue;
      }
      this.#inputs = inputs;
    }
    return this.#inputs;
  }

  toJSON(): RoleMatch {
    return { role: this.role, rule: this.rule, inputs: this.inputs };
  }
}

/** Per-identity grouping of conferred grants by entitlement rank, reused across identities. */
class Scratch {
  private readonly slots: (ConferredGrant[] | undefined)[];
  private readonly touched: number[] = [];
  private readonly roleSeen: Uint8Array;
  private readonly roleList: number[] = [];

  constructor(entitlements: number, roles: number) {
    this.slots = new Array<ConferredGrant[] | undefined>(entitlements);
    this.roleSeen = new Uint8Array(roles);
  }

  add(g: ConferredGrant): void {
    const slot = this.slots[g.rank];
    if (slot) slot.push(g);
    else {
      this.slots[g.rank] = [g];
      this.touched.push(g.rank);
    }
  }

  addRole(rank: number): void {
    if (this.roleSeen[rank] === 0) {
      this.roleSeen[rank] = 1;
      this.roleList.push(rank);
    }
  }

  /** Touched entitlement ranks in ascending order; clears the list. */
  ranks(): number[] {
    const out = this.touched.slice().sort((a, b) => a - b);
    this.touched.length = 0;
    return out;
  }

  /** Role ranks held, ascending; clears them. */
  roles(): number[] {
    const out = this.roleList.slice().sort((a, b) => a - b);
    for (const r of out) this.roleSeen[r] = 0;
    this.roleList.length = 0;
    return out;
  }

  take(rank: number): ConferredGrant[] {
    const slot = this.slots[rank]!;
    this.slots[rank] = undefined;
    return slot;
  }
}

/** Roles first, shortest chain first, then by matched role; exceptions after them, by number. */
function byExplanation(a: ConferredGrant, b: ConferredGrant): number {
  const ea = a.provenance.exception;
  const eb = b.provenance.exception;
  if (ea || eb) return ea && eb ? ea.id - eb.id : ea ? 1 : -1;
  const ca = a.provenance.chain;
  const cb = b.provenance.chain;
  return ca.length - cb.length || (ca[0]! < cb[0]! ? -1 : ca[0]! > cb[0]! ? 1 : 0);
}

/** Denials in force at `asOf`, by identity and entitlement (the latest decision wins). */
function denialsByIdentity(denials: readonly Denial[], asOf: Date): Map<string, Map<string, Denial>> {
  const out = new Map<string, Map<string, Denial>>();
  for (const d of denials) {
    if (!denialActive(d, asOf)) continue;
    let m = out.get(d.identity);
    if (!m) out.set(d.identity, (m = new Map<string, Denial>()));
    m.set(d.entitlement, d);
  }
  return out;
}

function emptyAccess(identity: string): IdentityAccess {
  return { identity, matches: [], roles: [], grants: [] };
}
