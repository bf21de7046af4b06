import type { Entry } from 'ldapts';
import { ConnectorError } from '../connector.js';
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

/**
 * Where the policy places an account (`attributes.parent`, a CEL expression giving the DN of an OU), checked: it
 * must be people_base or, with account_scope sub, below it, or the account would leave the accounts the target
 * reads. Undefined when the policy does not place it (people_base).
 */
export function placementOf(
  where: { readonly target: string; readonly peopleBase: string; readonly accountScope: 'one' | 'sub' },
  name: string,
  parent: string | undefined,
): string | undefined {
  if (parent === undefined || parent === '') return undefined;
  const { target, peopleBase, accountScope } = where;
  let inside: boolean;
  try {
    const p = normaliseDn(parent);
    const people = normaliseDn(peopleBase);
    inside = p === people || (accountScope === 'sub' && p.endsWith(`,${people}`));
  } catch {
    throw new ConnectorError(
      target,
      'invalid_input',
      `target "${target}": the parent of account "${name}", ${JSON.stringify(parent)}, is not a DN`,
      'targets[].attributes.parent must give the DN of an OU, e.g. "OU=" + identity.department + ",OU=Staff,DC=corp,DC=example,DC=com"',
    );
  }
  if (!inside) {
    throw new ConnectorError(
      target,
      'invalid_input',
      `target "${target}": the parent of account "${name}", ${parent}, is outside people_base ${peopleBase}` +
        (accountScope === 'sub' ? '' : ' (account_scope one: accounts sit directly in it)'),
      "an account placed there would no longer be read as this target's: place it in people_base or an OU below it (account_scope: sub)",
    );
  }
  return parent;
}
