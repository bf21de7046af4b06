import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { UserError } from './errors.js';
import { testClockFrom } from './test-clock.js';

describe('testClockFrom', () => {
  it('is absent when the variable is unset', () => {
    assert.equal(testClockFrom({}), undefined);
  });

  it('starts at the instant and advances with the real time, times the rate', () => {
    let real = 1_000_000;
    const c = testClockFrom({ TENURE_TEST_CLOCK: '2026-11-01T05:59:58Z', TENURE_TEST_CLOCK_RATE: '60' }, () => real);
    assert.ok(c);
    assert.equal(c.clock().toISOString(), '2026-11-01T05:59:58.000Z');
    real += 2_500;
    assert.equal(c.clock().toISOString(), '2026-11-01T06:02:28.000Z');
  });

  it('advances in real time without a rate, and reads an offset', () => {
    let real = 0;
    const c = testClockFrom({ TENURE_TEST_CLOCK: '2026-11-01T06:59:58+01:00' }, () => real);
    real += 1_000;
    assert.equal(c?.clock().toISOString(), '2026-11-01T05:59:59.000Z');
    assert.equal(c?.rate, 1);
  });

  for (const [name, env] of [
    ['a local time without an offset', { TENURE_TEST_CLOCK: '2026-11-01T05:59:58' }],
    ['a date alone', { TENURE_TEST_CLOCK: '2026-11-01' }],
    ['no date at all', { TENURE_TEST_CLOCK: 'tomorrow' }],
    ['an impossible date', { TENURE_TEST_CLOCK: '2026-13-01T00:00:00Z' }],
    ['a rate of zero', { TENURE_TEST_CLOCK: '2026-11-01T05:59:58Z', TENURE_TEST_CLOCK_RATE: '0' }],
    ['a rate that is not a number', { TENURE_TEST_CLOCK: '2026-11-01T05:59:58Z', TENURE_TEST_CLOCK_RATE: 'fast' }],
    ['a rate without a clock', { TENURE_TEST_CLOCK_RATE: '60' }],
  ] as const)
    it(`refuses ${name}`, () => {
      assert.throws(
        () => testClockFrom(env),
        (e) => e instanceof UserError && e.exitCode === 2 && /TENURE_TEST_CLOCK/.test(e.message),
      );
    });
});
