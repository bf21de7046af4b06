import type { Identity } from '../model/identity.js';
import { identityField } from '../policy/rule-environment.js';
import { testValue, type CandidateFilter, type ValueTest } from './candidate-filter.js';

/** Positions into the indexed identity array, ascending. */
export type Positions = readonly number[];

/**
 * Inverted indexes over identities' field values, built per field on first use, so a rule is
 * evaluated only for the identities its candidate filter admits. Tests other than equality scan
 * the field's distinct values (a few hundred titles, ten grades), not the identities.
 */
export class IdentityIndex {
  private readonly byValue = new Map<string, Map<unknown, number[]>>();
  private readonly byElement = new Map<string, Map<string, number[]>>();
  private readonly present = new Map<string, number[]>();
  /** Scratch marks for unions, one byte per identity. */
  private readonly marks: Uint8Array;

  constructor(readonly identities: readonly Identity[]) {
    this.marks = new Uint8Array(identities.length);
  }

  /** Identities that pass the filter; `undefined` means all of them (no index applies). */
  candidates(filter: CandidateFilter): Positions | undefined {
    switch (filter.kind) {
      case 'all':
        return undefined;
      case 'field':
        return this.fieldTest(filter.field, filter.test);
      case 'element':
        return this.elementIndex(filter.field).get(filter.value) ?? [];
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
        return this.union(sets);
      }
      case 'not':
        return this.falseSet(filter.part);
    }
  }

  /**
   * Identities for which an exact filter is false, not an error: CEL's three-valued logic, where
   * `false && error` is false and `false || error` is an error.
   */
  private falseSet(filter: CandidateFilter): Positions {
    switch (filter.kind) {
      case 'field':
        return filter.test.op === 'present'
          ? this.absentPositions(filter.field)
          : difference(this.presentPositions(filter.field), this.candidates(filter) ?? []);
      case 'element':
        return difference(this.presentPositions(filter.field), this.candidates(filter) ?? []);
      case 'and':
        return this.union(filter.parts.map((p) => this.falseSet(p)));
      case 'or': {
        let acc = this.falseSet(filter.parts[0]!);
        for (const p of filter.parts.slice(1)) acc = intersect(acc, this.falseSet(p));
        return acc;
      }
      case 'not':
        return this.candidates(filter.part) ?? [];
      case 'all':
        return [];
    }
  }

  private absentPositions(field: string): Positions {
    const present = this.presentPositions(field);
    return difference(
      this.identities.map((_, i) => i),
      present,
    );
  }

  private fieldTest(field: string, test: ValueTest): Positions {
    if (test.op === 'present') return this.presentPositions(field);
    const index = this.valueIndex(field);
    if (test.op === 'equals') {
      if (test.values.length === 1) return index.get(test.values[0]) ?? [];
      return this.union(test.values.map((v) => index.get(v) ?? []));
    }
    const sets: Positions[] = [];
    for (const [value, positions] of index) if (testValue(test, value)) sets.push(positions);
    return this.union(sets);
  }

  private valueIndex(field: string): Map<unknown, number[]> {
    let index = this.byValue.get(field);
    if (!index) {
      index = new Map();
      for (let i = 0; i < this.identities.length; i++) {
        const v = identityField(this.identities[i]!, field);
        if (v === undefined) continue;
        const list = index.get(v);
        if (list) list.push(i);
        else index.set(v, [i]);
      }
      this.byValue.set(field, index);
    }
    return index;
  }

  private elementIndex(field: string): Map<string, number[]> {
    let index = this.byElement.get(field);
    if (!index) {
      index = new Map();
      for (let i = 0; i < this.identities.length; i++) {
        const v = identityField(this.identities[i]!, field);
        if (!Array.isArray(v)) continue;
        for (const element of new Set(v as string[])) {
          const list = index.get(element);
          if (list) list.push(i);
          else index.set(element, [i]);
        }
      }
      this.byElement.set(field, index);
    }
    return index;
  }

  private presentPositions(field: string): Positions {
    let list = this.present.get(field);
    if (!list) {
      list = [];
      for (let i = 0; i < this.identities.length; i++)
        if (identityField(this.identities[i]!, field) !== undefined) list.push(i);
      this.present.set(field, list);
    }
    return list;
  }

  /** Union of ascending lists: small ones by merge-sort, large ones by marking a bitmap. */
  private union(sets: readonly Positions[]): Positions {
    if (sets.length === 0) return [];
    if (sets.length === 1) return sets[0]!;
    let total = 0;
    for (const s of sets) total += s.length;
    if (total * 16 < this.identities.length) {
      const out = new Int32Array(total);
      let k = 0;
      for (const s of sets) for (const x of s) out[k++] = x;
      out.sort();
      const unique: number[] = [];
      for (let r = 0; r < out.length; r++) if (r === 0 || out[r] !== out[r - 1]) unique.push(out[r]!);
      return unique;
    }
    const marks = this.marks;
    for (const s of sets) for (const x of s) marks[x] = 1;
    const out: number[] = [];
    for (let i = 0; i < marks.length; i++) {
      if (marks[i] === 1) {
        out.push(i);
        marks[i] = 0;
      }
    }
    return out;
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

function difference(a: Positions, b: Positions): number[] {
  const out: number[] = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j]! < x) j++;
    if (j >= b.length || b[j] !== x) out.push(x);
  }
  return out;
}
