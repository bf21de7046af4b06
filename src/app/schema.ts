import { z } from 'zod';
import { policyDocumentSchema } from '../policy/policy-schema.js';

/** Where the JSON Schema of tenure.yaml is checked in, relative to the repository root. */
export const POLICY_SCHEMA_FILE = 'schema/tenure.schema.json';

/**
 * `tenure schema`: the JSON Schema (draft 2020-12) of tenure.yaml, generated from the same zod
 * schema the loader validates with, so an editor's completion and checks never disagree with
 * `tenure validate`. It describes the file as written: keys with defaults are optional.
 * A target's `connection` is an open object here; its settings depend on the target kind
 * (docs/connectors.md) and `tenure validate` checks them.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policyDocumentSchema, {
    target: 'draft-2020-12',
    io: 'input',
    // Refinements (a delimiter without line breaks) have no JSON Schema form; validate checks them.
    unrepresentable: 'any',
  });
  const { $schema, title, ...rest } = schema as Record<string, unknown>;
  return { $schema, title, ...rest };
}

/**
 * The schema as the text of a file, laid out as Prettier lays out JSON so the checked-in copy
 * stays format-clean. Ends with a line break.
 */
export function policySchemaText(): string {
  return `${jsonLikePrettier(policyJsonSchema())}\n`;
}

const WIDTH = 120;

/**
 * JSON as Prettier prints it (printWidth 120): objects one key per line, arrays of plain values on
 * one line when that line fits, otherwise one element per line.
 */
function jsonLikePrettier(value: unknown): string {
  const print = (v: unknown, indent: string, lineStart: number, suffix: number): string => {
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      if (v.every((x) => x === null || typeof x !== 'object')) {
        const flat = `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
        if (lineStart + flat.length + suffix <= WIDTH) return flat;
      }
      const items = v.map((x, i) => `${inner}${print(x, inner, inner.length, i < v.length - 1 ? 1 : 0)}`);
      return `[\n${items.join(',\n')}\n${indent}]`;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      if (entries.length === 0) return '{}';
      const lines = entries.map(([k, x], i) => {
        const key = `${inner}${JSON.stringify(k)}: `;
        return `${key}${print(x, inner, key.length, i < entries.length - 1 ? 1 : 0)}`;
      });
      return `{\n${lines.join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(v);
  };
  return print(value, '', 0, 0);
}
