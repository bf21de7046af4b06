import type { AccessException } from '../model/exception.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Identity } from '../model/identity.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { Engine, receivesAccess } from './engine.js';

const asOf = new Date('2026-11-01T00:00:00Z');

/** Desired state as plain data (role matches compute their inputs on demand). */
function plain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))) as unknown;
}

function policyWith(
  roles: string,
  entitlements = ['directory:group/a', 'directory:group/b', 'directory:group/c'],
): LoadedPolicy {
  const text = `version: 1
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    attributes:
      department: { field: department, type: string }
      title: { field: title, type: string }
      location: { field: location, type: string }
      grade: { field: grade, type: int }
      clearances: { field: clearances, type: list }
targets:
  - id: directory
    kind: memory
entitlements:
${entitlements.map((e) => `  - id: ${e}`).join('\n')}
roles:
${roles}`;
  const r = loadPolicy(text, 'tenure.yaml');
  assert.ok(r.result, r.diagnostics.map((d) => d.message).join('\n'));
  return r.result;
}

function person(id: string, attributes: Identity['attributes'], status: Identity['status'] = 'active'): Identity {
  return { id, kind: 'employee', status, attributes, source: 'hr' };
}

describe('Engine', () => {
  const loaded = policyWith(`  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/a]
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/b]
    inherits: [staff]
  - id: senior-engineer
    when: identity.department == "Engineering" && identity.title.startsWith("Senior")
    grants: [directory:group/c]
    inherits: [engineer]
`);
  const engine = new Engine(loaded);
  const ana = person('E2', { department: 'Engineering', title: 'Senior Developer', grade: 7n });
  const bo = person('E1', { department: 'Sales', title: 'Senior Account Executive' });
  const cy = person('E3', { department: 'Engineering', title: 'Developer' }, 'terminated');

  it('holds back a role grant a reviewer revoked, from the decision on, unless an exception grants it', () => {
    const denial = {
      id: 1,
      identity: 'E2',
      entitlement: 'directory:group/b',
      origin: 'review 1, item 2',
      reason: 'not needed',
      decidedBy: 'M1',
      at: asOf,
      roles: ['engineer'],
    };
    const before = new Date(asOf.getTime() - 1);
    const held = (at: Date, exceptions: AccessException[] = []) => {
      const a = engine.identityAccess(ana, at, exceptions, [denial]);
      const b = engine.desiredState([ana, bo], at, 'indexed', exceptions, [denial]).identities[1]!;
      assert.deepEqual(plain(a), plain(b), 'one identity and the whole state agree');
      return a;
    };
    assert.ok(
      held(before).grants.some((g) => g.entitlement === 'directory:group/b'),
      'not yet decided',
    );
    const after = held(asOf);
    assert.deepEqual(
      after.grants.map((g) => g.entitlement),
      ['directory:group/a', 'directory:group/c'],
    );
    assert.deepEqual(
      after.denied?.map((d) => [d.entitlement, d.provenance.map((p) => p.chain.join('>')), d.denial.id]),
      [['directory:group/b', ['engineer', 'senior-engineer>engineer'], 1]],
    );
    const exception: AccessException = {
      id: 7,
      identity: 'E2',
      entitlement: 'directory:group/b',
      reason: 'project',
      approver: 'M2',
      grantedBy: 'ops',
      from: before,
      until: new Date(asOf.getTime() + 86_400_000),
    };
    const granted = held(asOf, [exception]).grants.find((g) => g.entitlement === 'directory:group/b');
    assert.deepEqual(
      granted?.provenance.map((p) => p.exception?.id),
      [7],
      'only the exception grants it',
    );
  });

  it('gives each identity the entitlements of the roles whose rule holds, and their parents', () => {
    const state = engine.desiredState([ana, bo, cy], asOf);
    assert.deepEqual(
      state.identities.map((a) => [a.identity, a.roles, a.grants.map((g) => g.entitlement)]),
      [
        ['E1', ['staff'], ['directory:group/a']],
        [
          'E2',
          ['engineer', 'senior-engineer', 'staff'],
          ['directory:group/a', 'directory:group/b', 'directory:group/c'],
        ],
        ['E3', [], []],
      ],
    );
  });

  it('records provenance: role chain, rule text and the values that made it hold, shortest path first', () => {
    const access = engine.identityAccess(ana, asOf);
    const a = access.grants.find((g) => g.entitlement === 'directory:group/a')!;
    assert.deepEqual(
      a.provenance.map((p) => p.chain),
      [['staff'], ['engineer', 'staff'], ['senior-engineer', 'engineer', 'staff']],
    );
    const senior = access.matches.find((m) => m.role === 'senior-engineer')!;
    assert.equal(senior.rule, 'identity.department == "Engineering" && identity.title.startsWith("Senior")');
    assert.deepEqual(senior.inputs, { department: 'Engineering', title: 'Senior Developer' });
  });

  it('gives terminated identities nothing', () => {
    assert.deepEqual(engine.identityAccess(cy, asOf).grants, []);
  });

  it('treats a rule reading an absent attribute as not holding', () => {
    const l = policyWith(`  - id: graded
    when: identity.grade > 3
    grants: [directory:group/a]
`);
    const e = new Engine(l);
    assert.deepEqual(
      e.desiredState([bo, ana], asOf).identities.map((a) => a.grants.length),
      [0, 1],
    );
  });

  it('derives index filters from equality, in, prefix and list membership', () => {
    const l = policyWith(`  - id: r1
    when: identity.department == "Sales" && (identity.location in ["Paris", "Lyon"] || identity.title.startsWith("VP"))
    grants: [directory:group/a]
  - id: r2
    when: '"pci" in identity.clearances && identity.grade >= 3'
    grants: [directory:group/a]
  - id: r3
    when: '!(identity.department == "Sales")'
    grants: [directory:group/a]
`);
    const e = new Engine(l);
    assert.deepEqual(e.filterOf('r1'), {
      exact: true,
      filter: {
        kind: 'and',
        parts: [
          { kind: 'field', field: 'department', test: { op: 'equals', values: ['Sales'] } },
          {
            kind: 'or',
            parts: [
              { kind: 'field', field: 'location', test: { op: 'equals', values: ['Paris', 'Lyon'] } },
              { kind: 'field', field: 'title', test: { op: 'prefix', text: 'VP' } },
            ],
          },
        ],
      },
    });
    assert.deepEqual(e.filterOf('r2'), {
      exact: true,
      filter: {
        kind: 'and',
        parts: [
          { kind: 'element', field: 'clearances', value: 'pci' },
          { kind: 'field', field: 'grade', test: { op: '>=', value: 3n } },
        ],
      },
    });
    assert.deepEqual(e.filterOf('r3'), {
      exact: true,
      filter: { kind: 'not', part: { kind: 'field', field: 'department', test: { op: 'equals', values: ['Sales'] } } },
    });
  });

  it('falls back to CEL for what no index answers, keeping the indexable part as the candidate set', () => {
    const l = policyWith(`  - id: r1
    when: identity.title.contains("Lead") && identity.title.size() > 3
    grants: [directory:group/a]
  - id: r2
    when: identity.title.size() > 3 || identity.department == "Sales"
    grants: [directory:group/a]
`);
    const e = new Engine(l);
    assert.deepEqual(e.filterOf('r1'), {
      exact: false,
      filter: { kind: 'field', field: 'title', test: { op: 'substring', text: 'Lead' } },
    });
    assert.deepEqual(e.filterOf('r2'), { exact: false, filter: { kind: 'all' } });
  });

  it('is deterministic whatever the input order', () => {
    const a = engine.desiredState([ana, bo, cy], asOf);
    const b = engine.desiredState([cy, bo, ana], asOf);
    assert.deepEqual(plain(a), plain(b));
  });
});

