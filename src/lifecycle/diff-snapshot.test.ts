import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Identity } from '../model/identity.js';
import type { EventKind, LifecycleEvent } from '../model/lifecycle.js';
import { EVENT_KINDS } from '../model/lifecycle.js';
import { diffSnapshot, type SnapshotDiffInput } from './diff-snapshot.js';

const DAY = 86_400_000;
const T0 = new Date('2026-03-01T00:00:00Z');
const T1 = new Date('2026-03-02T00:00:00Z');
const days = (base: Date, n: number): Date => new Date(base.getTime() + n * DAY);

function person(id: string, over: Partial<Identity> = {}): Identity {
  return { id, kind: 'employee', status: 'active', attributes: { department: 'Sales' }, source: 'hr', ...over };
}

function nhi(id: string, over: Partial<Identity> = {}): Identity {
  return { id, kind: 'service_account', status: 'active', attributes: {}, owner: 'E0099', source: 'hr', ...over };
}

/** Grants from attributes only (status-blind on purpose: the lifecycle must not rely on the engine for leavers). */
function grantsOf(i: Identity): string[] {
  const g = ['directory:account'];
  const dept = i.attributes['department'];
  if (typeof dept === 'string') g.push(`directory:group/${dept.toLowerCase()}`);
  if (i.attributes['title'] === 'Manager') g.push('directory:group/managers');
  if (i.kind === 'contractor') g.push('directory:group/contractors');
  return g.reverse(); // unsorted on purpose
}

const owner = person('E0099');

function run(previous: readonly Identity[], current: readonly Identity[], over: Partial<SnapshotDiffInput> = {}) {
  const known = new Map([owner, ...current].map((i) => [i.id, i]));
  return diffSnapshot({
    source: 'hr',
    previous,
    previousAsOf: previous.length > 0 ? T0 : undefined,
    current,
    asOf: T1,
    preHireDays: 0,
    grantsOf,
    lookup: (id) => known.get(id),
    nonHuman: {
      ownerRequired: true,
      maxCredentialAgeDays: 90,
      onOwnerLeaving: { reassignTo: 'manager', confirmDays: 14 },
    },
    expiryWarningDays: 14,
    ...over,
  });
}

const brief = (events: readonly LifecycleEvent[]): string[] => events.map((e) => `${e.identity}:${e.kind}`);

interface Case {
  readonly name: string;
  readonly before: readonly Identity[];
  readonly after: readonly Identity[];
  readonly over?: Partial<SnapshotDiffInput>;
  readonly expect: readonly string[];
  /** Checks on the first event. */
  readonly first?: Partial<Pick<LifecycleEvent, 'effective' | 'grantsAdded' | 'grantsRemoved' | 'changes'>> & {
    readonly summary?: RegExp;
  };
}

