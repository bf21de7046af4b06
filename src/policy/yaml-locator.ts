import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { SourcePosition } from '../model/diagnostic.js';

export type YamlPath = readonly (string | number)[];

/** Finds file:line:col for paths into a parsed YAML document, so every diagnostic can point at its cause. */
export class YamlLocator {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Position of the node at `path`, or of its nearest existing ancestor. */
  at(path: YamlPath): SourcePosition {
    for (let n = path.length; n >= 0; n--) {
      const node = this.node(path.slice(0, n));
      if (node?.range) return this.offset(node.range[0]);
    }
    return { file: this.file, line: 1, column: 1 };
  }

  /** Position of the key `key` in the mapping at `path` (for unknown keys). */
  key(path: YamlPath, key: string): SourcePosition {
    const map = this.node(path);
    if (isMap(map)) {
      for (const pair of map.items) {
        const k = pair.key;
        if (isScalar(k) && String(k.value) === key && k.range) return this.offset(k.range[0]);
      }
    }
    return this.at(path);
  }

  offset(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  node(path: YamlPath): Node | undefined {
    if (path.length === 0) return this.doc.contents ?? undefined;
    const found: unknown = this.doc.getIn(path as unknown[], true);
    return found && typeof found === 'object' && 'range' in found ? (found as Node) : undefined;
  }

  /** The raw source text of a scalar, for mapping offsets inside a CEL rule to file positions. */
  scalarSource(path: YamlPath, text: string): { start: number; raw: string } | undefined {
    const node = this.node(path);
    if (!isScalar(node) || !node.range) return undefined;
    return { start: node.range[0], raw: text.slice(node.range[0], node.range[1]) };
  }

  isSequence(path: YamlPath): boolean {
    return isSeq(this.node(path));
  }
}
