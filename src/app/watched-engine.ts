import { performance } from 'node:perf_hooks';
import { Engine } from '../engine/engine.js';
import type { LoadedPolicy } from '../policy/load-policy.js';

/**
 * The most one rule may spend evaluating, in total, within one computation. Validation already
 * refuses rules beyond a static budget; this stops what slips past it (a list attribute far
 * longer than assumed) with a message naming the rule, instead of a plan that never ends.
 */
export const RULE_TIME_BUDGET_MS = 10_000;

/** The engine as the application runs it: with the clock the pure engine may not read itself. */
export function watchedEngine(loaded: LoadedPolicy): Engine {
  return new Engine(loaded, { ruleTime: { now: () => performance.now(), maxMsPerRule: RULE_TIME_BUDGET_MS } });
}
