import { CHANGE_ACTIONS, type Change, type ChangeAction, type Plan } from '../src/model/plan.js';

/** A plan of one target's changes as `tenure plan` would save it, for the benchmarks that drive the executor. */
export function benchPlan(target: string, changes: Change[]): Plan {
  const counts = Object.fromEntries(
    CHANGE_ACTIONS.map((a) => [a, changes.filter((c) => c.action === a).length]),
  ) as Record<ChangeAction, number>;
  return {
    formatVersion: 1,
    kind: 'plan',
    policy: 'bench',
    asOf: '2026-11-01T00:00:00.000Z',
    targets: [
      {
        target,
        changes,
        counts,
        accountsBefore: 0,
        unlinkedAccounts: 0,
        deferred: 0,
        deferredChanges: [],
        adopted: [],
      },
    ],
    summary: {
      changes: changes.length,
      identitiesAffected: new Set(changes.map((c) => c.identity)).size,
      byAction: counts,
      highRiskGrants: 0,
    },
    guardrails: { blocked: false, deprovision: [], sodConflicts: [] },
  };
}
