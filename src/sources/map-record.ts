import type { Checked, Diagnostic, SourcePosition } from '../model/diagnostic.js';
import { IDENTITY_STATUSES } from '../model/identity.js';
import type { AttributeType, AttributeValue, Credential, Identity, IdentityStatus } from '../model/identity.js';
import type { FieldMapping, SourceDefinition, SourceFormat, ValueMapping } from '../model/policy.js';
import { delimiterDiagnostic, otherDelimiter } from './csv-records.js';
import { fieldLabel, quoteValue } from './raw-record.js';
import type { RawRecord } from './raw-record.js';

/** What the mapper needs to know about the feed it maps. */
export interface MapContext {
  /** The feed's file name, as diagnostics show it. */
  readonly file: string;
  readonly format: SourceFormat;
  /** CSV header; when given, every column the mapping names is checked against it once. */
  readonly header?: readonly string[];
  /** The line of the CSV header, for diagnostics about the header as a whole. */
  readonly headerLine?: number;
  /**
   * The time dates are judged against: one more than 50 years after it is refused as a typo.
   * Without it only dates before 1900 are.
   */
  readonly now?: Date;
}

/** One mapped record: the identity, or the problems that kept it from being one. */
export interface MappedRecord {
  readonly identity?: Identity;
  /** The key, when it could be read even though the record has problems (for duplicate checks). */
  readonly key?: string;
  readonly problems: readonly Diagnostic[];
}

export type RecordMapper = (record: RawRecord) => MappedRecord;

/**
 * Compiles a source definition into a function from raw record to Identity. Everything that
 * does not depend on the record (field lookups, column numbers, date formats, value maps) is
 * prepared here, once, so mapping a large feed does no per-cell setup. The diagnostics are
 * problems of the mapping itself (a column the header lacks, a status constant that is no
 * status); any error there means no record of the feed can be trusted.
 */
export function createRecordMapper(def: SourceDefinition, context: MapContext): Checked<RecordMapper> {
  const setup: Diagnostic[] = [];
  const compiler = new Compiler(def, context, setup);
  const key = compiler.reader(def.key, 'key');
  const kind = compiler.valueMapping(def.kind, 'kind');
  const status = compiler.valueMapping(def.status, 'status');
  const manager = compiler.optionalReader(def.manager, 'manager');
  const owner = compiler.optionalReader(def.owner, 'owner');
  const startDate = compiler.optionalReader(def.startDate, 'start_date');
  const endDate = compiler.optionalReader(def.endDate, 'end_date');
  const created = compiler.optionalReader(def.credential?.created, 'credential.created');
  const expires = compiler.optionalReader(def.credential?.expires, 'credential.expires');
  const lastRotated = compiler.optionalReader(def.credential?.lastRotated, 'credential.last_rotated');
  const lastUsed = compiler.optionalReader(def.credential?.lastUsed, 'credential.last_used');
  const attributes = Object.entries(def.attributes).map(([name, mapping]) => compiler.attribute(name, mapping));
  // Every mapped column missing at once is most often a feed read with the wrong delimiter: say that, once.
  if (context.format === 'csv' && context.header && setup.some((d) => d.code === 'source.unknown_column')) {
    const delimiter = def.delimiter ?? ',';
    const other = otherDelimiter(context.header, delimiter, compiler.fields);
    if (other !== undefined) {
      const rest = setup.filter((d) => d.code !== 'source.unknown_column');
      setup.length = 0;
      setup.push(
        delimiterDiagnostic(context.file, delimiter, other, {
          source: def.id,
          ...(context.headerLine !== undefined ? { line: context.headerLine } : {}),
        }),
        ...rest,
      );
    }
  }
  const hasCredential = created || expires || lastRotated || lastUsed;
  const isoDate = parseDate(undefined, setup, def, '', plausible(context.now));
  // An HR system's way of writing "no end date" (9999-12-31) is read as none, not refused as a typo.
  const noEnd = new Set((def.noEnd ?? []).map((t) => t.trim()));

  const mapper: RecordMapper = (record) => {
    const row = new Row(record, context);
    const id = row.text(key);
    if (id === undefined && !row.failed) {
      row.report(
        key,
        'source.missing_key',
        'has no value, but it is the identity key',
        'Every record needs a key: fill it in, or remove the record from the feed.',
      );
    }
    const identityKind = row.mapped(kind);
    const identityStatus = row.mapped(status) as IdentityStatus | undefined;
    const identityManager = manager && row.text(manager);
    const identityOwner = owner && row.text(owner);
    const identityStart = startDate && row.date(startDate, isoDate);
    const identityEnd = endDate && row.date(endDate, isoDate, noEnd);
    let credential: Credential | undefined;
    if (hasCredential) {
      const c: { -readonly [K in keyof Credential]: Credential[K] } = {};
      const cCreated = created && row.date(created, isoDate);
      const cExpires = expires && row.date(expires, isoDate, noEnd);
      const cRotated = lastRotated && row.date(lastRotated, isoDate);
      const cUsed = lastUsed && row.date(lastUsed, isoDate);
      if (cCreated) c.created = cCreated;
      if (cExpires) c.expires = cExpires;
      if (cRotated) c.lastRotated = cRotated;
      if (cUsed) c.lastUsed = cUsed;
      if (cCreated || cExpires || cRotated || cUsed) credential = c;
    }
    const values: Record<string, AttributeValue> = {};
    for (const attribute of attributes) {
      const value = row.attribute(attribute);
      if (value !== undefined) values[attribute.name] = value;
    }
    if (row.problems.length > 0 || id === undefined || identityKind === undefined || identityStatus === undefined) {
      return id === undefined ? { problems: row.problems } : { key: id, problems: row.problems };
    }
    const identity: { -readonly [K in keyof Identity]: Identity[K] } = {
      id,
      kind: identityKind,
      status: identityStatus,
      attributes: values,
      source: def.id,
    };
    if (identityManager) identity.manager = identityManager;
    if (identityStart) identity.startDate = identityStart;
    if (identityEnd) identity.endDate = identityEnd;
    if (identityOwner) identity.owner = identityOwner;
    if (credential) identity.credential = credential;
    return { identity, key: id, problems: NO_PROBLEMS };
  };
  return { result: mapper, diagnostics: setup };
}

