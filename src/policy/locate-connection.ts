import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import type { SourcePosition } from '../model/diagnostic.js';
import { YamlLocator } from './yaml-locator.js';

/**
 * Positions inside the targets' `connection` maps of a policy's text, by target id (the first
 * target with an id, as the loader keeps it): `at('directory', ['page_size'])` is where that
 * setting's value is. A path that is not there falls back to its nearest ancestor (the
 * connection, else the target entry); undefined for a target the text does not hold.
 */
export interface ConnectionLocator {
  at(target: string, path: readonly (string | number)[]): SourcePosition | undefined;
}

export function locateConnections(text: string, file: string): ConnectionLocator {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const locator = new YamlLocator(file, doc, lines);
  const index = new Map<string, number>();
  // The nodes, not their values: nothing is expanded (the loader has refused alias bombs already).
  const targets = locator.node(['targets']);
  if (isSeq(targets))
    targets.items.forEach((t, i) => {
      const id: unknown = isMap(t) ? t.get('id') : undefined;
      if (typeof id === 'string' && !index.has(id)) index.set(id, i);
    });
  const base = (target: string) => {
    const i = index.get(target);
    return i === undefined ? undefined : ['targets', i, 'connection'];
  };
  return {
    at: (target, path) => {
      const b = base(target);
      return b && locator.at([...b, ...path]);
    },
  };
}
