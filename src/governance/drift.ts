import type { Account, ActualState } from '../model/actual-state.js';
import { riskRank, type Entitlement, type RiskLevel } from '../model/entitlement.js';
import { FINDING_SEVERITIES, sortFindings, type Finding, type FindingSeverity } from '../model/finding.js';
import type { Identity } from '../model/identity.js';
import type { Change, Plan, TargetPlan } from '../model/plan.js';
import type { TargetKindTraits } from '../model/policy.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { breakerSettings, countByAction, summarise } from '../plan/compute-plan.js';
import { deprovisionVerdict } from '../plan/guardrails.js';
import { linkAccounts, recordedLinks, type AccountLink } from '../plan/link-accounts.js';

/**
 * The closed set of drift classes, most severe first. Every account-level class is one finding
 * per account (a leaver's memberships are part of its account's finding, not findings of their
 * own); grant-level classes are one finding per account and entitlement.
 */
export const DRIFT_CODES = [
  'drift.terminated_enabled',
  'drift.orphan_account',
  'drift.duplicate_account',
  'drift.unknown_link',
  'drift.unneeded_account',
  'drift.unmanaged_grant',
  'drift.undeclared_entitlement',
  'drift.disabled_holds_grants',
  'drift.deletion_due',
  'drift.missing_account',
  'drift.disabled_but_desired',
  'drift.missing_grant',
  'drift.pending_rename',
  'drift.attribute_mismatch',
] as const;
export type DriftCode = (typeof DRIFT_CODES)[number];

export interface DriftInput {
  readonly loaded: LoadedPolicy;
  /** The identities the plan was computed for (`planningIdentities`). */
  readonly identities: readonly Identity[];
  /**
   * Every identity id Tenure has imported, leavers included: the same set the plan was computed
   * with (`PlanInput.imported`). An enabled account linked to any other id is `drift.unknown_link`.
   */
  readonly imported: ReadonlySet<string>;
  readonly actual: ActualState;
  /**
   * The plan `computePlan` made from these same identities, actual state and time. Drift is read
   * from it, so what drift reports and what the planner changes cannot disagree: deferred mover
   * removals, pending deletions and exceptions mean the same to both.
   */
  readonly plan: Plan;
  readonly asOf: Date;
  /** How each target kind compares account names (the connector registry, CONNECTOR_KINDS). */
  readonly kinds: TargetKindTraits;
  /** Only these targets (default: every target of the policy). */
  readonly targets?: readonly string[];
}

/** Differences between desired and actual state that are not drift: the policy expects them. */
export interface ExpectedDifferences {
  /** Removals (and disables) a recent mover keeps until the mover grace period ends. */
  readonly moverGrace: number;
  /** Disabled accounts of leavers kept by the policy (awaiting `delete_after_days`, or kept for good). */
  readonly disabledLeavers: number;
  /**
   * Disabled accounts no identity explains, those linked to an id Tenure never imported included:
   * they give no access; a person reviews and deletes them.
   */
  readonly disabledOrphans: number;
}

export interface TargetDrift {
  readonly target: string;
  /** Accounts the target holds now. */
  readonly accounts: number;
  readonly findings: number;
  readonly byCode: Readonly<Record<DriftCode, number>>;
  readonly expected: ExpectedDifferences;
}

/** An enabled account no identity explains: the plan leaves it alone, a remediation disables it. */
export interface UnexplainedAccount {
  readonly target: string;
  readonly account: string;
  readonly code: 'drift.orphan_account' | 'drift.duplicate_account' | 'drift.unknown_link';
}

export interface DriftReport {
  readonly policy: string;
  readonly asOf: string;
  /** Most severe first (`sortFindings`). */
  readonly findings: readonly Finding[];
  readonly targets: readonly TargetDrift[];
  readonly summary: {
    readonly findings: number;
    readonly bySeverity: Readonly<Record<FindingSeverity, number>>;
    readonly byCode: Readonly<Record<DriftCode, number>>;
  };
  readonly unexplained: readonly UnexplainedAccount[];
}

