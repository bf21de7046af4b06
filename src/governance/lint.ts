import { day } from '../plan/explain.js';
import { flaggedRoles } from './review-scope.js';
import { denialActive, type Denial } from '../model/review.js';
import { computeRoleClosures, type RoleClosure } from '../engine/role-closure.js';
import { riskRank, type Entitlement, type RiskLevel } from '../model/entitlement.js';
import { exceptionActive, type AccessException } from '../model/exception.js';
import { sortFindings, type Finding } from '../model/finding.js';
import type { DesiredState, Grant, IdentityAccess } from '../model/grant.js';
import { isNonHuman, type Identity } from '../model/identity.js';
import type { Role, SodRule } from '../model/policy.js';
import type { LoadedPolicy } from '../policy/load-policy.js';

const DAY_MS = 86_400_000;
/** Items named in one message before "and N more": a finding is read, not scrolled. */
const LISTED = 5;

export interface LintInput {
  readonly loaded: LoadedPolicy;
  /** Every identity known (humans and non-human), as plans see them. */
  readonly identities: readonly Identity[];
  /** Every recorded exception, ended and revoked ones included. */
  readonly exceptions: readonly AccessException[];
  /** Desired state of `identities` at `asOf` (Engine.desiredState): rule matches and grants are read from it. */
  readonly desired: DesiredState;
  readonly asOf: Date;
  /** Role closures when the caller already has them (Engine.closures); computed otherwise. */
  readonly closures?: ReadonlyMap<string, RoleClosure>;
  /** Revokes from access reviews: each role they came from is flagged for its owner. */
  readonly denials?: readonly Denial[];
}

/**
 * Governance findings for a policy and the identities it applies to: role ownership and reach,
 * separation of duties within roles and across an identity's grants, exceptions, non-human
 * identities and unused entitlements. Pure: time is `asOf`; rules are never evaluated here, only
 * read from the desired state, so lint and plans can never disagree about who matches what.
 */
export function lint(input: LintInput): Finding[] {
  const c = new LintContext(input);
  const out: Finding[] = [];
  for (const role of c.policy.roles) roleFindings(c, role, out);
  sodRoleFindings(c, out);
  // A loop, not push(...): a badly split role can put every identity in conflict.
  for (const f of c.identityConflicts) out.push(f);
  exceptionFindings(c, out);
  for (const i of input.identities) if (isNonHuman(i.kind) && i.status !== 'terminated') nhiFindings(c, i, out);
  entitlementFindings(c, out);
  revokedRoleFindings(input, out);
  return sortFindings(out);
}

/** What a role holds, as the items SoD rules name: entitlement ids and `role:ID`. */
interface Held {
  readonly item: string;
  /** How the role reaches it, for the message. */
  readonly how: string;
  /** The role that lists the entitlement (or is the role named). */
  readonly source: string;
}

/** Per role, gathered in one pass over the desired state. */
interface RoleStats {
  /** Identities whose rule for this role held. */
  matched: number;
  /** ... of them, active people (the birthright share). */
  people: number;
  /** SoD items this role's closure holds, by rule index; empty for most roles. */
  readonly sod: readonly (readonly [number, string])[];
  /** Indexes into `holderRoles` of the roles holding this one confers. */
  readonly holds: readonly number[];
}

/** Lookups shared by the checks, each built once, and the one pass over the desired state. */
class LintContext {
  readonly policy: LoadedPolicy['policy'];
  readonly asOf: Date;
  readonly desired: DesiredState;
  readonly exceptions: readonly AccessException[];
  readonly closures: ReadonlyMap<string, RoleClosure>;
  readonly byId = new Map<string, Identity>();
  readonly entitlements: ReadonlyMap<string, Entitlement>;
  /** Roles some other role inherits. */
  readonly inherited = new Set<string>();
  readonly stats = new Map<string, RoleStats>();
  activePeople = 0;
  readonly sod: readonly SodRule[];
  /** Entitlement id or role id → indexes of the SoD rules naming it. */
  readonly sodByEntitlement = new Map<string, number[]>();
  readonly sodByRole = new Map<string, number[]>();
  /** Role → per SoD rule, what of it the role's closure holds. */
  readonly sodHeld = new Map<string, Held[][]>();
  /** Roles whose holders are counted (those with a conflict of their own), and the counts. */
  readonly holderRoles: readonly string[];
  readonly holderCounts: number[];
  readonly identityConflicts: Finding[] = [];

