import type { Account, ActualState, TargetState } from '../model/actual-state.js';
import type { Checked, Diagnostic } from '../model/diagnostic.js';
import { riskRank, type Entitlement } from '../model/entitlement.js';
import type { DesiredState, Grant, IdentityAccess } from '../model/grant.js';
import { isNonHuman, type Identity } from '../model/identity.js';
import {
  CHANGE_ACTIONS,
  type Change,
  type ChangeAction,
  type AdoptedAccount,
  type Plan,
  type PlanSummary,
  type TargetPlan,
} from '../model/plan.js';
import type { BreakerSettings, LeaverRules, TargetKindTraits } from '../model/policy.js';
import type { CompiledRule } from '../policy/compile-rule.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { toCelIdentity } from '../policy/rule-environment.js';
import { day, explainGrant } from './explain.js';
import { deprovisionVerdict, sodConflicts } from './guardrails.js';
import { linkAccounts, planningOrder, recordedLinks } from './link-accounts.js';

/**
 * What the lifecycle knows about identities, for the leaver rules (`policies.leaver`). Pure
 * look-ups: the caller builds them from stored lifecycle events.
 */
export interface PlanLifecycle {
  /**
   * When an identity left, for the deletion clock: the end date its source gave, else when the
   * import that recorded the leave ran.
   */
  readonly leftAt: (identity: string) => Date | undefined;
  /** When Tenure recorded the leave (the import's time): deletion waits `min_disabled_days` after it. */
  readonly leaveRecordedAt?: (identity: string) => Date | undefined;
  /** The identity's most recent mover event, if any (its `at` and `grantsRemoved`). */
  readonly lastMove: (identity: string) => { readonly at: Date; readonly grantsRemoved: readonly string[] } | undefined;
}

export interface PlanInput {
  readonly loaded: LoadedPolicy;
  readonly identities: readonly Identity[];
  readonly desired: DesiredState;
  readonly actual: ActualState;
  readonly asOf: Date;
  /** How each target kind compares account names (the connector registry, CONNECTOR_KINDS). */
  readonly kinds: TargetKindTraits;
  /**
   * What each target refuses in an account name, by target id (Active Directory: sAMAccountName's length and
   * characters), from its kind and settings: a name it refuses is neither created nor renamed to, and the plan says
   * which rule of the policy made it. Targets without an entry take every name.
   */
  readonly nameRules?: ReadonlyMap<string, (name: string) => string | undefined>;
  /**
   * Every identity id Tenure has imported, those that have since left included (the store's
   * identity history). Only these are leavers when no source has them any more: an account
   * linked to an id in neither this nor `identities` is unmanaged (Tenure never knew that
   * identity) and no change touches it; drift reports it as `drift.unknown_link`. Without a
   * store, pass an empty set: "imported" then means "in the feeds", so every recorded id not in
   * `identities` is unknown.
   */
  readonly imported: ReadonlySet<string>;
  /**
   * Optional lifecycle facts. Without it (or when `leftAt` knows nothing of an identity), an
   * identity left on its `endDate`, and no mover grace period applies.
   */
  readonly lifecycle?: PlanLifecycle;
  /**
   * Identities Tenure suspends though their source says otherwise — a non-human identity whose
   * owner left and whom nobody took over by the deadline — with the reason and since when.
   */
  readonly suspended?: (identity: string) => { readonly reason: string; readonly since: Date } | undefined;
  /** Credential upkeep of non-human identities: targets that can rotate, and Tenure's own last rotation there. */
  readonly credentials?: {
    readonly rotatable: ReadonlySet<string>;
    readonly lastRotated: (identity: string, target: string) => Date | undefined;
  };
  /**
   * Plan the changes of these identities only ("provision now", a pushed change): accounts are still linked across
   * the whole target, so names and links are judged as in a full plan, but no other identity's account is changed.
   */
  readonly only?: ReadonlySet<string>;
}

const ORDER: Record<ChangeAction, number> = {
  create_account: 0,
  rename_account: 1,
  link_account: 2,
  enable_account: 3,
  update_account: 4,
  add_membership: 5,
  remove_membership: 6,
  rotate_credential: 7,
  disable_account: 8,
  delete_account: 9,
};

