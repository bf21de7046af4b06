import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { SourceDefinition } from '../model/policy.js';
import { compileRule } from './compile-rule.js';
import { buildRuleEnvironment } from './rule-environment.js';
import { RULE_BUDGET, checkRuleBudget } from './rule-budget.js';

const source: SourceDefinition = {
  id: 'hr',
  format: 'csv',
  path: 'hr.csv',
  key: 'id',
  kind: { constant: 'employee' },
  status: { constant: 'active' },
  attributes: {
    department: { field: 'department', type: 'string', required: false },
    groups: { field: 'groups', type: 'list', required: false },
    clearances: { field: 'clearances', type: 'list', required: false },
    grade: { field: 'grade', type: 'int', required: false },
  },
  position: { file: 'tenure.yaml', line: 1 },
};
const env = buildRuleEnvironment([source]).environment;

function problem(rule: string) {
  const parsed = env.env.parse(rule);
  return checkRuleBudget(parsed.ast);
}

const list = (n: number): string => `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;

describe('checkRuleBudget', () => {
  // Rules as people write them: the examples and the demo organisations use only the first kinds.
  const fits = [
    'identity.department == "Engineering" && identity.grade >= 7',
    '"secret" in identity.clearances || identity.department == "Security"',
    `identity.grade in ${list(300)}`,
    'identity.groups.exists(g, g.startsWith("eng-"))',
    'identity.groups.filter(g, g.startsWith("eng-")).all(g, g != "eng-banned")',
    'identity.groups.exists(g, identity.clearances.exists(c, g == c))',
    '[["a", "b"], ["c"]].exists(pair, pair.all(x, x in identity.groups))',
  ];
  for (const rule of fits) {
    it(`accepts ${rule.slice(0, 70)}`, () => assert.equal(problem(rule), undefined));
  }

  it('refuses comprehensions nested three deep, pointing at the innermost', () => {
    const rule = 'identity.groups.all(a, identity.groups.all(b, identity.groups.all(c, a != b || b != c)))';
    const p = problem(rule);
    assert.equal(p?.code, 'policy.rule_nesting');
    assert.equal(p.message, 'comprehensions nest 3 deep (all inside all inside all); at most 2 are allowed');
    assert.equal(rule.slice(p.offset, p.offset + 20), 'identity.groups.all(');
    assert.equal(p.offset, rule.lastIndexOf('identity.groups.all('));
  });

  it('counts chained comprehensions once, not as nesting', () => {
    assert.equal(
      problem('identity.groups.filter(a, a != "x").map(a, a + "!").filter(a, a != "y").exists(a, a == "z!")'),
      undefined,
    );
  });

  it('refuses two nested maps over long literal lists by their estimated cost', () => {
    const rule = `${list(200)}.map(x, ${list(200)}.map(y, x + y)).size() > 0`;
    const p = problem(rule);
    assert.equal(p?.code, 'policy.rule_cost');
    assert.match(p.message, /about [\d,]+ evaluation steps per identity; at most 25,000 are allowed/);
    assert.equal(p.offset, 0);
    assert.match(p.hint, /list attribute counts as 50/);
  });

  it('assumes a length for list attributes and multiplies by literal lengths', () => {
    // 50 groups × 400 items × a body of a few nodes: well over the budget.
    const p = problem(`identity.groups.exists(g, ${list(400)}.exists(n, string(n) == g))`);
    assert.equal(p?.code, 'policy.rule_cost');
  });

  it('refuses a rule with too many parts', () => {
    const rule = Array.from({ length: 700 }, (_, i) => `identity.grade == ${i}`).join(' || ');
    const p = problem(rule);
    assert.equal(p?.code, 'policy.rule_size');
    assert.match(p.message, new RegExp(`has \\d+ parts; at most ${RULE_BUDGET.maxNodes} are allowed`));
  });

  it('is applied by compileRule, so no costly rule reaches the engine', () => {
    const r = compileRule(
      env,
      'identity.groups.all(a, identity.groups.all(b, identity.groups.all(c, a != "x")))',
      'bool',
    );
    assert.equal(r.rule, undefined);
    assert.equal(r.error?.kind, 'budget');
    assert.equal(r.error.code, 'policy.rule_nesting');
  });
});
