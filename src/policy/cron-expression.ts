import { Cron } from 'croner';

/**
 * Cron expressions through croner (no dependencies, maintained, time zones through Intl): five
 * fields only, so `0 6 * * *` means what crontab(5) says, and day-of-month with day-of-week
 * matches either, as in Vixie cron. Pure: the times are parameters, nothing is started.
 */
const compiled = new Map<string, Cron>();

function compile(expression: string, timezone: string | undefined): Cron {
  const key = `${timezone ?? 'UTC'} ${expression}`;
  let cron = compiled.get(key);
  if (!cron) {
    cron = new Cron(expression, { timezone: timezone ?? 'UTC', mode: '5-part', paused: true });
    compiled.set(key, cron);
  }
  return cron;
}

/** Why an expression (read in `timezone`) cannot be used, in words; undefined when it can. */
export function cronProblem(expression: string, timezone?: string): string | undefined {
  if (timezone !== undefined && !knownTimeZone(timezone)) return `unknown time zone "${timezone}"`;
  try {
    const next = compile(expression, timezone).nextRun(new Date(0));
    return next ? undefined : 'it never fires';
  } catch (e) {
    return (e as Error).message.replace(/^CronPattern: /, '');
  }
}

/** The first firing strictly after `after`, or undefined when there is none. */
export function nextFiring(expression: string, timezone: string | undefined, after: Date): Date | undefined {
  return compile(expression, timezone).nextRun(after) ?? undefined;
}

function knownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
