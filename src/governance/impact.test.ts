import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AccessException } from '../model/exception.js';
import type { Identity } from '../model/identity.js';
import type { Denial } from '../model/review.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { computeImpact, type Impact } from './impact.js';

const asOf = new Date('2026-11-01T00:00:00Z');

interface RoleSpec {
  readonly id: string;
  readonly when?: string;
  readonly grants?: readonly string[];
  readonly inherits?: readonly string[];
  readonly risk?: string;
}

interface PolicySpec {
  readonly roles: readonly RoleSpec[];
  /** Entitlement id → risk. */
  readonly entitlements?: Readonly<Record<string, string>>;
  readonly sod?: readonly (readonly string[])[];
  /** max_percent, min_count, max_count of the deprovisioning breaker. */
  readonly breaker?: readonly [number, number, number];
  /** Extra attributes of the source, to make the identity fields differ. */
  readonly extraAttribute?: boolean;
}

const ENTITLEMENTS: Record<string, string> = {
  'directory:group/a': 'low',
  'directory:group/b': 'low',
  'directory:group/c': 'medium',
  'apps:role/x': 'low',
  'apps:role/y': 'high',
  'apps:account': 'low',
};

function policyText(spec: PolicySpec): string {
  const entitlements = spec.entitlements ?? ENTITLEMENTS;
  const [pct, min, max] = spec.breaker ?? [50, 1, 1000];
  const role = (r: RoleSpec): string =>
    [
      `  - id: ${r.id}`,
      ...(r.when ? [`    when: '${r.when}'`] : []),
      `    grants: [${(r.grants ?? []).join(', ')}]`,
      `    inherits: [${(r.inherits ?? []).join(', ')}]`,
      `    risk: ${r.risk ?? 'low'}`,
    ].join('\n');
  return `version: 1
name: Impact test
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
${spec.extraAttribute ? '      team: { field: team, type: string }\n' : ''}targets:
  - id: directory
    kind: memory
  - id: apps
    kind: memory
entitlements:
${Object.entries(entitlements)
  .map(([id, risk]) => `  - id: ${id}\n    risk: ${risk}`)
  .join('\n')}
roles:${spec.roles.length === 0 ? ' []' : '\n' + spec.roles.map(role).join('\n')}
policies:
  separation_of_duties:
${(spec.sod ?? [['apps:role/x', 'apps:role/y']]).map((c, i) => `    - id: sod${i}\n      conflicting: [${c.join(', ')}]\n      severity: critical`).join('\n')}
  guardrails:
    deprovision: { max_percent: ${pct}, min_count: ${min}, max_count: ${max} }
`;
}

function policy(spec: PolicySpec): LoadedPolicy {
  const r = loadPolicy(policyText(spec), 'tenure.yaml');
  assert.ok(r.result, r.diagnostics.map((d) => d.message).join('\n'));
  return r.result;
}

function person(id: string, attributes: Identity['attributes'], status: Identity['status'] = 'active'): Identity {
  return { id, kind: 'employee', status, attributes, source: 'hr' };
}

const people: Identity[] = [
  person('E1', { department: 'Eng', title: 'Senior Dev', location: 'Paris', grade: 7n }),
  person('E2', { department: 'Eng', title: 'Dev', location: 'Oslo', grade: 3n }),
  person('E3', { department: 'Sales', title: 'Manager', location: 'Paris', grade: 5n }),
  person('E4', { department: 'Sales', title: 'VP Sales', location: 'Rome', grade: 9n }),
  person('E5', { department: 'HR', title: 'Manager', location: 'Lyon', grade: 5n }),
  person('E6', { department: 'Eng', title: 'Staff Dev', location: 'Paris', grade: 8n }, 'terminated'),
];

const baseRoles: RoleSpec[] = [
  { id: 'staff', when: 'identity.kind == "employee"', grants: ['directory:group/a'] },
  { id: 'engineer', when: 'identity.department == "Eng"', grants: ['directory:group/b'], inherits: ['staff'] },
  { id: 'seller', when: 'identity.department == "Sales"', grants: ['apps:role/x', 'apps:account'] },
];

function impactOf(base: PolicySpec, current: PolicySpec, exceptions: readonly AccessException[] = []): Impact {
  return computeImpact({ base: policy(base), current: policy(current), identities: people, exceptions, asOf });
}