  constructor(input: LintInput) {
    this.policy = input.loaded.policy;
    this.asOf = input.asOf;
    this.desired = input.desired;
    this.exceptions = input.exceptions;
    this.entitlements = new Map(this.policy.entitlements.map((e) => [e.id, e]));
    this.closures =
      input.closures ??
      computeRoleClosures(this.policy.roles, new Map(this.policy.entitlements.map((e, i) => [e.id, i])));
    for (const r of this.policy.roles) for (const p of r.inherits) this.inherited.add(p);
    for (const i of input.identities) {
      this.byId.set(i.id, i);
      if (isPerson(i, this.asOf)) this.activePeople++;
    }
    this.sod = this.policy.policies.separationOfDuties;
    this.sod.forEach((rule, k) => {
      for (const item of rule.conflicting) {
        const [map, key] = item.startsWith('role:') ? [this.sodByRole, item.slice(5)] : [this.sodByEntitlement, item];
        const list = map.get(key) ?? [];
        if (!list.includes(k)) list.push(k);
        map.set(key, list);
      }
    });
    for (const r of this.policy.roles) this.sodHeld.set(r.id, this.heldBy(r.id));
    this.holderRoles = this.policy.roles.filter((r) => this.ownConflicts(r).length > 0).map((r) => r.id);
    this.holderCounts = this.holderRoles.map(() => 0);
    for (const r of this.policy.roles) {
      const held = this.sodHeld.get(r.id)!;
      const roles = this.closure(r.id).roles;
      this.stats.set(r.id, {
        matched: 0,
        people: 0,
        sod: held.flatMap((items, k) => items.map((x) => [k, x.item] as const)),
        holds: this.holderRoles.flatMap((h, t) => (roles.includes(h) ? [t] : [])),
      });
    }
    this.scan();
  }

  closure(role: string): RoleClosure {
    return this.closures.get(role) ?? { roles: [role], grants: [] };
  }

  risk(entitlement: string): RiskLevel {
    return this.entitlements.get(entitlement)?.risk ?? 'low';
  }

  /**
   * Conflicts a role carries by itself, by rule index. A role that only inherits a parent's
   * conflict has none of its own: the fix belongs to the parent, and a long chain would repeat it.
   */
  ownConflicts(role: Role): number[] {
    const held = this.sodHeld.get(role.id)!;
    return held.flatMap((hits, k) =>
      hits.length >= 2 && !role.inherits.some((p) => this.sodHeld.get(p)?.[k]?.length === hits.length) ? [k] : [],
    );
  }

  private heldBy(role: string): Held[][] {
    const h: Held[][] = this.sod.map(() => []);
    if (this.sod.length === 0) return h;
    const closure = this.closure(role);
    for (const g of closure.grants) {
      for (const k of this.sodByEntitlement.get(g.entitlement) ?? []) {
        const chain = g.provenance.chain;
        h[k]!.push({
          item: g.entitlement,
          how: chain.length > 1 ? ` (from ${chain.at(-1)})` : '',
          source: chain.at(-1)!,
        });
      }
    }
    for (const r of closure.roles) {
      for (const k of this.sodByRole.get(r) ?? []) {
        h[k]!.push({ item: `role:${r}`, how: r === role ? ' (itself)' : ' (inherited)', source: r });
      }
    }
    return h;
  }

