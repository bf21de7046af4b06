import type { Identity } from '../model/identity.js';
import { identityField } from '../policy/rule-environment.js';
import type { CandidateFilter } from './candidate-filter.js';

/** Positions into the indexed identity array, ascending. */
export type Positions = readonly number[];

/**
 * Inverted indexes over identities' field values, built per field on first use, so a rule is
 * evaluated only for the identities its candidate filter admits.
 */
export class IdentityIndex {
  private readonly equality = new Map<string, Map<unknown, number[]>>();
  private readonly elements = new Map<string, Map<string, number[]>>();
  private readonly sorted = new Map<string, { values: string[]; positions: number[] }>();
  private allPositions: number[] | undefined;

  constructor(readonly identities: readonly Identity[]) {}

  /** Identities that pass the filter; `undefined` means all of them (no index applies). */
  candidates(filter: CandidateFilter): Positions | undefined {
    switch (filter.kind) {
      case 'all':
        return undefined;
      case 'equals': {
        const index = this.equalityIndex(filter.field);
        if (filter.values.length === 1) return index.get(filter.values[0]) ?? [];
        return unionAll(filter.values.map((v) => index.get(v) ?? []));
      }
      case 'contains':
        return this.elementIndex(filter.field).get(filter.value) ?? [];
      case 'prefix':
        return this.prefixRange(filter.field, filter.prefix);
      case 'and': {
        // Intersect the smallest sets first; an unindexable part never widens an intersection.
        const sets = filter.parts.map((p) => this.candidates(p)).filter((s): s is Positions => s !== undefined);
        if (sets.length === 0) return undefined;
        sets.sort((a, b) => a.length - b.length);
        let acc = sets[0]!;
        for (let i = 1; i < sets.length && acc.length > 0; i++) acc = intersect(acc, sets[i]!);
        return acc;
      }
      case 'or': {
        const sets: Positions[] = [];
        for (const p of filter.parts) {
          const s = this.candidates(p);
          if (s === undefined) return undefined;
          sets.push(s);
        }
        return unionAll(sets);
      }
    }
  }

  all(): Positions {
    this.allPositions ??= this.identities.map((_, i) => i);
    return this.allPositions;
  }

  private equalityIndex(field: string): Map<unknown, number[]> {
    let index = this.equality.get(field);
    if (!index) {
      index = new Map();
      this.identities.forEach((identity, i) => {
        const v = identityField(identity, field);
        if (v === undefined) return;
        const list = index!.get(v);
        if (list) list.push(i);
        else index!.set(v, [i]);
      });
      this.equality.set(field, index);
    }
    return index;
  }

  private elementIndex(field: string): Map<string, number[]> {
    let index = this.elements.get(field);
    if (!index) {
      index = new Map();
      this.identities.forEach((identity, i) => {
        const v = identityField(identity, field);
        if (!Array.isArray(v)) return;
        for (const element of new Set(v as string[])) {
          const list = index!.get(element);
          if (list) list.push(i);
          else index!.set(element, [i]);
        }
      });
      this.elements.set(field, index);
    }
    return index;
  }

  private prefixRange(field: string, prefix: string): Positions {
    let s = this.sorted.get(field);
    if (!s) {
      const pairs: [string, number][] = [];
      this.identities.forEach((identity, i) => {
        const v = identityField(identity, field);
        if (typeof v === 'string') pairs.push([v, i]);
      });
      pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      s = { values: pairs.map((p) => p[0]), positions: pairs.map((p) => p[1]) };
      this.sorted.set(field, s);
    }
    // Values with the prefix form one contiguous run in sorted order.
    let lo = 0;
    let hi = s.values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s.values[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < s.values.length && s.values[i]!.startsWith(prefix); i++) out.push(s.positions[i]!);
    return out.sort((a, b) => a - b);
  }
}

function intersect(a: Positions, b: Positions): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

function unionAll(sets: readonly Positions[]): Positions {
  if (sets.length === 1) return sets[0]!;
  const out: number[] = [];
  for (const s of sets) for (const x of s) out.push(x);
  out.sort((a, b) => a - b);
  let w = 0;
  for (let r = 0; r < out.length; r++) if (r === 0 || out[r] !== out[r - 1]) out[w++] = out[r]!;
  out.length = w;
  return out;
}
