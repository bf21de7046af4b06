import type { JobName, ScheduledJob } from '../model/schedule.js';
import { nextFiring } from '../policy/cron-expression.js';

/** A job due in an interval, and the first moment of it at which it fired. */
export interface DueJob {
  readonly job: JobName;
  readonly at: Date;
}

/**
 * The jobs due between two instants: those that fire after `from` and at or before `to`. A job
 * that fired several times in the interval (the process was stopped, the clock jumped) is due
 * once: a reconciliation converges whenever it runs, so catching up one by one would only repeat
 * it. Pure: the times are parameters; `to` not after `from` (a clock set back) is no job at all.
 */
export function dueJobs(jobs: readonly ScheduledJob[], from: Date, to: Date): DueJob[] {
  if (to.getTime() <= from.getTime()) return [];
  const due: DueJob[] = [];
  for (const j of jobs) {
    const at = nextFiring(j.cron, j.timezone, from);
    if (at && at.getTime() <= to.getTime()) due.push({ job: j.job, at });
  }
  return due.sort((a, b) => a.at.getTime() - b.at.getTime());
}
