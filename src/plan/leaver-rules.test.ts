import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { Account } from '../model/actual-state.js';
import type { Identity } from '../model/identity.js';
import type { Plan, TargetPlan } from '../model/plan.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { computePlan, type PlanLifecycle } from './compute-plan.js';
import { renderPlanMarkdown, renderPlanText } from './render-plan.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';

/** Deletion after 30 days (directory: 90); mover grace of 7 days (erp: 2). */
const RULES = `    disable: immediately
    delete_after_days: 30
    mover_grace_days: 7
    targets: { directory: { delete_after_days: 90 }, erp: { mover_grace_days: 2 } }`;

function policy(leaver: string): LoadedPolicy {
  const r = loadPolicy(
    `version: 1
name: Leaver test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    attributes:
      department: { field: department, type: string }
      username: { field: username, type: string }
targets:
  - id: directory
    kind: memory
    account_name: identity.username
  - id: erp
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/sales
  - id: directory:group/finance
  - id: directory:group/engineering
  - id: erp:role/sales
  - id: erp:role/payments
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: sales
    when: identity.department == "Sales"
    grants: [directory:group/sales, erp:role/sales]
  - id: finance
    when: identity.department == "Finance"
    grants: [directory:group/finance, erp:role/payments]
policies:
  leaver:
${leaver}
`,
    'tenure.yaml',
  );
  assert.ok(r.result, JSON.stringify(r.diagnostics));
  return r.result;
}
const standard = policy(RULES);

const at = (s: string): Date => new Date(`${s}T00:00:00Z`);

function person(id: string, username: string, department: string, more: Partial<Identity> = {}): Identity {
  return { id, kind: 'employee', status: 'active', attributes: { department, username }, source: 'hr', ...more };
}

function account(name: string, identity: string, enabled: boolean, entitlements: string[]): Account {
  return { id: `id-${name}`, name, identity, enabled, entitlements };
}

interface Scenario {
  readonly people: readonly Identity[];
  readonly directory: readonly Account[];
  readonly erp: readonly Account[];
  readonly asOf: Date;
  readonly lifecycle?: PlanLifecycle;
  readonly loaded?: LoadedPolicy;
}

function plan(s: Scenario): Plan {
  const loaded = s.loaded ?? standard;
  const desired = new Engine(loaded).desiredState(s.people, s.asOf);
  const { result, diagnostics } = computePlan({
    loaded,
    identities: s.people,
    imported: new Set(s.people.map((p) => p.id)),
    desired,
    actual: {
      targets: [
        { target: 'directory', accounts: s.directory },
        { target: 'erp', accounts: s.erp },
      ],
    },
    asOf: s.asOf,
    kinds: CONNECTOR_KINDS,
    ...(s.lifecycle ? { lifecycle: s.lifecycle } : {}),
  });
  assert.deepEqual(diagnostics, []);
  return result;
}

const target = (p: Plan, id: string): TargetPlan => p.targets.find((t) => t.target === id)!;
/** "E3 remove_membership directory:group/finance", "E3 delete_account" ... in plan order. */
const lines = (changes: TargetPlan['changes']): string[] =>
  changes.map((c) => [c.identity, c.action, c.entitlement].filter((x) => x !== undefined).join(' '));

function lifecycle(
  left: Record<string, string>,
  moves: Record<string, { at: string; grantsRemoved: string[] }> = {},
  recorded: Record<string, string> = {},
): PlanLifecycle {
  return {
    leftAt: (id) => (left[id] ? at(left[id]) : undefined),
    leaveRecordedAt: (id) => (recorded[id] ? at(recorded[id]) : undefined),
    lastMove: (id) => (moves[id] ? { at: at(moves[id].at), grantsRemoved: moves[id].grantsRemoved } : undefined),
  };
}

