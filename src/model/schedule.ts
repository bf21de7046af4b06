import type { SourcePosition } from './diagnostic.js';

/** What the service's scheduler can run: a full reconciliation, or a drift check. */
export const JOB_NAMES = ['reconcile', 'drift'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** One `schedule:` entry of the policy: a job and when it runs. */
export interface ScheduledJob {
  readonly job: JobName;
  /** A five-field cron expression (minute hour day-of-month month day-of-week). */
  readonly cron: string;
  /** An IANA time zone the expression is read in; UTC when absent. */
  readonly timezone?: string;
  readonly position?: SourcePosition;
}