function withRole(roles: readonly RoleSpec[], id: string, change: Partial<RoleSpec>): RoleSpec[] {
  return roles.map((r) => (r.id === id ? { ...r, ...change } : r));
}

describe('computeImpact', () => {
  it('reports nothing when the policy did not change, and recomputes nobody', () => {
    const i = impactOf({ roles: baseRoles }, { roles: baseRoles });
    assert.equal(i.summary.identitiesAffected, 0);
    assert.deepEqual(i.roles, []);
    assert.deepEqual(i.entitlements, []);
    assert.equal(i.recompute.mode, 'incremental');
    assert.equal(i.recompute.recomputed, 0);
    assert.equal(i.blocked, false);
  });

  it('names who gains and who loses when a rule changes, recomputing only whom the rules can match', () => {
    const i = impactOf(
      { roles: baseRoles },
      { roles: withRole(baseRoles, 'engineer', { when: 'identity.location == "Paris"' }) },
    );
    // Old rule: E1, E2 (E6 is terminated). New rule: E1, E3.
    const engineer = i.roles.find((r) => r.role === 'engineer')!;
    assert.deepEqual(engineer, { role: 'engineer', changed: ['rule'], gained: ['E3'], lost: ['E2'] });
    const b = i.entitlements.find((e) => e.entitlement === 'directory:group/b')!;
    assert.deepEqual([b.gainers, b.losers], [['E3'], ['E2']]);
    // staff still comes to everyone through its own rule: nobody gains or loses group/a.
    assert.equal(
      i.entitlements.find((e) => e.entitlement === 'directory:group/a'),
      undefined,
    );
    const directory = i.targets.find((t) => t.target === 'directory')!;
    assert.deepEqual(
      [directory.holdersBefore, directory.holdersAfter, directory.grantsAdded, directory.grantsRemoved],
      [5, 5, 1, 1],
    );
    // Matched by one rule and not the other: E2 (Eng, not Paris) and E3 (Paris, not Eng). E1 is
    // matched by both and keeps what it had; E6 receives nothing.
    assert.equal(i.recompute.mode, 'incremental');
    assert.equal(i.recompute.recomputed, 2);
  });

  it('gives every holder of a role a grant added to it', () => {
    const i = impactOf(
      { roles: baseRoles },
      { roles: withRole(baseRoles, 'seller', { grants: ['apps:role/x', 'apps:account', 'directory:group/c'] }) },
    );
    assert.deepEqual(i.roles.find((r) => r.role === 'seller')?.changed, ['grants']);
    assert.deepEqual(i.entitlements.find((e) => e.entitlement === 'directory:group/c')?.gainers, ['E3', 'E4']);
    assert.equal(i.summary.grantsAdded, 2);
    assert.equal(i.summary.grantsRemoved, 0);
  });

  it('follows inheritance: a parent that changes changes what its heirs confer', () => {
    const roles: RoleSpec[] = [
      { id: 'toolkit', grants: ['directory:group/b'] },
      { id: 'engineer', when: 'identity.department == "Eng"', grants: [], inherits: ['toolkit'] },
      { id: 'seller', when: 'identity.department == "Sales"', grants: ['apps:role/x'] },
    ];
    const i = impactOf({ roles }, { roles: withRole(roles, 'toolkit', { grants: ['directory:group/c'] }) });
    const c = i.entitlements.find((e) => e.entitlement === 'directory:group/c')!;
    const b = i.entitlements.find((e) => e.entitlement === 'directory:group/b')!;
    assert.deepEqual(
      [c.gainers, b.losers],
      [
        ['E1', 'E2'],
        ['E1', 'E2'],
      ],
    );
    // The engineers still hold toolkit: the role moved nobody, only what it grants.
    assert.deepEqual(i.roles, [{ role: 'toolkit', changed: ['grants'], gained: [], lost: [] }]);
    // A new parent brings its holders the parent role itself.
    const j = impactOf({ roles }, { roles: withRole(roles, 'seller', { inherits: ['toolkit'] }) });
    assert.deepEqual(j.roles.find((r) => r.role === 'toolkit')?.gained, ['E3', 'E4']);
    assert.deepEqual(j.roles.find((r) => r.role === 'seller')?.changed, ['inherits']);
  });

  it('takes a removed role from its holders, and disables accounts left with nothing in a target', () => {
    const i = impactOf({ roles: baseRoles }, { roles: baseRoles.filter((r) => r.id !== 'seller') });
    assert.deepEqual(i.roles, [{ role: 'seller', changed: ['removed'], gained: [], lost: ['E3', 'E4'] }]);
    const apps = i.targets.find((t) => t.target === 'apps')!;
    assert.deepEqual([apps.holdersBefore, apps.holdersAfter, apps.accountsRemoved, apps.grantsRemoved], [2, 0, 2, 4]);
    assert.equal(apps.breaker?.accounts, 2);
  });

  it('counts a held entitlement whose risk is raised to high as a high grant added', () => {
    const i = impactOf(
      { roles: baseRoles },
      { roles: baseRoles, entitlements: { ...ENTITLEMENTS, 'directory:group/b': 'high' } },
    );
    assert.deepEqual(
      i.highRiskGrants.map((g) => [g.identity, g.entitlement, g.risk, g.why]),
      [
        ['E1', 'directory:group/b', 'high', 'risk_raised'],
        ['E2', 'directory:group/b', 'high', 'risk_raised'],
      ],
    );
    const b = i.entitlements.find((e) => e.entitlement === 'directory:group/b')!;
    assert.deepEqual([b.risk, b.previousRisk, b.gainers, b.losers], ['high', 'low', [], []]);
    assert.deepEqual(i.roles.find((r) => r.role === 'engineer')?.changed, ['entitlement_risk']);
    assert.equal(i.summary.grantsAdded, 0);
  });

  it('reports a new high-risk grant and the separation-of-duties conflict it creates', () => {
    const i = impactOf(
      { roles: baseRoles },
      { roles: withRole(baseRoles, 'seller', { grants: ['apps:role/x', 'apps:role/y', 'apps:account'] }) },
    );
    assert.deepEqual(
      i.highRiskGrants.map((g) => [g.identity, g.entitlement, g.why]),
      [
        ['E3', 'apps:role/y', 'granted'],
        ['E4', 'apps:role/y', 'granted'],
      ],
    );
    assert.deepEqual(
      i.sodConflicts.map((c) => [c.rule, c.identity, c.entitlements]),
      [
        ['sod0', 'E3', ['apps:role/x', 'apps:role/y']],
        ['sod0', 'E4', ['apps:role/x', 'apps:role/y']],
      ],
    );
    assert.equal(i.blocked, true);
  });

  it('trips the deprovisioning breaker when too many would lose access at once, and not below it', () => {
    const narrower = { roles: withRole(baseRoles, 'staff', { when: 'identity.department == "Eng"' }) };
    // E3, E4, E5 lose group/a; E3 and E4 keep nothing else in directory, E5 neither: 3 of 5.
    const tripped = impactOf({ roles: baseRoles, breaker: [40, 2, 1000] }, { ...narrower, breaker: [40, 2, 1000] });
    const d = tripped.targets.find((t) => t.target === 'directory')!;
    assert.equal(d.breaker?.accounts, 3);
    assert.equal(d.breaker?.blocked, true);
    assert.match(d.breaker?.reason ?? '', /3 of 5 account\(s\) in directory \(60%\)/);
    assert.equal(tripped.blocked, true);
    // The current policy's breaker is the one that will guard the apply.
    const allowed = impactOf({ roles: baseRoles }, { ...narrower, breaker: [80, 2, 1000] });
    assert.equal(allowed.targets.find((t) => t.target === 'directory')?.breaker?.blocked, false);
    assert.equal(allowed.blocked, false);
  });

  it('recomputes everyone when the identity attributes change, and says why', () => {
    const i = impactOf({ roles: baseRoles }, { roles: baseRoles, extraAttribute: true });
    assert.equal(i.recompute.mode, 'full');
    assert.match(i.recompute.reason, /identity attributes/);
    assert.equal(i.recompute.recomputed, people.length);
    assert.equal(i.summary.identitiesAffected, 0);
  });

  it('counts exceptions in force towards the holders and keeps their holders out of the losers', () => {
    const exception: AccessException = {
      id: 1,
      identity: 'E3',
      entitlement: 'apps:role/x',
      reason: 'quarter close',
      approver: 'E5',
      grantedBy: 'E5',
      from: new Date('2026-10-01T00:00:00Z'),
      until: new Date('2026-12-01T00:00:00Z'),
    };
    const i = impactOf({ roles: baseRoles }, { roles: baseRoles.filter((r) => r.id !== 'seller') }, [exception]);
    const x = i.entitlements.find((e) => e.entitlement === 'apps:role/x')!;
    assert.deepEqual(x.losers, ['E4']);
    const apps = i.targets.find((t) => t.target === 'apps')!;
    assert.deepEqual([apps.holdersBefore, apps.holdersAfter], [2, 1]);
  });
});