  /**
   * One pass over the desired state, touching each identity's matches only: 100,000 identities
   * hold over a million roles and two million grants, and reading them all costs more than the
   * rest of lint together. An identity's grants are read only when its matched roles (or an
   * exception) bring two items of one SoD rule together.
   */
  private scan(): void {
    const viaException = new Set<string>();
    for (const e of this.exceptions) {
      if (exceptionActive(e, this.asOf) && this.sodByEntitlement.has(e.entitlement)) viaException.add(e.identity);
    }
    const seen = this.holderCounts.map(() => -1);
    // Per SoD rule, the first item this identity holds and which identity that was: two distinct
    // items of one rule make it a suspect, found without allocating anything per identity.
    const stamp = this.sod.map(() => -1);
    const first: string[] = this.sod.map(() => '');
    this.desired.identities.forEach((a, n) => {
      const identity = this.byId.get(a.identity);
      const person = identity !== undefined && isPerson(identity, this.asOf);
      let suspect = viaException.has(a.identity);
      for (const m of a.matches) {
        const s = this.stats.get(m.role);
        if (!s) continue;
        s.matched++;
        if (person) s.people++;
        for (const h of s.holds) {
          if (seen[h] !== n) {
            seen[h] = n;
            this.holderCounts[h]!++;
          }
        }
        for (const [k, item] of s.sod) {
          if (stamp[k] !== n) {
            stamp[k] = n;
            first[k] = item;
          } else if (first[k] !== item) suspect = true;
        }
      }
      if (suspect) identityConflicts(this, a, this.identityConflicts);
    });
  }
}