const WHY: Record<DriftCode, string> = {
  'drift.terminated_enabled':
    'someone who has left can still sign in; this is how former staff keep access after they go',
  'drift.orphan_account':
    'nobody is accountable for an account without an identity, and no leaver process will ever remove it',
  'drift.duplicate_account': "a second account escapes every change made to the first, the leaver's disable included",
  'drift.unknown_link':
    'the account claims an identity Tenure has never imported, so Tenure does not manage it: no joiner, mover or leaver change will ever reach it',
  'drift.unneeded_account': 'access nobody needs now is attack surface, and a finding in every audit',
  'drift.unmanaged_grant': 'access granted by hand outside the role model bypasses approval and review',
  'drift.undeclared_entitlement':
    'Tenure manages only declared entitlements, so nothing will ever review or remove this one',
  'drift.disabled_holds_grants': 'enabling the account again would bring all of this access back at once',
  'drift.deletion_due': "the policy keeps a leaver's account only for a set time; past it, the account serves no one",
  'drift.missing_account': 'the identity cannot do what the policy says it does: a joiner may be stuck',
  'drift.disabled_but_desired': 'the identity cannot sign in to a target the policy says it needs',
  'drift.missing_grant':
    'access the policy grants has not arrived: a change failed, or someone removed it in the target',
  'drift.pending_rename':
    'people and systems that look the account up by its new name (a changed email or login) do not find it, and the old name may be reused by someone else',
  'drift.attribute_mismatch':
    'the target shows something other than the source says (a name, a mail address): people and other systems act on it',
};

const STEPS = 'tenure drift --remediate --out FILE, review it, then tenure apply FILE';

const FIX: Record<DriftCode, string> = {
  'drift.terminated_enabled': `the plan disables the account (or deletes it, when due) and removes its memberships: ${STEPS}`,
  'drift.orphan_account': `find its owner and record the link, or fix the target's account_name rule; meanwhile the remediation disables it: ${STEPS}`,
  'drift.duplicate_account': `merge or remove the duplicate in the target; meanwhile the remediation disables it: ${STEPS}`,
  'drift.unknown_link': `correct the link in the target to the identity it belongs to, or add that identity to a source and import it; to remove the account's access, the remediation disables it: ${STEPS}`,
  'drift.unneeded_account': `the plan disables the account; it is enabled again when a role grants the target: ${STEPS}`,
  'drift.unmanaged_grant': `if it is needed, grant it through a role or an exception (tenure grant add); else the plan removes it: ${STEPS}`,
  'drift.undeclared_entitlement':
    'declare it under entitlements (then roles grant it and the plan manages it), or remove it in the target by hand',
  'drift.disabled_holds_grants': `the plan removes the memberships and leaves the account disabled: ${STEPS}`,
  'drift.deletion_due': `the plan deletes the account: ${STEPS}`,
  'drift.missing_account': `the plan creates the account and adds its memberships: ${STEPS}`,
  'drift.disabled_but_desired': `the plan enables the account: ${STEPS}`,
  'drift.missing_grant': `the plan adds the membership: ${STEPS}`,
  'drift.pending_rename': `the plan renames the account in place, keeping its memberships: ${STEPS}`,
  'drift.attribute_mismatch': `the plan updates the account's attributes (policy targets[].attributes): ${STEPS}`,
};

/**
 * Classifies every difference between what the targets hold and what the policy explains, with
 * the reason, as findings. Pure: the plan, actual state and time are parameters.
 *
 * - An account no identity explains is an orphan (or a duplicate, when its recorded identity
 *   already has an account); enabled, it is a finding whose severity follows the most powerful
 *   entitlement it holds (at least medium); disabled, it gives no access and is only counted.
 * - An enabled account linked to an id Tenure never imported (`imported`) is an unknown link
 *   (medium: a warning, since someone else may own it); the plan never touches it, only a
 *   remediation does. Disabled, it is counted like a disabled orphan.
 * - An enabled account the plan disables or deletes belongs to a leaver (critical) or to an
 *   identity that needs no access now (medium, or the risk of what it holds).
 * - A membership the plan removes from an account the identity keeps is unmanaged (its
 *   entitlement's risk); one the policy does not declare is undeclared (medium): the plan never
 *   touches it.
 * - What the plan creates, enables or adds is missing (medium for an account, low for a grant).
 * - What the plan defers (mover grace) and disabled accounts kept for deletion are expected.
 */