describe('leaver rules: deleting accounts', () => {
  // E3 left on 2026-10-01 (its end date); erp deletes 30 days after leaving, directory 90.
  const leaver = person('E3', 'cy', 'Finance', { status: 'terminated', endDate: at('2026-10-01') });
  const enabled = {
    directory: [account('cy', 'E3', true, ['directory:group/staff', 'directory:group/finance'])],
    erp: [account('E3', 'E3', true, ['erp:role/payments'])],
  };
  const disabled = {
    directory: [account('cy', 'E3', false, ['directory:group/staff'])],
    erp: [account('E3', 'E3', false, [])],
  };
  const dirDisable = [
    'E3 remove_membership directory:group/finance',
    'E3 remove_membership directory:group/staff',
    'E3 disable_account',
  ];
  const dirDelete = [
    'E3 remove_membership directory:group/finance',
    'E3 remove_membership directory:group/staff',
    'E3 delete_account',
  ];
  const cases: {
    name: string;
    accounts: { directory: Account[]; erp: Account[] };
    asOf: Date;
    people?: Identity[];
    lifecycle?: PlanLifecycle;
    loaded?: LoadedPolicy;
    directory: string[];
    erp: string[];
  }[] = [
    {
      name: 'the day before the 30 days end: disabled only, everywhere',
      accounts: enabled,
      asOf: new Date('2026-10-30T23:59:59Z'),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 disable_account'],
    },
    {
      name: 'on the 30th day: erp deletes (memberships first); directory (override 90) only disables',
      accounts: enabled,
      asOf: at('2026-10-31'),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 delete_account'],
    },
    {
      name: 'the day before the directory override ends: still disabled there',
      accounts: enabled,
      asOf: at('2026-12-29'),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 delete_account'],
    },
    {
      name: 'on the 90th day: the directory deletes too',
      accounts: enabled,
      asOf: at('2026-12-30'),
      directory: dirDelete,
      erp: ['E3 remove_membership erp:role/payments', 'E3 delete_account'],
    },
    {
      name: 'already disabled, not due: left alone (remaining managed memberships are still removed)',
      accounts: disabled,
      asOf: at('2026-10-30'),
      directory: ['E3 remove_membership directory:group/staff'],
      erp: [],
    },
    {
      name: 'already disabled, due in erp: deleted there',
      accounts: disabled,
      asOf: at('2026-10-31'),
      directory: ['E3 remove_membership directory:group/staff'],
      erp: ['E3 delete_account'],
    },
    {
      name: 'already disabled, due everywhere: memberships removed, then deleted',
      accounts: disabled,
      asOf: at('2027-01-15'),
      directory: ['E3 remove_membership directory:group/staff', 'E3 delete_account'],
      erp: ['E3 delete_account'],
    },
    {
      name: 'lifecycle leftAt wins over the end date: left 2026-10-15, so erp is not due on 2026-10-31',
      accounts: enabled,
      asOf: at('2026-10-31'),
      lifecycle: lifecycle({ E3: '2026-10-15' }),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 disable_account'],
    },
    {
      name: 'lifecycle leftAt: due 30 days after it',
      accounts: enabled,
      asOf: at('2026-11-14'),
      lifecycle: lifecycle({ E3: '2026-10-15' }),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 delete_account'],
    },
    {
      name: 'a termination recorded late: 30 days after the end date have passed, but erp waits min_disabled_days (7) after the record',
      accounts: enabled,
      asOf: at('2026-11-20'),
      lifecycle: lifecycle({ E3: '2026-10-01' }, {}, { E3: '2026-11-15' }),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 disable_account'],
    },
    {
      name: 'a termination recorded late: deleted min_disabled_days after the record',
      accounts: disabled,
      asOf: at('2026-11-22'),
      lifecycle: lifecycle({ E3: '2026-10-01' }, {}, { E3: '2026-11-15' }),
      directory: ['E3 remove_membership directory:group/staff'],
      erp: ['E3 delete_account'],
    },
    {
      name: 'lifecycle that knows nothing of E3: the end date still counts',
      accounts: enabled,
      asOf: at('2026-10-31'),
      lifecycle: lifecycle({}),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 delete_account'],
    },
    {
      name: 'no lifecycle and no end date: never deleted',
      accounts: enabled,
      asOf: at('2027-06-01'),
      people: [person('E3', 'cy', 'Finance', { status: 'terminated' })],
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 disable_account'],
    },
    {
      name: 'a policy without delete_after_days never deletes',
      accounts: enabled,
      asOf: at('2027-06-01'),
      loaded: policy('    mover_grace_days: 7'),
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 disable_account'],
    },
    {
      name: 'an identity on leave is disabled, never deleted, whatever its end date',
      accounts: enabled,
      asOf: at('2027-06-01'),
      people: [person('E3', 'cy', 'Finance', { status: 'leave', endDate: at('2026-10-01') })],
      directory: dirDisable,
      erp: ['E3 remove_membership erp:role/payments', 'E3 disable_account'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = plan({
        people: c.people ?? [leaver],
        ...c.accounts,
        asOf: c.asOf,
        ...(c.lifecycle ? { lifecycle: c.lifecycle } : {}),
        ...(c.loaded ? { loaded: c.loaded } : {}),
      });
      assert.deepEqual(lines(target(p, 'directory').changes), c.directory, 'directory');
      assert.deepEqual(lines(target(p, 'erp').changes), c.erp, 'erp');
      assert.equal(
        p.summary.byAction.delete_account,
        [...c.directory, ...c.erp].filter((l) => l.endsWith('delete_account')).length,
      );
    });
  }

  it('says why an account is deleted, and when a disabled one will be', () => {
    const reason = (p: Plan, t: string, action: string) =>
      target(p, t).changes.find((c) => c.action === action)?.reason;
    const oct31 = plan({ people: [leaver], ...enabled, asOf: at('2026-10-31') });
    assert.equal(
      reason(oct31, 'erp', 'delete_account'),
      'E3 left on 2026-10-01; accounts are deleted 30 days after leaving (policy leaver.delete_after_days)',
    );
    assert.equal(
      reason(oct31, 'directory', 'disable_account'),
      'E3 is terminated; the account will be deleted on 2026-12-30, 90 days after leaving on 2026-10-01 (policy leaver.targets.directory.delete_after_days)',
    );
    assert.equal(reason(oct31, 'directory', 'remove_membership'), 'E3 is terminated');
    const dec30 = plan({ people: [leaver], ...enabled, asOf: at('2026-12-30') });
    assert.equal(
      reason(dec30, 'directory', 'delete_account'),
      'E3 left on 2026-10-01; accounts are deleted 90 days after leaving (policy leaver.targets.directory.delete_after_days)',
    );
    const late = plan({
      people: [leaver],
      ...enabled,
      asOf: at('2026-11-20'),
      lifecycle: lifecycle({ E3: '2026-10-01' }, {}, { E3: '2026-11-15' }),
    });
    assert.equal(
      reason(late, 'erp', 'disable_account'),
      'E3 is terminated; the account will be deleted on 2026-11-22, 30 days after leaving on 2026-10-01 (policy leaver.delete_after_days); the leave was recorded on 2026-11-15 and accounts stay disabled 7 days first (policy leaver.min_disabled_days)',
    );
    const unknown = plan({
      people: [person('E3', 'cy', 'Finance', { status: 'terminated' })],
      ...enabled,
      asOf: at('2026-12-30'),
    });
    assert.equal(
      reason(unknown, 'erp', 'disable_account'),
      'E3 is terminated; not deleted: when E3 left is not known (policy leaver.delete_after_days)',
    );
  });

  it('does not disable an active identity before its end date (disable: at_end_date)', () => {
    const contractor = person('E5', 'ed', 'Sales', { endDate: at('2026-12-31') });
    for (const rules of [RULES.replace('immediately', 'at_end_date'), RULES]) {
      const p = plan({
        loaded: policy(rules),
        people: [contractor],
        directory: [account('ed', 'E5', true, ['directory:group/sales', 'directory:group/staff'])],
        erp: [account('E5', 'E5', true, ['erp:role/sales'])],
        asOf: at('2026-11-01'),
        lifecycle: lifecycle({ E5: '2026-12-31' }),
      });
      assert.equal(p.summary.changes, 0, rules);
    }
  });
});