function roleFindings(c: LintContext, role: Role, out: Finding[]): void {
  const subject = `role:${role.id}`;
  const at = { position: role.position };
  if (!role.businessOwner) {
    out.push({
      code: 'role.no_business_owner',
      severity: 'medium',
      subject,
      message: `role ${role.id} has no business owner`,
      why: 'Nobody answers "should these people have this access?", so reviews of the role have no one to ask and its rule drifts unchecked.',
      fix: `add business_owner: with the identity id of the person accountable for who holds ${role.id}`,
      ...at,
    });
  }
  if (!role.technicalOwner) {
    out.push({
      code: 'role.no_technical_owner',
      severity: 'low',
      subject,
      message: `role ${role.id} has no technical owner`,
      why: 'Nobody answers "does the role grant the right things?", so entitlements that no longer fit stay in it.',
      fix: `add technical_owner: with the identity id of the person who maintains what ${role.id} grants`,
      ...at,
    });
  }
  // One finding per owner, naming both duties when the same person holds them.
  const owners = new Map<string, string[]>();
  if (role.businessOwner) owners.set(role.businessOwner, ['business']);
  if (role.technicalOwner) owners.set(role.technicalOwner, [...(owners.get(role.technicalOwner) ?? []), 'technical']);
  for (const [id, duties] of owners) {
    const owner = c.byId.get(id);
    const which = `${duties.join(' and ')} owner`;
    if (!owner) {
      out.push({
        code: 'role.owner_unknown',
        severity: 'medium',
        subject,
        message: `role ${role.id}'s ${which} ${id} is not a known identity`,
        why: 'An owner who cannot be found cannot review the role; a mistyped id looks owned but is not.',
        fix: `correct the owner id, or name an active person as ${which} of ${role.id}`,
        related: [`identity:${id}`],
        ...at,
      });
    } else if (!isActive(owner, c.asOf)) {
      out.push({
        code: 'role.owner_inactive',
        severity: 'medium',
        subject,
        message: `role ${role.id}'s ${which} ${id} is ${describeInactive(owner, c.asOf)}`,
        why: 'An owner who has left or is away cannot review the role or answer for it.',
        fix: `name an active person as ${which} of ${role.id}`,
        related: [`identity:${id}`],
        ...at,
      });
    }
  }

  const closure = c.closure(role.id);
  if (role.when !== undefined && (c.stats.get(role.id)?.matched ?? 0) === 0) {
    out.push({
      code: 'role.matches_nobody',
      severity: 'low',
      subject,
      message: `role ${role.id}'s rule holds for nobody who receives access as of ${day(c.asOf)} (${countOf(c.desired.identities.length, 'identity', 'identities')} checked)`,
      why: 'A rule that holds for nobody is dead weight, or a typo in a value (a title, a department) that silently grants nothing.',
      fix: `check the values in the rule against the sources (tenure why ID on someone who should match), or remove ${role.id}`,
      ...at,
    });
  }
  if (role.when === undefined && !c.inherited.has(role.id)) {
    out.push({
      code: 'role.unreachable',
      severity: 'low',
      subject,
      message: `role ${role.id} has no rule and no role inherits it, so nobody can hold it`,
      why: 'A role without a rule exists only to be inherited; when nothing inherits it, it grants nothing.',
      fix: `give ${role.id} a when: rule, list it under another role's inherits:, or remove it`,
      ...at,
    });
  }

  const people = c.stats.get(role.id)?.people ?? 0;
  const share = c.policy.policies.lint.birthrightShare;
  if (role.when !== undefined && c.activePeople > 0 && people / c.activePeople > share) {
    const risky = closure.grants.filter((g) => riskRank(c.risk(g.entitlement)) >= riskRank('high'));
    if (risky.length > 0) {
      const worst = risky.reduce<RiskLevel>((w, g) => maxRisk(w, c.risk(g.entitlement)), 'high');
      const named = risky.map((g) => `${g.entitlement} (${c.risk(g.entitlement)}${inheritedFrom(g.provenance.chain)})`);
      out.push({
        code: 'role.birthright_high_risk',
        severity: worst,
        subject,
        message: `role ${role.id} matches ${people} of ${c.activePeople} active people (${percent(people / c.activePeople)}, above policies.lint.birthright_share ${percent(share)}) and grants ${listed(named)}`,
        why: 'A role most people hold is given without anyone asking for it: high-risk access in it reaches every joiner, whether they need it or not.',
        fix: `move the high-risk entitlements to a narrower role whose rule names who needs them, or narrow ${role.id}'s rule`,
        ...at,
      });
    }
  }

  const max = c.policy.policies.lint.maxRoleEntitlements;
  if (closure.grants.length > max) {
    const direct = closure.grants.filter((g) => g.provenance.chain.length === 1).length;
    const parents = closure.roles.slice(1);
    out.push({
      code: 'role.too_many_entitlements',
      severity: 'medium',
      subject,
      message: `role ${role.id} grants ${closure.grants.length} entitlements (${direct} directly${parents.length > 0 ? `, ${closure.grants.length - direct} through ${listed(parents)}` : ''}); the limit is ${max} (policies.lint.max_role_entitlements)`,
      why: 'A broad role is hard to review and gives most holders more than they use; least privilege is lost one convenient addition at a time.',
      fix: `split ${role.id} into smaller roles with narrower rules, or raise policies.lint.max_role_entitlements if this breadth is intended`,
      ...at,
    });
  }
}

/** Conflicts a role carries by itself (see LintContext.ownConflicts). */
function sodRoleFindings(c: LintContext, out: Finding[]): void {
  for (const role of c.policy.roles) {
    for (const k of c.ownConflicts(role)) {
      const rule = c.sod[k]!;
      const hits = c.sodHeld.get(role.id)![k]!;
      const holders = c.holderCounts[c.holderRoles.indexOf(role.id)] ?? 0;
      const related = [...new Set(hits.map((x) => x.source).filter((s) => s !== role.id))].sort();
      out.push({
        code: 'sod.within_role',
        severity: rule.severity,
        subject: `role:${role.id}`,
        message: `role ${role.id} grants ${joinAnd(hits.map((x) => `${x.item}${x.how}`))} (rule ${rule.id}); ${countOf(holders, 'identity holds', 'identities hold')} it`,
        why: sodWhy(rule),
        fix: `take one of them out of ${role.id} (or out of the parent it inherits), and give it through a separate role held by other people`,
        position: role.position,
        ...(related.length > 0 ? { related: related.map((r) => `role:${r}`) } : {}),
      });
    }
  }
}