export function computeDrift(input: DriftInput): DriftReport {
  const { loaded, identities, imported, actual, plan, asOf } = input;
  const only = input.targets ? new Set(input.targets) : undefined;
  const entitlements = new Map(loaded.policy.entitlements.map((e) => [e.id, e]));
  const planByTarget = new Map(plan.targets.map((t) => [t.target, t]));
  const actualByTarget = new Map(actual.targets.map((t) => [t.target, t]));
  const { gone, unknown } = recordedLinks(identities, actual, imported);
  // Links do not depend on the order of identities: no need to sort them as the planner does.
  const everyone = [...identities, ...gone.values()];

  const findings: Finding[] = [];
  const targets: TargetDrift[] = [];
  const unexplained: UnexplainedAccount[] = [];
  for (const target of loaded.policy.targets) {
    if (only && !only.has(target.id)) continue;
    const t = target.id;
    const accounts = actualByTarget.get(t)?.accounts ?? [];
    const tp = planByTarget.get(t);
    // The planner already reported naming problems; drift only needs the same links.
    const { links, unlinked } = linkAccounts(t, accounts, everyone, gone, loaded.accountNames.get(t)!, asOf, [], {
      checkNames: false,
      caseInsensitive: input.kinds[target.kind].names === 'case-insensitive',
    });
    const changesOf = groupByIdentity(tp?.changes ?? []);
    const out: Finding[] = [];
    let disabledLeavers = 0;
    let disabledOrphans = 0;
    const f = (
      code: DriftCode,
      severity: FindingSeverity,
      account: string,
      message: string,
      related: string[],
    ): void => {
      out.push({
        code,
        severity,
        subject: `account:${t}/${account}`,
        message,
        why: WHY[code],
        fix: FIX[code],
        related,
      });
    };

    const undeclared = (id: string, account: Account): void => {
      for (const e of account.entitlements) {
        if (entitlements.has(e)) continue;
        f(
          'drift.undeclared_entitlement',
          'medium',
          account.name,
          `${account.name} in ${t} (of ${id}) holds ${e}, which the policy does not declare`,
          [`identity:${id}`, `entitlement:${e}`],
        );
      }
    };

    for (const link of links) {
      const account = link.account;
      const id = link.identity.id;
      const own = changesOf.get(id);
      // Most accounts match the policy: only what the plan never touches is left to look at.
      if (own === undefined) {
        if (!account) continue;
        if (account.enabled) undeclared(id, account);
        else if (link.identity.status === 'terminated') disabledLeavers++;
        continue;
      }
      const who = `identity:${id}`;
      if (!account) {
        const create = own.find((c) => c.action === 'create_account');
        if (create) {
          const adds = own.filter((c) => c.action === 'add_membership').length;
          f(
            'drift.missing_account',
            'medium',
            link.name,
            `${id} has no account ${link.name} in ${t} (${adds} membership(s) due): ${create.reason}`,
            [who],
          );
        }
        continue;
      }
      const has = (action: Change['action']) => own.some((c) => c.action === action);
      const removals = own.filter((c) => c.action === 'remove_membership');
      const disable = own.find((c) => c.action === 'disable_account');
      const remove = own.find((c) => c.action === 'delete_account');
      // A disabled account the plan does not enable is one the identity is not meant to use.
      const kept = !disable && !remove && (account.enabled || has('enable_account'));
      if (!kept) {
        if (account.enabled) {
          const left = leftReason(link.identity, asOf);
          const memberships = removals.length > 0 ? `, with ${removals.length} managed membership(s)` : '';
          if (left)
            f(
              'drift.terminated_enabled',
              'critical',
              account.name,
              `${left}, but account ${account.name} in ${t} is still enabled${memberships}`,
              [who],
            );
          else
            f(
              'drift.unneeded_account',
              atLeast('medium', heldRisk(account, entitlements)),
              account.name,
              `${disable?.reason ?? `${id} needs no access to ${t} now`}, but account ${account.name} in ${t} is still enabled${memberships}`,
              [who],
            );
        } else if (remove)
          f(
            'drift.deletion_due',
            'low',
            account.name,
            `account ${account.name} in ${t} (of ${id}) is disabled and due for deletion: ${remove.reason}`,
            [who],
          );
        else if (removals.length > 0)
          f(
            'drift.disabled_holds_grants',
            'low',
            account.name,
            `account ${account.name} in ${t} (of ${id}) is disabled but still holds ${removals.length} managed membership(s): ${list(removals.map((c) => c.entitlement!))}`,
            [who],
          );
        else if (link.identity.status === 'terminated') disabledLeavers++;
        continue;
      }
      if (has('enable_account')) {
        const enable = own.find((c) => c.action === 'enable_account')!;
        f(
          'drift.disabled_but_desired',
          'medium',
          account.name,
          `account ${account.name} in ${t} is disabled, but ${enable.reason}`,
          [who],
        );
      }
      for (const c of own) {
        if (c.action === 'add_membership')
          f(
            'drift.missing_grant',
            'low',
            account.name,
            `${account.name} in ${t} lacks ${c.entitlement!}, which ${id} should hold: ${c.reason}`,
            [who, `entitlement:${c.entitlement!}`],
          );
        else if (c.action === 'remove_membership')
          f(
            'drift.unmanaged_grant',
            c.risk ?? 'medium',
            account.name,
            `${account.name} in ${t} holds ${c.entitlement!}, which ${id} should not: ${c.reason}`,
            [who, `entitlement:${c.entitlement!}`],
          );
        else if (c.action === 'rename_account')
          f(
            'drift.pending_rename',
            'low',
            account.name,
            `account ${account.name} in ${t} (of ${id}) is still named ${JSON.stringify(account.name)}; the policy names it ${JSON.stringify(c.newName)} now`,
            [who],
          );
        else if (c.action === 'update_account')
          f('drift.attribute_mismatch', 'low', account.name, `${account.name} in ${t}: ${c.reason}`, [who]);
      }
      undeclared(id, account);
    }

    let owners: Map<string, string> | undefined;
    for (const a of unlinked) {
      if (!a.enabled) {
        disabledOrphans++;
        continue;
      }
      // An account recorded for an identity that has another one here: the planner manages the first only.
      const first = a.identity === undefined ? undefined : (owners ??= ownersOf(links)).get(a.identity);
      const holds = a.entitlements.length > 0 ? `; it holds ${list(a.entitlements)}` : '';
      const severity = atLeast('medium', heldRisk(a, entitlements));
      const related = a.entitlements.map((e) => `entitlement:${e}`);
      if (a.identity !== undefined && unknown.has(a.identity)) {
        f(
          'drift.unknown_link',
          'medium',
          a.name,
          `account ${a.name} in ${t} is linked to identity ${a.identity}, which Tenure has never imported; no plan changes it${holds}`,
          related,
        );
        unexplained.push({ target: t, account: a.name, code: 'drift.unknown_link' });
      } else if (first !== undefined) {
        f(
          'drift.duplicate_account',
          severity,
          a.name,
          `account ${a.name} in ${t} is recorded for ${a.identity!}, who already has account ${first} there; only ${first} is managed${holds}`,
          [`identity:${a.identity!}`, ...related],
        );
        unexplained.push({ target: t, account: a.name, code: 'drift.duplicate_account' });
      } else {
        const record =
          a.identity === undefined
            ? 'no identity is recorded for it'
            : `its recorded identity ${a.identity} is not linked`;
        f(
          'drift.orphan_account',
          severity,
          a.name,
          `account ${a.name} in ${t} is enabled and no identity explains it: ${record}, and no identity's account name is "${a.name}"${holds}`,
          related,
        );
        unexplained.push({ target: t, account: a.name, code: 'drift.orphan_account' });
      }
    }

    findings.push(...out);
    targets.push({
      target: t,
      accounts: accounts.length,
      findings: out.length,
      byCode: countCodes(out),
      expected: {
        moverGrace: tp?.deferred ?? 0,
        disabledLeavers,
        disabledOrphans,
      },
    });
  }

  const sorted = sortFindings(findings);
  const bySeverity = Object.fromEntries(FINDING_SEVERITIES.map((s) => [s, 0])) as Record<FindingSeverity, number>;
  for (const x of sorted) bySeverity[x.severity]++;
  return {
    policy: plan.policy,
    asOf: plan.asOf,
    findings: sorted,
    targets,
    summary: { findings: sorted.length, bySeverity, byCode: countCodes(sorted) },
    unexplained,
  };
}

