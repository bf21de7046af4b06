import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { Account, ActualState } from '../model/actual-state.js';
import type { AccessException } from '../model/exception.js';
import type { Identity } from '../model/identity.js';
import type { Plan } from '../model/plan.js';
import { computePlan, type PlanLifecycle } from '../plan/compute-plan.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { computeDrift, DRIFT_CODES, remediationPlan, type DriftReport } from './drift.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';

const asOf = new Date('2026-11-01T00:00:00Z');
const at = (s: string): Date => new Date(`${s}T00:00:00Z`);

function policy(extra = ''): LoadedPolicy {
  const r = loadPolicy(
    `version: 1
name: Drift test
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
  - id: directory:group/finance
  - id: directory:group/sales
  - id: directory:group/admins
    risk: high
  - id: erp:role/payments
    risk: critical
  - id: erp:role/reports
    risk: low
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: finance
    when: identity.department == "Finance"
    grants: [directory:group/finance, erp:role/payments]
  - id: sales
    when: identity.department == "Sales"
    grants: [directory:group/sales]
policies:
  leaver:
    delete_after_days: 30
    mover_grace_days: 7
${extra}`,
    'tenure.yaml',
  );
  assert.ok(r.result, JSON.stringify(r.diagnostics));
  return r.result;
}
const loaded = policy();

function person(id: string, username: string, department: string, more: Partial<Identity> = {}): Identity {
  return { id, kind: 'employee', status: 'active', attributes: { department, username }, source: 'hr', ...more };
}

function account(name: string, identity: string | undefined, enabled: boolean, entitlements: string[]): Account {
  return { id: `id-${name}`, name, ...(identity ? { identity } : {}), enabled, entitlements };
}

interface Scenario {
  readonly people: readonly Identity[];
  readonly directory?: readonly Account[];
  readonly erp?: readonly Account[];
  readonly lifecycle?: PlanLifecycle;
  readonly exceptions?: readonly AccessException[];
  readonly loaded?: LoadedPolicy;
  /** Ids Tenure imported beyond `people` (leavers); every other recorded id is unknown. */
  readonly imported?: readonly string[];
  readonly targets?: readonly string[];
}

