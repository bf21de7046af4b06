import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { policyDocumentSchema } from './policy-schema.js';

/**
 * Every key of tenure.yaml as the reference in docs/policy.md writes it: dotted, `[]` after a list
 * of entries, `<name>` (any word in angle brackets) for a key the user chooses.
 */
function keyPaths(schema: z.core.$ZodType, prefix: string, out: Set<string>): void {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
      return keyPaths(def.innerType as z.core.$ZodType, prefix, out);
    case 'pipe':
      return keyPaths(def.in as z.core.$ZodType, prefix, out);
    case 'array':
      return keyPaths(def.element as z.core.$ZodType, `${prefix}[]`, out);
    case 'record':
      return keyPaths(def.valueType as z.core.$ZodType, `${prefix}.<name>`, out);
    case 'union':
      for (const option of def.options as z.core.$ZodType[]) keyPaths(option, prefix, out);
      return;
    case 'object':
      for (const [key, value] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
        const path = prefix === '' ? key : `${prefix}.${key}`;
        out.add(path);
        // A target's connection settings belong to its kind: docs/connectors.md covers them.
        if (path !== 'targets[].connection') keyPaths(value, path, out);
      }
      return;
    default:
      return;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/policy.md', () => {
  it('names every key of the policy file in its reference', () => {
    const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
    const paths = new Set<string>();
    keyPaths(policyDocumentSchema, '', paths);
    assert.ok(paths.has('sources[].credential.last_used') && paths.has('policies.lint.birthright_share'));
    const missing = [...paths].filter((path) => {
      const pattern = path.split('<name>').map(escape).join('<[A-Za-z_]+>');
      return !new RegExp('`' + pattern + '`').test(doc);
    });
    assert.deepEqual(
      missing,
      [],
      `docs/policy.md does not mention ${missing.map((m) => `\`${m}\``).join(', ')}: add each to the reference`,
    );
  });
});
