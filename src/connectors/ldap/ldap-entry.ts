import type { Entry } from 'ldapts';
import { normaliseDn } from './ldap-escape.js';

/** An attribute's values as strings; attribute names are matched case-insensitively. */
export function all(entry: Entry, attribute: string): string[] {
  const lower = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === lower && k !== 'dn');
  const v = key === undefined ? undefined : entry[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

/** An attribute's first value, or undefined. */
export function first(entry: Entry, attribute: string): string | undefined {
  return all(entry, attribute)[0];
}

/**
 * Each entry once, by its DN however spelled: searches of people_base and of a disabled_base inside it find the same
 * entries twice.
 */
export function uniqueEntries(entries: readonly Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    let key: string;
    try {
      key = normaliseDn(e.dn);
    } catch {
      key = e.dn;
    }
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The attributes a connector maps, out of those a policy gives: each key matched without regard to case to one of
 * `known` (and written as `known` spells it), and kept when `keep` says the policy may set it.
 */
export function pickAttributes(
  attributes: Readonly<Record<string, string>>,
  known: readonly string[],
  keep: (name: string) => boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    const name = known.find((a) => a.toLowerCase() === key.toLowerCase());
    if (name !== undefined && keep(name)) out[name] = value;
  }
  return out;
}
