import type { CelNode } from '../policy/compile-rule.js';

/** A test on one scalar field's value that an index can answer from the field's distinct values. */
export type ValueTest =
  | { readonly op: 'equals'; readonly values: readonly unknown[] }
  | { readonly op: 'prefix' | 'suffix' | 'substring'; readonly text: string }
  | { readonly op: '<' | '<=' | '>' | '>='; readonly value: bigint | number | string }
  | { readonly op: 'present' };

/**
 * A necessary condition for a rule to hold, in terms an index can answer: every identity for
 * which the rule holds passes its filter. When the analysis also says the filter is *exact*, the
 * identities that pass are exactly those for which the rule holds, and CEL need not run at all.
 */
export type CandidateFilter =
  | { readonly kind: 'all' }
  | { readonly kind: 'field'; readonly field: string; readonly test: ValueTest }
  | { readonly kind: 'element'; readonly field: string; readonly value: string }
  | { readonly kind: 'and'; readonly parts: readonly CandidateFilter[] }
  | { readonly kind: 'or'; readonly parts: readonly CandidateFilter[] }
  /** Identities for which the exact filter `part` is false (not an error: an absent attribute is one). */
  | { readonly kind: 'not'; readonly part: CandidateFilter };

export interface Analysis {
  readonly filter: CandidateFilter;
  readonly exact: boolean;
}

const ALL: Analysis = { filter: { kind: 'all' }, exact: false };
const FLIP = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as const;

/**
 * Derives the filter from a rule's AST. Indexable: `==`, `!=`, `in` a literal list, `<`, `<=`,
 * `>`, `>=` against literals, `startsWith`/`endsWith`/`contains` with a literal, literal `in` a
 * list attribute, and `&&`, `||`, `!` over those. Anything else is `all` (CEL decides).
 *
 * Exactness relies on CEL's error semantics, which cel-js follows: reading an absent attribute is
 * an error, `error || true` is true, `error && false` is false, and a rule that ends in an error
 * does not hold. An index never lists an identity under a field it lacks, which gives the same.
 */
export function analyseRule(node: CelNode, fieldTypes: ReadonlyMap<string, string>): Analysis {
  switch (node.op) {
    case '&&': {
      const parts = (node.args as CelNode[]).map((a) => analyseRule(a, fieldTypes));
      const indexed = parts.filter((p) => p.filter.kind !== 'all');
      if (indexed.length === 0) return ALL;
      const exact = parts.every((p) => p.exact);
      if (indexed.length === 1) return { filter: indexed[0]!.filter, exact };
      return {
        filter: { kind: 'and', parts: indexed.flatMap((p) => (p.filter.kind === 'and' ? p.filter.parts : [p.filter])) },
        exact,
      };
    }
    case '||': {
      const parts = (node.args as CelNode[]).map((a) => analyseRule(a, fieldTypes));
      if (parts.some((p) => p.filter.kind === 'all')) return ALL;
      return {
        filter: { kind: 'or', parts: parts.flatMap((p) => (p.filter.kind === 'or' ? p.filter.parts : [p.filter])) },
        exact: parts.every((p) => p.exact),
      };
    }
    case '!_':
    case '!': {
      const inner = analyseRule(firstArg(node), fieldTypes);
      if (!inner.exact || inner.filter.kind === 'all') return ALL;
      return { filter: { kind: 'not', part: inner.filter }, exact: true };
    }
    case '==':
    case '!=': {
      const cmp = comparison(node, fieldTypes);
      if (!cmp) return ALL;
      const equals: CandidateFilter = { kind: 'field', field: cmp.field, test: { op: 'equals', values: [cmp.value] } };
      return node.op === '=='
        ? { filter: equals, exact: true }
        : { filter: { kind: 'not', part: equals }, exact: true };
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const cmp = comparison(node, fieldTypes);
      // Numbers only: CEL orders strings by code point, JavaScript by UTF-16 unit.
      if (
        !cmp ||
        !numeric(fieldTypes.get(cmp.field)) ||
        typeof cmp.value === 'boolean' ||
        typeof cmp.value === 'string'
      )
        return ALL;
      const op = cmp.flipped ? FLIP[node.op] : node.op;
      return { filter: { kind: 'field', field: cmp.field, test: { op, value: cmp.value } }, exact: true };
    }
    case 'in': {
      const [a, b] = node.args as [CelNode, CelNode];
      const left = identityField(a);
      if (left !== undefined && b.op === 'list' && scalar(fieldTypes.get(left))) {
        const values = (b.args as CelNode[]).map(literalOf);
        if (values.some((v) => v === undefined)) return ALL;
        return {
          filter: { kind: 'field', field: left, test: { op: 'equals', values: values.map((v) => v!.value) } },
          exact: true,
        };
      }
      const right = identityField(b);
      const literal = literalOf(a);
      if (
        right !== undefined &&
        literal &&
        typeof literal.value === 'string' &&
        fieldTypes.get(right) === 'list<string>'
      ) {
        return { filter: { kind: 'element', field: right, value: literal.value }, exact: true };
      }
      return ALL;
    }
    case 'rcall': {
      const [name, target, args] = node.args as [string, CelNode, CelNode[]];
      const field = identityField(target);
      const literal = args.length === 1 ? literalOf(args[0]!) : undefined;
      const op =
        name === 'startsWith'
          ? 'prefix'
          : name === 'endsWith'
            ? 'suffix'
            : name === 'contains'
              ? 'substring'
              : undefined;
      if (
        op &&
        field !== undefined &&
        literal &&
        typeof literal.value === 'string' &&
        fieldTypes.get(field) === 'string'
      ) {
        return { filter: { kind: 'field', field, test: { op, text: literal.value } }, exact: true };
      }
      return ALL;
    }
    case 'call': {
      // has(identity.x) holds exactly when the identity has a value for x.
      const [name, args] = node.args as [string, CelNode[]];
      const field = name === 'has' && args.length === 1 ? identityField(args[0]!) : undefined;
      if (field === undefined || !fieldTypes.has(field)) return ALL;
      return { filter: { kind: 'field', field, test: { op: 'present' } }, exact: true };
    }
    default:
      return ALL;
  }
}