/** Plans as the CLI does, then reads drift from that plan. */
function run(s: Scenario): { report: DriftReport; plan: Plan; actual: ActualState } {
  const l = s.loaded ?? loaded;
  const actual: ActualState = {
    targets: [
      { target: 'directory', accounts: s.directory ?? [] },
      { target: 'erp', accounts: s.erp ?? [] },
    ],
  };
  const desired = new Engine(l).desiredState(s.people, asOf, 'indexed', s.exceptions ?? []);
  const imported = new Set([...s.people.map((p) => p.id), ...(s.imported ?? [])]);
  const { result: plan, diagnostics } = computePlan({
    loaded: l,
    identities: s.people,
    imported,
    desired,
    actual,
    asOf,
    kinds: CONNECTOR_KINDS,
    ...(s.lifecycle ? { lifecycle: s.lifecycle } : {}),
  });
  assert.deepEqual(
    diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const report = computeDrift({
    loaded: l,
    identities: s.people,
    imported,
    actual,
    plan,
    asOf,
    kinds: CONNECTOR_KINDS,
    ...(s.targets ? { targets: s.targets } : {}),
  });
  return { report, plan, actual };
}

/** "code severity subject" per finding, in report order. */
const found = (r: DriftReport): string[] => r.findings.map((f) => `${f.code} ${f.severity} ${f.subject}`);

const ana = person('E1', 'ana', 'Finance');
const inSync = {
  directory: account('ana', 'E1', true, ['directory:group/finance', 'directory:group/staff']),
  erp: account('E1', 'E1', true, ['erp:role/payments']),
};

describe('computeDrift: each class', () => {
  const cases: { name: string; scenario: Scenario; expect: string[]; message?: RegExp }[] = [
    {
      name: 'an enabled account of a terminated identity is critical',
      scenario: {
        people: [person('E3', 'cy', 'Finance', { status: 'terminated', endDate: at('2026-10-20') })],
        directory: [account('cy', 'E3', true, ['directory:group/staff'])],
      },
      expect: ['drift.terminated_enabled critical account:directory/cy'],
      message: /^E3 is terminated, but account cy in directory is still enabled, with 1 managed membership\(s\)$/,
    },
    {
      name: 'an enabled account of an identity no source has any more is critical',
      scenario: { people: [], imported: ['E9'], erp: [account('zed', 'E9', true, ['erp:role/reports'])] },
      expect: ['drift.terminated_enabled critical account:erp/zed'],
      message: /^E9 is no longer in any source, but account zed in erp is still enabled/,
    },
    {
      name: 'an enabled account linked to an id Tenure never imported is an unknown link, not a leaver',
      scenario: {
        people: [ana],
        directory: [inSync.directory],
        erp: [inSync.erp, account('ext', 'E9999', true, ['erp:role/payments'])],
      },
      expect: ['drift.unknown_link medium account:erp/ext'],
      message:
        /^account ext in erp is linked to identity E9999, which Tenure has never imported; no plan changes it; it holds erp:role\/payments$/,
    },
    {
      name: 'an enabled account of an identity whose end date has passed is critical',
      scenario: {
        people: [person('E4', 'di', 'Sales', { endDate: at('2026-10-01') })],
        directory: [account('di', 'E4', true, [])],
      },
      expect: ['drift.terminated_enabled critical account:directory/di'],
      message: /^E4's end date 2026-10-01 has passed/,
    },
    {
      name: 'an orphan without access worth naming is medium',
      scenario: { people: [], directory: [account('ghost', undefined, true, ['directory:group/staff'])] },
      expect: ['drift.orphan_account medium account:directory/ghost'],
      message: /no identity explains it: no identity is recorded for it, and no identity's account name is "ghost"/,
    },
    {
      name: 'an orphan with powerful access takes the risk of what it holds',
      scenario: {
        people: [],
        directory: [account('svc-old', undefined, true, ['directory:group/admins'])],
        erp: [account('legacy', undefined, true, ['erp:role/reports', 'erp:role/payments'])],
      },
      expect: [
        'drift.orphan_account critical account:erp/legacy',
        'drift.orphan_account high account:directory/svc-old',
      ],
    },
    {
      name: 'a second account recorded for one identity is a duplicate of the first',
      scenario: {
        people: [ana],
        directory: [inSync.directory, account('ana2', 'E1', true, ['directory:group/admins'])],
        erp: [inSync.erp],
      },
      expect: ['drift.duplicate_account high account:directory/ana2'],
      message: /recorded for E1, who already has account ana there; only ana is managed/,
    },
    {
      name: 'an enabled account of an identity on leave is not needed now',
      scenario: {
        people: [person('E5', 'ed', 'Sales', { status: 'leave' })],
        directory: [account('ed', 'E5', true, ['directory:group/sales'])],
        erp: [account('E5', 'E5', true, ['erp:role/payments'])],
      },
      expect: ['drift.unneeded_account critical account:erp/E5', 'drift.unneeded_account medium account:directory/ed'],
      message: /^E5 is on leave, but account/,
    },
    {
      name: "a declared membership no role grants is unmanaged, at its entitlement's risk",
      scenario: {
        people: [person('E6', 'fay', 'Sales')],
        directory: [
          account('fay', 'E6', true, ['directory:group/sales', 'directory:group/staff', 'directory:group/admins']),
        ],
        erp: [account('E6', 'E6', true, ['erp:role/payments'])],
      },
      expect: ['drift.unneeded_account critical account:erp/E6', 'drift.unmanaged_grant high account:directory/fay'],
    },
    {
      name: 'a membership the policy does not declare is undeclared',
      scenario: {
        people: [ana],
        directory: [
          account('ana', 'E1', true, ['directory:group/finance', 'directory:group/staff', 'directory:group/vpn']),
        ],
        erp: [inSync.erp],
      },
      expect: ['drift.undeclared_entitlement medium account:directory/ana'],
      message: /^ana in directory \(of E1\) holds directory:group\/vpn, which the policy does not declare$/,
    },
    {
      name: "a leaver's disabled account that still holds memberships",
      scenario: {
        people: [person('E3', 'cy', 'Finance', { status: 'terminated', endDate: at('2026-10-20') })],
        directory: [account('cy', 'E3', false, ['directory:group/finance'])],
      },
      expect: ['drift.disabled_holds_grants low account:directory/cy'],
    },
    {
      name: "a leaver's disabled account past delete_after_days is due for deletion",
      scenario: {
        people: [person('E3', 'cy', 'Finance', { status: 'terminated', endDate: at('2026-09-01') })],
        directory: [account('cy', 'E3', false, [])],
      },
      expect: ['drift.deletion_due low account:directory/cy'],
      message: /is disabled and due for deletion: E3 left on 2026-09-01; accounts are deleted 30 days after leaving/,
    },
    {
      name: 'an active identity without an account is missing one',
      scenario: { people: [ana], directory: [inSync.directory] },
      expect: ['drift.missing_account medium account:erp/E1'],
      message: /^E1 has no account E1 in erp \(1 membership\(s\) due\): E1 needs access to erp: role "finance"/,
    },
    {
      name: 'a disabled account of an identity that needs it',
      scenario: {
        people: [ana],
        directory: [inSync.directory],
        erp: [account('E1', 'E1', false, ['erp:role/payments'])],
      },
      expect: ['drift.disabled_but_desired medium account:erp/E1'],
    },
    {
      name: 'a membership the policy grants but the target lacks',
      scenario: {
        people: [ana],
        directory: [account('ana', 'E1', true, ['directory:group/staff'])],
        erp: [inSync.erp],
      },
      expect: ['drift.missing_grant low account:directory/ana'],
      message: /^ana in directory lacks directory:group\/finance, which E1 should hold: role "finance" grants it/,
    },
    {
      name: 'an account whose name the policy now computes differently is a pending rename',
      scenario: {
        people: [person('E1', 'ana.lima', 'Finance')],
        directory: [inSync.directory],
        erp: [inSync.erp],
      },
      expect: ['drift.pending_rename low account:directory/ana'],
      message: /^account ana in directory \(of E1\) is still named "ana"; the policy names it "ana\.lima" now$/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { report } = run(c.scenario);
      assert.deepEqual(found(report), c.expect);
      if (c.message) assert.match(report.findings[0]!.message, c.message);
      for (const f of report.findings) {
        assert.ok(f.why.length > 0 && f.fix.length > 0, `${f.code} says why and how to fix`);
        assert.ok((DRIFT_CODES as readonly string[]).includes(f.code));
      }
    });
  }
});

