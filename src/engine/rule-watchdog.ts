import type { Diagnostic, SourcePosition } from '../model/diagnostic.js';

/**
 * A time budget per rule for one computation of desired state. The engine is pure and reads no
 * clock: the caller lends it one. A synchronous CEL evaluation cannot be interrupted, so the
 * engine looks at the clock between identities and stops a rule once its total is over budget.
 */
export interface RuleTimeBudget {
  /** Milliseconds from any fixed origin, e.g. `() => performance.now()`. */
  readonly now: () => number;
  /** The longest one rule may spend, in total over the identities of one call. */
  readonly maxMsPerRule: number;
}

/** A rule stopped for running over its time budget; `diagnostic` is what to show. */
export class RuleBudgetExceeded extends Error {
  readonly diagnostic: Diagnostic;

  constructor(
    readonly role: string,
    readonly spentMs: number,
    readonly evaluated: number,
    readonly of: number,
    readonly budget: RuleTimeBudget,
    position?: SourcePosition,
  ) {
    const message = `the rule of role "${role}" was stopped after ${seconds(spentMs)} evaluating ${evaluated} of ${of} identities (the budget is ${seconds(budget.maxMsPerRule)} per rule)`;
    super(message);
    this.name = 'RuleBudgetExceeded';
    this.diagnostic = {
      severity: 'error',
      code: 'engine.rule_budget',
      message,
      hint: 'simplify the rule: comprehensions (all, exists, map, filter) over lists multiply the work for every identity; see docs/policy.md, "Rule budget"',
      subject: role,
      ...(position ? { position } : {}),
    };
  }
}

/** Adds up one rule's evaluation time and stops it when the total passes the budget. */
export class RuleWatch {
  private spent = 0;
  private count = 0;

  constructor(
    private readonly budget: RuleTimeBudget,
    private readonly role: string,
    private readonly of: number,
    private readonly position?: SourcePosition,
  ) {}

  /** Runs one evaluation, timing it; throws RuleBudgetExceeded once the rule is over budget. */
  time<T>(evaluate: () => T): T {
    const start = this.budget.now();
    const result = evaluate();
    this.spent += this.budget.now() - start;
    this.count++;
    if (this.spent > this.budget.maxMsPerRule)
      throw new RuleBudgetExceeded(this.role, this.spent, this.count, this.of, this.budget, this.position);
    return result;
  }
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