// Property: on random organisations and random policy changes, the incremental impact equals the
// impact computed by recomputing every identity under both policies.
const departments = ['Eng', 'Sales', 'HR', 'Ops'];
const titles = ['Senior Dev', 'Dev', 'Senior Manager', 'Manager', 'VP Sales', 'Staff Dev'];
const locations = ['Paris', 'Lyon', 'Oslo', 'Rome'];
const clearanceValues = ['pci', 'sox', 'hipaa'];
const entitlementIds = Object.keys(ENTITLEMENTS);
const risks = ['low', 'medium', 'high', 'critical'];

const atom: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...departments).map((d) => `identity.department == "${d}"`),
  fc.subarray(locations, { minLength: 1 }).map((ls) => `identity.location in [${ls.map((l) => `"${l}"`).join(', ')}]`),
  fc.constantFrom('Senior', 'Staff', 'VP', 'Dev').map((p) => `identity.title.startsWith("${p}")`),
  fc.constantFrom(...clearanceValues).map((c) => `"${c}" in identity.clearances`),
  fc.integer({ min: 1, max: 9 }).map((g) => `identity.grade >= ${g}`),
  // Not indexable: CEL decides for every candidate.
  fc.integer({ min: 1, max: 9 }).map((g) => `identity.title.size() > ${g}`),
  fc.constant('identity.kind == "employee"'),
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

