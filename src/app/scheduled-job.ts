import type { OperationResult } from '../executor/execute-plan.js';
import type { JobName } from '../model/schedule.js';
import { applyPlan } from './apply.js';
import { driftNow } from './drift.js';
import { UserError } from './errors.js';
import { importSources } from './import.js';
import type { Workspace } from './workspace.js';

/**
 * How a scheduled run ended: `ok`; `held` by a guardrail (a person must approve, as on the
 * command line); `busy` (another apply held a target, or the store was locked: the next run
 * tries again); `failed`; `aborted` by the service stopping (operations in flight journalled).
 */
export const RUN_OUTCOMES = ['ok', 'held', 'busy', 'failed', 'aborted'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export interface JobRun {
  readonly outcome: RunOutcome;
  /** What the run did, for its log line: events recorded, changes planned, operations done ... */
  readonly counts: Readonly<Record<string, number>>;
  /** Why it was held, busy or failed, in words. */
  readonly reason?: string;
}

/**
 * One run of a scheduled job, in a workspace evaluated at the run's time: `reconcile` imports
 * every source then plans and applies everything (so start dates, end dates, mover grace,
 * expiring exceptions and the rest take effect at that time); `drift` reads every target and
 * reports what the policy does not explain. Refusals are outcomes; other errors are thrown.
 */
export async function runScheduledJob(
  ws: Workspace,
  job: JobName,
  signal: AbortSignal,
  /** Each operation as it ends, for the service's log. */
  onOperation?: (target: string, operation: OperationResult) => void,
): Promise<JobRun> {
  try {
    return job === 'reconcile' ? await reconcile(ws, signal, onOperation) : await drift(ws);
  } catch (e) {
    if (!(e instanceof UserError) || e.code === undefined || e.code === 'not_found') throw e;
    return {
      outcome: e.code === 'guardrail.held' ? 'held' : e.code.endsWith('.busy') ? 'busy' : 'failed',
      counts: {},
      reason: e.message,
    };
  }
}

async function reconcile(
  ws: Workspace,
  signal: AbortSignal,
  onOperation?: (target: string, operation: OperationResult) => void,
): Promise<JobRun> {
  const imported = await importSources(ws, {});
  const stopped = imported.outcomes.filter((o) => o.outcome === 'stopped');
  const events = imported.outcomes.reduce((n, o) => n + o.events.length, 0);
  if (signal.aborted) return { outcome: 'aborted', counts: { events } };
  const applied = await applyPlan(ws, {
    signal,
    ...(onOperation ? { onEvent: (e) => (e.type === 'done' ? onOperation(e.target, e.operation) : undefined) } : {}),
  });
  const ops = applied.result?.operations ?? [];
  const counts = {
    events,
    changes: applied.plan.summary.changes,
    succeeded: ops.filter((o) => o.state === 'succeeded').length,
    failed: ops.filter((o) => o.state === 'failed' || o.state === 'dead').length,
  };
  if (applied.result?.interrupted) return { outcome: 'aborted', counts };
  // A source held back by the mass-leaver breaker keeps its stored snapshot; the rest was applied.
  if (stopped.length > 0)
    return {
      outcome: 'held',
      counts,
      reason: stopped.map((s) => `source ${s.source}: ${s.reason ?? 'held by the mass-leaver breaker'}`).join('; '),
    };
  return counts.failed > 0
    ? { outcome: 'failed', counts, reason: `${counts.failed} operation(s) failed` }
    : { outcome: 'ok', counts };
}

async function drift(ws: Workspace): Promise<JobRun> {
  const { report } = await driftNow(ws);
  const counts: Record<string, number> = { findings: report.summary.findings };
  for (const [severity, n] of Object.entries(report.summary.bySeverity)) counts[severity] = n;
  return { outcome: 'ok', counts };
}