/** The filter alone (for callers that do not care about exactness). */
export function candidateFilter(node: CelNode, fieldTypes: ReadonlyMap<string, string>): CandidateFilter {
  return analyseRule(node, fieldTypes).filter;
}

function firstArg(node: CelNode): CelNode {
  return (Array.isArray(node.args) ? node.args[0] : node.args) as CelNode;
}

function comparison(
  node: CelNode,
  fieldTypes: ReadonlyMap<string, string>,
): { field: string; value: bigint | number | string | boolean; flipped: boolean } | undefined {
  const [a, b] = node.args as [CelNode, CelNode];
  const left = identityField(a);
  const right = identityField(b);
  const field = left ?? right;
  const literal = left !== undefined ? literalOf(b) : literalOf(a);
  if (field === undefined || literal === undefined || !scalar(fieldTypes.get(field))) return undefined;
  return { field, value: literal.value, flipped: left === undefined };
}

function numeric(type: string | undefined): boolean {
  return type === 'int' || type === 'double';
}

function scalar(type: string | undefined): boolean {
  return type === 'string' || type === 'int' || type === 'bool' || type === 'double';
}

function identityField(node: CelNode): string | undefined {
  if (node.op !== '.') return undefined;
  const [target, field] = node.args as [CelNode, string];
  return target.op === 'id' && target.args === 'identity' ? field : undefined;
}

function literalOf(node: CelNode): { value: bigint | number | string | boolean } | undefined {
  if (node.op !== 'value') return undefined;
  const v = node.args;
  return typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'number'
    ? { value: v }
    : undefined;
}

/** Whether one value passes a value test. */
export function testValue(test: ValueTest, v: unknown): boolean {
  switch (test.op) {
    case 'present':
      return v !== undefined;
    case 'equals':
      return test.values.includes(v);
    case 'prefix':
      return typeof v === 'string' && v.startsWith(test.text);
    case 'suffix':
      return typeof v === 'string' && v.endsWith(test.text);
    case 'substring':
      return typeof v === 'string' && v.includes(test.text);
    case '<':
      return typeof v === typeof test.value || (typeof v !== 'string' && typeof test.value !== 'string')
        ? (v as number) < (test.value as number)
        : false;
    case '<=':
      return typeof v === typeof test.value || (typeof v !== 'string' && typeof test.value !== 'string')
        ? (v as number) <= (test.value as number)
        : false;
    case '>':
      return typeof v === typeof test.value || (typeof v !== 'string' && typeof test.value !== 'string')
        ? (v as number) > (test.value as number)
        : false;
    case '>=':
      return typeof v === typeof test.value || (typeof v !== 'string' && typeof test.value !== 'string')
        ? (v as number) >= (test.value as number)
        : false;
  }
}

/**
 * Whether one identity passes the filter, used when recomputing a single identity. Three-valued
 * as CEL is: `undefined` stands for an error (an absent attribute), which `&&` and `||` absorb
 * when the other side decides, and which otherwise means the rule does not hold.
 */
export function passes(filter: CandidateFilter, read: (field: string) => unknown): boolean {
  return truth(filter, read) === true;
}

function truth(filter: CandidateFilter, read: (field: string) => unknown): boolean | undefined {
  switch (filter.kind) {
    case 'all':
      return true;
    case 'field': {
      const v = read(filter.field);
      if (filter.test.op === 'present') return v !== undefined;
      return v === undefined ? undefined : testValue(filter.test, v);
    }
    case 'element': {
      const v = read(filter.field);
      return Array.isArray(v) ? v.includes(filter.value) : undefined;
    }
    case 'and': {
      let result: boolean | undefined = true;
      for (const p of filter.parts) {
        const t = truth(p, read);
        if (t === false) return false;
        if (t === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      let result: boolean | undefined = false;
      for (const p of filter.parts) {
        const t = truth(p, read);
        if (t === true) return true;
        if (t === undefined) result = undefined;
      }
      return result;
    }
    case 'not': {
      const t = truth(filter.part, read);
      return t === undefined ? undefined : !t;
    }
  }
}
