import { countByAction } from '../plan/compute-plan.js';
import { analyseRule, type CandidateFilter } from '../engine/candidate-filter.js';
import { Engine } from '../engine/engine.js';
import { IdentityIndex } from '../engine/identity-index.js';
import { riskRank, type RiskLevel } from '../model/entitlement.js';
import { exceptionActive, type AccessException } from '../model/exception.js';
import type { DesiredState, IdentityAccess } from '../model/grant.js';
import type { Identity } from '../model/identity.js';
import type { Change, DeprovisionVerdict, SodConflict, TargetPlan } from '../model/plan.js';
import type { Role } from '../model/policy.js';
import { denialActive, type Denial } from '../model/review.js';
import { deprovisionVerdict, sodConflicts } from '../plan/guardrails.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { toCelIdentity, type CelIdentity } from '../policy/rule-environment.js';

/** What about a role differs between the base policy and the current one. */
export type RoleAspect = 'added' | 'removed' | 'rule' | 'grants' | 'inherits' | 'risk' | 'entitlement_risk';

export interface RoleImpact {
  readonly role: string;
  /** Empty when the role itself is unchanged and only its holders moved (through inheritance). */
  readonly changed: readonly RoleAspect[];
  /** Identities that hold the role (matched or inherited) under the current policy and did not under the base. */
  readonly gained: readonly string[];
  readonly lost: readonly string[];
}

export interface EntitlementImpact {
  readonly entitlement: string;
  readonly target: string;
  readonly risk: RiskLevel;
  /** Set when the entitlement's risk differs from the base policy's. */
  readonly previousRisk?: RiskLevel;
  readonly gainers: readonly string[];
  readonly losers: readonly string[];
}

export interface TargetImpact {
  readonly target: string;
  /** Identities holding any entitlement of the target under the base policy: the breaker's "accounts now". */
  readonly holdersBefore: number;
  readonly holdersAfter: number;
  readonly grantsAdded: number;
  readonly grantsRemoved: number;
  /** Identities whose grants in this target change at all. */
  readonly identitiesAffected: number;
  /** Identities with no access to the target before and some after (an account to create). */
  readonly accountsCreated: number;
  /** Identities with access before and none after (an account to disable). */
  readonly accountsRemoved: number;
  /** The deprovisioning breaker's verdict; absent for a target the current policy no longer declares. */
  readonly breaker?: DeprovisionVerdict;
}

/** A high or critical grant the change adds: a new grant, or a held one whose entitlement's risk was raised. */
export interface RiskyGrant {
  readonly identity: string;
  readonly entitlement: string;
  readonly risk: RiskLevel;
  readonly why: 'granted' | 'risk_raised';
}

export interface Impact {
  readonly formatVersion: 1;
  readonly policy: string;
  readonly asOf: string;
  /** How the result was computed, so a reader can tell an incremental answer from a full one. */
  readonly recompute: {
    readonly mode: 'incremental' | 'full';
    readonly reason: string;
    readonly identities: number;
    readonly recomputed: number;
  };
  readonly summary: {
    readonly identitiesAffected: number;
    readonly identitiesGaining: number;
    readonly identitiesLosing: number;
    readonly grantsAdded: number;
    readonly grantsRemoved: number;
    readonly highRiskGrantsAdded: number;
    readonly rolesChanged: number;
  };
  /** Changed roles and roles whose holders change, by id. */
  readonly roles: readonly RoleImpact[];
  /** Entitlements with gainers or losers, or whose risk changed, by id. */
  readonly entitlements: readonly EntitlementImpact[];
  readonly targets: readonly TargetImpact[];
  /** Conflicts the change would create, as the plan's guardrail defines them (see sodConflicts). */
  readonly sodConflicts: readonly SodConflict[];
  readonly highRiskGrants: readonly RiskyGrant[];
  /** A deprovisioning breaker would trip, or separation of duties would be broken. */
  readonly blocked: boolean;
}

export interface ImpactInput {
  readonly base: LoadedPolicy;
  readonly current: LoadedPolicy;
  readonly identities: readonly Identity[];
  readonly exceptions?: readonly AccessException[];
  /** Revokes from access reviews: they hold back role grants under either policy alike. */
  readonly denials?: readonly Denial[];
  readonly asOf: Date;
  /** Recompute every identity under both policies, even when the incremental path is sound. */
  readonly full?: boolean;
}

const HIGH = riskRank('high');