const DAY_MS = 86_400_000;

/**
 * The difference between desired and actual state, per target, as immutable data with a reason
 * on every change. Tenure manages only the entitlements the policy declares: memberships it does
 * not know are left alone here and reported by drift.
 *
 * Leaver rules (`policies.leaver`):
 * - `disable`: the planner follows desired state, which only `active` identities receive, and
 *   does not read this setting. `immediately` means the plan disables an account as soon as its
 *   identity stops receiving access (terminated, on leave, not started, or no role grants the
 *   target any more), whatever its end date says. `at_end_date` changes nothing here: an identity
 *   still `active` whose end date is in the future keeps its grants, so nothing is disabled
 *   before that date; when its status changes, the next plan disables.
 * - `delete_after_days` (per target first, else global): a terminated identity's account, enabled
 *   or already disabled, is deleted once that many days have passed since the identity left
 *   (`lifecycle.leftAt`, else its end date); its managed memberships are removed first. Before
 *   then it is disabled, and the disable's reason says when it will be deleted.
 * - `mover_grace_days` (per target first, else global; 0 = none): an active identity keeps what
 *   its latest move removed (`lifecycle.lastMove`) until the grace period ends; those removals
 *   are listed in `deferredChanges`, not planned.
 */
export function computePlan(input: PlanInput): Checked<Plan> {
  const { loaded, identities, desired, actual, asOf, lifecycle } = input;
  const diagnostics: Diagnostic[] = [];
  const entitlements = new Map(loaded.policy.entitlements.map((e) => [e.id, e]));
  const accessById = new Map<string, IdentityAccess>(desired.identities.map((a) => [a.identity, a]));
  const actualByTarget = new Map(actual.targets.map((t) => [t.target, t]));
  for (const t of actual.targets) {
    if (!loaded.policy.targets.some((d) => d.id === t.target)) {
      diagnostics.push({
        severity: 'warning',
        code: 'plan.unknown_target',
        message: `actual state holds target "${t.target}", which the policy does not declare; it is ignored`,
        subject: t.target,
      });
    }
  }
  // An account linked to an identity Tenure imported but no source has any more belongs to a
  // leaver; one linked to an id Tenure never imported is left alone (`recordedLinks`).
  const { gone } = recordedLinks(identities, actual, input.imported);
  const sortedIdentities = planningOrder(identities, gone);
  const leaverRules = loaded.policy.policies.leaver;

  const targets: TargetPlan[] = [];
  for (const target of loaded.policy.targets) {
    const accounts = actualByTarget.get(target.id)?.accounts ?? [];
    const naming = loaded.accountNames.get(target.id)!;
    const deletion = deletionRule(leaverRules, target.id);
    const grace = graceRule(leaverRules, target.id);
    const traits = input.kinds[target.kind];
    const nameRule = input.nameRules?.get(target.id);
    const caseInsensitive = traits.names === 'case-insensitive';
    const { links, unlinked } = linkAccounts(target.id, accounts, sortedIdentities, gone, naming, asOf, diagnostics, {
      checkNames: true,
      caseInsensitive,
    });
    const fold = caseInsensitive ? (n: string) => n.toLowerCase() : (n: string) => n;
    // Who holds each name: an account of the target, or an identity this plan creates one for.
    // Who holds each name: an account of the target, or (a sentence) the account this plan creates or renames.
    const holders = new Map<string, Account | string>();
    for (const a of accounts) holders.set(fold(a.name), a);
    // Declared entitlements the target says it does not have: granting them would fail at apply.
    const missing = missingEntitlements(
      loaded,
      target.id,
      actualByTarget.get(target.id),
      input.kinds[target.kind].names === 'case-insensitive',
    );
    const changes: Change[] = [];
    const deferredChanges: Change[] = [];
    const adopted: AdoptedAccount[] = [];
    const prefix = `${target.id}:`;
    const rotatable = input.credentials?.rotatable.has(target.id) === true;
    const maxAge = loaded.policy.policies.nonHuman.maxCredentialAgeDays;
    for (const { identity, name, account, byName } of links) {
      if (input.only && !input.only.has(identity.id)) continue;
      if (account && byName) adopted.push(adoption(identity, account, target.id));
      const suspension = input.suspended?.(identity.id);
      const access = suspension ? undefined : accessById.get(identity.id);
      const wanted = new Map<string, Grant>();
      for (const g of access?.grants ?? []) if (g.entitlement.startsWith(prefix)) wanted.set(g.entitlement, g);
      const own: Change[] = [];
      const later: Change[] = [];
      // An account found by its link whose name the policy now computes differently (an email or
      // login change) is renamed in place, keeping what it holds; a leaver's keeps its name.
      // A name the target refuses is said now, with the rule that made it, rather than failing at apply.
      const refused = wanted.size > 0 && (!account || fold(account.name) !== fold(name)) ? nameRule?.(name) : undefined;
      if (refused !== undefined)
        diagnostics.push({
          severity: 'warning',
          code: 'plan.invalid_name',
          message: `target "${target.id}": ${identity.id}'s account name ${JSON.stringify(name)} ${refused}; ${account ? `the account stays ${JSON.stringify(account.name)}` : 'it is not created'}`,
          hint: `the name comes from targets[].account_name: ${target.accountName}; make it give names the target accepts`,
          subject: identity.id,
        });
      const renameTo =
        account && !byName && wanted.size > 0 && fold(account.name) !== fold(name) && refused === undefined
          ? renameOf(target.id, identity, account, name, traits.capabilities.rename, holders, fold, diagnostics)
          : undefined;
      const make = (action: ChangeAction, reason: string, entitlement?: Entitlement): Change => ({
        target: target.id,
        action,
        identity: identity.id,
        account: renameTo ?? account?.name ?? name,
        ...(entitlement ? { entitlement: entitlement.id, risk: entitlement.risk } : {}),
        reason,
      });
      const change = (action: ChangeAction, reason: string, entitlement?: Entitlement): void => {
        own.push(make(action, reason, entitlement));
      };
      // Mover grace: only for an identity still active, only for what its latest move removed.
      const move = identity.status === 'active' && grace.days > 0 ? lifecycle?.lastMove(identity.id) : undefined;
      const graceEnds = move ? new Date(move.at.getTime() + grace.days * DAY_MS) : undefined;
      const kept =
        move && graceEnds && asOf.getTime() < graceEnds.getTime()
          ? {
              removed: new Set(move.grantsRemoved),
              tookTarget: move.grantsRemoved.some((g) => g.startsWith(prefix)),
              reason: `kept until ${day(graceEnds)}: mover grace period of ${grace.days} days (policy ${grace.key})`,
            }
          : undefined;
      const removeOrKeep = (reason: string, e: Entitlement): void => {
        if (kept?.removed.has(e.id)) later.push(make('remove_membership', kept.reason, e));
        else change('remove_membership', reason, e);
      };
      if (!account && refused !== undefined) continue;
      if (!account && wanted.size > 0 && holders.has(fold(name))) {
        // Creating it would meet the other account at apply (a conflict): said now, and not attempted.
        diagnostics.push({
          severity: 'warning',
          code: 'plan.name_taken',
          message: `target "${target.id}": ${identity.id}'s account ${JSON.stringify(name)} is not created: ${holderText(holders.get(fold(name)))} has that name`,
          hint: 'make account_name give each identity its own name, or correct the link of the account in the target',
          subject: identity.id,
        });
        continue;
      }
      if (!account && wanted.size > 0) {
        holders.set(fold(name), `the account planned for ${identity.id}`);
      }
      if (renameTo !== undefined) {
        holders.set(fold(renameTo), `the account renamed for ${identity.id}`);
        own.push({
          ...make(
            'rename_account',
            `${identity.id}'s account name is now ${JSON.stringify(renameTo)} (targets[].account_name); found by its link, it keeps what it holds`,
          ),
          account: account!.name,
          newName: renameTo,
        });
      }
      // An account adopted by its name records the identity from now on, so a rename later finds it.
      if (account && byName && traits.capabilities.rename)
        change(
          'link_account',
          `adopted by name: records ${identity.id} in the account's link, which it lacks, so it is found by its link from now on`,
        );
      if (wanted.size > 0) {
        const first = wanted.values().next().value!;
        if (!account)
          change('create_account', `${identity.id} needs access to ${target.id}: ${explainGrant(access!, first)}`);
        else if (!account.enabled)
          change(
            'enable_account',
            `${identity.id} is active and needs access to ${target.id} again: ${explainGrant(access!, first)}`,
          );
        // Attributes the target reports and the policy computes: an account that drifted is updated.
        const attributeRules = loaded.accountAttributes.get(target.id);
        if (account?.attributes && attributeRules && attributeRules.size > 0) {
          const changed = changedAttributes(identity, attributeRules, account.attributes, asOf, traits.sameValue);
          if (changed) {
            own.push({
              ...make(
                'update_account',
                Object.entries(changed.from)
                  .map(([k, v]) => `${k}: ${JSON.stringify(v)} → ${JSON.stringify(changed.to[k])}`)
                  .join(', ') + ' (policy targets[].attributes)',
              ),
              attributes: changed.to,
            });
          }
        }
        const held = new Set(account?.entitlements ?? []);
        for (const [id, g] of wanted) {
          const e = entitlements.get(id)!;
          if (e.address.kind === 'account' || held.has(id)) continue;
          const absent = missing.get(id);
          if (absent) absent.heldBack.push(account?.name ?? name);
          else change('add_membership', explainGrant(access!, g), e);
        }
        for (const id of account?.entitlements ?? []) {
          const e = entitlements.get(id);
          if (!e || wanted.has(id) || e.address.kind === 'account') continue;
          removeOrKeep(`no role grants ${id} to ${identity.id}`, e);
        }
      } else if (account) {
        const why = suspension?.reason ?? leaveReason(identity, target.id);
        const leaving =
          identity.status === 'terminated'
            ? deletionOf(identity, lifecycle, deletion, asOf, leaverRules.minDisabledDays)
            : undefined;
        for (const id of account.entitlements) {
          const e = entitlements.get(id);
          if (!e || e.address.kind === 'account') continue;
          removeOrKeep(why, e);
        }
        if (leaving?.due) change('delete_account', leaving.reason);
        else if (account.enabled) {
          // A move that took this target away keeps the account enabled through the grace period.
          if (kept?.tookTarget) later.push(make('disable_account', kept.reason));
          else change('disable_account', leaving ? `${why}; ${leaving.reason}` : why);
        }
      }
      // Credentials of non-human identities: revoked when suspended, rotated when older than the policy allows.
      if (account && rotatable && isNonHuman(identity.kind) && !own.some((c) => c.action === 'delete_account')) {
        const ours = input.credentials.lastRotated(identity.id, target.id);
        if (suspension) {
          if (!ours || ours.getTime() < suspension.since.getTime())
            own.push({ ...make('rotate_credential', `revoked: ${suspension.reason}`), purpose: 'revocation' });
        } else if (maxAge !== undefined && wanted.size > 0) {
          const since = [ours, identity.credential?.lastRotated, identity.credential?.created]
            .filter((d): d is Date => d !== undefined)
            .reduce<Date | undefined>((a, d) => (a && a.getTime() > d.getTime() ? a : d), undefined);
          const age = since === undefined ? undefined : Math.floor((asOf.getTime() - since.getTime()) / DAY_MS);
          if (age !== undefined && age > maxAge)
            own.push({
              ...make(
                'rotate_credential',
                `credential last rotated ${day(since!)}, ${age} days ago; the most allowed is ${maxAge} (policy non_human.max_credential_age_days)`,
              ),
              purpose: 'rotation',
            });
        }
      }
      changes.push(...own.sort(byOrder));
      deferredChanges.push(...later.sort(byOrder));
    }
    for (const m of missing.values()) diagnostics.push(missingDiagnostic(target.id, m));
    targets.push({
      target: target.id,
      changes,
      counts: countByAction(changes),
      deferred: deferredChanges.length,
      deferredChanges,
      accountsBefore: accounts.length,
      unlinkedAccounts: unlinked.length,
      adopted,
    });
  }

  const all = targets.flatMap((t) => t.changes);
  const deprovision = targets.map((t) => deprovisionVerdict(t, breakerSettings(loaded, t.target)));
  const conflicts = sodConflicts(loaded.policy.policies.separationOfDuties, desired, all);
  const plan: Plan = {
    formatVersion: 1,
    kind: 'plan',
    ...(input.only ? { onlyIdentities: [...input.only].sort() } : {}),
    policy: loaded.policy.name,
    asOf: asOf.toISOString(),
    targets,
    summary: summarise(all),
    guardrails: {
      blocked: deprovision.some((d) => d.blocked) || conflicts.length > 0,
      deprovision,
      sodConflicts: conflicts,
    },
  };
  return { result: plan, diagnostics };
}