describe('leaver rules: mover grace period', () => {
  // E1 moved from Sales to Finance, E2 from Sales to Engineering (no erp access at all), both on
  // 2026-11-01. E1 also holds directory:group/engineering, which no role grants and the move did
  // not remove. E3 is terminated: a leaver gets no grace, whatever its last move.
  const people = [
    person('E1', 'ana', 'Finance'),
    person('E2', 'bo', 'Engineering'),
    person('E3', 'cy', 'Sales', { status: 'terminated' }),
  ];
  const removed = ['directory:group/sales', 'erp:role/sales'];
  const moves = lifecycle(
    {},
    {
      E1: { at: '2026-11-01', grantsRemoved: removed },
      E2: { at: '2026-11-01', grantsRemoved: removed },
      E3: { at: '2026-11-01', grantsRemoved: removed },
    },
  );
  const directory = [
    account('ana', 'E1', true, ['directory:group/staff', 'directory:group/sales', 'directory:group/engineering']),
    account('bo', 'E2', true, ['directory:group/staff', 'directory:group/sales']),
    account('cy', 'E3', true, ['directory:group/sales']),
  ];
  const erp = [
    account('E1', 'E1', true, ['erp:role/sales']),
    account('E2', 'E2', true, ['erp:role/sales']),
    account('E3', 'E3', true, ['erp:role/sales']),
  ];
  const leaverLines = {
    directory: ['E3 remove_membership directory:group/sales', 'E3 disable_account'],
    erp: ['E3 remove_membership erp:role/sales', 'E3 disable_account'],
  };
  const dirAlways = ['E1 add_membership directory:group/finance', 'E1 remove_membership directory:group/engineering'];
  const dirMoved = ['E1 remove_membership directory:group/sales', 'E2 remove_membership directory:group/sales'];
  const erpMoved = ['E1 remove_membership erp:role/sales', 'E2 remove_membership erp:role/sales', 'E2 disable_account'];
  const cases: {
    name: string;
    asOf: Date;
    lifecycle?: PlanLifecycle;
    loaded?: LoadedPolicy;
    directory: { planned: string[]; deferred: string[] };
    erp: { planned: string[]; deferred: string[] };
  }[] = [
    {
      name: 'the day after the move: what the move removed is kept in both targets',
      asOf: at('2026-11-02'),
      lifecycle: moves,
      directory: { planned: [...dirAlways, ...leaverLines.directory], deferred: dirMoved },
      erp: {
        planned: ['E1 add_membership erp:role/payments', ...leaverLines.erp],
        deferred: erpMoved,
      },
    },
    {
      name: 'when the erp override (2 days) ends: erp removes, the directory (7 days) still keeps',
      asOf: at('2026-11-03'),
      lifecycle: moves,
      directory: { planned: [...dirAlways, ...leaverLines.directory], deferred: dirMoved },
      erp: {
        planned: ['E1 add_membership erp:role/payments', ...erpMoved, ...leaverLines.erp],
        deferred: [],
      },
    },
    {
      name: 'when the 7 days end: everything is removed',
      asOf: at('2026-11-08'),
      lifecycle: moves,
      directory: {
        planned: [
          'E1 add_membership directory:group/finance',
          'E1 remove_membership directory:group/engineering',
          'E1 remove_membership directory:group/sales',
          'E2 remove_membership directory:group/sales',
          ...leaverLines.directory,
        ],
        deferred: [],
      },
      erp: {
        planned: ['E1 add_membership erp:role/payments', ...erpMoved, ...leaverLines.erp],
        deferred: [],
      },
    },
    {
      name: 'no lifecycle input: no grace',
      asOf: at('2026-11-02'),
      directory: {
        planned: [
          'E1 add_membership directory:group/finance',
          'E1 remove_membership directory:group/engineering',
          'E1 remove_membership directory:group/sales',
          'E2 remove_membership directory:group/sales',
          ...leaverLines.directory,
        ],
        deferred: [],
      },
      erp: { planned: ['E1 add_membership erp:role/payments', ...erpMoved, ...leaverLines.erp], deferred: [] },
    },
    {
      name: 'mover_grace_days 0: no grace, even with a move',
      asOf: at('2026-11-02'),
      lifecycle: moves,
      loaded: policy('    mover_grace_days: 0'),
      directory: {
        planned: [
          'E1 add_membership directory:group/finance',
          'E1 remove_membership directory:group/engineering',
          'E1 remove_membership directory:group/sales',
          'E2 remove_membership directory:group/sales',
          ...leaverLines.directory,
        ],
        deferred: [],
      },
      erp: { planned: ['E1 add_membership erp:role/payments', ...erpMoved, ...leaverLines.erp], deferred: [] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = plan({
        people,
        directory,
        erp,
        asOf: c.asOf,
        ...(c.lifecycle ? { lifecycle: c.lifecycle } : {}),
        ...(c.loaded ? { loaded: c.loaded } : {}),
      });
      for (const t of ['directory', 'erp'] as const) {
        const tp = target(p, t);
        assert.deepEqual(lines(tp.changes), c[t].planned, `${t} planned`);
        assert.deepEqual(lines(tp.deferredChanges), c[t].deferred, `${t} deferred`);
        assert.equal(tp.deferred, c[t].deferred.length, `${t} deferred count`);
      }
    });
  }

  it('says until when a removal is kept, and by which rule', () => {
    const p = plan({ people, directory, erp, asOf: at('2026-11-02'), lifecycle: moves });
    assert.deepEqual(
      [...new Set(target(p, 'directory').deferredChanges.map((c) => c.reason))],
      ['kept until 2026-11-08: mover grace period of 7 days (policy leaver.mover_grace_days)'],
    );
    assert.deepEqual(
      [...new Set(target(p, 'erp').deferredChanges.map((c) => c.reason))],
      ['kept until 2026-11-03: mover grace period of 2 days (policy leaver.targets.erp.mover_grace_days)'],
    );
  });
});