const roleSpec = (i: number): fc.Arbitrary<RoleSpec> =>
  fc.record({
    id: fc.constant(`r${i}`),
    when: fc.option(rule, { nil: undefined, freq: 4 }),
    grants: fc.subarray(entitlementIds, { maxLength: 3 }),
    // Parents among earlier roles only, so there is never a cycle.
    inherits:
      i === 0
        ? fc.constant([])
        : fc.subarray(
            Array.from({ length: i }, (_, k) => `r${k}`),
            { maxLength: Math.min(2, i) },
          ),
    risk: fc.constantFrom(...risks),
  });

const roles: fc.Arbitrary<RoleSpec[]> = fc
  .integer({ min: 1, max: 7 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => roleSpec(i))));

type Mutation =
  | { kind: 'rule'; role: number; when: string | undefined }
  | { kind: 'grants'; role: number; grants: string[] }
  | { kind: 'inherits'; role: number; parents: number[] }
  | { kind: 'remove'; role: number }
  | { kind: 'add'; spec: RoleSpec }
  | { kind: 'risk'; entitlement: string; risk: string }
  | { kind: 'role_risk'; role: number; risk: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('rule' as const),
    role: fc.nat(),
    when: fc.option(rule, { nil: undefined, freq: 4 }),
  }),
  fc.record({ kind: fc.constant('grants' as const), role: fc.nat(), grants: fc.subarray(entitlementIds) }),
  fc.record({ kind: fc.constant('inherits' as const), role: fc.nat(), parents: fc.array(fc.nat(), { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('remove' as const), role: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), spec: roleSpec(0).map((r) => ({ ...r, id: 'added' })) }),
  fc.record({
    kind: fc.constant('risk' as const),
    entitlement: fc.constantFrom(...entitlementIds),
    risk: fc.constantFrom(...risks),
  }),
  fc.record({ kind: fc.constant('role_risk' as const), role: fc.nat(), risk: fc.constantFrom(...risks) }),
);

