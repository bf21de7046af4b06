import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { dueJobs } from '../app/due-jobs.js';
import { runScheduledJob, type JobRun } from '../app/scheduled-job.js';
import type { ServiceContext } from '../app/service.js';
import type { Actor } from '../app/workspace.js';
import { UserError } from '../app/errors.js';
import { StoreError } from '../store/state-store.js';
import { formatPosition } from '../model/diagnostic.js';
import type { JobName, ScheduledJob } from '../model/schedule.js';
import { nextFiring } from '../policy/cron-expression.js';

/** A job's lease while it runs (several instances on PostgreSQL), renewed well within its life. */
const JOB_LEASE_TTL_MS = 5 * 60_000;
const JOB_LEASE_RENEW_MS = 60_000;
const LEASE_RETRY_MS = 100;
const LEASE_TRIES = 300;

/** Who scheduled runs act as: audit records of their changes say so. */
export const SCHEDULER_ACTOR: Actor = { id: 'scheduler', source: 'scheduler' };

export interface SchedulerOptions {
  readonly service: ServiceContext;
  /** The server's registry: runs are counted beside the API's requests. */
  readonly registry: Registry;
  readonly log: FastifyBaseLogger;
  /** Each operation of a run as it ends, for the server's metrics. */
  readonly onOperation?: (target: string, result: string) => void;
  /** How often (real milliseconds) the clock is looked at for due jobs. */
  readonly tickMs?: number;
}

export interface Scheduler {
  /** Starts no more runs, aborts those in flight (their operations finish and are journalled) and waits for them. */
  stop(): Promise<void>;
}

