import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { ActualState } from '../model/actual-state.js';
import type { Identity } from '../model/identity.js';
import type { TargetKindTraits } from '../model/policy.js';
import { loadPolicy } from '../policy/load-policy.js';
import { computePlan } from './compute-plan.js';
import { renderPlanMarkdown, renderPlanText } from './render-plan.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';

const asOf = new Date('2026-11-01T00:00:00Z');
const r = loadPolicy(
  `version: 1
name: Plan test
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
  - id: directory:group/engineering
  - id: directory:group/finance
  - id: erp:role/payments
    risk: critical
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: payments
    when: identity.department == "Finance"
    grants: [erp:role/payments, directory:group/finance]
`,
  'tenure.yaml',
);
assert.ok(r.result, JSON.stringify(r.diagnostics));
const loaded = r.result;

const people: Identity[] = [
  {
    id: 'E1',
    kind: 'employee',
    status: 'active',
    attributes: { department: 'Engineering', username: 'ana' },
    source: 'hr',
  },
  { id: 'E2', kind: 'employee', status: 'active', attributes: { department: 'Finance', username: 'bo' }, source: 'hr' },
  {
    id: 'E3',
    kind: 'employee',
    status: 'terminated',
    attributes: { department: 'Finance', username: 'cy' },
    source: 'hr',
  },
  { id: 'E4', kind: 'employee', status: 'active', attributes: { department: 'Sales', username: 'di' }, source: 'hr' },
];
const actual: ActualState = {
  targets: [
    {
      target: 'directory',
      accounts: [
        // ana: linked by name, holds a group she no longer should, and one Tenure does not manage
        {
          id: 'uid=ana',
          name: 'ana',
          enabled: true,
          entitlements: ['directory:group/staff', 'directory:group/finance', 'directory:group/unmanaged'],
        },
        // cy left: still enabled with memberships
        {
          id: 'uid=cy',
          name: 'cy',
          identity: 'E3',
          enabled: true,
          entitlements: ['directory:group/staff', 'directory:group/finance'],
        },
        // di: disabled account, active again
        { id: 'uid=di', name: 'di', identity: 'E4', enabled: false, entitlements: ['directory:group/staff'] },
        { id: 'uid=ghost', name: 'ghost', enabled: true, entitlements: [] },
      ],
    },
  ],
};

/** Every identity of the feeds has been imported. */
const imported: ReadonlySet<string> = new Set(people.map((p) => p.id));