/**
 * The plan that fixes what the policy can fix: the planner's changes for the report's targets,
 * plus a disable of every enabled account no identity explains (orphans, duplicates, and
 * accounts linked to an id Tenure never imported: this is the only plan that touches those). Orphans are disabled, not
 * deleted: a disable is undone in one step once an owner is found, and the account stays as
 * evidence for whoever reviews it. Those disables count against the deprovisioning breaker like
 * any other, and guardrails are recomputed, so the result is held back exactly as a plan is.
 * Undeclared entitlements are left alone: only the policy can make them managed.
 */
export function remediationPlan(
  plan: Plan,
  drift: DriftReport,
  loaded: LoadedPolicy,
  onlyTargets?: readonly string[],
): Plan {
  const included = new Set(drift.targets.map((t) => t.target));
  const targets: TargetPlan[] = plan.targets
    .filter((t) => included.has(t.target))
    .map((t) => {
      const disables: Change[] = drift.unexplained
        .filter((u) => u.target === t.target)
        .map((u) => ({
          target: t.target,
          action: 'disable_account',
          account: u.account,
          reason: REMEDIATION[u.code],
        }));
      if (disables.length === 0) return t;
      const changes = [...t.changes, ...disables];
      // The accounts this plan disables are no longer "left alone".
      return {
        ...t,
        changes,
        counts: countByAction(changes),
        unlinkedAccounts: t.unlinkedAccounts - disables.length,
      };
    });
  const all = targets.flatMap((t) => t.changes);
  const deprovision = targets.map((t) => deprovisionVerdict(t, breakerSettings(loaded, t.target)));
  // A conflict stays when this plan still adds one of its entitlements to that identity.
  const adds = new Set(
    all.filter((c) => c.action === 'add_membership').map((c) => `${c.identity ?? ''}\n${c.entitlement ?? ''}`),
  );
  const sodConflicts = plan.guardrails.sodConflicts.filter((c) =>
    c.entitlements.some((e) => adds.has(`${c.identity}\n${e}`)),
  );
  const { digest: _planDigest, ...rest } = plan;
  return {
    ...rest,
    kind: 'drift-remediation',
    ...(onlyTargets ? { onlyTargets } : {}),
    targets,
    summary: summarise(all),
    guardrails: {
      blocked: deprovision.some((d) => d.blocked) || sodConflicts.length > 0,
      deprovision,
      sodConflicts,
    },
  };
}