/** An identity's grants and roles against every SoD rule: the conflicts its roles combine into. */
function identityConflicts(c: LintContext, a: IdentityAccess, out: Finding[]): void {
  let hits: Map<number, (Grant | string)[]> | undefined;
  for (const g of a.grants) {
    const rules = c.sodByEntitlement.get(g.entitlement);
    if (rules) for (const k of rules) hits = add(hits, k, g);
  }
  for (const r of a.roles) {
    const rules = c.sodByRole.get(r);
    if (rules) for (const k of rules) hits = add(hits, k, r);
  }
  if (!hits) return;
  for (const [k, items] of hits) if (items.length >= 2) sodIdentityFinding(c, a, c.sod[k]!, items, out);
}

function add<T>(map: Map<number, T[]> | undefined, k: number, x: T): Map<number, T[]> {
  const m = map ?? new Map<number, T[]>();
  const list = m.get(k);
  if (list) list.push(x);
  else m.set(k, [x]);
  return m;
}

function sodIdentityFinding(
  c: LintContext,
  a: IdentityAccess,
  rule: SodRule,
  items: readonly (Grant | string)[],
  out: Finding[],
): void {
  // Where each conflicting item comes from: the matched roles (chain[0]) and exceptions.
  const sources = items.map((x) => {
    if (typeof x === 'string') {
      const roles = a.matches.filter((m) => c.closure(m.role).roles.includes(x)).map((m) => m.role);
      return { item: `role:${x}`, roles, exceptions: [] as number[] };
    }
    const roles: string[] = [];
    const exceptions: number[] = [];
    for (const p of x.provenance) {
      if (p.exception) exceptions.push(p.exception.id);
      else if (!roles.includes(p.chain[0]!)) roles.push(p.chain[0]!);
    }
    return { item: x.entitlement, roles, exceptions };
  });
  // One role explaining every item is that role's own conflict (sod.within_role), not this identity's.
  const candidates = sources[0]!.roles;
  if (candidates.some((r) => sources.every((s) => s.roles.includes(r)))) return;
  const described = sources.map((s) => {
    const why = [...s.roles.map((r) => `role ${r}`), ...s.exceptions.map((e) => `exception #${e}`)];
    return `${s.item} (${why.join(', ')})`;
  });
  const related = [
    ...[...new Set(sources.flatMap((s) => s.roles))].sort().map((r) => `role:${r}`),
    ...[...new Set(sources.flatMap((s) => s.exceptions))].sort((x, y) => x - y).map((e) => `exception:${e}`),
  ];
  out.push({
    code: 'sod.identity_conflict',
    severity: rule.severity,
    subject: `identity:${a.identity}`,
    message: `${a.identity} holds ${joinAnd(described)} (rule ${rule.id})`,
    why: sodWhy(rule),
    fix: `narrow the rules of the roles named so they no longer both hold for ${a.identity} (tenure why ${a.identity} shows the values that made each hold), or end the exception`,
    related,
  });
}

function sodWhy(rule: SodRule): string {
  const what = rule.description ? `${rule.description}: ` : '';
  return `${what}one person holding these can carry out a sensitive task end to end with no second person to catch an error or fraud.`;
}

