import { checkRuleBudget } from './rule-budget.js';
import type { RuleEnvironment } from './rule-environment.js';

/** A node of cel-js's AST: `{ op, args, pos, start, end }`; args depend on op. */
export interface CelNode {
  readonly op: string;
  readonly args: unknown;
  readonly pos?: number;
  readonly start?: number;
  readonly end?: number;
}

export interface CompiledRule {
  readonly text: string;
  readonly ast: CelNode;
  /** The identity fields the rule reads, sorted: the inputs recorded as provenance. */
  readonly reads: readonly string[];
  /** Evaluates for one identity; an evaluation error (say an absent attribute) means the rule does not hold. */
  readonly holds: (identity: unknown, now: Date) => boolean;
  /** Evaluates to a value (for non-boolean expressions such as account names). */
  readonly value: (identity: unknown, now: Date) => unknown;
}

export interface RuleError {
  readonly message: string;
  /** Offset of the problem inside the rule text. */
  readonly offset: number;
  readonly kind: 'syntax' | 'type' | 'budget';
  /** For budget problems: the diagnostic code and what to do. */
  readonly code?: string;
  readonly hint?: string;
}

interface CelErrorLike {
  readonly summary?: string;
  readonly message: string;
  readonly range?: { start: number };
  readonly name?: string;
}

type Program = ((ctx: Record<string, unknown>) => unknown) & { ast: CelNode; check: () => CheckResult };
interface CheckResult {
  valid: boolean;
  type?: string;
  error?: CelErrorLike;
}

/** Compiles a rule against the typed environment; `expect` is the type the expression must have. */
export function compileRule(
  env: RuleEnvironment,
  text: string,
  expect: 'bool' | 'string',
): { rule?: CompiledRule; error?: RuleError } {
  let program: Program;
  try {
    program = env.env.parse(text);
  } catch (e) {
    return { error: toRuleError(e as CelErrorLike, 'syntax') };
  }
  const check = program.check();
  if (!check.valid) return { error: toRuleError(check.error!, 'type') };
  if (check.type !== expect && check.type !== 'dyn') {
    return {
      error: {
        kind: 'type',
        offset: 0,
        message: `the expression must give a ${expect}, but it gives ${check.type ?? 'unknown'}`,
      },
    };
  }
  // A rule that type-checks can still be too costly to run for every identity.
  const over = checkRuleBudget(program.ast);
  if (over) return { error: { kind: 'budget', ...over } };
  const reads = [...collectReads(program.ast)].sort();
  const value = (identity: unknown, now: Date): unknown => program({ identity, now });
  const holds = (identity: unknown, now: Date): boolean => {
    try {
      return program({ identity, now }) === true;
    } catch {
      return false;
    }
  };
  return { rule: { text, ast: program.ast, reads, holds, value } };
}

function toRuleError(e: CelErrorLike, kind: RuleError['kind']): RuleError {
  const message = (e.summary ?? e.message.split('\n')[0] ?? 'invalid expression').trim();
  return { kind, message: friendlier(message), offset: e.range?.start ?? 0 };
}

/** cel-js reports a missing field as "No such key"; say it in the policy's words. */
function friendlier(message: string): string {
  const m = /^No such key: (.+)$/.exec(message);
  return m ? `identity has no attribute "${m[1]}"` : message;
}

/** Every `identity.<field>` the rule reads. */
function collectReads(node: CelNode, out = new Set<string>()): Set<string> {
  if (node.op === '.' || node.op === '.?') {
    const [target, field] = node.args as [CelNode, string];
    if (target.op === 'id' && target.args === 'identity') {
      out.add(field);
      return out;
    }
  }
  visitChildren(node, (child) => collectReads(child, out));
  return out;
}

export function visitChildren(node: CelNode, visit: (child: CelNode) => void): void {
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && 'op' in v) visit(v as CelNode);
  };
  walk(node.args);
}