interface MissingEntitlement {
  readonly entitlement: Entitlement;
  /** Where the target would keep it (an LDAP group's DN), when its connector says. */
  readonly location?: string;
  /** Accounts whose grant of it the plan holds back. */
  readonly heldBack: string[];
}

/**
 * The declared entitlements of a target (the account itself aside) that its connector reported it
 * does not have; none when the connector cannot list what it has.
 */
function missingEntitlements(
  loaded: LoadedPolicy,
  target: string,
  state: TargetState | undefined,
  caseInsensitive: boolean,
): Map<string, MissingEntitlement> {
  const missing = new Map<string, MissingEntitlement>();
  if (state?.entitlements === undefined) return missing;
  const fold = (id: string): string => (caseInsensitive ? id.toLowerCase() : id);
  const present = new Set(state.entitlements.map(fold));
  for (const e of loaded.policy.entitlements) {
    if (e.address.target !== target || e.address.kind === 'account' || present.has(fold(e.id))) continue;
    const location = state.locations?.[e.id];
    missing.set(e.id, { entitlement: e, ...(location === undefined ? {} : { location }), heldBack: [] });
  }
  return missing;
}

const SHOWN_ACCOUNTS = 5;

function missingDiagnostic(target: string, m: MissingEntitlement): Diagnostic {
  const { entitlement: e, location, heldBack } = m;
  const names = [...heldBack].sort();
  const shown = names.slice(0, SHOWN_ACCOUNTS).join(', ') + (names.length > SHOWN_ACCOUNTS ? ', ...' : '');
  const grants =
    names.length === 0 ? 'nobody is granted it yet' : `${names.length} grant(s) held back, not planned: ${shown}`;
  return {
    severity: 'warning',
    code: 'target.missing_entitlement',
    message: `target "${target}" has no ${e.id}${location === undefined ? '' : ` (no ${location})`}; ${grants}`,
    hint: 'create it in the target, or correct the entitlement in the policy; the plan grants it once the target has it',
    subject: e.id,
    ...(e.position ? { position: e.position } : {}),
  };
}