/** Maps a single record; for a whole feed, create the mapper once with createRecordMapper. */
export function mapRecord(
  def: SourceDefinition,
  record: RawRecord,
  context: MapContext,
): Checked<Identity | undefined> {
  const mapper = createRecordMapper(def, context);
  const mapped = mapper.result(record);
  return { result: mapped.identity, diagnostics: [...mapper.diagnostics, ...mapped.problems] };
}

const NO_PROBLEMS: readonly Diagnostic[] = Object.freeze([]);

/** How one field is read from a record: its name, CSV column number and a getter. */
interface Reader {
  readonly field: string;
  /** 1-based CSV column, for positions. */
  readonly column: number | undefined;
  readonly get: (record: RawRecord) => unknown;
}

interface CompiledValueMapping {
  readonly what: 'kind' | 'status';
  readonly constant?: string;
  readonly reader?: Reader;
  readonly values?: ReadonlyMap<string, string>;
}

type Converter = (raw: unknown) => AttributeValue | Invalid;

interface CompiledAttribute {
  readonly name: string;
  readonly reader: Reader;
  readonly type: AttributeType;
  readonly required: boolean;
  readonly convert: Converter;
}

/** A failed conversion; `expected` completes the message "<value> is not ...". */
class Invalid {
  constructor(
    readonly expected: string,
    readonly hint: string,
  ) {}
}

/** A well-formed date too far out to be meant: a typo such as 9999-12-31 or 1024-03-01. */
class Implausible extends Invalid {}

/** Years ahead of now beyond which a date is taken for a typo. */
const MAX_YEARS_AHEAD = 50;
const EARLIEST = Date.UTC(1900, 0, 1);
const EARLY = new Implausible(
  'a plausible date: it is before 1900',
  'Correct the date in the feed; a year such as 1024 or 0202 is usually a typo.',
);