describe('computeDrift: what the policy expects is not drift', () => {
  const cases: { name: string; scenario: Scenario; expected: Record<string, number> }[] = [
    {
      name: 'identities whose accounts match the policy',
      scenario: { people: [ana], directory: [inSync.directory], erp: [inSync.erp] },
      expected: {},
    },
    {
      name: "a mover's removals within the grace period",
      scenario: {
        // E1 moved from Sales to Finance five days ago: the sales group stays for 7 days.
        people: [ana],
        directory: [
          account('ana', 'E1', true, ['directory:group/finance', 'directory:group/sales', 'directory:group/staff']),
        ],
        erp: [inSync.erp],
        lifecycle: {
          leftAt: () => undefined,
          lastMove: (id) =>
            id === 'E1' ? { at: at('2026-10-27'), grantsRemoved: ['directory:group/sales'] } : undefined,
        },
      },
      expected: { 'directory.moverGrace': 1 },
    },
    {
      name: "a leaver's disabled account whose deletion is pending",
      scenario: {
        people: [person('E3', 'cy', 'Finance', { status: 'terminated', endDate: at('2026-10-20') })],
        directory: [account('cy', 'E3', false, [])],
        erp: [account('E3', 'E3', false, [])],
      },
      expected: { 'directory.disabledLeavers': 1, 'erp.disabledLeavers': 1 },
    },
    {
      name: 'a disabled account no identity explains (it gives no access)',
      scenario: { people: [], directory: [account('old', undefined, false, ['directory:group/admins'])] },
      expected: { 'directory.disabledOrphans': 1 },
    },
    {
      name: 'a membership an exception grants',
      scenario: {
        people: [person('E6', 'fay', 'Sales')],
        directory: [
          account('fay', 'E6', true, ['directory:group/admins', 'directory:group/sales', 'directory:group/staff']),
        ],
        exceptions: [
          {
            id: 1,
            identity: 'E6',
            entitlement: 'directory:group/admins',
            reason: 'migration',
            approver: 'E1',
            grantedBy: 'ops',
            from: at('2026-10-01'),
            until: at('2026-12-01'),
          },
        ],
      },
      expected: {},
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { report, plan } = run(c.scenario);
      assert.deepEqual(found(report), []);
      const counts: Record<string, number> = {};
      for (const t of report.targets)
        for (const [k, v] of Object.entries(t.expected) as [string, number][])
          if (v > 0) counts[`${t.target}.${k}`] = v;
      assert.deepEqual(counts, c.expected);
      assert.equal(remediationPlan(plan, report, loaded).summary.changes, 0, 'nothing to remediate');
    });
  }

  it('reports the same removal once the grace period is over', () => {
    const { report } = run({
      people: [ana],
      directory: [
        account('ana', 'E1', true, ['directory:group/finance', 'directory:group/sales', 'directory:group/staff']),
      ],
      erp: [inSync.erp],
      lifecycle: {
        leftAt: () => undefined,
        lastMove: () => ({ at: at('2026-10-20'), grantsRemoved: ['directory:group/sales'] }),
      },
    });
    assert.deepEqual(found(report), ['drift.unmanaged_grant low account:directory/ana']);
  });
});

