import { EXIT, UserError } from './errors.js';

/** A service clock that starts at a chosen instant: for end-to-end tests of time-driven work only. */
export interface TestClock {
  readonly clock: () => Date;
  readonly start: Date;
  /** Clock seconds per real second. */
  readonly rate: number;
}

const MAX_RATE = 86_400;

/**
 * `TENURE_TEST_CLOCK=2026-11-01T05:59:58Z` starts the service's clock at that instant, from where
 * it advances in real time, or `TENURE_TEST_CLOCK_RATE` times faster, so a test can watch a
 * scheduled job fire. Read from the environment of the process only, never from a request.
 * Undefined when unset; a malformed value is refused rather than ignored.
 */
export function testClockFrom(env: NodeJS.ProcessEnv, realNow: () => number = Date.now): TestClock | undefined {
  const text = env.TENURE_TEST_CLOCK?.trim();
  const rateText = env.TENURE_TEST_CLOCK_RATE?.trim();
  if (!text) {
    if (rateText) throw usage('TENURE_TEST_CLOCK_RATE is set without TENURE_TEST_CLOCK');
    return undefined;
  }
  // A full instant with its offset: a local time would mean something else on each machine.
  const start = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
    ? new Date(text)
    : undefined;
  if (!start || Number.isNaN(start.getTime()))
    throw usage(`TENURE_TEST_CLOCK=${text} is not an instant such as 2026-11-01T05:59:58Z`);
  const rate = rateText ? Number(rateText) : 1;
  if (!Number.isFinite(rate) || rate <= 0 || rate > MAX_RATE)
    throw usage(
      `TENURE_TEST_CLOCK_RATE=${rateText} is not a number of clock seconds per second, above 0 and at most ${MAX_RATE}`,
    );
  const origin = realNow();
  return { start, rate, clock: () => new Date(start.getTime() + (realNow() - origin) * rate) };
}

function usage(message: string): UserError {
  return new UserError(message, EXIT.usage, [], 'unset it outside tests: the service then runs on the real time');
}