describe('rendering deletions and deferred removals', () => {
  // On 2026-11-02: E3 (left 2026-10-01) is deleted in erp and disabled in the directory; E1's move
  // of 2026-11-01 keeps directory:group/sales and erp:role/sales.
  const p = plan({
    people: [person('E1', 'ana', 'Finance'), person('E3', 'cy', 'Finance', { status: 'terminated' })],
    directory: [
      account('ana', 'E1', true, ['directory:group/staff', 'directory:group/finance', 'directory:group/sales']),
      account('cy', 'E3', true, []),
    ],
    erp: [account('E1', 'E1', true, ['erp:role/payments', 'erp:role/sales']), account('E3', 'E3', false, [])],
    asOf: at('2026-11-02'),
    lifecycle: lifecycle(
      { E3: '2026-10-01' },
      { E1: { at: '2026-11-01', grantsRemoved: ['directory:group/sales', 'erp:role/sales'] } },
    ),
  });

  it('shows the delete line, its count and the deferred count per target in text', () => {
    const text = renderPlanText(p);
    assert.match(text, /^Target erp \(2 accounts now\): 1 delete account$/m);
    assert.match(
      text,
      /^ {2}- E3: delete account — E3 left on 2026-10-01; accounts are deleted 30 days after leaving \(policy leaver\.delete_after_days\)$/m,
    );
    assert.match(text, /^Target directory \(2 accounts now\): 1 disable account$/m);
    const deferredLines = text.split('\n').filter((l) => l.includes('deferred by the mover grace period'));
    assert.deepEqual(deferredLines, [
      '  (1 removal(s) deferred by the mover grace period; --json lists them)',
      '  (1 removal(s) deferred by the mover grace period; --json lists them)',
    ]);
    assert.match(text, /^Summary: 2 change\(s\) for 1 identity: 1 disable account, 1 delete account\.$/m);
  });

  it('shows the delete column, the delete line and the deferred counts in markdown', () => {
    const md = renderPlanMarkdown(p);
    assert.match(md, /\| disable account \| delete account \|$/m);
    assert.match(md, /^\| erp \| 2 \| 0 \| 0 \| 0 \| 0 \| 0 \| 1 \|$/m);
    assert.match(md, /^- `-` E3: delete account — E3 left on 2026-10-01; .*\(policy leaver\.delete\\_after\\_days\)$/m);
    assert.match(md, /^- directory: 1 removal\(s\) deferred by the mover grace period \(`--json` lists them\)$/m);
    assert.match(md, /^- erp: 1 removal\(s\) deferred by the mover grace period \(`--json` lists them\)$/m);
  });

  it('says when nothing is planned but removals are deferred', () => {
    const quiet = plan({
      people: [person('E1', 'ana', 'Finance')],
      directory: [
        account('ana', 'E1', true, ['directory:group/staff', 'directory:group/finance', 'directory:group/sales']),
      ],
      erp: [account('E1', 'E1', true, ['erp:role/payments'])],
      asOf: at('2026-11-02'),
      lifecycle: lifecycle({}, { E1: { at: '2026-11-01', grantsRemoved: ['directory:group/sales'] } }),
    });
    assert.equal(quiet.summary.changes, 0);
    assert.match(renderPlanText(quiet), /^No changes now: 1 removal\(s\) deferred by the mover grace period\.$/m);
  });
});