// One organisation with every class at once: drift and the planner must agree account by account.
const mixed: Scenario = {
  people: [
    ana,
    person('E3', 'cy', 'Finance', { status: 'terminated', endDate: at('2026-10-20') }),
    person('E5', 'ed', 'Sales', { status: 'leave' }),
    person('E6', 'fay', 'Sales'),
    person('E7', 'gil', 'Finance'),
  ],
  directory: [
    account('ana', 'E1', true, ['directory:group/finance', 'directory:group/staff']),
    account('cy', 'E3', true, ['directory:group/finance']),
    account('ed', 'E5', true, ['directory:group/sales']),
    account('fay', 'E6', true, ['directory:group/sales', 'directory:group/admins']),
    account('ghost', undefined, true, ['directory:group/admins']),
    account('retired', undefined, false, []),
  ],
  erp: [inSync.erp, account('E7', 'E7', false, []), account('legacy', undefined, true, ['erp:role/payments'])],
};

describe('computeDrift agrees with the planner', () => {
  const { report, plan } = run(mixed);

  it('reports every account the plan changes, and the orphans the plan leaves alone', () => {
    const changed = new Set(plan.targets.flatMap((t) => t.changes.map((c) => `account:${c.target}/${c.account}`)));
    const subjects = new Set(report.findings.map((f) => f.subject));
    for (const s of changed) assert.ok(subjects.has(s), `${s} is changed by the plan but not reported`);
    assert.deepEqual(
      report.unexplained.map((u) => `${u.target}/${u.account}`),
      ['directory/ghost', 'erp/legacy'],
    );
  });

  it('counts per target and in all, most severe first', () => {
    assert.deepEqual(found(report).slice(0, 3), [
      'drift.orphan_account critical account:erp/legacy',
      'drift.terminated_enabled critical account:directory/cy',
      'drift.orphan_account high account:directory/ghost',
    ]);
    const dir = report.targets.find((t) => t.target === 'directory')!;
    assert.equal(dir.accounts, 6);
    assert.equal(dir.byCode['drift.orphan_account'], 1);
    assert.equal(dir.expected.disabledOrphans, 1);
    assert.equal(report.summary.findings, report.findings.length);
    assert.equal(report.summary.bySeverity.critical, 2);
    assert.equal(
      Object.values(report.summary.byCode).reduce((a, b) => a + b, 0),
      report.findings.length,
    );
  });

  it('limits itself to the targets asked for', () => {
    const only = run({ ...mixed, targets: ['erp'] }).report;
    assert.deepEqual(
      only.targets.map((t) => t.target),
      ['erp'],
    );
    assert.ok(only.findings.every((f) => f.subject.startsWith('account:erp/')));
  });
});

describe('an account linked to an id Tenure never imported', () => {
  const scenario: Scenario = {
    people: [ana],
    imported: ['E9'],
    directory: [inSync.directory, account('zed', 'E9', true, ['directory:group/staff'])],
    erp: [
      inSync.erp,
      account('ext', 'E9999', true, ['erp:role/payments', 'erp:role/custom']),
      account('old', 'C-777', false, ['erp:role/reports']),
    ],
  };
  const { report, plan } = run(scenario);

  it('is left alone by the plan, while an imported leaver is still deprovisioned', () => {
    const erp = plan.targets.find((t) => t.target === 'erp')!;
    assert.deepEqual(
      erp.changes.filter((c) => c.account === 'ext' || c.account === 'old'),
      [],
    );
    assert.equal(erp.unlinkedAccounts, 2);
    assert.deepEqual(
      plan.targets
        .find((t) => t.target === 'directory')!
        .changes.filter((c) => c.identity === 'E9')
        .map((c) => c.action),
      ['remove_membership', 'disable_account'],
    );
  });

  it('is reported as drift.unknown_link with what to do; disabled, it is only counted', () => {
    assert.deepEqual(found(report), [
      'drift.terminated_enabled critical account:directory/zed',
      'drift.unknown_link medium account:erp/ext',
    ]);
    const f = report.findings.find((x) => x.code === 'drift.unknown_link')!;
    assert.match(f.message, /linked to identity E9999, which Tenure has never imported/);
    assert.match(f.fix, /correct the link .* or add that identity to a source .* tenure drift --remediate/);
    assert.deepEqual(f.related, ['entitlement:erp:role/payments', 'entitlement:erp:role/custom']);
    assert.equal(report.targets.find((t) => t.target === 'erp')!.expected.disabledOrphans, 1);
    assert.deepEqual(report.unexplained, [{ target: 'erp', account: 'ext', code: 'drift.unknown_link' }]);
  });

  it('is disabled only by the remediation plan', () => {
    const fix = remediationPlan(plan, report, loaded);
    const erp = fix.targets.find((t) => t.target === 'erp')!;
    assert.deepEqual(
      erp.changes.filter((c) => c.account === 'ext').map((c) => [c.action, c.identity, c.reason]),
      [
        [
          'disable_account',
          undefined,
          'linked to an identity Tenure has never imported (drift.unknown_link): disabled until the link is corrected',
        ],
      ],
      'disabled, not deleted, and its memberships are not touched',
    );
    assert.equal(erp.unlinkedAccounts, 1, 'the disabled one is still left alone');
  });
});