/** The check every parsed date passes: from 1900 to 50 years after `now` (when known). */
function plausible(now: Date | undefined): (date: Date) => Date | Invalid {
  let latest = Infinity;
  let late: Implausible | undefined;
  if (now !== undefined) {
    const limit = new Date(now.getTime());
    limit.setUTCFullYear(limit.getUTCFullYear() + MAX_YEARS_AHEAD);
    latest = limit.getTime();
    late = new Implausible(
      `a plausible date: it is more than ${MAX_YEARS_AHEAD} years after ${now.toISOString().slice(0, 10)}`,
      'Correct the date in the feed (9999-12-31 for 2024-12-31?); leave an end date empty when there is none, or name the text your HR system writes for "no end" in the source\'s no_end (no_end: ["9999-12-31"]).',
    );
  }
  return (date) => {
    const t = date.getTime();
    if (t < EARLIEST) return EARLY;
    return t > latest && late ? late : date;
  };
}

const STATUSES: ReadonlySet<string> = new Set(IDENTITY_STATUSES);

class Compiler {
  private readonly columns: ReadonlyMap<string, number> | undefined;
  /** Every field the mapping reads, in order. */
  readonly fields: string[] = [];

  constructor(
    private readonly def: SourceDefinition,
    private readonly context: MapContext,
    private readonly setup: Diagnostic[],
  ) {
    this.columns = context.header && new Map(context.header.map((name, i) => [name, i + 1]));
  }

  error(code: string, message: string, hint?: string): void {
    this.setup.push({ severity: 'error', code, message, ...(hint ? { hint } : {}), position: this.def.position });
  }

  reader(field: string, role: string): Reader {
    this.fields.push(field);
    const column = this.columns?.get(field);
    if (this.columns && column === undefined) {
      const header = this.context.header ?? [];
      const near = header.find((h) => h.toLowerCase() === field.toLowerCase());
      this.error(
        'source.unknown_column',
        `source "${this.def.id}": column "${field}" (${role}) is not in the header of ${this.context.file}`,
        near
          ? `Did you mean "${near}"? Column names are matched exactly.`
          : `The header has: ${header.filter((h) => h !== '').join(', ')}.`,
      );
    }
    return { field, column, get: this.context.format === 'csv' ? csvGetter(field, column) : jsonGetter(field) };
  }

  optionalReader(field: string | undefined, role: string): Reader | undefined {
    return field === undefined || field === '' ? undefined : this.reader(field, role);
  }

  valueMapping(mapping: ValueMapping, what: 'kind' | 'status'): CompiledValueMapping {
    if (mapping.constant !== undefined) {
      if (what === 'status' && !STATUSES.has(mapping.constant)) {
        this.error(
          'source.invalid_status',
          `source "${this.def.id}": status "${mapping.constant}" is not a status (accepted: ${IDENTITY_STATUSES.join(', ')})`,
        );
      }
      return { what, constant: mapping.constant };
    }
    if (mapping.field === undefined) {
      this.error(
        'source.invalid_mapping',
        `source "${this.def.id}": ${what} needs a constant or a field`,
        `Write ${what}: { constant: ... } or ${what}: { field: ... }.`,
      );
      return { what };
    }
    const reader = this.reader(mapping.field, what);
    if (mapping.values === undefined) return { what, reader };
    const values = new Map(Object.entries(mapping.values));
    if (what === 'status') {
      for (const [raw, status] of values) {
        if (!STATUSES.has(status)) {
          this.error(
            'source.invalid_status',
            `source "${this.def.id}": status value "${raw}" maps to "${status}", which is not a status (accepted: ${IDENTITY_STATUSES.join(', ')})`,
          );
        }
      }
    }
    return { what, reader, values };
  }

  attribute(name: string, mapping: FieldMapping): CompiledAttribute {
    const reader = this.reader(mapping.field, `attribute ${name}`);
    return { name, reader, type: mapping.type, required: mapping.required, convert: this.converter(name, mapping) };
  }

  private converter(name: string, mapping: FieldMapping): Converter {
    switch (mapping.type) {
      case 'string':
        return toText;
      case 'int':
        return toInt;
      case 'double':
        return toDouble;
      case 'bool':
        return toBool;
      case 'list':
        return listConverter(mapping.separator ?? ';');
      case 'date': {
        const parse = parseDate(mapping.format, this.setup, this.def, name, plausible(this.context.now));
        return (raw) => (typeof raw === 'string' ? parse(raw.trim()) : parse.invalid);
      }
    }
  }
}