/**
 * Who gains and who loses what when the policy changes from `base` to `current`, over the same
 * identities, exceptions and time. Pure.
 *
 * Incremental: an identity's access is fixed by the roles whose rule holds for it and by what
 * those roles' closures confer. A role added or removed, or whose grants or parents changed, or
 * that grants an entitlement whose risk changed, confers something else: every role whose closure
 * reaches it (in either policy) may too, so whoever passes the candidate filter of such a role's
 * rule is recomputed. A role whose rule alone changed confers the same as before: only identities
 * matched by one version of the rule and not the other are recomputed (the symmetric difference
 * when both filters are exact, else everyone either filter admits). Everyone else holds the same
 * matches with the same closures under both policies. When the identity fields or the rules for
 * who receives access differ, nothing is safely untouched, and every identity is recomputed.
 */
export function computeImpact(input: ImpactInput): Impact {
  const { base, current, identities, asOf } = input;
  const exceptions = input.exceptions ?? [];
  const denials = input.denials ?? [];
  const baseEngine = new Engine(base);
  const currentEngine = new Engine(current);
  const baseEntitlements = new Map(base.policy.entitlements.map((e) => [e.id, e]));
  const currentEntitlements = new Map(current.policy.entitlements.map((e) => [e.id, e]));
  const baseRoles = new Map(base.policy.roles.map((r) => [r.id, r]));
  const currentRoles = new Map(current.policy.roles.map((r) => [r.id, r]));

  const riskChanged = new Set<string>();
  for (const [id, e] of currentEntitlements) {
    const before = baseEntitlements.get(id);
    if (before && before.risk !== e.risk) riskChanged.add(id);
  }
  // Entitlements declared on one side only change what exceptions grant (undeclared ones grant nothing).
  const declaredChanged = new Set<string>();
  for (const id of baseEntitlements.keys()) if (!currentEntitlements.has(id)) declaredChanged.add(id);
  for (const id of currentEntitlements.keys()) if (!baseEntitlements.has(id)) declaredChanged.add(id);

  const aspects = new Map<string, RoleAspect[]>();
  // Roles whose closure content (what holding them confers) changed; a role's own risk label
  // changes nobody's access, so it is reported and not recomputed.
  const conferDirty = new Set<string>();
  // Roles whose rule changed, so whom they match may change.
  const ruleDirty = new Set<string>();
  for (const id of new Set([...baseRoles.keys(), ...currentRoles.keys()])) {
    const found = roleAspects(baseRoles.get(id), currentRoles.get(id), riskChanged);
    if (found.length === 0) continue;
    aspects.set(id, found);
    if (found.some((a) => a !== 'risk' && a !== 'rule')) conferDirty.add(id);
    else if (found.includes('rule')) ruleDirty.add(id);
  }

  const recomputing = conferDirty.size + ruleDirty.size;
  const fullReason = input.full ? 'asked for a full recompute' : unsoundReason(base, current);
  const eligible = identities.filter((i) => baseEngine.receives(i, asOf));
  let subset: readonly Identity[];
  let index: IdentityIndex | undefined;
  if (fullReason !== undefined) subset = identities;
  else {
    // Same identity fields and the same rules for who receives access: eligibility is the same under both.
    index = new IdentityIndex(eligible);
    const marks = new Uint8Array(eligible.length);
    const markAll = (positions: readonly number[] | undefined): void => {
      if (positions === undefined) marks.fill(1);
      else for (const p of positions) marks[p] = 1;
    };
    // Whoever a role that reaches a changed role matches may receive something else.
    for (const loaded of [base, current]) {
      const engine = loaded === base ? baseEngine : currentEngine;
      for (const [role, closure] of engine.closures) {
        const rule = loaded.rules.get(role);
        if (!rule || !closure.roles.some((r) => conferDirty.has(r))) continue;
        markAll(index.candidates(analyseRule(rule.ast, loaded.environment.fields).filter));
      }
    }
    // A role whose rule alone changed confers the same as before: only identities matched by one
    // rule and not the other can see a difference (when both filters are exact, their sets are
    // the matches; otherwise everyone either rule may match is recomputed).
    for (const role of ruleDirty) {
      const was = ruleFilter(base, role);
      const now = ruleFilter(current, role);
      // No rule matches nobody: exactly the empty set.
      const a = was ? index.candidates(was.filter) : [];
      const b = now ? index.candidates(now.filter) : [];
      if ((was?.exact ?? true) && (now?.exact ?? true) && a !== undefined && b !== undefined)
        for (const p of symmetricDifference(a, b)) marks[p] = 1;
      else {
        markAll(a);
        markAll(b);
      }
    }
    if (declaredChanged.size > 0 || riskChanged.size > 0) {
      const position = new Map(eligible.map((i, p) => [i.id, p]));
      for (const e of exceptions) {
        if (!declaredChanged.has(e.entitlement) && !riskChanged.has(e.entitlement)) continue;
        const p = position.get(e.identity);
        if (p !== undefined) marks[p] = 1;
      }
    }
    subset = eligible.filter((_, p) => marks[p] === 1);
  }

  const before = baseEngine.desiredState(subset, asOf, 'indexed', exceptions, denials);
  const after = currentEngine.desiredState(subset, asOf, 'indexed', exceptions, denials);
  const diff = diffStates(before, after, baseEntitlements, currentEntitlements);

  // The breaker's base: who holds each target under the base policy (desired state, as if applied).
  const holders =
    fullReason !== undefined
      ? holdersFromState(before)
      : holdersByRules(base, baseEngine, eligible, index!, before, exceptions, denials, asOf);

  const targetIds = [...current.policy.targets.map((t) => t.id)];
  for (const t of base.policy.targets) if (!targetIds.includes(t.id)) targetIds.push(t.id);
  const targets: TargetImpact[] = [];
  for (const target of targetIds) {
    const d = diff.targets.get(target) ?? emptyTargetDiff();
    const declared = current.policy.targets.find((t) => t.id === target);
    const holdersBefore = holders.get(target) ?? 0;
    const breaker = declared
      ? deprovisionVerdict(
          syntheticPlan(target, d.deprovisioning, holdersBefore),
          declared.deprovisionBreaker ?? current.policy.policies.guardrails.deprovision,
        )
      : undefined;
    targets.push({
      target,
      holdersBefore,
      holdersAfter: holdersBefore + d.created.size - d.removed.size,
      grantsAdded: d.grantsAdded,
      grantsRemoved: d.grantsRemoved,
      identitiesAffected: d.affected.size,
      accountsCreated: d.created.size,
      accountsRemoved: d.removed.size,
      ...(breaker ? { breaker } : {}),
    });
  }

  const conflicts = sodConflicts(current.policy.policies.separationOfDuties, after, diff.additions);

  const roleIds = [...new Set([...aspects.keys(), ...diff.roleGained.keys(), ...diff.roleLost.keys()])].sort();
  const roles: RoleImpact[] = roleIds.map((role) => ({
    role,
    changed: aspects.get(role) ?? [],
    gained: diff.roleGained.get(role) ?? [],
    lost: diff.roleLost.get(role) ?? [],
  }));

  const entitlementIds = [...new Set([...diff.gainers.keys(), ...diff.losers.keys(), ...riskChanged])].sort();
  const entitlements: EntitlementImpact[] = entitlementIds.map((id) => {
    const now = currentEntitlements.get(id) ?? baseEntitlements.get(id)!;
    const was = baseEntitlements.get(id);
    return {
      entitlement: id,
      target: now.address.target,
      risk: now.risk,
      ...(was && was.risk !== now.risk ? { previousRisk: was.risk } : {}),
      gainers: diff.gainers.get(id) ?? [],
      losers: diff.losers.get(id) ?? [],
    };
  });

  return {
    formatVersion: 1,
    policy: current.policy.name,
    asOf: asOf.toISOString(),
    recompute: {
      mode: fullReason === undefined ? 'incremental' : 'full',
      reason:
        fullReason ??
        `${recomputing} role(s) changed in what they grant or whom they match; only identities those changes can reach were recomputed`,
      identities: identities.length,
      recomputed: subset.length,
    },
    summary: {
      identitiesAffected: diff.affected,
      identitiesGaining: diff.gaining,
      identitiesLosing: diff.losing,
      grantsAdded: diff.grantsAdded,
      grantsRemoved: diff.grantsRemoved,
      highRiskGrantsAdded: diff.risky.length,
      rolesChanged: aspects.size,
    },
    roles,
    entitlements,
    targets,
    sodConflicts: conflicts,
    highRiskGrants: diff.risky,
    blocked: conflicts.length > 0 || targets.some((t) => t.breaker?.blocked === true),
  };
}