/**
 * The name a linked account is renamed to, or undefined with a warning when it cannot be: the
 * kind cannot rename, or another account already has the name.
 */
function renameOf(
  target: string,
  identity: Identity,
  account: Account,
  name: string,
  canRename: boolean,
  taken: ReadonlyMap<string, unknown>,
  fold: (n: string) => string,
  diagnostics: Diagnostic[],
): string | undefined {
  if (!canRename) {
    diagnostics.push({
      severity: 'warning',
      code: 'plan.rename_unsupported',
      message: `target "${target}" cannot rename accounts: ${identity.id}'s account stays ${JSON.stringify(account.name)}, though account_name now gives ${JSON.stringify(name)}`,
      hint: 'rename it in the target by hand; Tenure finds it by its link',
      subject: identity.id,
    });
    return undefined;
  }
  if (taken.has(fold(name))) {
    diagnostics.push({
      severity: 'warning',
      code: 'plan.rename_conflict',
      message: `target "${target}": ${identity.id}'s account ${JSON.stringify(account.name)} is not renamed to ${JSON.stringify(name)}, which another account has`,
      hint: 'free the name in the target, or make account_name give each identity its own name',
      subject: identity.id,
    });
    return undefined;
  }
  return name;
}

/** Who holds a name, for `plan.name_taken`. */
function holderText(holder: Account | string | undefined): string {
  if (holder === undefined) return 'another account';
  if (typeof holder === 'string') return holder;
  return holder.identity === undefined ? 'an account' : `an account linked to ${holder.identity}`;
}