const cases: readonly Case[] = [
  // Joiners and pre-hires
  {
    name: 'new active without start date is a joiner with everything added',
    before: [],
    after: [person('E1042', { attributes: { department: 'Finance' } })],
    expect: ['E1042:joiner'],
    first: {
      grantsAdded: ['directory:account', 'directory:group/finance'],
      grantsRemoved: [],
      summary: /^E1042 joined \(Finance\)$/,
      changes: [
        { field: 'status', after: 'active' },
        { field: 'kind', after: 'employee' },
        { field: 'department', after: 'Finance' },
      ],
    },
  },
  {
    name: 'new active whose start date is today is a joiner',
    before: [person('E2')],
    after: [person('E2'), person('E1', { startDate: T1 })],
    expect: ['E1:joiner'],
    first: { summary: /E1 joined \(Sales, started 2026-03-02\)/ },
  },
  {
    name: 'new pre_hire is a pre-hire effective start − preHireDays',
    before: [],
    after: [person('E1', { status: 'pre_hire', startDate: days(T1, 30) })],
    over: { preHireDays: 7 },
    expect: ['E1:pre_hire'],
    first: { effective: days(T1, 23), summary: /E1 will join \(Sales, starts 2026-04-01, access from 2026-03-25\)/ },
  },
  {
    name: 'new active with a future start is a pre-hire',
    before: [],
    after: [person('E1', { startDate: days(T1, 1) })],
    expect: ['E1:pre_hire'],
    first: { effective: days(T1, 1) },
  },
  {
    name: 'new pre-hire whose access is already due also gets start_due',
    before: [],
    after: [person('E1', { status: 'pre_hire', startDate: days(T1, 3) })],
    over: { preHireDays: 7 },
    expect: ['E1:pre_hire', 'E1:start_due'],
  },
  { name: 'new terminated is no event', before: [], after: [person('E1', { status: 'terminated' })], expect: [] },
  {
    name: 'a pre-hire whose start date moved is announced again',
    before: [person('E1', { status: 'pre_hire', startDate: days(T1, 10) })],
    after: [person('E1', { status: 'pre_hire', startDate: days(T1, 20) })],
    expect: ['E1:pre_hire'],
    first: { effective: days(T1, 20), summary: /start date 2026-03-12 → 2026-03-22/ },
  },
  // Start due
  {
    name: 'pre-hire start date reached between imports',
    before: [person('E1', { status: 'pre_hire', startDate: T1 })],
    after: [person('E1', { status: 'pre_hire', startDate: T1 })],
    expect: ['E1:start_due'],
    first: { effective: T1 },
  },
  {
    name: 'future-dated active reaches start − preHireDays',
    before: [person('E1', { startDate: days(T1, 7) })],
    after: [person('E1', { startDate: days(T1, 7) })],
    over: { preHireDays: 7 },
    expect: ['E1:start_due'],
    first: { effective: T1, summary: /E1: access is due \(starts 2026-03-09, 7 days ahead\)/ },
  },
  {
    name: 'start − preHireDays one day away: not yet',
    before: [person('E1', { startDate: days(T1, 8) })],
    after: [person('E1', { startDate: days(T1, 8) })],
    over: { preHireDays: 7 },
    expect: [],
  },
  {
    name: 'start_due fired earlier: the pre-hire turning active says it started',
    before: [person('E1', { status: 'pre_hire', startDate: T0 })],
    after: [person('E1', { status: 'active', startDate: T0 })],
    expect: ['E1:start_due'],
    first: { summary: /^E1 started: status pre_hire → active$/ },
  },
  // Leavers, rehire, leave
  {
    name: 'key gone from the feed is a leaver with everything removed',
    before: [person('E1042', { attributes: { department: 'Finance', title: 'Manager' } })],
    after: [],
    expect: ['E1042:leaver'],
    first: {
      summary: /^E1042 left: disappeared from the feed$/,
      grantsAdded: [],
      grantsRemoved: ['directory:account', 'directory:group/finance', 'directory:group/managers'],
    },
  },
  {
    name: 'a terminated key gone from the feed is no event',
    before: [person('E1', { status: 'terminated' })],
    after: [],
    expect: [],
  },
  {
    name: 'active → terminated is a leaver',
    before: [person('E1')],
    after: [person('E1', { status: 'terminated' })],
    expect: ['E1:leaver'],
    first: { grantsRemoved: ['directory:account', 'directory:group/sales'], summary: /active → terminated/ },
  },
  {
    name: 'a termination with an end date already passed is a leaver effective on that end date',
    before: [person('E1')],
    after: [person('E1', { status: 'terminated', endDate: days(T1, -40) })],
    expect: ['E1:leaver'],
    first: { effective: days(T1, -40) },
  },
  {
    name: 'leave → terminated is a leaver',
    before: [person('E1', { status: 'leave' })],
    after: [person('E1', { status: 'terminated' })],
    expect: ['E1:leaver'],
  },
  {
    name: 'terminated → active is a rehire with everything added',
    before: [person('E1', { status: 'terminated' })],
    after: [person('E1')],
    expect: ['E1:rehire'],
    first: { grantsAdded: ['directory:account', 'directory:group/sales'], grantsRemoved: [] },
  },
  {
    name: 'active → leave',
    before: [person('E1')],
    after: [person('E1', { status: 'leave' })],
    expect: ['E1:leave_start'],
  },
  {
    name: 'leave → active',
    before: [person('E1', { status: 'leave' })],
    after: [person('E1')],
    expect: ['E1:leave_return'],
  },
  // End dates
  {
    name: 'end date newly set in the future',
    before: [person('E1')],
    after: [person('E1', { endDate: days(T1, 30) })],
    expect: ['E1:termination_scheduled'],
    first: { effective: days(T1, 30), changes: [{ field: 'end_date', after: days(T1, 30) }] },
  },
  {
    name: 'end date moved to another future date',
    before: [person('E1', { endDate: days(T1, 30) })],
    after: [person('E1', { endDate: days(T1, 60) })],
    expect: ['E1:termination_scheduled'],
    first: { summary: /end date moved 2026-04-01 → 2026-05-01/ },
  },
  {
    name: 'unchanged future end date a day later is no event',
    before: [person('E1', { endDate: days(T1, 30) })],
    after: [person('E1', { endDate: days(T1, 30) })],
    expect: [],
  },
  {
    name: 'end date reached between imports removes everything',
    before: [person('E1', { endDate: T1 })],
    after: [person('E1', { endDate: T1 })],
    expect: ['E1:end_date_reached'],
    first: { effective: T1, grantsRemoved: ['directory:account', 'directory:group/sales'], grantsAdded: [] },
  },
  {
    name: 'end date reached before the previous import is no event',
    before: [person('E1', { endDate: T0 })],
    after: [person('E1', { endDate: T0 })],
    expect: [],
  },
  {
    name: 'new identity already past its end date',
    before: [],
    after: [person('E1', { endDate: T0 })],
    expect: ['E1:joiner', 'E1:end_date_reached'],
  },
  {
    name: 'new contractor with an end date: joiner, then the schedule',
    before: [],
    after: [person('C1', { kind: 'contractor', endDate: days(T1, 90) })],
    expect: ['C1:joiner', 'C1:termination_scheduled'],
  },
  // Movers
  {
    name: 'department change that changes grants is a mover',
    before: [person('E1042', { attributes: { department: 'Sales' } })],
    after: [person('E1042', { attributes: { department: 'Finance' } })],
    expect: ['E1042:mover'],
    first: {
      grantsAdded: ['directory:group/finance'],
      grantsRemoved: ['directory:group/sales'],
      changes: [{ field: 'department', before: 'Sales', after: 'Finance' }],
      summary: /^E1042 moved: department Sales → Finance; gains 1, loses 1 entitlement$/,
    },
  },
  {
    name: 'promotion adds one grant',
    before: [person('E1', { attributes: { department: 'Sales', title: 'Rep' } })],
    after: [person('E1', { attributes: { department: 'Sales', title: 'Manager' } })],
    expect: ['E1:mover'],
    first: { grantsAdded: ['directory:group/managers'], grantsRemoved: [], summary: /gains 1 entitlement$/ },
  },
  {
    name: 'location change that changes no grant is not an event',
    before: [person('E1', { attributes: { department: 'Sales', location: 'Oslo' } })],
    after: [person('E1', { attributes: { department: 'Sales', location: 'Bergen' } })],
    expect: [],
  },
  {
    name: 'manager change that changes no grant is not an event',
    before: [person('E1', { manager: 'E5' })],
    after: [person('E1', { manager: 'E6' })],
    expect: [],
  },
  {
    name: 'a department change while on leave is not a mover',
    before: [person('E1', { status: 'leave' })],
    after: [person('E1', { status: 'leave', attributes: { department: 'Finance' } })],
    expect: [],
  },
  {
    name: 'a reordered list attribute is no change',
    before: [person('E1', { attributes: { department: 'Sales', clearances: ['a', 'b'] } })],
    after: [person('E1', { attributes: { department: 'Sales', clearances: ['b', 'a'] } })],
    expect: [],
  },
  // Non-human identities
  {
    name: 'credential enters the warning window',
    before: [nhi('svc-backup', { credential: { expires: days(T1, 14) } })],
    after: [nhi('svc-backup', { credential: { expires: days(T1, 14) } })],
    expect: ['svc-backup:credential_expiring'],
    first: { effective: days(T1, 14), summary: /^svc-backup: credential expires 2026-03-16 \(in 14 days\)$/ },
  },
  {
    name: 'credential already in the window at the previous import',
    before: [nhi('svc-backup', { credential: { expires: days(T1, 13) } })],
    after: [nhi('svc-backup', { credential: { expires: days(T1, 13) } })],
    expect: [],
  },
  {
    name: 'a rotated credential that again expires soon warns again',
    before: [nhi('svc-backup', { credential: { expires: days(T1, 2) } })],
    after: [nhi('svc-backup', { credential: { expires: days(T1, 10) } })],
    expect: ['svc-backup:credential_expiring'],
  },
  {
    name: 'a human with an expiring credential is not warned',
    before: [person('E1', { credential: { expires: days(T1, 14) } })],
    after: [person('E1', { credential: { expires: days(T1, 14) } })],
    expect: [],
  },
  {
    name: 'credential older than maxCredentialAgeDays (last rotated)',
    before: [nhi('svc-a', { credential: { lastRotated: days(T0, -90), created: days(T0, -400) } })],
    after: [nhi('svc-a', { credential: { lastRotated: days(T0, -90), created: days(T0, -400) } })],
    expect: ['svc-a:rotation_due'],
    first: { effective: T0, summary: /last rotated 2025-12-01, older than 90 days/ },
  },
  {
    name: 'credential older than maxCredentialAgeDays (created, never rotated)',
    before: [nhi('svc-a', { credential: { created: days(T0, -90) } })],
    after: [nhi('svc-a', { credential: { created: days(T0, -90) } })],
    expect: ['svc-a:rotation_due'],
  },
  {
    name: 'rotation already due at the previous import',
    before: [nhi('svc-a', { credential: { created: days(T0, -91) } })],
    after: [nhi('svc-a', { credential: { created: days(T0, -91) } })],
    expect: [],
  },
  {
    name: 'rotation due but no maxCredentialAgeDays',
    before: [nhi('svc-a', { credential: { created: days(T0, -90) } })],
    after: [nhi('svc-a', { credential: { created: days(T0, -90) } })],
    over: { nonHuman: { ownerRequired: true, onOwnerLeaving: { reassignTo: 'manager', confirmDays: 14 } } },
    expect: [],
  },
  {
    name: 'owner in the same source terminated',
    before: [owner, nhi('svc-backup')],
    after: [{ ...owner, status: 'terminated' }, nhi('svc-backup')],
    expect: ['E0099:leaver', 'svc-backup:owner_gone'],
  },
  {
    name: 'owner in another source terminated since the previous import (previousLookup)',
    before: [nhi('svc-backup')],
    after: [nhi('svc-backup')],
    over: {
      lookup: (id) => (id === 'E0099' ? { ...owner, status: 'terminated' } : undefined),
      previousLookup: (id) => (id === 'E0099' ? owner : undefined),
    },
    expect: ['svc-backup:owner_gone'],
    first: { summary: /^svc-backup: owner E0099 is terminated$/, grantsAdded: [], grantsRemoved: [] },
  },
  {
    name: 'new NHI whose owner is unknown',
    before: [],
    after: [nhi('svc-x', { owner: 'E404' })],
    expect: ['svc-x:joiner', 'svc-x:owner_gone'],
  },
  {
    name: 'new NHI without owner when one is required',
    before: [],
    after: [nhi('svc-x', { owner: undefined })],
    expect: ['svc-x:joiner', 'svc-x:owner_gone'],
  },
  {
    name: 'NHI without owner when none is required',
    before: [],
    after: [nhi('svc-x', { owner: undefined })],
    over: { nonHuman: { ownerRequired: false, onOwnerLeaving: { reassignTo: 'manager', confirmDays: 14 } } },
    expect: ['svc-x:joiner'],
  },
  {
    name: 'owner already gone at the previous import',
    before: [nhi('svc-x', { owner: 'E404' })],
    after: [nhi('svc-x', { owner: 'E404' })],
    expect: [],
  },
  {
    name: 'NHI handed to an unknown owner',
    before: [nhi('svc-x')],
    after: [nhi('svc-x', { owner: 'E404' })],
    expect: ['svc-x:owner_gone'],
  },
];