// Property: on random organisations and random rules, the indexed evaluation and the naive
// evaluation of every rule for every identity give identical desired states.
const departments = ['Eng', 'Sales', 'HR', 'Ops'];
const titles = ['Senior Dev', 'Dev', 'Senior Manager', 'Manager', 'VP Sales', 'Staff Dev'];
const locations = ['Paris', 'Lyon', 'Oslo', 'Rome'];
const clearanceValues = ['pci', 'sox', 'hipaa'];

const atom: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...departments).map((d) => `identity.department == "${d}"`),
  fc.constantFrom(...locations).map((l) => `"${l}" == identity.location`),
  fc.subarray(locations, { minLength: 1 }).map((ls) => `identity.location in [${ls.map((l) => `"${l}"`).join(', ')}]`),
  fc.constantFrom('Senior', 'Staff', 'VP', 'Dev', '').map((p) => `identity.title.startsWith("${p}")`),
  fc.constantFrom(...clearanceValues).map((c) => `"${c}" in identity.clearances`),
  fc.integer({ min: 1, max: 9 }).map((g) => `identity.grade >= ${g}`),
  fc.integer({ min: 1, max: 9 }).map((g) => `identity.grade == ${g}`),
  fc.constantFrom(
    'identity.title.contains("Dev")',
    'has(identity.location)',
    'identity.kind == "employee"',
    'identity.status == "active"',
  ),
);
const rule: fc.Arbitrary<string> = fc.letrec<{ rule: string }>((tie) => ({
  rule: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('rule'), tie('rule')).map(([a, b]) => `(${a} && ${b})`),
    fc.tuple(tie('rule'), tie('rule')).map(([a, b]) => `(${a} || ${b})`),
    tie('rule').map((a) => `!(${a})`),
  ),
})).rule;