/** A role's rule filter and whether it is exact; undefined when the policy has no rule for it. */
function ruleFilter(loaded: LoadedPolicy, role: string): { filter: CandidateFilter; exact: boolean } | undefined {
  const rule = loaded.rules.get(role);
  if (!rule) return undefined;
  const { filter, exact } = analyseRule(rule.ast, loaded.environment.fields);
  return { filter, exact: exact && filter.kind !== 'all' };
}

/** Positions in exactly one of two ascending lists. */
function symmetricDifference(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && (y === undefined || x < y)) {
      out.push(x);
      i++;
    } else if (y !== undefined && (x === undefined || y < x)) {
      out.push(y);
      j++;
    } else {
      i++;
      j++;
    }
  }
  return out;
}

/** Why the incremental path would be unsound for this pair of policies; undefined when it is sound. */
function unsoundReason(base: LoadedPolicy, current: LoadedPolicy): string | undefined {
  const a = base.environment.fields;
  const b = current.environment.fields;
  if (a.size !== b.size || [...a].some(([k, t]) => b.get(k) !== t))
    return 'the identity attributes or their types changed, so any rule may read them differently: every identity was recomputed';
  const p = base.policy.policies;
  const q = current.policy.policies;
  if (p.joiner.accessDaysBeforeStart !== q.joiner.accessDaysBeforeStart || p.leaver.disable !== q.leaver.disable)
    return 'the joiner or leaver rules changed who receives access at all: every identity was recomputed';
  return undefined;
}