describe('diffSnapshot', () => {
  for (const c of cases) {
    it(c.name, () => {
      const events = run(c.before, c.after, c.over);
      assert.deepEqual(brief(events), c.expect);
      for (const e of events) {
        assert.equal(e.at, T1);
        assert.equal(e.source, 'hr');
      }
      if (!c.first) return;
      const e = events[0]!;
      const { summary, ...rest } = c.first;
      for (const [k, v] of Object.entries(rest)) assert.deepEqual(e[k as keyof LifecycleEvent], v, k);
      if (summary) assert.match(e.summary, summary);
    });
  }

  it('orders by identity id, then event kind, whatever the input order', () => {
    const current = [
      person('E3', { endDate: days(T1, 5) }),
      person('E1', { kind: 'contractor', endDate: days(T1, 5) }),
      person('E2', { status: 'pre_hire', startDate: days(T1, 1) }),
    ];
    const events = run([], current);
    assert.deepEqual(brief(events), [
      'E1:joiner',
      'E1:termination_scheduled',
      'E2:pre_hire',
      'E3:joiner',
      'E3:termination_scheduled',
    ]);
    assert.deepEqual(run([], [...current].reverse()), events);
  });

  it('records statuses before and after', () => {
    const [e] = run([person('E1')], [person('E1', { status: 'leave' })]);
    assert.equal(e?.statusBefore, 'active');
    assert.equal(e?.statusAfter, 'leave');
  });

  it('refuses a feed with a duplicate key (sources reject them first)', () => {
    assert.throws(() => run([], [person('E1'), person('E1')]), /E1 appears twice/);
  });
});