describe('computePlan', () => {
  const desired = new Engine(loaded).desiredState(people, asOf);
  const { result: plan, diagnostics } = computePlan({
    loaded,
    identities: people,
    imported,
    desired,
    actual,
    asOf,
    kinds: CONNECTOR_KINDS,
  });

  it('lists per target the changes that make actual match desired, in a safe order', () => {
    assert.deepEqual(diagnostics, []);
    const dir = plan.targets.find((t) => t.target === 'directory')!;
    assert.deepEqual(
      dir.changes.map((c) => [c.identity, c.account, c.action, c.entitlement]),
      [
        ['E1', 'ana', 'link_account', undefined],
        ['E1', 'ana', 'add_membership', 'directory:group/engineering'],
        ['E1', 'ana', 'remove_membership', 'directory:group/finance'],
        ['E2', 'bo', 'create_account', undefined],
        ['E2', 'bo', 'add_membership', 'directory:group/finance'],
        ['E2', 'bo', 'add_membership', 'directory:group/staff'],
        ['E3', 'cy', 'remove_membership', 'directory:group/finance'],
        ['E3', 'cy', 'remove_membership', 'directory:group/staff'],
        ['E3', 'cy', 'disable_account', undefined],
        ['E4', 'di', 'enable_account', undefined],
      ],
    );
    assert.equal(dir.accountsBefore, 4);
    assert.equal(dir.unlinkedAccounts, 1, 'the ghost account is left alone');
    assert.equal(dir.deferred, 0, 'no lifecycle input: nothing is deferred');
    assert.deepEqual(dir.deferredChanges, []);
  });

  it('gives every change a reason a person can read', () => {
    const dir = plan.targets.find((t) => t.target === 'directory')!;
    const reason = (identity: string, action: string) =>
      dir.changes.find((c) => c.identity === identity && c.action === action)!.reason;
    assert.equal(reason('E3', 'disable_account'), 'E3 is terminated');
    assert.equal(reason('E1', 'remove_membership'), 'no role grants directory:group/finance to E1');
    assert.equal(reason('E1', 'add_membership'), 'role "engineer" grants it, because department = "Engineering"');
    assert.match(reason('E2', 'create_account'), /^E2 needs access to directory: role "payments" grants it/);
  });

  it('creates accounts in a target with no recorded state and counts high-risk grants', () => {
    const erp = plan.targets.find((t) => t.target === 'erp')!;
    assert.deepEqual(
      erp.changes.map((c) => [c.account, c.action, c.risk]),
      [
        ['E2', 'create_account', undefined],
        ['E2', 'add_membership', 'critical'],
      ],
    );
    assert.equal(plan.summary.highRiskGrants, 1);
    assert.equal(plan.summary.changes, 12);
    assert.equal(plan.summary.identitiesAffected, 4);
    assert.equal(plan.summary.byAction.create_account, 2);
  });

  it('plans the changes of the identities asked for only, the same as in the full plan, and says so', () => {
    const { result: scoped, diagnostics: scopedDiagnostics } = computePlan({
      loaded,
      identities: people,
      imported,
      desired,
      actual,
      asOf,
      kinds: CONNECTOR_KINDS,
      only: new Set(['E3', 'E2']),
    });
    assert.deepEqual(scopedDiagnostics, []);
    assert.deepEqual(scoped.onlyIdentities, ['E2', 'E3']);
    for (const t of scoped.targets) {
      const full = plan.targets.find((x) => x.target === t.target)!;
      assert.deepEqual(
        t.changes,
        full.changes.filter((c) => c.identity === 'E2' || c.identity === 'E3'),
        `${t.target}: what the full plan does for E2 and E3, nothing for E1 or E4`,
      );
      assert.equal(t.accountsBefore, full.accountsBefore, 'the whole target was read');
    }
    assert.equal(scoped.summary.identitiesAffected, 2);
    assert.match(renderPlanText(scoped), /^Plan for .* — for E2, E3 only\n/);
  });

  it('plans nothing once actual matches desired', () => {
    const converged: ActualState = {
      targets: [
        {
          target: 'directory',
          accounts: [
            {
              id: '1',
              name: 'ana',
              identity: 'E1',
              enabled: true,
              entitlements: ['directory:group/engineering', 'directory:group/staff', 'directory:group/unmanaged'],
            },
            {
              id: '2',
              name: 'bo',
              identity: 'E2',
              enabled: true,
              entitlements: ['directory:group/finance', 'directory:group/staff'],
            },
            { id: '3', name: 'cy', identity: 'E3', enabled: false, entitlements: [] },
            { id: '4', name: 'di', identity: 'E4', enabled: true, entitlements: ['directory:group/staff'] },
          ],
        },
        {
          target: 'erp',
          accounts: [{ id: '9', name: 'E2', identity: 'E2', enabled: true, entitlements: ['erp:role/payments'] }],
        },
      ],
    };
    const again = computePlan({
      loaded,
      identities: people,
      imported,
      desired,
      actual: converged,
      asOf,
      kinds: CONNECTOR_KINDS,
    }).result;
    assert.equal(again.summary.changes, 0);
    assert.match(renderPlanText(again), /No changes: every target matches the policy\./);
  });

  it('renders text and markdown with the counts', () => {
    const text = renderPlanText(plan);
    assert.match(
      text,
      /^Target directory \(4 accounts now\): 1 create account, 1 link account, 1 enable account, 3 add membership, 3 remove membership, 1 disable account$/m,
    );
    assert.match(text, /- cy: disable account — E3 is terminated/);
    assert.match(text, /\(1 account\(s\) no identity explains: left alone; see drift\)/);
    const md = renderPlanMarkdown(plan);
    // The last column is delete account: this policy deletes nothing.
    // Links show as a column because one is planned; renames, updates and rotations do not.
    assert.match(md, /^\| target \| accounts now \| create account \| link account \| enable account \|/m);
    assert.match(md, /^\| directory \| 4 \| 1 \| 1 \| 1 \| 3 \| 3 \| 1 \| 0 \|$/m);
    assert.match(md, /erp:role\/payments \[critical\]/);
  });
});