/** An account found by its name: what the identity takes over with it. */
function adoption(identity: Identity, account: Account, target: string): AdoptedAccount {
  const held = account.entitlements;
  const holds =
    held.length === 0
      ? 'holds nothing'
      : `holds ${held.slice(0, 5).join(', ')}${held.length > 5 ? ` and ${held.length - 5} more` : ''}`;
  return {
    identity: identity.id,
    account: account.name,
    enabled: account.enabled,
    entitlements: account.entitlements,
    reason: `adopted by name: ${account.name} in ${target} records no identity and is the account_name of ${identity.id}; ${account.enabled ? 'enabled' : 'disabled'}, ${holds}`,
  };
}

function byOrder(a: Change, b: Change): number {
  return ORDER[a.action] - ORDER[b.action] || ((a.entitlement ?? '') < (b.entitlement ?? '') ? -1 : 1);
}

/** A leaver rule in effect for one target, and the policy key it comes from (for reasons). */
interface TargetRule<T> {
  readonly days: T;
  readonly key: string;
}

function deletionRule(rules: LeaverRules, target: string): TargetRule<number | undefined> {
  const own = rules.targets[target]?.deleteAfterDays;
  return own !== undefined
    ? { days: own, key: `leaver.targets.${target}.delete_after_days` }
    : { days: rules.deleteAfterDays, key: 'leaver.delete_after_days' };
}

