import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DEFAULT_RATE_LIMIT, parseRateLimit, TokenBuckets } from './rate-limit.js';

describe('per-token rate limit', () => {
  it('allows a burst, then refuses with the seconds until the next request', () => {
    let now = 0;
    const b = new TokenBuckets({ perSecond: 0.5, burst: 3 }, () => now);
    for (let i = 0; i < 3; i++) assert.deepEqual(b.take('t1'), { allowed: true });
    assert.deepEqual(b.take('t1'), { allowed: false, retryAfterSeconds: 2 });
    // Another token has its own bucket.
    assert.deepEqual(b.take('t2'), { allowed: true });
    now += 2000;
    assert.deepEqual(b.take('t1'), { allowed: true });
    assert.equal(b.take('t1').allowed, false);
  });

  it('refills no further than the burst', () => {
    let now = 0;
    const b = new TokenBuckets({ perSecond: 10, burst: 2 }, () => now);
    now += 60_000;
    assert.equal(b.take('t').allowed, true);
    assert.equal(b.take('t').allowed, true);
    assert.equal(b.take('t').allowed, false);
  });

  it('reads TENURE_API_RATE_LIMIT', () => {
    assert.deepEqual(parseRateLimit(undefined), DEFAULT_RATE_LIMIT);
    assert.deepEqual(parseRateLimit('5/7'), { perSecond: 5, burst: 7 });
    assert.deepEqual(parseRateLimit('5'), { perSecond: 5, burst: 10 });
    assert.equal(parseRateLimit('off'), undefined);
    for (const bad of ['0/5', '5/0', 'fast', '-1', '5/x'])
      assert.throws(() => parseRateLimit(bad), /TENURE_API_RATE_LIMIT takes/);
  });
});