describe('computePlan for an identity gone from every source', () => {
  const desired = new Engine(loaded).desiredState(people, asOf);
  const erpOf = (known: ReadonlySet<string>, accounts: ActualState['targets'][number]['accounts']) =>
    computePlan({
      loaded,
      identities: people,
      imported: known,
      desired,
      actual: { targets: [{ target: 'erp', accounts }] },
      asOf,
      kinds: CONNECTOR_KINDS,
    }).result.targets.find((t) => t.target === 'erp')!;

  it('takes an imported leaver’s access away and disables its account, saying why', () => {
    const erp = erpOf(new Set([...imported, 'E9']), [
      { id: '9', name: 'zed', identity: 'E9', enabled: true, entitlements: ['erp:role/payments'] },
    ]);
    assert.deepEqual(
      erp.changes.filter((c) => c.identity === 'E9').map((c) => [c.action, c.account, c.reason]),
      [
        ['remove_membership', 'zed', 'E9 is no longer in any source'],
        ['disable_account', 'zed', 'E9 is no longer in any source'],
      ],
    );
    assert.equal(erp.unlinkedAccounts, 0);
  });

  it('leaves an account linked to an id Tenure never imported alone', () => {
    const unknown = { id: '99', name: 'ext', identity: 'E9999', enabled: true, entitlements: ['erp:role/payments'] };
    const erp = erpOf(imported, [unknown]);
    assert.deepEqual(
      erp.changes.filter((c) => c.account === 'ext' || c.identity === 'E9999'),
      [],
      'no change of any kind for it',
    );
    assert.equal(erp.unlinkedAccounts, 1, 'counted among the accounts left alone');
    assert.deepEqual(erp.adopted, []);
    // Not even by name: an identity whose account name is "E2" does not take it over, and no
    // create is planned that would meet it at apply: the plan says why instead.
    const named = computePlan({
      loaded,
      identities: people,
      imported,
      desired,
      actual: { targets: [{ target: 'erp', accounts: [{ ...unknown, name: 'E2' }] }] },
      asOf,
      kinds: CONNECTOR_KINDS,
    });
    assert.deepEqual(named.result.targets.find((t) => t.target === 'erp')!.changes, []);
    assert.deepEqual(
      named.diagnostics.map((d) => [d.code, d.message]),
      [
        [
          'plan.name_taken',
          'target "erp": E2\'s account "E2" is not created: an account linked to E9999 has that name',
        ],
      ],
    );
    const erpNamed = named.result.targets.find((t) => t.target === 'erp')!;
    assert.equal(erpNamed.unlinkedAccounts, 1);
  });

  it('without a store only the feeds’ ids are known: every other link is unknown', () => {
    const erp = erpOf(new Set(), [{ id: '9', name: 'zed', identity: 'E9', enabled: true, entitlements: [] }]);
    assert.deepEqual(
      erp.changes.filter((c) => c.identity === 'E9'),
      [],
    );
    assert.equal(erp.unlinkedAccounts, 1);
  });
});

describe('computePlan adopting an existing account by name', () => {
  it('lists the account it links by name with what it already holds, and renders it', () => {
    const desired = new Engine(loaded).desiredState(people, asOf);
    const plan = computePlan({
      loaded,
      identities: people,
      imported,
      desired,
      actual,
      asOf,
      kinds: CONNECTOR_KINDS,
    }).result;
    const dir = plan.targets.find((t) => t.target === 'directory')!;
    assert.deepEqual(dir.adopted, [
      {
        identity: 'E1',
        account: 'ana',
        enabled: true,
        entitlements: ['directory:group/staff', 'directory:group/finance', 'directory:group/unmanaged'],
        reason:
          'adopted by name: ana in directory records no identity and is the account_name of E1; enabled, holds directory:group/staff, directory:group/finance, directory:group/unmanaged',
      },
    ]);
    assert.deepEqual(
      plan.targets.find((t) => t.target === 'erp')!.adopted,
      [],
      'accounts found by their recorded link, and accounts to create, are not adopted',
    );
    assert.match(
      renderPlanText(plan),
      /^ {2}\(adopts 1 existing account\(s\) by name\)\n {4}= ana \(E1\): adopted by name: ana in directory records no identity/m,
    );
    assert.match(
      renderPlanMarkdown(plan),
      /^- directory: adopts 1 existing account\(s\) by name: ana \(E1\), enabled, holds 3$/m,
    );
  });
});