function roleAspects(b: Role | undefined, c: Role | undefined, riskChanged: ReadonlySet<string>): RoleAspect[] {
  if (!b) return ['added'];
  if (!c) return ['removed'];
  const out: RoleAspect[] = [];
  if ((b.when ?? '').trim() !== (c.when ?? '').trim()) out.push('rule');
  if (!sameSet(b.grants, c.grants)) out.push('grants');
  // Only the set matters here: parent order changes which chain is explained first, not what is granted.
  if (!sameSet(b.inherits, c.inherits)) out.push('inherits');
  if (b.risk !== c.risk) out.push('risk');
  if (c.grants.some((e) => riskChanged.has(e))) out.push('entitlement_risk');
  return out;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(a);
  return s.size === new Set(b).size && b.every((x) => s.has(x));
}

function targetOf(entitlement: string): string {
  return entitlement.slice(0, entitlement.indexOf(':'));
}

function isAccount(entitlement: string): boolean {
  return entitlement.endsWith(':account');
}

interface TargetDiff {
  grantsAdded: number;
  grantsRemoved: number;
  readonly affected: Set<string>;
  readonly created: Set<string>;
  readonly removed: Set<string>;
  /** What the plan would do to take access away, as the breaker counts it. */
  readonly deprovisioning: Change[];
}

function emptyTargetDiff(): TargetDiff {
  return {
    grantsAdded: 0,
    grantsRemoved: 0,
    affected: new Set(),
    created: new Set(),
    removed: new Set(),
    deprovisioning: [],
  };
}

interface StateDiff {
  affected: number;
  gaining: number;
  losing: number;
  grantsAdded: number;
  grantsRemoved: number;
  readonly gainers: Map<string, string[]>;
  readonly losers: Map<string, string[]>;
  readonly roleGained: Map<string, string[]>;
  readonly roleLost: Map<string, string[]>;
  readonly targets: Map<string, TargetDiff>;
  /** Memberships the change adds, as plan changes, for the separation-of-duties check. */
  readonly additions: Change[];
  readonly risky: RiskyGrant[];
}

