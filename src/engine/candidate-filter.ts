import type { CelNode } from '../policy/compile-rule.js';

/**
 * A necessary condition for a rule to hold, in terms an index can answer. Every identity for
 * which the rule holds satisfies its filter (the filter may admit more; CEL then decides).
 */
export type CandidateFilter =
  | { readonly kind: 'all' }
  | { readonly kind: 'equals'; readonly field: string; readonly values: readonly unknown[] }
  | { readonly kind: 'prefix'; readonly field: string; readonly prefix: string }
  | { readonly kind: 'contains'; readonly field: string; readonly value: string }
  | { readonly kind: 'and'; readonly parts: readonly CandidateFilter[] }
  | { readonly kind: 'or'; readonly parts: readonly CandidateFilter[] };

const ALL: CandidateFilter = { kind: 'all' };

/**
 * Derives the filter from a rule's AST: equality and `in` tests against literals, `startsWith`
 * with a literal, and literal-in-list-attribute, combined with && and ||. Anything else is `all`.
 * `fieldTypes` maps identity fields to their CEL types (a list field is indexed by element).
 */
export function candidateFilter(node: CelNode, fieldTypes: ReadonlyMap<string, string>): CandidateFilter {
  switch (node.op) {
    case '&&': {
      const parts = (node.args as CelNode[]).map((a) => candidateFilter(a, fieldTypes)).filter((p) => p.kind !== 'all');
      if (parts.length === 0) return ALL;
      return parts.length === 1
        ? parts[0]!
        : { kind: 'and', parts: parts.flatMap((p) => (p.kind === 'and' ? p.parts : [p])) };
    }
    case '||': {
      const parts = (node.args as CelNode[]).map((a) => candidateFilter(a, fieldTypes));
      if (parts.some((p) => p.kind === 'all')) return ALL;
      return { kind: 'or', parts: parts.flatMap((p) => (p.kind === 'or' ? p.parts : [p])) };
    }
    case '==': {
      const [a, b] = node.args as [CelNode, CelNode];
      const field = identityField(a) ?? identityField(b);
      const literal = literalOf(b) ?? literalOf(a);
      if (field === undefined || literal === undefined || !scalar(fieldTypes.get(field))) return ALL;
      return { kind: 'equals', field, values: [literal.value] };
    }
    case 'in': {
      const [a, b] = node.args as [CelNode, CelNode];
      const left = identityField(a);
      if (left !== undefined && b.op === 'list' && scalar(fieldTypes.get(left))) {
        const values = (b.args as CelNode[]).map(literalOf);
        if (values.every((v) => v !== undefined))
          return { kind: 'equals', field: left, values: values.map((v) => v.value) };
        return ALL;
      }
      const right = identityField(b);
      const literal = literalOf(a);
      if (
        right !== undefined &&
        literal &&
        typeof literal.value === 'string' &&
        fieldTypes.get(right) === 'list<string>'
      ) {
        return { kind: 'contains', field: right, value: literal.value };
      }
      return ALL;
    }
    case 'rcall': {
      const [name, target, args] = node.args as [string, CelNode, CelNode[]];
      const field = identityField(target);
      const literal = args.length === 1 ? literalOf(args[0]!) : undefined;
      if (
        name === 'startsWith' &&
        field !== undefined &&
        literal &&
        typeof literal.value === 'string' &&
        fieldTypes.get(field) === 'string'
      ) {
        return { kind: 'prefix', field, prefix: literal.value };
      }
      return ALL;
    }
    default:
      return ALL;
  }
}

function scalar(type: string | undefined): boolean {
  return type === 'string' || type === 'int' || type === 'bool' || type === 'double';
}

function identityField(node: CelNode): string | undefined {
  if (node.op !== '.') return undefined;
  const [target, field] = node.args as [CelNode, string];
  return target.op === 'id' && target.args === 'identity' ? field : undefined;
}

function literalOf(node: CelNode): { value: unknown } | undefined {
  if (node.op !== 'value') return undefined;
  const v = node.args;
  return typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'number'
    ? { value: v }
    : undefined;
}

/** Whether one identity's field values pass the filter; used when recomputing a single identity. */
export function passes(filter: CandidateFilter, read: (field: string) => unknown): boolean {
  switch (filter.kind) {
    case 'all':
      return true;
    case 'equals': {
      const v = read(filter.field);
      return v !== undefined && filter.values.includes(v);
    }
    case 'prefix': {
      const v = read(filter.field);
      return typeof v === 'string' && v.startsWith(filter.prefix);
    }
    case 'contains': {
      const v = read(filter.field);
      return Array.isArray(v) && v.includes(filter.value);
    }
    case 'and':
      return filter.parts.every((p) => passes(p, read));
    case 'or':
      return filter.parts.some((p) => passes(p, read));
  }
}