describe('computePlan with a target of its own breaker', () => {
  it("blocks by the target's settings rather than the policy's", () => {
    const text = `version: 1
sources:
  - { id: hr, format: csv, path: hr.csv, key: id, kind: { constant: employee } }
targets:
  - id: vault
    kind: memory
    deprovision_breaker: { max_percent: 0, min_count: 1, max_count: 1 }
  - id: wiki
    kind: memory
entitlements:
  - id: vault:group/admins
  - id: wiki:group/editors
`;
    const l = loadPolicy(text, 'tenure.yaml').result!;
    const ghost = (target: string, ent: string) => ({
      target,
      accounts: [{ id: '1', name: 'x', identity: 'X1', enabled: true, entitlements: [ent] }],
    });
    const desired = new Engine(l).desiredState([], asOf);
    const plan = computePlan({
      loaded: l,
      identities: [],
      imported: new Set(['X1']),
      desired,
      actual: { targets: [ghost('vault', 'vault:group/admins'), ghost('wiki', 'wiki:group/editors')] },
      asOf,
      kinds: CONNECTOR_KINDS,
    }).result;
    assert.deepEqual(
      plan.guardrails.deprovision.map((d) => [d.target, d.accounts, d.blocked]),
      [
        ['vault', 1, true],
        ['wiki', 1, false],
      ],
    );
    assert.equal(plan.guardrails.blocked, true);
  });
});

describe('computePlan with a target that reports the entitlements it has', () => {
  const desired = new Engine(loaded).desiredState(people, asOf);
  const directory = actual.targets[0]!;
  const plan = (entitlements: readonly string[] | undefined) =>
    computePlan({
      loaded,
      identities: people,
      imported,
      desired,
      actual: {
        targets: [
          {
            ...directory,
            ...(entitlements ? { entitlements } : {}),
            locations: { 'directory:group/finance': 'groupOfNames cn=finance,ou=groups,dc=example,dc=org' },
          },
        ],
      },
      asOf,
      kinds: CONNECTOR_KINDS,
    });
  const adds = (p: ReturnType<typeof plan>) =>
    p.result.targets[0]!.changes.filter((c) => c.action === 'add_membership').map((c) => [c.account, c.entitlement]);

  it('reports a declared entitlement the target lacks, where it looked and whose grants it holds back', () => {
    const p = plan(['directory:group/staff', 'directory:group/engineering', 'directory:group/unmanaged']);
    assert.deepEqual(
      p.diagnostics.map((d) => [d.severity, d.code, d.subject, d.position?.line]),
      [['warning', 'target.missing_entitlement', 'directory:group/finance', 21]],
    );
    assert.equal(
      p.diagnostics[0]!.message,
      'target "directory" has no directory:group/finance (no groupOfNames cn=finance,ou=groups,dc=example,dc=org); 1 grant(s) held back, not planned: bo',
    );
    assert.match(p.diagnostics[0]!.hint ?? '', /create it in the target, or correct the entitlement/);
    // bo's account is still created and given staff; the finance grant is not attempted. Removals go ahead.
    assert.deepEqual(adds(p), [
      ['ana', 'directory:group/engineering'],
      ['bo', 'directory:group/staff'],
    ]);
    const dir = p.result.targets[0]!;
    assert.ok(dir.changes.some((c) => c.account === 'bo' && c.action === 'create_account'));
    assert.ok(dir.changes.some((c) => c.account === 'ana' && c.action === 'remove_membership'));
  });

  it('names the missing entitlement without a location when the connector gives none', () => {
    const p = plan(['directory:group/staff', 'directory:group/finance']);
    assert.deepEqual(
      p.diagnostics.map((d) => d.message),
      ['target "directory" has no directory:group/engineering; 1 grant(s) held back, not planned: ana'],
    );
    assert.ok(!adds(p).some(([, e]) => e === 'directory:group/engineering'));
  });

  it('checks nothing when the connector cannot list what the target has', () => {
    const p = plan(undefined);
    assert.deepEqual(p.diagnostics, []);
    assert.equal(adds(p).length, 3);
  });
});