describe('remediationPlan', () => {
  it("is the planner's plan plus a disable of every enabled account no identity explains", () => {
    const { report, plan } = run(mixed);
    const fix = remediationPlan(plan, report, loaded);
    const dir = fix.targets.find((t) => t.target === 'directory')!;
    const disables = dir.changes.filter((c) => c.identity === undefined);
    assert.deepEqual(
      disables.map((c) => [c.action, c.account]),
      [['disable_account', 'ghost']],
      'the disabled orphan is left as it is',
    );
    assert.match(disables[0]!.reason, /no identity explains this account/);
    assert.equal(dir.changes.length, plan.targets.find((t) => t.target === 'directory')!.changes.length + 1);
    assert.equal(dir.counts.disable_account, plan.targets[0]!.counts.disable_account + 1);
    assert.equal(dir.unlinkedAccounts, 1, 'only the disabled orphan is still left alone');
    assert.equal(fix.summary.changes, plan.summary.changes + 2);
    assert.equal(fix.summary.identitiesAffected, plan.summary.identitiesAffected);
    assert.equal(fix.policy, plan.policy);
    assert.equal(fix.asOf, plan.asOf);
  });

  it('counts orphan disables against the deprovisioning breaker', () => {
    const strict = policy(`  guardrails:
    deprovision: { max_percent: 50, min_count: 2, max_count: 100 }
`);
    const scenario: Scenario = {
      loaded: strict,
      people: [ana],
      directory: [
        inSync.directory,
        account('old1', undefined, true, []),
        account('old2', undefined, true, []),
        account('old3', undefined, true, []),
      ],
      erp: [inSync.erp],
    };
    const { report, plan } = run(scenario);
    assert.equal(plan.guardrails.blocked, false, 'the plan itself leaves orphans alone');
    const fix = remediationPlan(plan, report, strict);
    const verdict = fix.guardrails.deprovision.find((d) => d.target === 'directory')!;
    assert.equal(verdict.accounts, 3);
    assert.equal(verdict.blocked, true);
    assert.equal(fix.guardrails.blocked, true);
  });

  it('keeps a separation-of-duties conflict only while it still adds one of its entitlements', () => {
    const sod = policy(`  separation_of_duties:
    - id: pay-and-approve
      conflicting: [directory:group/finance, erp:role/payments]
`);
    // ana already holds erp:role/payments; the plan adds directory:group/finance, completing the pair.
    const scenario: Scenario = {
      loaded: sod,
      people: [ana],
      directory: [account('ana', 'E1', true, ['directory:group/staff'])],
      erp: [inSync.erp],
    };
    const { report, plan } = run(scenario);
    assert.equal(plan.guardrails.sodConflicts.length, 1);
    const all = remediationPlan(plan, report, sod);
    assert.equal(all.guardrails.blocked, true);
    assert.deepEqual(all.guardrails.sodConflicts, plan.guardrails.sodConflicts);
    const erpOnly = run({ ...scenario, targets: ['erp'] });
    const fix = remediationPlan(erpOnly.plan, erpOnly.report, sod);
    assert.deepEqual(fix.guardrails.sodConflicts, [], 'a remediation of erp alone adds nothing of the pair');
    assert.equal(fix.guardrails.blocked, false);
  });
});