function csvGetter(field: string, column: number | undefined): Reader['get'] {
  if (column === undefined) return (record) => record.values[field];
  const index = column - 1;
  return (record) => (record.fields ? record.fields[index] : record.values[field]);
}

/** JSON fields are addressed with dotted paths (`manager.id`); a key containing the dot itself wins. */
function jsonGetter(field: string): Reader['get'] {
  const path = field.split('.');
  if (path.length === 1) return (record) => record.values[field];
  return (record) => {
    const values = record.values;
    if (Object.hasOwn(values, field)) return values[field];
    let current: unknown = values;
    for (const step of path) {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
    return current;
  };
}

/** Per-record state: the record, its problems, and helpers that report with full context. */
class Row {
  readonly problems: Diagnostic[] = [];
  /** Set when the last `text` call failed on a value that was present but unusable. */
  failed = false;

  constructor(
    private readonly record: RawRecord,
    private readonly context: MapContext,
  ) {}

  position(reader: Reader): SourcePosition {
    const { file, format } = this.context;
    if (format === 'csv')
      return reader.column === undefined
        ? { file, line: this.record.line }
        : { file, line: this.record.line, column: reader.column };
    return this.record.column === undefined
      ? { file, line: this.record.line }
      : { file, line: this.record.line, column: this.record.column };
  }

  report(reader: Reader, code: string, text: string, hint: string): void {
    this.problems.push({
      severity: 'error',
      code,
      message: `${fieldLabel(this.context.format, this.record.row, reader.field)} ${text}`,
      hint,
      position: this.position(reader),
    });
  }

  invalid(reader: Reader, code: string, raw: unknown, invalid: Invalid): void {
    this.problems.push({
      severity: 'error',
      code,
      message: `${fieldLabel(this.context.format, this.record.row, reader.field)}: ${quoteValue(raw)} is not ${invalid.expected}`,
      hint: invalid.hint,
      position: this.position(reader),
    });
  }

  text(reader: Reader): string | undefined {
    const raw = reader.get(this.record);
    this.failed = false;
    if (isAbsent(raw)) return undefined;
    const value = toText(raw);
    this.failed = value instanceof Invalid;
    if (value instanceof Invalid) {
      this.invalid(reader, 'source.invalid_string', raw, value);
      return undefined;
    }
    return value;
  }

  date(reader: Reader, parse: DateParser, none?: ReadonlySet<string>): Date | undefined {
    const raw = reader.get(this.record);
    if (isAbsent(raw) || (none && typeof raw === 'string' && none.has(raw.trim()))) return undefined;
    const value = typeof raw === 'string' ? parse(raw.trim()) : parse.invalid;
    if (value instanceof Invalid) {
      this.invalid(
        reader,
        value instanceof Implausible ? 'source.date_out_of_range' : 'source.invalid_date',
        raw,
        value,
      );
      return undefined;
    }
    return value;
  }

  mapped(mapping: CompiledValueMapping): string | undefined {
    if (mapping.constant !== undefined) return mapping.constant;
    const reader = mapping.reader;
    if (reader === undefined) return undefined;
    const raw = this.text(reader);
    if (raw === undefined) {
      if (!this.failed) {
        this.report(
          reader,
          'source.missing_value',
          `has no value, but every identity needs a ${mapping.what}`,
          `Fill in the ${mapping.what}, or remove the record from the feed.`,
        );
      }
      return undefined;
    }
    if (mapping.values !== undefined) {
      const value = mapping.values.get(raw);
      if (value !== undefined) return value;
      const accepted = [...mapping.values.keys()];
      const near = accepted.find((a) => a.toLowerCase() === raw.toLowerCase());
      this.problems.push({
        severity: 'error',
        code: 'source.unknown_value',
        message: `${fieldLabel(this.context.format, this.record.row, reader.field)}: ${quoteValue(raw)} is not a known ${mapping.what} (accepted: ${accepted.map((a) => quoteValue(a)).join(', ')})`,
        hint: near
          ? `Did you mean "${near}"? Values are matched exactly.`
          : `Add "${raw}" to ${mapping.what}.values in the policy${mapping.what === 'status' ? ` (mapping it to one of ${IDENTITY_STATUSES.join(', ')})` : ''}, or correct the feed.`,
        position: this.position(reader),
      });
      return undefined;
    }
    if (mapping.what === 'status' && !STATUSES.has(raw)) {
      this.problems.push({
        severity: 'error',
        code: 'source.unknown_value',
        message: `${fieldLabel(this.context.format, this.record.row, reader.field)}: ${quoteValue(raw)} is not a status (accepted: ${IDENTITY_STATUSES.join(', ')})`,
        hint: `Map the feed's values in the policy: status: { field: ${reader.field}, values: { ${raw}: active } }.`,
        position: this.position(reader),
      });
      return undefined;
    }
    return raw;
  }

  attribute(attribute: CompiledAttribute): AttributeValue | undefined {
    const raw = attribute.reader.get(this.record);
    if (isAbsent(raw)) {
      if (attribute.required) {
        this.report(
          attribute.reader,
          'source.missing_required',
          `has no value, but attribute "${attribute.name}" is required`,
          `Fill in the value, or drop "required: true" from attribute "${attribute.name}" in the policy.`,
        );
      }
      return undefined;
    }
    const value = attribute.convert(raw);
    if (value instanceof Invalid) {
      const code = value instanceof Implausible ? 'source.date_out_of_range' : INVALID_CODES[attribute.type];
      this.invalid(attribute.reader, code, raw, value);
      return undefined;
    }
    return value;
  }
}

const INVALID_CODES: Readonly<Record<AttributeType, string>> = {
  string: 'source.invalid_string',
  int: 'source.invalid_int',
  double: 'source.invalid_double',
  bool: 'source.invalid_bool',
  date: 'source.invalid_date',
  list: 'source.invalid_list',
};

/** Empty string, null and missing all mean "no value": the attribute is left out. */
function isAbsent(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

const NOT_TEXT = new Invalid(
  'text',
  'Give a string (or a number); for a nested value, address it with a dotted path such as manager.id.',
);

// Values are trimmed: exports pad cells, and "E1001 " must be the same identity as "E1001".
function toText(raw: unknown): string | Invalid {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') return String(raw);
  return NOT_TEXT;
}

const INT = /^[+-]?\d+$/;
const NOT_INT = new Invalid(
  'a whole number',
  'Write a whole number such as 7, without decimals, units or thousands separators.',
);
const UNSAFE_INT = new Invalid(
  'a whole number JSON can hold exactly',
  'Write whole numbers beyond 2^53 as strings ("9007199254740993").',
);

function toInt(raw: unknown): bigint | Invalid {
  if (typeof raw === 'string') {
    const s = raw.trim();
    return INT.test(s) ? BigInt(s) : NOT_INT;
  }
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) return NOT_INT;
    return Number.isSafeInteger(raw) ? BigInt(raw) : UNSAFE_INT;
  }
  return NOT_INT;
}

