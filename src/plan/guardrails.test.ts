import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Change, ChangeAction, TargetPlan } from '../model/plan.js';
import { CHANGE_ACTIONS } from '../model/plan.js';
import { deprovisionVerdict, sodConflicts } from './guardrails.js';

const settings = { maxPercent: 10, minCount: 10, maxCount: 500 };
function target(accountsBefore: number, losing: number): TargetPlan {
  const changes: Change[] = Array.from({ length: losing }, (_, i) => ({
    target: 'dir',
    action: 'disable_account' as const,
    identity: `E${i}`,
    account: `u${i}`,
    reason: 'left',
  }));
  // A removal and a disable of one account count once.
  if (losing > 0)
    changes.push({
      target: 'dir',
      action: 'remove_membership',
      identity: 'E0',
      account: 'u0',
      entitlement: 'dir:group/a',
      reason: 'left',
    });
  const counts = Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, 0])) as Record<ChangeAction, number>;
  return {
    target: 'dir',
    changes,
    counts,
    accountsBefore,
    unlinkedAccounts: 0,
    deferred: 0,
    deferredChanges: [],
    adopted: [],
  };
}

describe('deprovisioning breaker', () => {
  const cases: [string, number, number, boolean][] = [
    ['9 of 20 (below the minimum count)', 20, 9, false],
    ['10 of 100 (exactly 10%)', 100, 10, false],
    ['11 of 100 (over 10%)', 100, 11, true],
    ['10 of 50 (20%, at the minimum count)', 50, 10, true],
    ['500 of 100,000 (0.5%, at the maximum)', 100_000, 500, false],
    ['501 of 100,000 (past the maximum)', 100_000, 501, true],
    ['nothing', 10, 0, false],
  ];
  for (const [name, before, losing, blocked] of cases) {
    it(`${blocked ? 'blocks' : 'lets through'} ${name}`, () => {
      const v = deprovisionVerdict(target(before, losing), settings);
      assert.equal(v.accounts, losing);
      assert.equal(v.blocked, blocked, v.reason);
    });
  }
  it('says why in numbers', () => {
    assert.equal(
      deprovisionVerdict(target(100, 11), settings).reason,
      '11 of 100 account(s) in dir (11%) would lose access at once; the limit is 10% (at least 10, never more than 500)',
    );
  });
});

describe('separation-of-duties conflicts a plan would create', () => {
  const rules = [
    {
      id: 'pay',
      description: '',
      conflicting: ['erp:role/create', 'erp:role/approve'],
      severity: 'critical' as const,
      position: { file: 't' },
    },
  ];
  const access = (identity: string, ents: string[]) => ({
    identity,
    matches: [],
    roles: [],
    grants: ents.map((entitlement) => ({ identity, entitlement, provenance: [] })),
  });
  const desired = {
    asOf: new Date(0),
    identities: [
      access('E1', ['erp:role/create', 'erp:role/approve']),
      access('E2', ['erp:role/create', 'erp:role/approve']),
    ],
  };
  it('reports an identity the plan gives the second half of a conflict, not one that already held both', () => {
    const changes: Change[] = [
      {
        target: 'erp',
        action: 'add_membership',
        identity: 'E1',
        account: 'e1',
        entitlement: 'erp:role/approve',
        reason: 'role',
      },
    ];
    assert.deepEqual(sodConflicts(rules, desired, changes), [
      { rule: 'pay', identity: 'E1', entitlements: ['erp:role/create', 'erp:role/approve'], severity: 'critical' },
    ]);
  });
});
