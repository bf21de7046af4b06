import { EXIT, UserError } from '../app/errors.js';

/** Requests per second a token may sustain, and how many it may send at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Generous: a script pushing records one by one stays well under it; a runaway loop does not. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 100 };

/**
 * TENURE_API_RATE_LIMIT: `RATE/BURST` (`50/100`), `RATE` (burst twice the rate), or `off`. A bad
 * value stops the service at start, before it listens.
 */
export function parseRateLimit(text: string | undefined): RateLimit | undefined {
  if (text === undefined || text.trim() === '') return DEFAULT_RATE_LIMIT;
  const t = text.trim();
  if (t === 'off') return undefined;
  const m = /^(\d{1,6}(?:\.\d{1,3})?)(?:\/(\d{1,7}))?$/.exec(t);
  const perSecond = m ? Number(m[1]) : NaN;
  const burst = m?.[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(perSecond * 2));
  if (!m || perSecond <= 0 || burst < 1)
    throw new UserError(
      `TENURE_API_RATE_LIMIT takes RATE/BURST (requests per second per token, and how many at once), RATE, or off; not "${text}"`,
      EXIT.usage,
      [],
      `unset it for the default of ${DEFAULT_RATE_LIMIT.perSecond}/${DEFAULT_RATE_LIMIT.burst}`,
    );
  return { perSecond, burst };
}

/**
 * A token bucket per key (an API token's id), in memory: each instance limits what it serves. A
 * bucket holds up to `burst` requests and refills at `perSecond`; a full bucket is forgotten.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    /** Milliseconds from a monotonic clock. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one request from `key`'s bucket: allowed, or refused with the whole seconds until one is. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.forgetFull(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.limit.perSecond)) };
  }

  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets)
      if (b.tokens + ((now - b.at) / 1000) * this.limit.perSecond >= this.limit.burst) this.buckets.delete(key);
  }
}
