import { parse } from 'csv-parse/sync';
import type { Checked, Diagnostic } from '../model/diagnostic.js';
import { decodeUtf8 } from './decode-utf8.js';
import type { RawRecord, RawRecords } from './raw-record.js';

const QUOTE_HINT =
  'Enclose a field that contains a quote, comma or line break in quotes, and write each quote inside it twice: "5\'10"" tall".';

/**
 * Reads a CSV feed (RFC 4180, UTF-8 with or without BOM, CRLF or LF) into raw records keyed by
 * header name. Rows that cannot be lined up with the header carry a `problem` instead of being
 * dropped, so the caller decides whether the feed is refused or the row skipped; problems with
 * the file as a whole come back as error diagnostics and no records.
 */
export function parseCsvRecords(input: Uint8Array, file: string): Checked<RawRecords<string>> {
  const none: RawRecords<string> = { format: 'csv', file, records: [] };
  const refuse = (diagnostic: Diagnostic): Checked<RawRecords<string>> => ({ result: none, diagnostics: [diagnostic] });

  // Invalid UTF-8 is found before parsing: csv-parse would decode it leniently into U+FFFD.
  const decoded = decodeUtf8(input, file);
  if (decoded.result === undefined) return { result: none, diagnostics: decoded.diagnostics };
  const text = decoded.result;
  if (text.trim() === '') {
    return refuse({
      severity: 'error',
      code: 'source.empty',
      message: `${file} is empty`,
      hint: 'Export the feed again: a CSV feed starts with a header line naming its columns.',
      position: { file },
    });
  }

  let parsed: string[][];
  try {
    parsed = parse(input, { bom: true, relax_column_count: true, record_delimiter: ['\r\n', '\n'] });
  } catch (error) {
    return refuse(parseError(error, text, file));
  }

  const records: RawRecord<string>[] = [];
  const diagnostics: Diagnostic[] = [];
  let header: string[] | undefined;
  // Lines are counted from the records rather than taken from csv-parse: its per-record info
  // costs a third of the parse time, and its line count is off for CRLF inside quoted fields.
  // A record spans one line plus one per line break inside its (necessarily quoted) fields.
  let next = 1;
  for (let k = 0; k < parsed.length; k++) {
    const fields = parsed[k]!;
    const line = next;
    next++;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) next++;
    }
    // A blank line, or a row of empty cells as spreadsheets export below the data, is no
    // record, but still a row as a spreadsheet numbers them.
    if (isBlank(fields)) continue;

    if (header === undefined) {
      header = fields.map((name) => name.trim());
      const duplicate = duplicateHeader(header, file, line);
      if (duplicate) return refuse(duplicate);
      continue;
    }

    const row = k + 1;
    const problem =
      fields.length === header.length ? undefined : columnCountProblem(fields, header.length, file, row, line);
    records.push(new CsvRecord(row, line, fields, header, problem));
  }

  if (header === undefined) {
    return refuse({
      severity: 'error',
      code: 'source.empty',
      message: `${file} has no header line`,
      hint: 'A CSV feed starts with a header line naming its columns.',
      position: { file },
    });
  }
  if (records.length === 0) {
    diagnostics.push({
      severity: 'warning',
      code: 'source.no_records',
      message: `${file} has a header but no records`,
      hint: 'Check the export: an empty feed makes every identity from this source look like a leaver.',
      position: { file },
    });
  }
  return { result: { format: 'csv', file, header, records }, diagnostics };
}

function isBlank(fields: readonly string[]): boolean {
  for (let i = 0; i < fields.length; i++) if (fields[i]!.trim() !== '') return false;
  return true;
}

/**
 * A CSV record keeps its fields as parsed; `values` (by header name) is built only when asked
 * for, since the mapper reads fields by index and a 100,000-row feed need not build 100,000
 * objects it never uses.
 */
class CsvRecord implements RawRecord<string> {
  private byName: Record<string, string> | undefined;

  constructor(
    readonly row: number,
    readonly line: number,
    readonly fields: readonly string[],
    private readonly header: readonly string[],
    readonly problem: Diagnostic | undefined,
  ) {}

  get values(): Readonly<Record<string, string>> {
    if (this.byName === undefined) {
      const values: Record<string, string> = {};
      const n = Math.min(this.fields.length, this.header.length);
      for (let i = 0; i < n; i++) {
        const name = this.header[i]!;
        if (name !== '') values[name] = this.fields[i]!;
      }
      this.byName = values;
    }
    return this.byName;
  }
}