function exceptionFindings(c: LintContext, out: Finding[]): void {
  const t = c.asOf.getTime();
  const maxDays = c.policy.policies.exceptions.maxDays;
  for (const e of c.exceptions) {
    if (e.revokedAt !== undefined && e.revokedAt.getTime() <= t) continue;
    const subject = `exception:${e.id}`;
    const related = [`identity:${e.identity}`, `entitlement:${e.entitlement}`];
    const what = `exception #${e.id} (${e.identity}, ${e.entitlement})`;
    if (e.until.getTime() <= t) {
      // An ended exception grants nothing any more; recent ones are listed so someone checks the access went.
      if (t - e.until.getTime() <= maxDays * DAY_MS) {
        out.push({
          code: 'exception.expired',
          severity: 'info',
          subject,
          message: `${what} ended on ${day(e.until)} and was not revoked`,
          why: 'Its access left the desired state when it ended; it is gone from the targets only once a plan has been applied since.',
          fix: `run tenure plan and apply it so the targets drop ${e.entitlement}; if the need continues, record a new exception with tenure grant add`,
          related,
        });
      }
      continue;
    }
    if (!e.reason.trim()) {
      out.push({
        code: 'exception.no_reason',
        severity: 'medium',
        subject,
        message: `${what} has no reason`,
        why: 'Access outside the role model must say why it is needed, or a review cannot judge whether it still is.',
        fix: `revoke it (tenure grant revoke ${e.id} --reason ...) and record it again with --reason`,
        related,
      });
    }
    if (!e.approver.trim()) {
      out.push({
        code: 'exception.no_approver',
        severity: 'high',
        subject,
        message: `${what} has no approver`,
        why: 'An exception nobody approved is access somebody gave themselves or another without a second person.',
        fix: `revoke it (tenure grant revoke ${e.id} --reason ...) and record it again with --approver`,
        related,
      });
    } else if (e.approver === e.identity) {
      out.push({
        code: 'exception.self_approved',
        severity: 'high',
        subject,
        message: `${what} was approved by its own holder`,
        why: 'Approving your own access is no approval: nobody else checked the need.',
        fix: `revoke it (tenure grant revoke ${e.id} --reason ...) and have someone else approve it`,
        related,
      });
    }
    const days = Math.ceil((e.until.getTime() - e.from.getTime()) / DAY_MS);
    if (days > maxDays) {
      out.push({
        code: 'exception.too_long',
        severity: 'medium',
        subject,
        message: `${what} lasts ${days} days, from ${day(e.from)} until ${day(e.until)}; the limit is ${maxDays} (policies.exceptions.max_days)`,
        why: 'A long exception is a role assignment that skipped the role model: it is not reviewed with the roles and outlives its reason.',
        fix: `shorten it, or, if the need is permanent, give ${e.entitlement} through a role whose rule describes who needs it`,
        related,
      });
    }
    if (!c.byId.has(e.identity)) {
      out.push({
        code: 'exception.unknown_identity',
        severity: 'low',
        subject,
        message: `${what} is for ${e.identity}, who is in no source`,
        why: 'An exception for someone no source knows grants nothing and hides what it was for.',
        fix: `revoke it: tenure grant revoke ${e.id} --reason "holder no longer exists"`,
        related,
      });
    }
    if (!c.entitlements.has(e.entitlement)) {
      out.push({
        code: 'exception.unknown_entitlement',
        severity: 'low',
        subject,
        message: `${what} grants ${e.entitlement}, which the policy no longer declares`,
        why: 'Only declared entitlements are managed, so this exception grants nothing while it looks like access.',
        fix: `revoke it (tenure grant revoke ${e.id} --reason ...), or declare ${e.entitlement} again`,
        related,
      });
    }
  }
}