interface InFlight {
  readonly started: Date;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * The service's scheduler: looks at the service clock every tick, starts each job of the policy's
 * `schedule:` that fell due since the last look, and never runs one job twice at once (a job due
 * while its previous run goes on is skipped, logged and counted). Each run has its own workspace
 * at the run's time, acting as `scheduler`; a failed run is logged and the next one happens.
 */
export function startScheduler(o: SchedulerOptions): Scheduler {
  const runs = new Counter({
    name: 'tenure_scheduled_runs_total',
    help: 'Scheduled job runs, by job and outcome (ok, held, busy, failed, aborted, skipped)',
    labelNames: ['job', 'outcome'] as const,
    registers: [o.registry],
  });
  const duration = new Histogram({
    name: 'tenure_scheduled_run_duration_seconds',
    help: 'Time a scheduled job run took, by job',
    labelNames: ['job'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [o.registry],
  });
  const log = o.log.child({ component: 'scheduler' });
  const inFlight = new Map<JobName, InFlight>();
  let last = o.service.clock();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const jobs = () => o.service.workspace(SCHEDULER_ACTOR).policy().loaded.policy.schedule ?? [];

  const start = (entry: ScheduledJob, due: Date): void => {
    const job = entry.job;
    const running = inFlight.get(job);
    if (running) {
      runs.inc({ job, outcome: 'skipped' });
      log.warn(
        { job, due: due.toISOString(), runningSince: running.started.toISOString() },
        `scheduled ${job} skipped: the run started ${running.started.toISOString()} is still going`,
      );
      return;
    }
    const controller = new AbortController();
    const ws = o.service.workspace(SCHEDULER_ACTOR);
    const started = ws.asOf;
    const t0 = performance.now();
    const done = (async () => {
      const lease = await claimJob(o.service, entry, due, log);
      if (!lease) {
        runs.inc({ job, outcome: 'skipped' });
        return;
      }
      if (controller.signal.aborted) {
        // Stopped while the lease was being taken: nothing started, nothing to count.
        await lease.done();
        return;
      }
      log.info({ job, due: due.toISOString(), started: started.toISOString() }, `scheduled ${job} started`);
      let run: JobRun;
      try {
        // Instances that serve different policies apply nothing until they agree, like the API's applies.
        await o.service.agreePolicy(ws);
        run = await runScheduledJob(ws, job, controller.signal, (target, op) => {
          o.onOperation?.(target, op.state);
          log.debug({ job, target, state: op.state, attempts: op.attempts }, op.sentence);
        });
      } catch (e) {
        if (e instanceof UserError && e.code === 'policy.mismatch')
          run = { outcome: 'busy', counts: {}, reason: e.message };
        else {
          run = { outcome: 'failed', counts: {}, reason: problemOf(e) };
          log.error({ job, err: e }, `scheduled ${job} failed`);
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      runs.inc({ job, outcome: run.outcome });
      duration.observe({ job }, seconds);
      const line = {
        job,
        started: started.toISOString(),
        durationMs: Math.round(seconds * 1000),
        outcome: run.outcome,
        counts: run.counts,
        ...(run.reason !== undefined ? { reason: run.reason } : {}),
      };
      if (run.outcome === 'ok' || run.outcome === 'aborted')
        log.info(line, `scheduled ${job} finished: ${run.outcome}`);
      else log.warn(line, `scheduled ${job} finished: ${run.outcome}`);
      await lease.done();
    })().finally(() => inFlight.delete(job));
    inFlight.set(job, { started, controller, done });
  };

  const tick = (): void => {
    if (stopped) return;
    const now = o.service.clock();
    try {
      const all = jobs();
      for (const d of dueJobs(all, last, now))
        start(
          all.find((j) => j.job === d.job)!,
          d.at,
        );
    } catch (e) {
      log.error({ err: e }, 'the scheduler could not read its jobs');
    }
    // A clock set back is not a reason to run everything again: the next look starts from here.
    last = now;
    timer = setTimeout(tick, o.tickMs ?? 1000);
    timer.unref();
  };
  const count = jobs().length;
  log.info(
    { jobs: jobs().map((j) => ({ job: j.job, cron: j.cron, timezone: j.timezone ?? 'UTC' })) },
    count > 0
      ? `scheduler started with ${count} job(s)`
      : 'scheduler started with no jobs (no schedule: in the policy)',
  );
  timer = setTimeout(tick, o.tickMs ?? 1000);
  timer.unref();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      const running = [...inFlight.entries()];
      for (const [job, r] of running) {
        log.info({ job, started: r.started.toISOString() }, `stopping: aborting scheduled ${job}`);
        r.controller.abort();
      }
      await Promise.all(running.map(([, r]) => r.done));
    },
  };
}

/** An error in words for the run's log line: a UserError with the diagnostics it carries. */
function problemOf(e: unknown): string {
  if (!(e instanceof UserError)) return (e as Error).message;
  const shown = e.diagnostics
    .slice(0, 5)
    .map((d) => `${d.position ? `${formatPosition(d.position)}: ` : ''}${d.message}`);
  return [e.message, ...shown].join('; ');
}

/**
 * With several instances on one PostgreSQL store, each runs the schedule, and a job's lease
 * (`schedule:reconcile`) makes one of them run each firing: held while the run goes on, then kept
 * until the job's next firing, so an instance that looks a little later does not run it again.
 * On SQLite one instance serves the store (the `serve` lease): nothing to share.
 */
async function claimJob(
  service: ServiceContext,
  entry: ScheduledJob,
  due: Date,
  log: FastifyBaseLogger,
): Promise<{ done(): Promise<void> } | undefined> {
  if (service.store.dialect === 'sqlite') return { done: () => Promise.resolve() };
  const name = `schedule:${entry.job}`;
  const host = hostname();
  const clock = service.clock;
  let fence: number | undefined;
  // The store's write lock is shared with the other instance's runs: tried again between their
  // transactions, for a while, before this firing is given up.
  for (let tries = 0; fence === undefined; tries++) {
    try {
      const outcome = await service.store.acquireLease(
        {
          name,
          holder: `tenure serve scheduler on ${host}, pid ${process.pid}`,
          host,
          pid: process.pid,
          ttlMs: JOB_LEASE_TTL_MS,
          now: clock(),
        },
        () => false,
      );
      if (!outcome.acquired) {
        log.info(
          { job: entry.job, due: due.toISOString(), holder: outcome.current.holder },
          `scheduled ${entry.job} skipped: another instance runs it`,
        );
        return undefined;
      }
      fence = outcome.lease.fence;
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 'busy') || tries >= LEASE_TRIES) {
        log.warn({ job: entry.job, err: e }, `scheduled ${entry.job} skipped: its lease could not be taken`);
        return undefined;
      }
      await new Promise((r) => setTimeout(r, LEASE_RETRY_MS));
    }
  }
  const held = fence;
  const renew = setInterval(() => {
    service.store.renewLease(name, held, new Date(clock().getTime() + JOB_LEASE_TTL_MS)).catch(() => undefined);
  }, JOB_LEASE_RENEW_MS);
  renew.unref();
  return {
    done: async () => {
      clearInterval(renew);
      // Kept until the next firing (already past when the run outlasted it: then free at once).
      const next = nextFiring(entry.cron, entry.timezone, due) ?? clock();
      await service.store.renewLease(name, held, next).catch(() => undefined);
    },
  };
}
