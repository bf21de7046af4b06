import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Identity } from '../model/identity.js';
import { formatPosition } from '../model/diagnostic.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { Engine, RuleBudgetExceeded, type RuleTimeBudget } from './engine.js';

const asOf = new Date('2026-11-01T00:00:00Z');

const text = `version: 1
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    attributes:
      grade: { field: grade, type: int }
      clearances: { field: clearances, type: list }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/a
  - id: directory:group/b
roles:
  - id: alpha
    when: identity.grade > 3
    grants: [directory:group/a]
  - id: slow
    when: identity.clearances.exists(c, c == "x")
    grants: [directory:group/b]
`;

/**
 * The policy with a fake clock that only the `slow` rule moves: each of its evaluations "takes"
 * `ms` milliseconds, as a rule of nested comprehensions would.
 */
function withSlowRule(ms: number): { loaded: LoadedPolicy; clock: { t: number; reads: number } } {
  const r = loadPolicy(text, 'tenure.yaml');
  assert.ok(r.result, r.diagnostics.map((d) => d.message).join('\n'));
  const clock = { t: 0, reads: 0 };
  const rules = new Map(r.result.rules);
  const slow = rules.get('slow')!;
  rules.set('slow', {
    ...slow,
    holds: (identity, now) => {
      clock.t += ms;
      return slow.holds(identity, now);
    },
  });
  return { loaded: { ...r.result, rules }, clock };
}

const people: Identity[] = Array.from({ length: 10 }, (_, i) => ({
  id: `E${i}`,
  kind: 'employee',
  status: 'active',
  source: 'hr',
  attributes: { grade: BigInt(i), clearances: i % 2 === 0 ? ['x'] : [] },
}));

function budget(clock: { t: number; reads: number }, maxMsPerRule: number): RuleTimeBudget {
  return {
    now: () => {
      clock.reads++;
      return clock.t;
    },
    maxMsPerRule,
  };
}

describe('the rule time budget', () => {
  it('stops the rule that runs over it, between identities, and names it', () => {
    const { loaded, clock } = withSlowRule(40);
    const engine = new Engine(loaded, { ruleTime: budget(clock, 100) });
    assert.throws(
      () => engine.desiredState(people, asOf),
      (e: unknown) => {
        assert.ok(e instanceof RuleBudgetExceeded);
        assert.equal(e.role, 'slow');
        // 40 + 40 + 40 ms: over 100 after the third identity, and no later one is evaluated.
        assert.equal(e.evaluated, 3);
        assert.equal(e.of, 10);
        assert.equal(clock.t, 120);
        return true;
      },
    );
  });

  it('gives the stop as a value: an error diagnostic at the rule, naming the role, and no desired state', () => {
    const { loaded, clock } = withSlowRule(40);
    const r = new Engine(loaded, { ruleTime: budget(clock, 100) }).tryDesiredState(people, asOf);
    assert.equal(r.result, undefined);
    assert.equal(r.diagnostics.length, 1);
    const d = r.diagnostics[0]!;
    assert.equal(d.severity, 'error');
    assert.equal(d.code, 'engine.rule_budget');
    assert.equal(d.subject, 'slow');
    assert.equal(
      d.message,
      'the rule of role "slow" was stopped after 120 ms evaluating 3 of 10 identities (the budget is 100 ms per rule)',
    );
    assert.equal(d.position && formatPosition(d.position), 'tenure.yaml:22:11');
    assert.match(d.hint ?? '', /Rule budget/);
  });

  it('stops a single identity whose one evaluation is over the budget', () => {
    const { loaded, clock } = withSlowRule(40);
    const engine = new Engine(loaded, { ruleTime: budget(clock, 30) });
    assert.throws(() => engine.identityAccess(people[0]!, asOf), { name: 'RuleBudgetExceeded', role: 'slow' });
  });

  it('reads the clock around chunks of cheap evaluations, not around each one', () => {
    const { loaded, clock } = withSlowRule(0);
    const many: Identity[] = Array.from({ length: 2_000 }, (_, i) => ({ ...people[i % 10]!, id: `P${i}` }));
    new Engine(loaded, { ruleTime: budget(clock, 100) }).desiredState(many, asOf);
    // 2,000 evaluations of "slow" in chunks of 1, 2, 4 ... 256: a few dozen reads, not 4,000.
    assert.ok(clock.reads > 0 && clock.reads < 60, `${clock.reads} clock reads`);
  });

  it('changes nothing while every rule is within budget', () => {
    const { loaded, clock } = withSlowRule(1);
    const watched = new Engine(loaded, { ruleTime: budget(clock, 1_000) }).tryDesiredState(people, asOf);
    const plain = new Engine(loaded).desiredState(people, asOf);
    assert.deepEqual(watched.diagnostics, []);
    assert.equal(JSON.stringify(watched.result, bigints), JSON.stringify(plain, bigints));
    assert.ok(clock.reads > 0, 'the clock was read');
    assert.deepEqual(
      plain.identities.map((i) => i.roles),
      people.map((_, i) => [...(i > 3 ? ['alpha'] : []), ...(i % 2 === 0 ? ['slow'] : [])]),
    );
  });
});

function bigints(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}