function nhiFindings(c: LintContext, i: Identity, out: Finding[]): void {
  const rules = c.policy.policies.nonHuman;
  const subject = `identity:${i.id}`;
  const t = c.asOf.getTime();
  if (!i.owner) {
    if (rules.ownerRequired) {
      out.push({
        code: 'nhi.no_owner',
        severity: 'high',
        subject,
        message: `${i.kind} ${i.id} has no owner`,
        why: 'Every non-human identity needs a person accountable for it; without one, nobody rotates, reviews or retires it.',
        fix: `set its owner in source "${i.source}" to the person responsible for ${i.id}`,
      });
    }
  } else {
    const owner = c.byId.get(i.owner);
    const reassign = owner && rules.onOwnerLeaving.reassignTo === 'manager' && owner.manager;
    if (!owner) {
      out.push({
        code: 'nhi.owner_unknown',
        severity: 'high',
        subject,
        message: `${i.kind} ${i.id}'s owner ${i.owner} is not a known identity`,
        why: 'An owner nobody can find is no owner: the credential has nobody accountable for it.',
        fix: `correct the owner of ${i.id} in source "${i.source}"`,
        related: [`identity:${i.owner}`],
      });
    } else if (isNonHuman(owner.kind)) {
      out.push({
        code: 'nhi.owner_not_human',
        severity: 'high',
        subject,
        message: `${i.kind} ${i.id}'s owner ${i.owner} is itself a ${owner.kind}`,
        why: 'Accountability ends with a person; a chain of non-human owners hides who answers for the credential.',
        fix: `make the person accountable for ${i.id} its owner in source "${i.source}"`,
        related: [`identity:${i.owner}`],
      });
    } else if (!isActive(owner, c.asOf)) {
      out.push({
        code: 'nhi.owner_inactive',
        severity: 'high',
        subject,
        message: `${i.kind} ${i.id}'s owner ${i.owner} is ${describeInactive(owner, c.asOf)}`,
        why: 'A credential whose owner has left keeps working with nobody watching it: the classic orphaned service account.',
        fix: reassign
          ? `reassign ${i.id} to ${owner.manager} (${i.owner}'s manager) or another active person, or retire it`
          : `reassign ${i.id} to an active person, or retire it`,
        related: [`identity:${i.owner}`],
      });
    }
  }

  const cred = i.credential;
  if (!cred) return;
  const since = cred.lastRotated ?? cred.created;
  if (rules.maxCredentialAgeDays !== undefined && since !== undefined) {
    const age = Math.floor((t - since.getTime()) / DAY_MS);
    if (age > rules.maxCredentialAgeDays) {
      const when = cred.lastRotated
        ? `was last rotated on ${day(since)}`
        : `was created on ${day(since)} and never rotated`;
      out.push({
        code: 'nhi.credential_too_old',
        severity: 'medium',
        subject,
        message: `${i.kind} ${i.id}'s credential ${when}, ${age} days ago; the limit is ${rules.maxCredentialAgeDays} (policies.non_human.max_credential_age_days)`,
        why: 'The longer a secret lives, the more copies of it exist in scripts, logs and laptops, and the longer a leaked one works.',
        fix: `rotate the credential of ${i.id} and record the rotation date in source "${i.source}"`,
        ...(i.owner ? { related: [`identity:${i.owner}`] } : {}),
      });
    }
  }
  if (cred.expires !== undefined && cred.expires.getTime() <= t) {
    out.push({
      code: 'nhi.credential_expired',
      severity: 'medium',
      subject,
      message: `${i.kind} ${i.id}'s credential expired on ${day(cred.expires)}${cred.lastUsed ? ` (last used ${day(cred.lastUsed)})` : ''}`,
      why: 'An expired credential either breaks whatever still depends on it, or is a leftover nobody retired.',
      fix: `renew it if ${i.id} is still needed, else retire ${i.id} and remove it from source "${i.source}"`,
      ...(i.owner ? { related: [`identity:${i.owner}`] } : {}),
    });
  }
  if (rules.unusedAfterDays !== undefined && cred.lastUsed !== undefined) {
    const idle = Math.floor((t - cred.lastUsed.getTime()) / DAY_MS);
    if (idle > rules.unusedAfterDays) {
      out.push({
        code: 'nhi.unused',
        severity: 'medium',
        subject,
        message: `${i.kind} ${i.id} was last used on ${day(cred.lastUsed)}, ${idle} days ago; the limit is ${rules.unusedAfterDays} (policies.non_human.unused_after_days)`,
        why: 'A dormant credential is all risk and no use: if it leaks, nobody notices it being used.',
        fix: `ask ${i.owner ?? 'its owner'} whether ${i.id} is still needed; disable or retire it if not`,
        ...(i.owner ? { related: [`identity:${i.owner}`] } : {}),
      });
    }
  }
}

