import { parse } from 'csv-parse/sync';
import type { Checked, Diagnostic } from '../model/diagnostic.js';
import { decodeUtf8 } from './decode-utf8.js';
import type { RawRecord, RawRecords } from './raw-record.js';

/** How a CSV feed is written: its field delimiter and quote character (a source's `delimiter`, `quote`). */
export interface CsvDialect {
  readonly delimiter?: string;
  readonly quote?: string;
}

/** Delimiters exports commonly use; a header that splits on one of them, and not on the configured one, is a hint. */
const COMMON_DELIMITERS = [',', ';', '\t', '|'] as const;

/** A delimiter as a person writes it in tenure.yaml: `";"`, `"\t"`. */
export function delimiterText(delimiter: string): string {
  return JSON.stringify(delimiter);
}

function quoteHint(delimiter: string, quote: string): string {
  const d = delimiter === ',' ? 'comma' : `delimiter ${delimiterText(delimiter)}`;
  return `Enclose a field that contains a quote, ${d} or line break in quotes (${quote}), and write each quote inside it twice: ${quote}5'10${quote}${quote} tall${quote}.`;
}

/**
 * Reads a CSV feed (RFC 4180, UTF-8 with or without BOM, CRLF or LF) into raw records keyed by
 * header name. Rows that cannot be lined up with the header carry a `problem` instead of being
 * dropped, so the caller decides whether the feed is refused or the row skipped; problems with
 * the file as a whole come back as error diagnostics and no records.
 */
export function parseCsvRecords(
  input: Uint8Array,
  file: string,
  dialect: CsvDialect = {},
): Checked<RawRecords<string>> {
  const delimiter = dialect.delimiter ?? ',';
  const quote = dialect.quote ?? '"';
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
    parsed = parse(input, {
      bom: true,
      relax_column_count: true,
      record_delimiter: ['\r\n', '\n'],
      delimiter,
      quote,
      escape: quote,
    });
  } catch (error) {
    return refuse(parseError(error, text, file, delimiter, quote));
  }

  const records: RawRecord<string>[] = [];
  const diagnostics: Diagnostic[] = [];
  let header: string[] | undefined;
  let headerLine = 1;
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
      headerLine = line;
      const duplicate = duplicateHeader(header, file, line);
      if (duplicate) return refuse(duplicate);
      continue;
    }

    const row = k + 1;
    const problem =
      fields.length === header.length
        ? undefined
        : columnCountProblem(fields, header.length, file, row, line, delimiter, quote);
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
  return { result: { format: 'csv', file, header, headerLine, records }, diagnostics };
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
  delimiter: string,
  quote: string,
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
      ? delimiter === ','
        ? `A field that contains a comma must be quoted (${quote}Smith, John${quote}); look for an unquoted comma in this row.`
        : `A field that contains the delimiter ${delimiterText(delimiter)} must be quoted (${quote}...${quote}); look for an unquoted one in this row.`
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

function parseError(error: unknown, text: string, file: string, delimiter: string, quote: string): Diagnostic {
  if (!isCsvParseError(error)) throw error;
  // A feed separated by another character breaks on its first quoted field: say what is wrong.
  const header = headerDelimiter(text, delimiter);
  if (header !== undefined) return delimiterDiagnostic(file, delimiter, header.other, { line: header.line });
  // csv-parse reports where it gave up, not where the quote opened; find that ourselves.
  const found = findQuoteProblem(text, delimiter, quote);
  const QUOTE_HINT = quoteHint(delimiter, quote);
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
        hint:
          delimiter === ','
            ? "Check that the file is a comma-separated CSV export, or set the source's delimiter and quote."
            : `Check that the file is a CSV export separated by ${delimiterText(delimiter)}.`,
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
export function findQuoteProblem(text: string, delimiter = ',', quote = '"'): QuoteProblem | undefined {
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
    const separator = ch === '\n' || ch === '\r' || text.startsWith(delimiter, i);
    switch (state) {
      case FIELD_START:
        if (ch === quote) {
          state = QUOTED;
          openLine = line;
          openColumn = column;
        } else if (!separator) state = UNQUOTED;
        break;
      case UNQUOTED:
        if (separator) state = FIELD_START;
        else if (ch === quote) return { kind: 'quote_in_field', line, column };
        break;
      case QUOTED:
        if (ch === quote) {
          if (text[i + 1] === quote) {
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

/**
 * The common delimiter a header line is separated by, when it does not hold the configured one at
 * all: one column is no identity feed.
 */
function headerDelimiter(text: string, delimiter: string): { other: string; line: number } | undefined {
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.trim() !== '');
  const line = lines[index]?.replace(/^\uFEFF/, '') ?? '';
  if (line.includes(delimiter)) return undefined;
  let best: { other: string; count: number } | undefined;
  for (const candidate of COMMON_DELIMITERS) {
    const count = line.split(candidate).length - 1;
    if (candidate !== delimiter && count > 0 && (best === undefined || count > best.count))
      best = { other: candidate, count };
  }
  return best && { other: best.other, line: index + 1 };
}

/**
 * When the columns a mapping names are missing from the header, the feed may be separated by
 * another character (a `;` export from a European spreadsheet, a tab-separated file). Returns that
 * character when splitting the header by it finds more of the wanted columns than the header has.
 */
export function otherDelimiter(
  header: readonly string[],
  delimiter: string,
  wanted: readonly string[],
): string | undefined {
  const names = new Set(wanted);
  const found = (fields: readonly string[]): number => fields.filter((f) => names.has(f)).length;
  const present = found(header);
  const line = header.join(delimiter);
  let best: { delimiter: string; found: number } | undefined;
  for (const candidate of COMMON_DELIMITERS) {
    if (candidate === delimiter || !line.includes(candidate)) continue;
    const fields = line.split(candidate).map((f) =>
      f
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    );
    const n = found(fields);
    if (n > present && (best === undefined || n > best.found)) best = { delimiter: candidate, found: n };
  }
  // A single-field header that splits on a common delimiter says the same even when no name matches.
  if (best === undefined && header.length === 1) {
    for (const candidate of COMMON_DELIMITERS)
      if (candidate !== delimiter && line.includes(candidate)) return candidate;
  }
  return best?.delimiter;
}

/** The one diagnostic for a feed read with the wrong delimiter, instead of one per missing column. */
export function delimiterDiagnostic(
  file: string,
  delimiter: string,
  other: string,
  where: { readonly line?: number; readonly source?: string } = {},
): Diagnostic {
  const name = (d: string): string =>
    d === '\t' ? 'tabs' : d === ';' ? 'semicolons' : d === ',' ? 'commas' : d === '|' ? 'pipes' : delimiterText(d);
  return {
    severity: 'error',
    code: 'source.csv_delimiter',
    message: `${where.source === undefined ? '' : `source "${where.source}": `}the header looks separated by ${name(other)} (${delimiterText(other)}), but the source reads ${name(delimiter)} (${delimiterText(delimiter)})`,
    hint: `Set delimiter: ${delimiterText(other)} in the source, or export the feed separated by ${name(delimiter)}.`,
    position: where.line === undefined ? { file } : { file, line: where.line },
  };
}
