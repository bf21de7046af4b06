import type { Grant, Provenance } from '../model/grant.js';
import type { AttributeValue } from '../model/identity.js';

/** One provenance in plain words: `role "senior-engineer" (rule held: ...) inherits "engineer", which grants it`. */
export function explainProvenance(p: Provenance): string {
  const [matched, ...rest] = p.chain;
  const head = `role "${matched}"`;
  if (rest.length === 0) return head;
  return `${head} inherits ${rest.map((r) => `"${r}"`).join(', which inherits ')}`;
}

/** The shortest explanation of a grant, for a plan line. */
export function explainGrant(g: Grant): string {
  const p = g.provenance[0];
  if (!p) return 'no role grants it';
  const more =
    g.provenance.length > 1 ? ` (and ${g.provenance.length - 1} more path${g.provenance.length > 2 ? 's' : ''})` : '';
  return `${explainProvenance(p)} grants it, because ${describeInputs(p.match.inputs)}${more}`;
}

/** `department = "Engineering", grade = 7` — the values that made the rule hold. */
export function describeInputs(inputs: Readonly<Record<string, AttributeValue>>): string {
  const parts = Object.entries(inputs).map(([k, v]) => `${k} = ${formatValue(v)}`);
  return parts.length > 0 ? parts.join(', ') : 'its rule holds';
}

export function formatValue(v: AttributeValue): string {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