function mutate(
  spec: { roles: RoleSpec[]; entitlements: Record<string, string> },
  m: Mutation,
): { roles: RoleSpec[]; entitlements: Record<string, string> } {
  const roles = spec.roles.map((r) => ({ ...r }));
  const entitlements = { ...spec.entitlements };
  const at = (n: number): number => n % roles.length;
  // Every role removed: only adding one or changing an entitlement's risk applies.
  if (roles.length === 0 && m.kind !== 'add' && m.kind !== 'risk') return spec;
  switch (m.kind) {
    case 'rule':
      roles[at(m.role)] = { ...roles[at(m.role)]!, when: m.when };
      break;
    case 'grants':
      roles[at(m.role)] = { ...roles[at(m.role)]!, grants: m.grants };
      break;
    case 'inherits': {
      const i = at(m.role);
      // Earlier roles in the list only, so there is never a cycle.
      const parents = [...new Set(m.parents.filter(() => i > 0).map((p) => roles[p % i]!.id))];
      roles[i] = { ...roles[i]!, inherits: parents };
      break;
    }
    case 'remove': {
      const gone = roles[at(m.role)]!.id;
      return {
        roles: roles
          .filter((r) => r.id !== gone)
          .map((r) => ({ ...r, inherits: (r.inherits ?? []).filter((p) => p !== gone) })),
        entitlements,
      };
    }
    case 'add': {
      let n = roles.length;
      while (roles.some((r) => r.id === `added${n}`)) n++;
      roles.push({ ...m.spec, id: `added${n}`, inherits: roles.length > 0 ? [roles[0]!.id] : [] });
      break;
    }
    case 'risk':
      entitlements[m.entitlement] = m.risk;
      break;
    case 'role_risk':
      roles[at(m.role)] = { ...roles[at(m.role)]!, risk: m.risk };
      break;
  }
  return { roles, entitlements };
}

const identity: fc.Arbitrary<Omit<Identity, 'id'>> = fc
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
    return { kind: 'employee', status: r.status, attributes, source: 'hr' };
  });

/** The impact without how it was computed: what must not depend on it. */
function outcome(i: Impact): Omit<Impact, 'recompute'> {
  const { recompute: _recompute, ...rest } = i;
  return rest;
}

describe('incremental impact', () => {
  it('equals a full recompute on random organisations and random policy changes', () => {
    let incremental = 0;
    fc.assert(
      fc.property(
        roles,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.array(identity, { maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...entitlementIds)), { maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...entitlementIds)), { maxLength: 3 }),
        fc.integer({ min: 0, max: 100 }),
        (baseRoles, mutations, drawn, grants, revokes, pct) => {
          const start = { roles: baseRoles, entitlements: { ...ENTITLEMENTS } };
          const changed = mutations.reduce(mutate, start);
          const breaker: [number, number, number] = [pct, 1, 1000];
          const base = policy({ ...start, breaker });
          const current = policy({ ...changed, breaker });
          const ids = drawn.map((p, i) => ({ ...p, id: `E${String(i).padStart(3, '0')}` }));
          const exceptions: AccessException[] = grants
            .filter(() => ids.length > 0)
            .map(([who, entitlement], n) => ({
              id: n + 1,
              identity: ids[who % ids.length]!.id,
              entitlement,
              reason: 'test',
              approver: 'E999',
              grantedBy: 'E999',
              from: new Date('2026-10-01T00:00:00Z'),
              until: new Date('2026-12-01T00:00:00Z'),
            }));
          const denials: Denial[] = revokes
            .filter(() => ids.length > 0)
            .map(([who, entitlement], n) => ({
              id: n + 1,
              identity: ids[who % ids.length]!.id,
              entitlement,
              origin: 'review 1',
              reason: 'test',
              decidedBy: 'E999',
              at: new Date('2026-10-01T00:00:00Z'),
              roles: [],
            }));
          const input = { base, current, identities: ids, exceptions, denials, asOf };
          const fast = computeImpact(input);
          const full = computeImpact({ ...input, full: true });
          if (fast.recompute.mode === 'incremental') incremental++;
          assert.equal(full.recompute.recomputed, ids.length);
          assert.deepEqual(outcome(fast), outcome(full));
        },
      ),
      { numRuns: 300, seed: 20261126 },
    );
    // The property is about the incremental path: it must have been taken.
    assert.equal(incremental, 300);
  });
});
