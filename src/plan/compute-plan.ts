import type { Account, ActualState } from '../model/actual-state.js';
import type { Checked, Diagnostic } from '../model/diagnostic.js';
import { riskRank, type Entitlement } from '../model/entitlement.js';
import type { DesiredState, Grant, IdentityAccess } from '../model/grant.js';
import type { Identity } from '../model/identity.js';
import { CHANGE_ACTIONS, type Change, type ChangeAction, type Plan, type TargetPlan } from '../model/plan.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { toCelIdentity } from '../policy/rule-environment.js';
import { explainGrant } from './explain.js';

export interface PlanInput {
  readonly loaded: LoadedPolicy;
  readonly identities: readonly Identity[];
  readonly desired: DesiredState;
  readonly actual: ActualState;
  readonly asOf: Date;
}

const ORDER: Record<ChangeAction, number> = {
  create_account: 0,
  enable_account: 1,
  add_membership: 2,
  remove_membership: 3,
  disable_account: 4,
};

/**
 * The difference between desired and actual state, per target, as immutable data with a reason
 * on every change. Tenure manages only the entitlements the policy declares: memberships it does
 * not know are left alone here and reported by drift.
 */
export function computePlan(input: PlanInput): Checked<Plan> {
  const { loaded, identities, desired, actual, asOf } = input;
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
  const sortedIdentities = [...identities].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const targets: TargetPlan[] = [];
  for (const target of loaded.policy.targets) {
    const accounts = actualByTarget.get(target.id)?.accounts ?? [];
    const naming = loaded.accountNames.get(target.id)!;
    // Link accounts to identities: by the recorded identity first, else by account name.
    const byIdentity = new Map<string, Account>();
    const byName = new Map<string, Account>();
    for (const a of accounts) {
      if (a.identity !== undefined) {
        if (byIdentity.has(a.identity)) {
          diagnostics.push({
            severity: 'warning',
            code: 'plan.duplicate_link',
            message: `target "${target.id}" has two accounts linked to identity ${a.identity} (${byIdentity.get(a.identity)!.name}, ${a.name}); the first is managed`,
            subject: a.identity,
          });
          continue;
        }
        byIdentity.set(a.identity, a);
      } else byName.set(a.name, a);
    }
    const linked = new Set<Account>();
    const changes: Change[] = [];
    const prefix = `${target.id}:`;
    for (const identity of sortedIdentities) {
      let name: string;
      try {
        name = String(naming.value(toCelIdentity(identity), asOf));
      } catch (e) {
        diagnostics.push({
          severity: 'error',
          code: 'plan.account_name',
          message: `account name for ${identity.id} in target "${target.id}" could not be computed: ${(e as Error).message.split('\n')[0]}`,
          subject: identity.id,
        });
        continue;
      }
      const account = byIdentity.get(identity.id) ?? byName.get(name);
      if (account) linked.add(account);
      const access = accessById.get(identity.id);
      const wanted = new Map<string, Grant>();
      for (const g of access?.grants ?? []) if (g.entitlement.startsWith(prefix)) wanted.set(g.entitlement, g);
      const own: Change[] = [];
      const change = (action: ChangeAction, reason: string, entitlement?: Entitlement): void => {
        own.push({
          target: target.id,
          action,
          identity: identity.id,
          account: account?.name ?? name,
          ...(entitlement ? { entitlement: entitlement.id, risk: entitlement.risk } : {}),
          reason,
        });
      };
      if (wanted.size > 0) {
        const first = wanted.values().next().value!;
        if (!account)
          change('create_account', `${identity.id} needs access to ${target.id}: ${explainGrant(access!, first)}`);
        else if (!account.enabled)
          change(
            'enable_account',
            `${identity.id} is active and needs access to ${target.id} again: ${explainGrant(access!, first)}`,
          );
        const held = new Set(account?.entitlements ?? []);
        for (const [id, g] of wanted) {
          const e = entitlements.get(id)!;
          if (e.address.kind === 'account' || held.has(id)) continue;
          change('add_membership', explainGrant(access!, g), e);
        }
        for (const id of account?.entitlements ?? []) {
          const e = entitlements.get(id);
          if (!e || wanted.has(id) || e.address.kind === 'account') continue;
          change('remove_membership', `no role grants ${id} to ${identity.id}`, e);
        }
      } else if (account) {
        const why = leaveReason(identity, target.id);
        for (const id of account.entitlements) {
          const e = entitlements.get(id);
          if (!e || e.address.kind === 'account') continue;
          change('remove_membership', why, e);
        }
        if (account.enabled) change('disable_account', why);
      }
      own.sort((a, b) => ORDER[a.action] - ORDER[b.action] || ((a.entitlement ?? '') < (b.entitlement ?? '') ? -1 : 1));
      changes.push(...own);
    }
    targets.push({
      target: target.id,
      changes,
      counts: countByAction(changes),
      accountsBefore: accounts.length,
      unlinkedAccounts: accounts.filter((a) => !linked.has(a)).length,
    });
  }

  const all = targets.flatMap((t) => t.changes);
  const plan: Plan = {
    formatVersion: 1,
    policy: loaded.policy.name,
    asOf: asOf.toISOString(),
    targets,
    summary: {
      changes: all.length,
      identitiesAffected: new Set(all.map((c) => c.identity).filter((x) => x !== undefined)).size,
      byAction: countByAction(all),
      highRiskGrants: all.filter(
        (c) => c.action === 'add_membership' && c.risk !== undefined && riskRank(c.risk) >= riskRank('high'),
      ).length,
    },
  };
  return { result: plan, diagnostics };
}

function leaveReason(identity: Identity, target: string): string {
  if (identity.status === 'terminated') return `${identity.id} is terminated`;
  if (identity.status === 'leave') return `${identity.id} is on leave`;
  if (identity.status === 'pre_hire') return `${identity.id} has not started yet`;
  return `no role grants ${identity.id} access to ${target} any more`;
}

function countByAction(changes: readonly Change[]): Record<ChangeAction, number> {
  const counts = Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, 0])) as Record<ChangeAction, number>;
  for (const c of changes) counts[c.action]++;
  return counts;
}
