import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Identity } from '../model/identity.js';
import type { EventKind, LifecycleEvent } from '../model/lifecycle.js';
import { EVENT_KINDS } from '../model/lifecycle.js';
import type { BreakerSettings } from '../model/policy.js';
import { diffSnapshot } from './diff-snapshot.js';
import { countsAsLeaver, massLeaverVerdict } from './mass-leaver-breaker.js';

const settings: BreakerSettings = { maxPercent: 10, minCount: 10, maxCount: 500 };

describe('massLeaverVerdict', () => {
  const cases: readonly { leavers: number; population: number; tripped: boolean; why: string }[] = [
    { leavers: 0, population: 20, tripped: false, why: 'nobody leaves' },
    { leavers: 9, population: 20, tripped: false, why: '45% but fewer than minCount 10' },
    { leavers: 10, population: 20, tripped: true, why: 'at minCount and 50% > 10%' },
    { leavers: 10, population: 50, tripped: true, why: 'at minCount and 20% > 10%' },
    { leavers: 10, population: 100, tripped: false, why: 'exactly 10% is not more than 10%' },
    { leavers: 11, population: 100, tripped: true, why: 'one above 10%' },
    { leavers: 100, population: 1000, tripped: false, why: 'exactly at the percent' },
    { leavers: 101, population: 1000, tripped: true, why: 'one above the percent' },
    { leavers: 500, population: 1_000_000, tripped: false, why: 'exactly maxCount, 0.05%' },
    { leavers: 501, population: 1_000_000, tripped: true, why: 'maxCount + 1 of a huge population' },
    { leavers: 9, population: 0, tripped: false, why: 'below minCount with no population' },
    { leavers: 10, population: 0, tripped: true, why: 'minCount with no population' },
  ];
  for (const c of cases) {
    it(`${c.leavers} of ${c.population}: ${c.tripped ? 'tripped' : 'not tripped'} (${c.why})`, () => {
      assert.equal(massLeaverVerdict(c.leavers, c.population, settings).tripped, c.tripped);
    });
  }

  it('explains a tripped verdict in a sentence', () => {
    assert.equal(
      massLeaverVerdict(1204, 5000, settings).reason,
      '1,204 of 5,000 identities (24%) would leave at once; the limit is 10% (at least 10, never more than 500). ' +
        'A truncated or empty HR file looks like this.',
    );
  });

  it('says when maxCount is what tripped it', () => {
    const v = massLeaverVerdict(501, 1_000_000, settings);
    assert.match(
      v.reason,
      /^501 of 1,000,000 identities \(0\.05%\) would leave at once; more than 500 is never allowed/,
    );
  });

  it('shows a share that rounds onto the limit precisely', () => {
    assert.match(massLeaverVerdict(1004, 10_000, settings).reason, /\(10\.04%\)/);
  });

  it('explains why it did not trip', () => {
    assert.match(massLeaverVerdict(9, 20, settings).reason, /^9 of 20 identities \(45%\) would leave; fewer than 10/);
    assert.match(massLeaverVerdict(10, 100, settings).reason, /within the limit of 10%/);
  });
});

describe('countsAsLeaver', () => {
  for (const kind of EVENT_KINDS) {
    const expected = kind === 'leaver' || kind === 'end_date_reached';
    it(`${kind}: ${expected}`, () => {
      const e: LifecycleEvent = {
        kind: kind satisfies EventKind,
        identity: 'E1',
        source: 'hr',
        at: new Date(0),
        changes: [],
        grantsAdded: [],
        grantsRemoved: [],
        summary: '',
      };
      assert.equal(countsAsLeaver(e), expected);
    });
  }
});

describe('an empty HR file', () => {
  it('makes 1,000 leavers and trips the breaker', () => {
    const previous: Identity[] = Array.from({ length: 1000 }, (_, n) => ({
      id: `E${String(n).padStart(4, '0')}`,
      kind: 'employee',
      status: 'active',
      attributes: { department: 'Sales' },
      source: 'hr',
    }));
    const events = diffSnapshot({
      source: 'hr',
      previous,
      previousAsOf: new Date('2026-03-01T00:00:00Z'),
      current: [],
      asOf: new Date('2026-03-02T00:00:00Z'),
      preHireDays: 0,
      grantsOf: () => ['directory:account'],
      lookup: () => undefined,
      nonHuman: { ownerRequired: true, onOwnerLeaving: { reassignTo: 'manager', confirmDays: 14 } },
      expiryWarningDays: 14,
    });
    const leavers = events.filter(countsAsLeaver).length;
    assert.equal(leavers, 1000);
    assert.equal(events.length, 1000);
    const v = massLeaverVerdict(leavers, previous.length, settings);
    assert.equal(v.tripped, true);
    assert.match(v.reason, /^1,000 of 1,000 identities \(100%\) would leave at once/);
  });
});
