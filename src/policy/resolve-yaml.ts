import { isAlias, isCollection, isPair, visit, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../model/diagnostic.js';
import type { YamlLocator } from './yaml-locator.js';

/**
 * How far aliases may expand, in the `yaml` package's own measure (uses of an anchor times the
 * aliases inside it). Its default of 100 would refuse a policy that merges one `<<: *defaults`
 * into a hundred roles; an alias "bomb" (lists of aliases of lists of aliases) still passes it
 * within a few levels, long before it costs memory or time.
 */
export const MAX_ALIAS_COUNT = 1000;

/**
 * Turns a parsed YAML document into plain values. Resolving aliases is where a hostile or
 * mistaken file can blow up, so that failure is a positioned diagnostic, never a throw.
 */
export function resolveYaml(
  doc: Document,
  at: YamlLocator,
): { value: unknown; diagnostic?: undefined } | { value?: undefined; diagnostic: Diagnostic } {
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const aliases = findAliases(doc);
    const bomb = /excessive alias count/i.test(message);
    const blamed = bomb ? (aliases.nested ?? aliases.first) : (aliases.unresolved ?? aliases.first);
    const position = blamed?.range ? at.offset(blamed.range[0]) : at.at([]);
    if (bomb) {
      return {
        diagnostic: {
          severity: 'error',
          code: 'policy.yaml_aliases',
          message: `YAML aliases expand too far (more than ${MAX_ALIAS_COUNT} expansions)${blamed ? `: *${blamed.source} repeats a node that itself repeats others` : ''}`,
          hint: 'write the values out instead of nesting aliases of aliases; each level multiplies the data',
          position,
        },
      };
    }
    // Any other failure to resolve (an unknown alias, a bad merge key) is the file's fault too.
    return {
      diagnostic: {
        severity: 'error',
        code: 'policy.yaml_syntax',
        message: message.split('\n')[0] ?? message,
        hint: 'check the anchors (&name) and aliases (*name) in the file',
        position,
      },
    };
  }
}

interface AliasNode {
  readonly source: string;
  readonly range?: readonly [number, number, number] | null;
}

/**
 * The aliases worth pointing at: the first that repeats an anchored node which itself holds
 * aliases (the multiplying step of a bomb), and the first whose anchor is not set before it.
 */
function findAliases(doc: Document): { nested?: AliasNode; unresolved?: AliasNode; first?: AliasNode } {
  const anchored = new Map<string, Node>();
  const found: { nested?: AliasNode; unresolved?: AliasNode; first?: AliasNode } = {};
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        found.first ??= node;
        const target = anchored.get(node.source);
        if (!target) found.unresolved ??= node;
        else if (holdsAlias(target)) found.nested ??= node;
      } else if (node.anchor) anchored.set(node.anchor, node);
    },
  });
  return found;
}

function holdsAlias(node: unknown): boolean {
  if (isAlias(node)) return true;
  if (isPair(node)) return holdsAlias(node.key) || holdsAlias(node.value);
  if (isCollection(node)) return node.items.some(holdsAlias);
  return false;
}