const DOUBLE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NOT_DOUBLE = new Invalid(
  'a number',
  'Write a decimal number such as 3.5, with a point and no thousands separators.',
);

function toDouble(raw: unknown): number | Invalid {
  if (typeof raw === 'string') {
    const s = raw.trim();
    return DOUBLE.test(s) ? Number(s) : NOT_DOUBLE;
  }
  return typeof raw === 'number' && Number.isFinite(raw) ? raw : NOT_DOUBLE;
}

const NOT_BOOL = new Invalid(
  'a yes/no value (expected true, false, yes, no, 1 or 0)',
  'Write true, false, yes, no, 1 or 0 (any case).',
);

function toBool(raw: unknown): boolean | Invalid {
  if (typeof raw === 'boolean') return raw;
  if (raw === 1 || raw === 0) return raw === 1;
  if (typeof raw !== 'string') return NOT_BOOL;
  switch (raw.trim().toLowerCase()) {
    case 'true':
    case 'yes':
    case '1':
      return true;
    case 'false':
    case 'no':
    case '0':
      return false;
    default:
      return NOT_BOOL;
  }
}

function listConverter(separator: string): Converter {
  const invalid = new Invalid(
    'a list of strings',
    `Give a JSON array of strings, or one string with items separated by "${separator}".`,
  );
  return (raw) => {
    const items: string[] = [];
    if (typeof raw === 'string') {
      for (const part of raw.split(separator)) {
        const item = part.trim();
        if (item !== '') items.push(item);
      }
      return items;
    }
    if (!Array.isArray(raw)) return invalid;
    for (const element of raw as unknown[]) {
      if (element === null || element === undefined) continue;
      const item = toText(element);
      if (item instanceof Invalid) return invalid;
      if (item !== '') items.push(item);
    }
    return items;
  };
}