function graceRule(rules: LeaverRules, target: string): TargetRule<number> {
  const own = rules.targets[target]?.moverGraceDays;
  return own !== undefined
    ? { days: own, key: `leaver.targets.${target}.mover_grace_days` }
    : { days: rules.moverGraceDays, key: 'leaver.mover_grace_days' };
}

/**
 * Whether a leaver's account is due for deletion, with the reason to give: for the deletion when
 * due, else a note for the disable saying when (or why not) it will be deleted. Undefined when
 * the policy deletes nothing in this target.
 */
function deletionOf(
  identity: Identity,
  lifecycle: PlanLifecycle | undefined,
  rule: TargetRule<number | undefined>,
  asOf: Date,
  minDisabledDays: number,
): { readonly due: boolean; readonly reason: string } | undefined {
  if (rule.days === undefined) return undefined;
  const when = deletionDay(identity, lifecycle, rule.days, minDisabledDays);
  if (!when) return { due: false, reason: `not deleted: when ${identity.id} left is not known (policy ${rule.key})` };
  const held = when.held
    ? `; the leave was recorded on ${day(when.held.recorded)} and accounts stay disabled ${when.held.days} days first (policy leaver.min_disabled_days)`
    : '';
  return asOf.getTime() >= when.dueAt.getTime()
    ? {
        due: true,
        reason: `${identity.id} left on ${day(when.leftAt)}; accounts are deleted ${rule.days} days after leaving (policy ${rule.key})${held}`,
      }
    : {
        due: false,
        reason: `the account will be deleted on ${day(when.dueAt)}, ${rule.days} days after leaving on ${day(when.leftAt)} (policy ${rule.key})${held}`,
      };
}

/**
 * The day a leaver's accounts are due for deletion under a rule of `days`: counted from the day
 * they left (the end date the source gave, else the recorded leave), but never sooner than
 * `min_disabled_days` (at most `days`) after Tenure recorded the leave — a termination recorded
 * late is disabled first and deleted later. Undefined when the day they left is not known.
 */
