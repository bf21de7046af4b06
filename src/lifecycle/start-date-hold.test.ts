import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { receivesAccess } from '../engine/engine.js';
import type { Identity } from '../model/identity.js';
import { admitStartDateMoves, startDateMovedToFuture, type StartDateMoveInput } from './start-date-hold.js';

const T0 = new Date('2026-03-01T00:00:00Z');
const T1 = new Date('2026-03-02T00:00:00Z');
const at = (s: string): Date => new Date(`${s}T00:00:00Z`);

function person(id: string, over: Partial<Identity> = {}): Identity {
  return {
    id,
    kind: 'employee',
    status: 'active',
    attributes: { department: 'Sales' },
    source: 'hr',
    startDate: at('2021-03-01'),
    ...over,
  };
}

/** Grants as the engine gives them: by department, only while the identity receives access (3 days before start). */
function grantsOf(i: Identity, when: Date): string[] {
  if (!receivesAccess(i, when, 3)) return [];
  return [`directory:group/${String(i.attributes['department']).toLowerCase()}`, 'directory:account'];
}

function holds(previous: Identity[], current: Identity[], over: Partial<StartDateMoveInput> = {}) {
  return startDateMovedToFuture({ previous, previousAsOf: T0, current, asOf: T1, grantsOf, ...over });
}

describe('startDateMovedToFuture', () => {
  it('holds an active employee whose start date a typo moves ten years ahead, with the access at stake', () => {
    const found = holds([person('E1'), person('E2')], [person('E1', { startDate: at('2031-03-01') }), person('E2')]);
    assert.deepEqual(found, [
      {
        identity: 'E1',
        source: 'hr',
        startBefore: at('2021-03-01'),
        startAfter: at('2031-03-01'),
        grants: ['directory:account', 'directory:group/sales'],
        summary:
          'E1: start date moved 2021-03-01 → 2031-03-01 while active; 2 entitlements are kept until a person approves the change',
      },
    ]);
  });

  it('holds a start date set for the first time in the future, and a move that also makes the record a pre-hire', () => {
    const found = holds(
      [person('E1', { startDate: undefined }), person('E2')],
      [
        person('E1', { startDate: at('2027-01-01') }),
        person('E2', { status: 'pre_hire', startDate: at('2027-01-01') }),
      ],
    );
    assert.deepEqual(
      found.map((h) => [h.identity, h.startBefore, h.summary.split(' while')[0]]),
      [
        ['E1', undefined, 'E1: start date set to 2027-01-01'],
        ['E2', at('2021-03-01'), 'E2: start date moved 2021-03-01 → 2027-01-01'],
      ],
    );
  });

  const notHeld: [string, Identity[], Identity[]][] = [
    ['a start date moved within the past', [person('E1')], [person('E1', { startDate: at('2022-03-01') })]],
    [
      'a start date moved ahead but within the days access is due before it',
      [person('E1')],
      [person('E1', { startDate: at('2026-03-04') })],
    ],
    ['a new identity starting later (a pre-hire, not a move)', [], [person('E1', { startDate: at('2027-01-01') })]],
    [
      'a pre-hire whose start date moves again',
      [person('E1', { status: 'pre_hire', startDate: at('2026-06-01') })],
      [person('E1', { status: 'pre_hire', startDate: at('2026-09-01') })],
    ],
    [
      'an active identity that had not started yet',
      [person('E1', { startDate: at('2026-06-01') })],
      [person('E1', { startDate: at('2026-09-01') })],
    ],
    [
      'someone on leave, who holds no access',
      [person('E1', { status: 'leave' })],
      [person('E1', { startDate: at('2031-03-01') })],
    ],
    [
      'a leaver whose record also gets a future start date',
      [person('E1')],
      [person('E1', { status: 'terminated', startDate: at('2031-03-01') })],
    ],
    ['an unchanged record', [person('E1')], [person('E1')]],
  ];
  for (const [name, previous, current] of notHeld) {
    it(`does not hold ${name}`, () => assert.deepEqual(holds(previous, current), []));
  }

  it('does not hold an identity that held nothing to lose', () => {
    assert.deepEqual(
      holds([person('E1')], [person('E1', { startDate: at('2031-03-01') })], { grantsOf: () => [] }),
      [],
    );
  });
});

describe('admitStartDateMoves', () => {
  const previous = [person('E1'), person('E2')];
  const current = [
    person('E1', { startDate: at('2031-03-01') }),
    person('E2', { attributes: { department: 'Finance' } }),
  ];
  const found = holds(previous, current);

  it('keeps a held identity as stored and lets every other record of the feed through', () => {
    const { admitted, held } = admitStartDateMoves(current, previous, found);
    assert.deepEqual(admitted, [previous[0], current[1]]);
    assert.deepEqual(
      held.map((h) => h.identity),
      ['E1'],
    );
  });

  it('lets an approved move through', () => {
    const { admitted, held } = admitStartDateMoves(current, previous, found, new Set(['E1']));
    assert.deepEqual(admitted, current);
    assert.deepEqual(held, []);
  });
});
