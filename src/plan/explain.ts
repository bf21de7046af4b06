import type { Grant, IdentityAccess, Provenance, RoleMatch } from '../model/grant.js';
import type { AttributeValue } from '../model/identity.js';

/** The UTC calendar day of a time, as reasons and reports show it: 2026-10-01. */
export function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** One provenance in plain words: `role "senior-engineer" (rule held: ...) inherits "engineer", which grants it`. */
export function explainProvenance(p: Provenance): string {
  if (p.exception) {
    const e = p.exception;
    return `exception #${e.id} (approved by ${e.approver} until ${e.until.toISOString().slice(0, 10)}: ${e.reason})`;
  }
  const [matched, ...rest] = p.chain;
  const head = `role "${matched}"`;
  if (rest.length === 0) return head;
  return `${head} inherits ${rest.map((r) => `"${r}"`).join(', which inherits ')}`;
}

/** The match (rule and values) behind a provenance: the role whose rule held is `chain[0]`. */
export function matchOf(access: IdentityAccess, p: Provenance): RoleMatch | undefined {
  return access.matches.find((m) => m.role === p.chain[0]);
}

/** The shortest explanation of a grant, for a plan line. */
export function explainGrant(access: IdentityAccess, g: Grant): string {
  const p = g.provenance[0];
  if (!p) return 'no role grants it';
  const more =
    g.provenance.length > 1 ? ` (and ${g.provenance.length - 1} more path${g.provenance.length > 2 ? 's' : ''})` : '';
  if (p.exception) return `${explainProvenance(p)} grants it${more}`;
  const match = matchOf(access, p);
  return `${explainProvenance(p)} grants it, because ${match ? describeInputs(match.inputs) : 'its rule holds'}${more}`;
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

/** A grant with each provenance expanded to its rule and values: what `--json` shows. */
export function expandGrant(access: IdentityAccess, g: Grant) {
  return {
    identity: g.identity,
    entitlement: g.entitlement,
    provenance: g.provenance.map((p) => {
      if (p.exception) return { chain: p.chain, exception: p.exception };
      const m = matchOf(access, p);
      return { role: p.chain[0]!, chain: p.chain, rule: m?.rule, inputs: m?.inputs };
    }),
  };
}