function entitlementFindings(c: LintContext, out: Finding[]): void {
  const granted = new Set<string>();
  for (const r of c.policy.roles) for (const e of r.grants) granted.add(e);
  for (const e of c.policy.entitlements) {
    if (granted.has(e.id)) continue;
    const byException = c.exceptions.filter((x) => x.entitlement === e.id && exceptionActive(x, c.asOf)).length;
    out.push({
      code: 'entitlement.unused',
      severity: 'info',
      subject: `entitlement:${e.id}`,
      message: `entitlement ${e.id} (${e.risk}) is declared but no role grants it${byException > 0 ? `; ${countOf(byException, 'exception in force grants', 'exceptions in force grant')} it` : ''}`,
      why: 'A declared entitlement no role grants is managed by nobody: whoever holds it in the target got it by hand or by exception.',
      fix: `grant it through a role whose rule says who needs it, or remove it from entitlements: if Tenure should not manage it`,
      ...(e.position ? { position: e.position } : {}),
    });
  }
}

/** An active person: counted in the birthright share. */
function isPerson(i: Identity, asOf: Date): boolean {
  return !isNonHuman(i.kind) && isActive(i, asOf);
}

/** Active now: status active and end date (if any) not reached. */
function isActive(i: Identity, asOf: Date): boolean {
  return i.status === 'active' && (i.endDate === undefined || i.endDate.getTime() > asOf.getTime());
}

function describeInactive(i: Identity, asOf: Date): string {
  if (i.status === 'terminated') return `terminated${i.endDate ? ` (left on ${day(i.endDate)})` : ''}`;
  if (i.status === 'leave') return 'on leave';
  if (i.status === 'pre_hire') return `a pre-hire${i.startDate ? ` (starts on ${day(i.startDate)})` : ''}`;
  return i.endDate && i.endDate.getTime() <= asOf.getTime() ? `past their end date (${day(i.endDate)})` : i.status;
}

/** `, from PARENT` when a role reaches an entitlement through inheritance. */
function inheritedFrom(chain: readonly string[]): string {
  return chain.length > 1 ? `, from ${chain.at(-1)}` : '';
}

function maxRisk(a: RiskLevel, b: RiskLevel): RiskLevel {
  return riskRank(b) > riskRank(a) ? b : a;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function countOf(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function joinAnd(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** At most LISTED items, then how many more. */
function listed(items: readonly string[]): string {
  return items.length <= LISTED
    ? joinAnd(items)
    : `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more`;
}

/** Roles whose grants reviewers revoked: the rule gives access people were judged not to need. */
function revokedRoleFindings(input: LintInput, out: Finding[]): void {
  const denials = (input.denials ?? []).filter((d) => denialActive(d, input.asOf));
  const roles = new Map(input.loaded.policy.roles.map((r) => [r.id, r]));
  for (const flag of flaggedRoles(denials, input.loaded.policy)) {
    const role = roles.get(flag.role);
    if (!role) continue;
    const example = denials.find((d) => d.roles.includes(flag.role))!;
    const owner = flag.businessOwner ?? flag.technicalOwner;
    out.push({
      code: 'role.grants_revoked',
      severity: 'medium',
      subject: `role:${flag.role}`,
      message: `${flag.revoked} grant(s) of role ${flag.role} were revoked in access reviews, e.g. ${example.entitlement} from ${example.identity} (${example.origin})`,
      why: 'Reviewers judged that people the rule matches should not have what it grants; the rule keeps granting it to everyone else it matches, new joiners included.',
      fix: `${owner ? `${owner}, the role's owner,` : 'the role owner'} should narrow the rule or split the role; tenure review status lists the revokes`,
      position: role.position,
      related: [
        ...new Set(denials.filter((d) => d.roles.includes(flag.role)).map((d) => `identity:${d.identity}`)),
      ].slice(0, 20),
    });
  }
}