interface DateParser {
  (text: string): Date | Invalid;
  readonly invalid: Invalid;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;
const ISO_HINT =
  'Write dates as YYYY-MM-DD (2024-03-01), or as ISO 8601 timestamps with a time zone (2024-03-01T09:00:00Z).';
const NO_ZONE = new Invalid(
  'a valid date: the timestamp has no time zone',
  'Add Z for UTC or an offset such as +02:00, so the time does not depend on the machine that reads it.',
);
const FORMAT_TOKENS = /YYYY|MM|DD|HH|mm|ss/g;

/**
 * A date parser for ISO 8601 (`YYYY-MM-DD` is UTC midnight; a timestamp needs a time zone) or
 * for a policy `format` made of YYYY, MM, DD, HH, mm, ss and literal characters, read as UTC.
 * Impossible dates (2024-02-30) are refused, never rolled over into the next month.
 */
function parseDate(
  format: string | undefined,
  setup: Diagnostic[],
  def: SourceDefinition,
  attribute: string,
  inRange: (date: Date) => Date | Invalid,
): DateParser {
  if (format === undefined || /^iso(?:[ -]?8601)?$/i.test(format.trim())) {
    const invalid = new Invalid('a valid date (expected YYYY-MM-DD)', ISO_HINT);
    // Feeds repeat dates (hire dates, a common end date); remembering parsed ones halves the cost.
    const seen = new Map<string, number>();
    return Object.assign(
      (text: string): Date | Invalid => {
        const known = seen.get(text);
        if (known !== undefined) return inRange(new Date(known));
        const m = ISO_DATE.exec(text);
        if (!m) return invalid;
        if (m[4] !== undefined && m[8] === undefined) return NO_ZONE;
        const date = utcDate(m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
        if (date === undefined) return invalid;
        if (seen.size < 10_000) seen.set(text, date.getTime());
        return inRange(date);
      },
      { invalid },
    );
  }
  const order: string[] = [];
  const source = format.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(FORMAT_TOKENS, (token) => {
    order.push(token);
    return token === 'YYYY' ? '(\\d{4})' : '(\\d{1,2})';
  });
  if (!order.includes('YYYY') || !order.includes('MM') || !order.includes('DD')) {
    setup.push({
      severity: 'error',
      code: 'source.invalid_date_format',
      message: `source "${def.id}": date format "${format}" of attribute "${attribute}" needs YYYY, MM and DD`,
      hint: 'Build the format from YYYY, MM, DD, HH, mm and ss, e.g. DD/MM/YYYY; leave it out for ISO 8601.',
      position: def.position,
    });
  }
  const pattern = new RegExp(`^${source}$`);
  const at = (token: string): number => order.indexOf(token) + 1;
  const [y, mo, d, h, mi, s] = ['YYYY', 'MM', 'DD', 'HH', 'mm', 'ss'].map(at) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const invalid = new Invalid(`a valid date (expected ${format})`, `Write dates as ${format}, as the policy declares.`);
  return Object.assign(
    (text: string): Date | Invalid => {
      const m = pattern.exec(text);
      if (!m) return invalid;
      const date = utcDate(
        m[y],
        m[mo],
        m[d],
        h ? m[h] : undefined,
        mi ? m[mi] : undefined,
        s ? m[s] : undefined,
        undefined,
        'Z',
      );
      return date === undefined ? invalid : inRange(date);
    },
    { invalid },
  );
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function utcDate(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
  fraction: string | undefined,
  zone: string | undefined,
): Date | undefined {
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = hour === undefined ? 0 : Number(hour);
  const mi = minute === undefined ? 0 : Number(minute);
  const s = second === undefined ? 0 : Number(second);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!)) return undefined;
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offset = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = zone.length > 3 ? Number(zone.slice(-2)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000);
  // Date.UTC reads years 0-99 as 1900-1999.
  if (y < 100) date.setUTCFullYear(date.getUTCFullYear() - 1900);
  return date;
}