describe('computePlan when the account name the policy computes changes', () => {
  const desired = new Engine(loaded).desiredState(people, asOf);
  // ana was renamed in HR (username ana → ana.lima): her account is found by its link, E1.
  const renamedPeople = people.map((p) =>
    p.id === 'E1' ? { ...p, attributes: { ...p.attributes, username: 'ana.lima' } } : p,
  );
  const renamedDesired = new Engine(loaded).desiredState(renamedPeople, asOf);
  const anaAccount = {
    id: 'uid=ana',
    name: 'ana',
    identity: 'E1',
    enabled: true,
    entitlements: ['directory:group/staff', 'directory:group/engineering'],
  };
  const planWith = (
    accounts: ActualState['targets'][number]['accounts'],
    kinds: TargetKindTraits = CONNECTOR_KINDS,
    ids = renamedPeople,
  ) =>
    computePlan({
      loaded,
      identities: ids,
      imported,
      desired: ids === people ? desired : renamedDesired,
      actual: { targets: [{ target: 'directory', accounts }] },
      asOf,
      kinds,
    });

  it('renames the linked account in place, before anything else, and later changes use the new name', () => {
    const p = planWith([anaAccount]);
    assert.deepEqual(p.diagnostics, []);
    const ana = p.result.targets[0]!.changes.filter((c) => c.identity === 'E1');
    assert.deepEqual(
      ana.map((c) => [c.action, c.account, c.newName]),
      [['rename_account', 'ana', 'ana.lima']],
      'nothing else changes: the account keeps what it holds',
    );
    assert.match(ana[0]!.reason, /E1's account name is now "ana\.lima".*found by its link, it keeps what it holds/);
    assert.match(renderPlanText(p.result), /~ ana: rename account to ana\.lima — /);
  });

  it('keeps a leaver’s account name: it is disabled under the name it has', () => {
    const leaving = renamedPeople.map((x) => (x.id === 'E1' ? { ...x, status: 'terminated' as const } : x));
    const p = computePlan({
      loaded,
      identities: leaving,
      imported,
      desired: new Engine(loaded).desiredState(leaving, asOf),
      actual: { targets: [{ target: 'directory', accounts: [anaAccount] }] },
      asOf,
      kinds: CONNECTOR_KINDS,
    });
    const ana = p.result.targets[0]!.changes.filter((c) => c.identity === 'E1');
    assert.ok(!ana.some((c) => c.action === 'rename_account'));
    assert.ok(ana.some((c) => c.action === 'disable_account' && c.account === 'ana'));
  });

  it('does not rename onto a name another account holds, and says so', () => {
    const p = planWith([anaAccount, { id: 'uid=ana.lima', name: 'ana.lima', enabled: true, entitlements: [] }]);
    assert.ok(!p.result.targets[0]!.changes.some((c) => c.action === 'rename_account'));
    assert.deepEqual(
      p.diagnostics.map((d) => [d.code, d.subject]),
      [['plan.rename_conflict', 'E1']],
    );
    assert.match(p.diagnostics[0]!.message, /"ana" is not renamed to "ana\.lima", which another account has/);
  });

  it('warns instead of renaming where the kind cannot rename', () => {
    const kinds = { ...CONNECTOR_KINDS, memory: { names: 'exact' as const, capabilities: { rename: false } } };
    const p = planWith([anaAccount], kinds);
    assert.ok(!p.result.targets[0]!.changes.some((c) => c.action === 'rename_account' || c.action === 'link_account'));
    assert.deepEqual(
      p.diagnostics.map((d) => d.code),
      ['plan.rename_unsupported'],
    );
  });

  it('creates one account for a name two identities compute, and says so for the other', () => {
    const twins = [renamedPeople[0]!, { ...renamedPeople[0]!, id: 'E7' }];
    const p = computePlan({
      loaded,
      identities: twins,
      imported: new Set(['E1', 'E7']),
      desired: new Engine(loaded).desiredState(twins, asOf),
      actual: { targets: [{ target: 'directory', accounts: [] }] },
      asOf,
      kinds: CONNECTOR_KINDS,
    });
    const creates = p.result.targets[0]!.changes.filter((c) => c.action === 'create_account');
    assert.deepEqual(
      creates.map((c) => [c.identity, c.account]),
      [['E1', 'ana.lima']],
    );
    assert.deepEqual(
      p.diagnostics.map((d) => d.message),
      ['target "directory": E7\'s account "ana.lima" is not created: the account planned for E1 has that name'],
    );
  });

  const atMostThree = new Map([
    ['directory', (n: string) => (n.length > 3 ? `is ${n.length} characters; the target allows at most 3` : undefined)],
  ]);
  const withRules = (accounts: ActualState['targets'][number]['accounts']) =>
    computePlan({
      loaded,
      identities: renamedPeople,
      imported,
      desired: renamedDesired,
      actual: { targets: [{ target: 'directory', accounts }] },
      asOf,
      kinds: CONNECTOR_KINDS,
      nameRules: atMostThree,
    });

  it('does not create an account under a name the target refuses, and names the rule that made it', () => {
    const p = withRules([]);
    assert.ok(!p.result.targets[0]!.changes.some((c) => c.identity === 'E1'), 'nothing for E1');
    assert.ok(p.result.targets[0]!.changes.some((c) => c.identity === 'E2' && c.action === 'create_account'));
    assert.deepEqual(
      p.diagnostics.map((d) => [d.severity, d.code, d.message, d.hint]),
      [
        [
          'warning',
          'plan.invalid_name',
          'target "directory": E1\'s account name "ana.lima" is 8 characters; the target allows at most 3; it is not created',
          'the name comes from targets[].account_name: identity.username; make it give names the target accepts',
        ],
      ],
    );
  });

  it('does not rename to a name the target refuses: the account keeps its name, and the plan says why', () => {
    const p = withRules([anaAccount]);
    const ana = p.result.targets[0]!.changes.filter((c) => c.identity === 'E1');
    assert.ok(!ana.some((c) => c.action === 'rename_account'));
    assert.ok(ana.every((c) => c.account === 'ana'));
    assert.match(
      p.diagnostics[0]!.message,
      /"ana\.lima" is 8 characters; the target allows at most 3; the account stays "ana"$/,
    );
  });

  it('treats a change of case as no rename where names compare without case', () => {
    const kinds = {
      ...CONNECTOR_KINDS,
      memory: { names: 'case-insensitive' as const, capabilities: { rename: true } },
    };
    const p = planWith([{ ...anaAccount, name: 'ANA' }], kinds, people);
    assert.ok(!p.result.targets[0]!.changes.some((c) => c.action === 'rename_account'));
  });
});

describe('computePlan placing accounts (an attribute the target compares its own way)', () => {
  const placed = loadPolicy(
    `version: 1
name: Placement test
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
    kind: ldap
    account_name: identity.username
    attributes:
      parent: '"OU=" + identity.department + ",OU=Staff,DC=corp,DC=example"'
    connection: { url: ldaps://dc.example, bind_dn: x, bind_password: x, people_base: x, groups_base: x }
entitlements:
  - id: directory:group/staff
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
`,
    'tenure.yaml',
  );
  assert.ok(placed.result, JSON.stringify(placed.diagnostics));
  const policy = placed.result;
  const ana = people[0]!;
  const planWith = (parent: string) =>
    computePlan({
      loaded: policy,
      identities: [ana],
      imported: new Set(['E1']),
      desired: new Engine(policy).desiredState([ana], asOf),
      actual: {
        targets: [
          {
            target: 'directory',
            accounts: [
              {
                id: 'guid-1',
                name: 'ana',
                identity: 'E1',
                enabled: true,
                entitlements: ['directory:group/staff'],
                attributes: { parent },
              },
            ],
          },
        ],
      },
      asOf,
      kinds: CONNECTOR_KINDS,
    });

  it('moves an account whose OU the policy now computes differently, saying from where to where', () => {
    const changes = planWith('OU=Sales,OU=Staff,DC=corp,DC=example').result.targets[0]!.changes;
    assert.deepEqual(
      changes.map((c) => [c.action, c.attributes, c.reason]),
      [
        [
          'update_account',
          { parent: 'OU=Engineering,OU=Staff,DC=corp,DC=example' },
          'parent: "OU=Sales,OU=Staff,DC=corp,DC=example" → "OU=Engineering,OU=Staff,DC=corp,DC=example" (policy targets[].attributes)',
        ],
      ],
    );
  });

  it('sees the same OU written with other case and spacing as the same: nothing to do', () => {
    assert.deepEqual(planWith('ou=engineering, ou=staff, dc=CORP, dc=example').result.targets[0]!.changes, []);
  });
});
