import type { Diagnostic } from '../model/diagnostic.js';
import type { SourceFormat } from '../model/policy.js';

/** One record of a feed before mapping, with where it came from so every problem can point at it. */
export interface RawRecord<V = unknown> {
  /**
   * The number a user finds the record by: the spreadsheet row for CSV (header is row 1),
   * the 1-based index in the array for JSON, the line for JSON Lines.
   */
  readonly row: number;
  /** Physical line (1-based) where the record starts. */
  readonly line: number;
  /** Column (1-based) where the record starts, for JSON; absent for CSV. */
  readonly column?: number;
  readonly values: Readonly<Record<string, V>>;
  /** CSV only: the fields in header order, which the mapper reads by index (no lookup by name). */
  readonly fields?: readonly string[];
  /** Set when the reader could not make sense of this record (wrong field count, not an object). */
  readonly problem?: Diagnostic;
}

/** What a reader hands to the mapper. File-level problems travel in the Checked diagnostics. */
export interface RawRecords<V = unknown> {
  readonly format: SourceFormat;
  /** The file name diagnostics point at. */
  readonly file: string;
  /** CSV header names in column order; absent for JSON, which has no fixed columns. */
  readonly header?: readonly string[];
  /** CSV only: the line the header is on (blank lines may precede it). */
  readonly headerLine?: number;
  readonly records: readonly RawRecord<V>[];
}

/** The unit messages count records in: users of each format think in different units. */
export function recordUnit(format: SourceFormat, plural = false): string {
  const unit = format === 'csv' ? 'row' : format === 'json' ? 'record' : 'line';
  return plural ? `${unit}s` : unit;
}

/** How messages name a record. */
export function recordLabel(format: SourceFormat, row: number): string {
  return `${recordUnit(format)} ${row}`;
}

/** How messages name a field of a record. */
export function fieldLabel(format: SourceFormat, row: number, field: string): string {
  return `${recordLabel(format, row)}, ${format === 'csv' ? 'column' : 'field'} "${field}"`;
}

/** A value quoted for a message, shortened so one bad cell cannot flood the output. */
export function quoteValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value); // a bigint, or a cycle a caller built by hand
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