function duplicateHeader(header: readonly string[], file: string, line: number): Diagnostic | undefined {
  const seen = new Map<string, number>();
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    if (name === '') continue;
    const first = seen.get(name);
    if (first !== undefined) {
      return {
        severity: 'error',
        code: 'source.duplicate_header',
        message: `${file}: column "${name}" appears twice in the header (columns ${first + 1} and ${i + 1})`,
        hint: 'Rename or remove one of them: a mapping could not tell which one it reads.',
        position: { file, line, column: i + 1 },
      };
    }
    seen.set(name, i);
  }
  return undefined;
}

function columnCountProblem(
  fields: readonly string[],
  width: number,
  file: string,
  row: number,
  line: number,
): Diagnostic | undefined {
  if (fields.length > width) {
    // Trailing empty fields (a spreadsheet's stray commas) carry no data and are tolerated.
    let extra = false;
    for (let i = width; i < fields.length; i++) if (fields[i] !== '') extra = true;
    if (!extra) return undefined;
  }
  const more = fields.length > width;
  return {
    severity: 'error',
    code: 'source.csv_column_count',
    message: `row ${row} has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header has ${width} columns`,
    hint: more
      ? 'A field that contains a comma must be quoted ("Smith, John"); look for an unquoted comma in this row.'
      : 'Look for a missing field, or a line break inside a field that is not quoted.',
    position: more ? { file, line, column: width + 1 } : { file, line },
  };
}

interface CsvParseError {
  readonly code: string;
  readonly message: string;
  readonly lines?: number;
}

function isCsvParseError(error: unknown): error is CsvParseError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

function parseError(error: unknown, text: string, file: string): Diagnostic {
  if (!isCsvParseError(error)) throw error;
  // csv-parse reports where it gave up, not where the quote opened; find that ourselves.
  const found = findQuoteProblem(text);
  const line = found?.line ?? error.lines;
  const at = found ? { file, line: found.line, column: found.column } : line === undefined ? { file } : { file, line };
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return {
        severity: 'error',
        code: 'source.csv_unclosed_quote',
        message: found
          ? `the quoted field that starts at line ${found.line}, column ${found.column} is never closed`
          : `a quoted field is never closed`,
        hint: QUOTE_HINT,
        position: at,
      };
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return {
        severity: 'error',
        code: 'source.csv_invalid_quote',
        message:
          found?.kind === 'after_closing_quote'
            ? `${file}, line ${found.line}: text follows the closing quote of a field`
            : `${file}, line ${line ?? '?'}: a quote appears inside a field that does not start with a quote`,
        hint: QUOTE_HINT,
        position: at,
      };
    default:
      return {
        severity: 'error',
        code: 'source.csv_invalid',
        message: `${file}: ${error.message}`,
        hint: 'Check that the file is a comma-separated CSV export.',
        position: line === undefined ? { file } : { file, line },
      };
  }
}

interface QuoteProblem {
  readonly kind: 'unclosed' | 'quote_in_field' | 'after_closing_quote';
  readonly line: number;
  readonly column: number;
}

/** The first quoting mistake in RFC 4180 terms, located precisely; only run once parsing failed. */
export function findQuoteProblem(text: string): QuoteProblem | undefined {
  const FIELD_START = 0;
  const UNQUOTED = 1;
  const QUOTED = 2;
  const AFTER_QUOTE = 3;
  let state = FIELD_START;
  let line = 1;
  let column = 1;
  let openLine = 0;
  let openColumn = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const separator = ch === ',' || ch === '\n' || ch === '\r';
    switch (state) {
      case FIELD_START:
        if (ch === '"') {
          state = QUOTED;
          openLine = line;
          openColumn = column;
        } else if (!separator) state = UNQUOTED;
        break;
      case UNQUOTED:
        if (separator) state = FIELD_START;
        else if (ch === '"') return { kind: 'quote_in_field', line, column };
        break;
      case QUOTED:
        if (ch === '"') {
          if (text[i + 1] === '"') {
            i++;
            column++;
          } else state = AFTER_QUOTE;
        }
        break;
      default:
        if (separator) state = FIELD_START;
        else return { kind: 'after_closing_quote', line, column };
    }
    if (ch === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return state === QUOTED ? { kind: 'unclosed', line: openLine, column: openColumn } : undefined;
}