const identity: fc.Arbitrary<Identity> = fc
  .record({
    department: fc.option(fc.constantFrom(...departments), { nil: undefined }),
    title: fc.option(fc.constantFrom(...titles), { nil: undefined }),
    location: fc.option(fc.constantFrom(...locations), { nil: undefined }),
    grade: fc.option(fc.integer({ min: 1, max: 9 }).map(BigInt), { nil: undefined }),
    clearances: fc.option(fc.subarray(clearanceValues), { nil: undefined }),
    status: fc.constantFrom('active', 'active', 'active', 'terminated' as const),
  })
  .map((r) => {
    const attributes: Record<string, Identity['attributes'][string]> = {};
    for (const k of ['department', 'title', 'location', 'grade', 'clearances'] as const)
      if (r[k] !== undefined) attributes[k] = r[k]!;
    return { id: '', kind: 'employee', status: r.status, attributes, source: 'hr' } satisfies Identity;
  });

describe('indexed evaluation', () => {
  it('matches naive evaluation on random organisations', () => {
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 1, maxLength: 8 }),
        fc.array(identity, { minLength: 0, maxLength: 40 }),
        (rules, people) => {
          const loaded = policyWith(
            rules
              .map(
                (r, i) =>
                  `  - id: r${i}\n    when: '${r}'\n    grants: [directory:group/${'abc'[i % 3]}]\n${i > 0 && i % 2 === 0 ? `    inherits: [r${i - 1}]\n` : ''}`,
              )
              .join(''),
          );
          const engine = new Engine(loaded);
          const ids = people.map((p, i) => ({ ...p, id: `E${String(i).padStart(3, '0')}` }));
          const indexed = engine.desiredState(ids, asOf, 'indexed');
          const naive = engine.desiredState(ids, asOf, 'naive');
          assert.deepEqual(plain(indexed), plain(naive));
          for (const id of ids) {
            const one = engine.identityAccess(id, asOf);
            assert.deepEqual(plain(one), plain(indexed.identities.find((a) => a.identity === id.id)));
          }
        },
      ),
      { numRuns: 300, seed: 20261125 },
    );
  });
});

describe('who receives access, as of a date', () => {
  const at = (d: string) => new Date(`${d}T00:00:00Z`);
  const base: Identity = { id: 'E1', kind: 'employee', status: 'active', attributes: {}, source: 'hr' };
  const cases: [string, Identity, number, boolean][] = [
    ['an active identity', base, 0, true],
    ['an active identity whose end date has come', { ...base, endDate: at('2026-11-01') }, 0, false],
    ['an active identity whose end date is tomorrow', { ...base, endDate: at('2026-11-02') }, 0, true],
    ['an active identity starting tomorrow', { ...base, startDate: at('2026-11-02') }, 0, false],
    [
      'an active identity starting tomorrow, access due a day before',
      { ...base, startDate: at('2026-11-02') },
      1,
      true,
    ],
    [
      'a pre-hire starting in 5 days, access due 7 days before',
      { ...base, status: 'pre_hire', startDate: at('2026-11-06') },
      7,
      true,
    ],
    [
      'a pre-hire starting in 5 days, access due 3 days before',
      { ...base, status: 'pre_hire', startDate: at('2026-11-06') },
      3,
      false,
    ],
    ['a pre-hire without a start date', { ...base, status: 'pre_hire' }, 30, false],
    ['an identity on leave', { ...base, status: 'leave' }, 0, false],
    ['a terminated identity', { ...base, status: 'terminated' }, 0, false],
  ];
  it("keeps a terminated identity's access until its end date when the policy disables at the end date", () => {
    const leaving: Identity = { ...base, status: 'terminated', endDate: at('2026-11-05') };
    assert.equal(receivesAccess(leaving, at('2026-11-01'), 0, true), true);
    assert.equal(receivesAccess(leaving, at('2026-11-05'), 0, true), false);
    assert.equal(receivesAccess(leaving, at('2026-11-01'), 0, false), false);
  });
  for (const [name, identity, days, expected] of cases) {
    it(`${expected ? 'gives' : 'does not give'} access to ${name}`, () => {
      assert.equal(receivesAccess(identity, at('2026-11-01'), days), expected);
    });
  }
});
