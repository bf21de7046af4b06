import { visitChildren, type CelNode } from './compile-rule.js';

/**
 * The static budget every rule must fit, so a rule that validates also plans in bounded time.
 * CEL has no loops, but comprehensions (all, exists, exists_one, map, filter) run their body once
 * per list item, and nesting them multiplies: three over a 50-item list run the innermost body
 * 125,000 times per identity. The limits are far above any realistic rule (see docs/policy.md, "Rule budget").
 */
export const RULE_BUDGET = {
  /** Comprehensions inside the body of another, counted from the outermost. */
  maxNesting: 2,
  /** Estimated evaluation steps for one identity (about 35 ns each): nodes, bodies times items. */
  maxSteps: 25_000,
  /** AST nodes of one rule. */
  maxNodes: 2_000,
  /** Items assumed in a list whose length is not written in the rule (a list attribute). */
  assumedListSize: 50,
} as const;

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

export interface BudgetProblem {
  readonly code: 'policy.rule_nesting' | 'policy.rule_cost' | 'policy.rule_size';
  readonly message: string;
  readonly hint: string;
  /** Offset inside the rule text of the part to point at. */
  readonly offset: number;
}

interface Comprehension {
  readonly name: string;
  readonly range: CelNode;
  readonly variable: string;
  readonly body: readonly CelNode[];
}

/** The first limit a rule's AST breaks, or undefined when it fits the budget. */
export function checkRuleBudget(ast: CelNode, budget = RULE_BUDGET): BudgetProblem | undefined {
  const nodes = countNodes(ast);
  if (nodes > budget.maxNodes) {
    return {
      code: 'policy.rule_size',
      message: `the rule has ${nodes} parts; at most ${budget.maxNodes} are allowed`,
      hint: 'split it over several roles, or move long value lists into a source attribute',
      offset: 0,
    };
  }
  const deep = tooDeep(ast, budget.maxNesting, []);
  if (deep) {
    return {
      code: 'policy.rule_nesting',
      message: `comprehensions nest ${deep.chain.length} deep (${deep.chain.join(' inside ')}); at most ${budget.maxNesting} are allowed`,
      hint: 'each nested all/exists/map/filter multiplies the work per identity; test membership with "in", or flatten the rule',
      offset: deep.offset,
    };
  }
  const est = new Estimator(budget.assumedListSize);
  const steps = est.steps(ast, new Map());
  if (steps > budget.maxSteps) {
    const worst = est.worst;
    return {
      code: 'policy.rule_cost',
      message: `the rule may take about ${formatCount(steps)} evaluation steps per identity; at most ${formatCount(budget.maxSteps)} are allowed`,
      hint: `comprehensions run their body once per list item (a list attribute counts as ${budget.assumedListSize}); iterate over shorter lists, or test membership with "in"`,
      offset: worst?.start ?? 0,
    };
  }
  return undefined;
}

function comprehension(node: CelNode): Comprehension | undefined {
  if (node.op !== 'rcall') return undefined;
  const [name, range, args] = node.args as [string, CelNode, CelNode[]];
  if (!COMPREHENSIONS.has(name) || !Array.isArray(args) || args[0]?.op !== 'id') return undefined;
  return { name, range, variable: args[0].args as string, body: args.slice(1) };
}

function countNodes(node: CelNode): number {
  let n = 1;
  visitChildren(node, (child) => (n += countNodes(child)));
  return n;
}

/** The first chain of comprehensions nested deeper than `max`, outermost first. */
function tooDeep(node: CelNode, max: number, chain: string[]): { chain: string[]; offset: number } | undefined {
  const c = comprehension(node);
  if (c) {
    // The range is evaluated once, before the loop: `a.filter(...).all(...)` chains, it does not nest.
    const inRange = tooDeep(c.range, max, chain);
    if (inRange) return inRange;
    const inner = [...chain, c.name];
    if (inner.length > max) return { chain: inner.reverse(), offset: node.start ?? node.pos ?? 0 };
    for (const b of c.body) {
      const found = tooDeep(b, max, inner);
      if (found) return found;
    }
    return undefined;
  }
  let found: { chain: string[]; offset: number } | undefined;
  visitChildren(node, (child) => (found ??= tooDeep(child, max, chain)));
  return found;
}

/** Estimates evaluation steps: one per node, a comprehension's body once per item of its range. */
class Estimator {
  /** The outermost comprehension with the largest estimate, to point at. */
  worst: CelNode | undefined;
  private worstSteps = 0;

  constructor(private readonly assumed: number) {}

  /** `items`: iteration variable → the estimated length of its value, when it is itself a list. */
  steps(node: CelNode, items: ReadonlyMap<string, number>): number {
    const c = comprehension(node);
    if (c) {
      const n = this.length(c.range, items);
      const inner = new Map(items).set(c.variable, this.itemLength(c.range, items));
      let body = 1;
      for (const b of c.body) body += this.steps(b, inner);
      const total = 1 + this.steps(c.range, items) + n * body;
      if (total > this.worstSteps && items.size === 0) {
        this.worst = node;
        this.worstSteps = total;
      }
      return total;
    }
    let total = 1;
    visitChildren(node, (child) => (total += this.steps(child, items)));
    // `x in list` scans the list.
    if (node.op === 'in') total += this.length((node.args as CelNode[])[1]!, items);
    return total;
  }

  /** Estimated length of a list-valued expression. */
  private length(node: CelNode, items: ReadonlyMap<string, number>): number {
    if (node.op === 'list') return (node.args as CelNode[]).length;
    if (node.op === 'id') return items.get(node.args as string) ?? this.assumed;
    if (node.op === '+') {
      const [a, b] = node.args as [CelNode, CelNode];
      return this.length(a, items) + this.length(b, items);
    }
    const c = comprehension(node);
    // map and filter give at most as many items as their range.
    if (c && (c.name === 'map' || c.name === 'filter')) return this.length(c.range, items);
    return this.assumed;
  }

  /** Estimated length of the items of a list of lists (for a comprehension inside one over it). */
  private itemLength(node: CelNode, items: ReadonlyMap<string, number>): number {
    if (node.op === 'list') {
      let longest = 0;
      for (const item of node.args as CelNode[])
        if (item.op === 'list') longest = Math.max(longest, this.length(item, items));
      return longest > 0 ? longest : this.assumed;
    }
    return this.assumed;
  }
}

function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'unbounded';
}