const REMEDIATION: Record<UnexplainedAccount['code'], string> = {
  'drift.orphan_account': 'no identity explains this account (drift.orphan_account): disabled until its owner is found',
  'drift.duplicate_account':
    'a second account of an identity that already has one here (drift.duplicate_account): disabled',
  'drift.unknown_link':
    'linked to an identity Tenure has never imported (drift.unknown_link): disabled until the link is corrected',
};

/** Why an identity counts as gone, or undefined while it is still with the organisation. */
function leftReason(identity: Identity, asOf: Date): string | undefined {
  if (identity.source === '') return `${identity.id} is no longer in any source`;
  if (identity.status === 'terminated') return `${identity.id} is terminated`;
  if (identity.endDate !== undefined && identity.endDate.getTime() <= asOf.getTime())
    return `${identity.id}'s end date ${identity.endDate.toISOString().slice(0, 10)} has passed`;
  return undefined;
}

function groupByIdentity(changes: readonly Change[]): Map<string, Change[]> {
  const out = new Map<string, Change[]>();
  for (const c of changes) {
    if (c.identity === undefined) continue;
    const list = out.get(c.identity);
    if (list) list.push(c);
    else out.set(c.identity, [c]);
  }
  return out;
}

function ownersOf(links: readonly AccountLink[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of links) if (l.account) out.set(l.identity.id, l.account.name);
  return out;
}

/** The most powerful declared entitlement an account holds; an undeclared one counts as medium (unknown). */
function heldRisk(a: Account, entitlements: ReadonlyMap<string, Entitlement>): RiskLevel {
  let top: RiskLevel = 'low';
  for (const id of a.entitlements) {
    const r = entitlements.get(id)?.risk ?? 'medium';
    if (riskRank(r) > riskRank(top)) top = r;
  }
  return top;
}

function atLeast(floor: RiskLevel, r: RiskLevel): FindingSeverity {
  return riskRank(r) >= riskRank(floor) ? r : floor;
}

function list(items: readonly string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

function countCodes(findings: readonly Finding[]): Record<DriftCode, number> {
  const counts = Object.fromEntries(DRIFT_CODES.map((c) => [c, 0])) as Record<DriftCode, number>;
  for (const x of findings) counts[x.code as DriftCode]++;
  return counts;
}