/** Compares two desired states of the same identities (both sorted by id, so they line up). */
function diffStates(
  before: DesiredState,
  after: DesiredState,
  baseEntitlements: ReadonlyMap<string, { readonly risk: RiskLevel }>,
  currentEntitlements: ReadonlyMap<string, { readonly risk: RiskLevel }>,
): StateDiff {
  const out: StateDiff = {
    affected: 0,
    gaining: 0,
    losing: 0,
    grantsAdded: 0,
    grantsRemoved: 0,
    gainers: new Map(),
    losers: new Map(),
    roleGained: new Map(),
    roleLost: new Map(),
    targets: new Map(),
    additions: [],
    risky: [],
  };
  const push = (m: Map<string, string[]>, key: string, id: string): void => {
    const list = m.get(key);
    if (list) list.push(id);
    else m.set(key, [id]);
  };
  const targetDiff = (t: string): TargetDiff => {
    let d = out.targets.get(t);
    if (!d) out.targets.set(t, (d = emptyTargetDiff()));
    return d;
  };
  // Entitlements whose risk rose to high or critical: holding one is a high grant added.
  const raised = new Map<string, RiskLevel>();
  for (const [e, { risk }] of currentEntitlements) {
    const was = baseEntitlements.get(e)?.risk;
    if (was !== undefined && riskRank(risk) >= HIGH && riskRank(was) < HIGH) raised.set(e, risk);
  }
  for (let k = 0; k < before.identities.length; k++) {
    const b = before.identities[k]!;
    const a = after.identities[k]!;
    const id = b.identity;
    const riskRaised = (e: string): void => {
      const risk = raised.get(e);
      if (risk !== undefined) out.risky.push({ identity: id, entitlement: e, risk, why: 'risk_raised' });
    };
    // Most recomputed identities come out the same: say so without building lists.
    if (sameGrants(b, a) && sameList(b.roles, a.roles)) {
      if (raised.size > 0) for (const g of b.grants) riskRaised(g.entitlement);
      continue;
    }
    const held = b.grants.map((g) => g.entitlement);
    const holds = a.grants.map((g) => g.entitlement);
    const { added, removed, kept } = mergeDiff(held, holds);
    for (const e of kept) riskRaised(e);
    const roles = mergeDiff(b.roles, a.roles);
    for (const r of roles.added) push(out.roleGained, r, id);
    for (const r of roles.removed) push(out.roleLost, r, id);
    if (added.length === 0 && removed.length === 0) continue;
    out.affected++;
    if (added.length > 0) out.gaining++;
    if (removed.length > 0) out.losing++;
    out.grantsAdded += added.length;
    out.grantsRemoved += removed.length;
    for (const e of added) {
      push(out.gainers, e, id);
      const d = targetDiff(targetOf(e));
      d.grantsAdded++;
      d.affected.add(id);
      const risk = currentEntitlements.get(e)?.risk;
      if (risk !== undefined && riskRank(risk) >= HIGH)
        out.risky.push({ identity: id, entitlement: e, risk, why: 'granted' });
      if (!isAccount(e))
        out.additions.push({
          target: targetOf(e),
          action: 'add_membership',
          identity: id,
          account: id,
          entitlement: e,
          reason: 'granted by the changed policy',
        });
    }
    for (const e of removed) {
      push(out.losers, e, id);
      const d = targetDiff(targetOf(e));
      d.grantsRemoved++;
      d.affected.add(id);
      if (!isAccount(e))
        d.deprovisioning.push({
          target: targetOf(e),
          action: 'remove_membership',
          identity: id,
          account: id,
          entitlement: e,
          reason: 'no longer granted by the changed policy',
        });
    }
    // Account-level changes: a target held before and not after, or the other way round.
    const hadTargets = new Set(held.map(targetOf));
    const hasTargets = new Set(holds.map(targetOf));
    for (const t of hadTargets) {
      if (hasTargets.has(t)) continue;
      const d = targetDiff(t);
      d.removed.add(id);
      d.deprovisioning.push({
        target: t,
        action: 'disable_account',
        identity: id,
        account: id,
        reason: 'no longer granted anything in this target',
      });
    }
    for (const t of hasTargets) if (!hadTargets.has(t)) targetDiff(t).created.add(id);
  }
  return out;
}

function sameGrants(a: IdentityAccess, b: IdentityAccess): boolean {
  if (a.grants.length !== b.grants.length) return false;
  for (let i = 0; i < a.grants.length; i++) if (a.grants[i]!.entitlement !== b.grants[i]!.entitlement) return false;
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Differences of two sorted lists. */
function mergeDiff(
  before: readonly string[],
  after: readonly string[],
): { added: string[]; removed: string[]; kept: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  const kept: string[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const x = before[i];
    const y = after[j];
    if (x !== undefined && (y === undefined || x < y)) {
      removed.push(x);
      i++;
    } else if (y !== undefined && (x === undefined || y < x)) {
      added.push(y);
      j++;
    } else {
      kept.push(x!);
      i++;
      j++;
    }
  }
  return { added, removed, kept };
}

/**
 * A target plan holding only the deprovisioning changes, so the breaker is judged exactly as the
 * plan's is. Accounts are named by identity id: one account per identity and target either way.
 */
function syntheticPlan(target: string, changes: readonly Change[], accountsBefore: number): TargetPlan {
  return {
    target,
    changes,
    counts: countByAction(changes),
    deferred: 0,
    deferredChanges: [],
    accountsBefore,
    unlinkedAccounts: 0,
    adopted: [],
  };
}

function holdersFromState(state: DesiredState): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of state.identities) for (const t of targetsOf(a)) out.set(t, (out.get(t) ?? 0) + 1);
  return out;
}