function deletionDay(
  identity: Identity,
  lifecycle: PlanLifecycle | undefined,
  days: number,
  minDisabledDays: number,
): { leftAt: Date; dueAt: Date; held?: { recorded: Date; days: number } } | undefined {
  const leftAt = validDate(lifecycle?.leftAt(identity.id)) ?? validDate(identity.endDate);
  if (!leftAt) return undefined;
  const byRule = leftAt.getTime() + days * DAY_MS;
  const recorded = validDate(lifecycle?.leaveRecordedAt?.(identity.id));
  const floorDays = Math.min(days, minDisabledDays);
  const floor = recorded ? recorded.getTime() + floorDays * DAY_MS : -Infinity;
  return floor > byRule
    ? { leftAt, dueAt: new Date(floor), held: { recorded: recorded!, days: floorDays } }
    : { leftAt, dueAt: new Date(byRule) };
}

/**
 * When a leaver's accounts are deleted, per target whose policy deletes: what `why` says, from
 * the same rule the plan follows, so the two never disagree about the day.
 */
export function deletionSchedule(
  identity: Identity,
  lifecycle: PlanLifecycle | undefined,
  rules: LeaverRules,
  targets: readonly string[],
): { readonly target: string; readonly on?: Date; readonly rule: string }[] {
  const out: { target: string; on?: Date; rule: string }[] = [];
  for (const target of targets) {
    const rule = deletionRule(rules, target);
    if (rule.days === undefined) continue;
    const when = deletionDay(identity, lifecycle, rule.days, rules.minDisabledDays);
    out.push({ target, ...(when ? { on: when.dueAt } : {}), rule: rule.key });
  }
  return out;
}

function validDate(d: Date | undefined): Date | undefined {
  return d !== undefined && !Number.isNaN(d.getTime()) ? d : undefined;
}

function leaveReason(identity: Identity, target: string): string {
  if (identity.source === '') return `${identity.id} is no longer in any source`;
  if (identity.status === 'terminated') return `${identity.id} is terminated`;
  if (identity.status === 'leave') return `${identity.id} is on leave`;
  if (identity.status === 'pre_hire') return `${identity.id} has not started yet`;
  return `no role grants ${identity.id} access to ${target} any more`;
}

/** The deprovisioning breaker that guards a target: its own `deprovision_breaker`, else the policy's. */
export function breakerSettings(loaded: LoadedPolicy, target: string): BreakerSettings {
  return (
    loaded.policy.targets.find((t) => t.id === target)?.deprovisionBreaker ??
    loaded.policy.policies.guardrails.deprovision
  );
}

/** A plan's summary counts from its changes. */
export function summarise(all: readonly Change[]): PlanSummary {
  return {
    changes: all.length,
    identitiesAffected: new Set(all.map((c) => c.identity).filter((x) => x !== undefined)).size,
    byAction: countByAction(all),
    highRiskGrants: all.filter(
      (c) => c.action === 'add_membership' && c.risk !== undefined && riskRank(c.risk) >= riskRank('high'),
    ).length,
  };
}

export function countByAction(changes: readonly Change[]): Record<ChangeAction, number> {
  const counts = Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, 0])) as Record<ChangeAction, number>;
  for (const c of changes) counts[c.action]++;
  return counts;
}

/**
 * The attributes whose value the policy computes differently from what the account holds, among
 * those the target reports; undefined when none. An expression that reads an absent value is
 * skipped, as at create.
 */
function changedAttributes(
  identity: Identity,
  rules: ReadonlyMap<string, CompiledRule>,
  held: Readonly<Record<string, string>>,
  asOf: Date,
  same: (attribute: string, held: string, wanted: string) => boolean = (_, a, b) => a === b,
): { from: Record<string, string>; to: Record<string, string> } | undefined {
  let cel: unknown;
  const from: Record<string, string> = {};
  const to: Record<string, string> = {};
  for (const [name, rule] of rules) {
    const now = held[name];
    if (now === undefined) continue;
    let value: string;
    try {
      value = String(rule.value((cel ??= toCelIdentity(identity)), asOf));
    } catch {
      continue;
    }
    if (!same(name, now, value)) {
      from[name] = now;
      to[name] = value;
    }
  }
  return Object.keys(to).length > 0 ? { from, to } : undefined;
}