/** A small organisation with something for every date-driven rule. */
function organisation(): Identity[] {
  return [
    owner,
    person('E1', { attributes: { department: 'Finance' } }),
    person('P1', { status: 'pre_hire', startDate: days(T0, 10) }),
    person('C1', { kind: 'contractor', endDate: days(T0, 20) }),
    person('L1', { status: 'leave' }),
    person('X1', { status: 'terminated' }),
    nhi('svc-exp', { credential: { expires: days(T0, 30) } }),
    nhi('svc-rot', { credential: { lastRotated: days(T0, -80) } }),
    nhi('svc-orphan', { owner: 'E404' }),
  ];
}

describe('idempotence and date-driven events', () => {
  it('the same snapshot at the same time yields no events', () => {
    const x = organisation();
    assert.deepEqual(run(x, x, { previousAsOf: T1, asOf: T1 }), []);
  });

  it('date-driven events fire exactly once across daily imports', () => {
    const x = organisation();
    const fired = new Map<string, number[]>();
    let previous: Identity[] = [];
    let previousAsOf: Date | undefined;
    for (let d = 0; d <= 60; d++) {
      const asOf = days(T0, d);
      for (const e of run(previous, x, { previousAsOf, asOf })) {
        const k = `${e.identity}:${e.kind}`;
        fired.set(k, [...(fired.get(k) ?? []), d]);
      }
      previous = x;
      previousAsOf = asOf;
    }
    assert.deepEqual(Object.fromEntries([...fired].sort(([a], [b]) => (a < b ? -1 : 1))), {
      'C1:end_date_reached': [20],
      'C1:joiner': [0],
      'C1:termination_scheduled': [0],
      'E0099:joiner': [0],
      'E1:joiner': [0],
      'L1:joiner': [0],
      'P1:pre_hire': [0],
      'P1:start_due': [10],
      'svc-exp:credential_expiring': [16],
      'svc-exp:joiner': [0],
      'svc-orphan:joiner': [0],
      'svc-orphan:owner_gone': [0],
      'svc-rot:joiner': [0],
      'svc-rot:rotation_due': [11],
    });
  });

  it('a missed import still fires a passed date once', () => {
    const x = organisation();
    const events = run(x, x, { previousAsOf: T0, asOf: days(T0, 25) });
    assert.deepEqual(brief(events), [
      'C1:end_date_reached',
      'P1:start_due',
      'svc-exp:credential_expiring',
      'svc-rot:rotation_due',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties on random small populations

const ids = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const dateArb = fc.option(
  fc.integer({ min: -40, max: 40 }).map((n) => days(T0, n)),
  { nil: undefined },
);
const identityArb = fc.record({
  id: fc.constantFrom(...ids),
  kind: fc.constantFrom('employee', 'contractor', 'service_account', 'api_key'),
  status: fc.constantFrom('pre_hire', 'active', 'leave', 'terminated'),
  department: fc.option(fc.constantFrom('Sales', 'Finance', 'Engineering'), { nil: undefined }),
  title: fc.option(fc.constantFrom('Rep', 'Manager'), { nil: undefined }),
  manager: fc.option(fc.constantFrom(...ids), { nil: undefined }),
  owner: fc.option(fc.constantFrom(...ids, 'Z'), { nil: undefined }),
  startDate: dateArb,
  endDate: dateArb,
  expires: dateArb,
  lastRotated: dateArb,
});
type Raw = typeof identityArb extends fc.Arbitrary<infer T> ? T : never;

function toIdentity(r: Raw): Identity {
  const attributes: Record<string, string> = {};
  if (r.department) attributes['department'] = r.department;
  if (r.title) attributes['title'] = r.title;
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    attributes,
    source: 'hr',
    ...(r.manager ? { manager: r.manager } : {}),
    ...(r.owner ? { owner: r.owner } : {}),
    ...(r.startDate ? { startDate: r.startDate } : {}),
    ...(r.endDate ? { endDate: r.endDate } : {}),
    credential: {
      ...(r.expires ? { expires: r.expires } : {}),
      ...(r.lastRotated ? { lastRotated: r.lastRotated } : {}),
    },
  };
}

const populationArb = fc
  .uniqueArray(identityArb, { selector: (r) => r.id, maxLength: ids.length })
  .map((rs) => rs.map(toIdentity));
const permutationArb = fc.array(fc.integer(), { minLength: ids.length, maxLength: ids.length });

function permute<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs
    .map((x, i) => ({ x, k: keys[i]!, i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((p) => p.x);
}

function diff(
  previous: readonly Identity[],
  current: readonly Identity[],
  previousAsOf: Date,
  asOf: Date,
  preHireDays: number,
) {
  const known = new Map(current.map((i) => [i.id, i]));
  return diffSnapshot({
    source: 'hr',
    previous,
    previousAsOf,
    current,
    asOf,
    preHireDays,
    grantsOf,
    lookup: (id) => known.get(id),
    nonHuman: {
      ownerRequired: true,
      maxCredentialAgeDays: 30,
      onOwnerLeaving: { reassignTo: 'manager', confirmDays: 14 },
    },
    expiryWarningDays: 14,
  });
}

describe('properties', () => {
  it('diff(x, x) at the same time is empty', () => {
    fc.assert(
      fc.property(populationArb, fc.integer({ min: 0, max: 10 }), (x, pre) => {
        assert.deepEqual(diff(x, x, T0, T0, pre), []);
      }),
    );
  });

  it('is deterministic under input order', () => {
    fc.assert(
      fc.property(populationArb, populationArb, permutationArb, permutationArb, (x, y, p, q) => {
        const a = diff(x, y, T0, T1, 3);
        const b = diff(permute(x, p), permute(y, q), T0, T1, 3);
        assert.deepEqual(b, a);
        const order = a.map((e) => [e.identity, EVENT_KINDS.indexOf(e.kind)] as const);
        const sorted = [...order].sort(([i, k], [j, l]) => (i < j ? -1 : i > j ? 1 : k - l));
        assert.deepEqual(order, sorted);
      }),
    );
  });

  it('the same data a day later yields only date-driven events', () => {
    const dateDriven = new Set<EventKind>(['start_due', 'end_date_reached', 'credential_expiring', 'rotation_due']);
    fc.assert(
      fc.property(populationArb, fc.integer({ min: 0, max: 10 }), (x, pre) => {
        for (const e of diff(x, x, T0, T1, pre)) assert.ok(dateDriven.has(e.kind), `${e.identity}:${e.kind}`);
      }),
    );
  });

  it('every identity gone from the feed yields one leaver unless already terminated', () => {
    fc.assert(
      fc.property(populationArb, (x) => {
        const events = diff(x, [], T0, T1, 0);
        assert.deepEqual(
          brief(events),
          x
            .filter((i) => i.status !== 'terminated')
            .map((i) => `${i.id}:leaver`)
            .sort(),
        );
      }),
    );
  });
});