function targetsOf(a: IdentityAccess): Set<string> {
  return new Set(a.grants.map((g) => targetOf(g.entitlement)));
}

/**
 * How many identities hold anything in each target under a policy, without building their
 * access. Per target, first the rules an index answers with plain look-ups (`kind == "employee"`:
 * a birthright role covers most people at once); then the rest of the target's rules only for
 * the identities not counted yet, through an index over those alone, so the costly filters
 * (prefixes, negations, long `in` lists) and CEL run over a remainder, not the organisation.
 */
function holdersByRules(
  loaded: LoadedPolicy,
  engine: Engine,
  eligible: readonly Identity[],
  index: IdentityIndex,
  known: DesiredState,
  exceptions: readonly AccessException[],
  denials: readonly Denial[],
  asOf: Date,
): Map<string, number> {
  const declared = new Set(loaded.policy.entitlements.map((e) => e.id));
  const rules = [...engine.closures]
    .filter(([role]) => loaded.rules.has(role))
    .map(([role, closure]) => {
      const rule = loaded.rules.get(role)!;
      const { filter, exact } = analyseRule(rule.ast, loaded.environment.fields);
      return {
        rule,
        filter,
        exact: exact && filter.kind !== 'all',
        lookup: exact && lookupOnly(filter),
        targets: new Set(closure.grants.map((g) => targetOf(g.entitlement))),
      };
    })
    // Exact rules first: marking their candidates is cheap and spares CEL for everyone they cover.
    .sort((a, b) => Number(b.exact) - Number(a.exact));
  const position = new Map(eligible.map((i, p) => [i.id, p]));
  // Settled: identities whose access under this policy is known already (those recomputed), and
  // the few with a denial, which can take one entitlement out of a target, computed whole.
  const settled = new Map<number, Set<string>>();
  for (const a of known.identities) {
    const p = position.get(a.identity);
    if (p !== undefined) settled.set(p, targetsOf(a));
  }
  for (const d of denials) {
    const p = position.get(d.identity);
    if (p === undefined || settled.has(p) || !denialActive(d, asOf)) continue;
    settled.set(p, targetsOf(engine.identityAccess(eligible[p]!, asOf, exceptions, denials)));
  }
  const cel = new Array<CelIdentity | undefined>(eligible.length);
  const out = new Map<string, number>();
  const limit = Error.stackTraceLimit;
  // Rules that read an absent attribute fail by throwing; a stack trace per failure is waste.
  Error.stackTraceLimit = 0;
  try {
    for (const target of loaded.policy.targets.map((t) => t.id)) {
      const marks = new Uint8Array(eligible.length);
      let count = 0;
      for (const [p, targets] of settled) {
        // 2: settled, never counted by the passes below.
        marks[p] = 2;
        if (targets.has(target)) count++;
      }
      const mark = (p: number): void => {
        if (marks[p] === 0) {
          marks[p] = 1;
          count++;
        }
      };
      for (const e of exceptions) {
        if (targetOf(e.entitlement) !== target || !declared.has(e.entitlement) || !exceptionActive(e, asOf)) continue;
        const p = position.get(e.identity);
        if (p !== undefined) mark(p);
      }
      const mine = rules.filter((r) => r.targets.has(target));
      for (const r of mine) if (r.lookup) for (const p of index.candidates(r.filter)!) mark(p);
      const rest: number[] = [];
      for (let p = 0; p < marks.length; p++) if (marks[p] === 0) rest.push(p);
      const sub = new IdentityIndex(rest.map((p) => eligible[p]!));
      for (const r of mine) {
        if (r.lookup) continue;
        const found = sub.candidates(r.filter);
        const each = (k: number): void => {
          const p = rest[k]!;
          if (marks[p] !== 0) return;
          if (r.exact || r.rule.holds((cel[p] ??= toCelIdentity(eligible[p]!)), asOf)) mark(p);
        };
        if (found) for (const k of found) each(k);
        else for (let k = 0; k < rest.length; k++) each(k);
      }
      out.set(target, count);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  return out;
}

/** Filters an index answers by looking lists up, with no union or difference over large sets. */
function lookupOnly(filter: CandidateFilter): boolean {
  switch (filter.kind) {
    case 'field':
      return filter.test.op === 'present' || (filter.test.op === 'equals' && filter.test.values.length === 1);
    case 'element':
      return true;
    case 'and':
      return filter.parts.every(lookupOnly);
    default:
      return false;
  }
}
