import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Checked, Diagnostic, Severity } from '../model/diagnostic.js';
import { hasErrors } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import type { SourceDefinition } from '../model/policy.js';
import { parseCsvRecords } from './csv-records.js';
import { parseJsonRecords } from './json-records.js';
import { createRecordMapper } from './map-record.js';
import { recordUnit } from './raw-record.js';
import type { RawRecord, RawRecords } from './raw-record.js';

export interface SourceRead {
  readonly source: string;
  /** In feed order; empty when the feed was refused. */
  readonly identities: readonly Identity[];
  /** Records in the feed (blank lines and the header excluded). */
  readonly rows: number;
  /** Records left out with `skipInvalid`. */
  readonly skipped: number;
  /**
   * Keys of the skipped records, where they could be read: these identities are unknown for
   * this run, not gone, and must not be treated as leavers.
   */
  readonly skippedKeys: readonly string[];
  /** SHA-256 of the feed's bytes as read (absent when it could not be read): what was imported, exactly. */
  readonly sha256?: string;
}

export interface ReadSourceOptions {
  /** Skip bad records (reported as warnings) instead of refusing the whole feed. */
  readonly skipInvalid: boolean;
  /**
   * The time dates are judged against (a date more than 50 years after it is refused); pass the
   * run's `--as-of`. Defaults to the clock: this layer reads files, so it may read time too.
   */
  readonly now?: Date;
}

/** Where each identity of a read came from, aligned with `identities`, for cross-source messages. */
export interface SourceReadDetail {
  readonly read: SourceRead;
  readonly file: string;
  readonly format: SourceDefinition['format'];
  readonly rows: readonly number[];
  readonly lines: readonly number[];
}

/** At most this many problems are listed per feed; the rest are counted. */
export const MAX_PROBLEMS = 100;

/**
 * Reads one source feed into identities. By default a feed with any bad record is refused whole
 * (no identities, every problem reported): loading half a feed would make the missing half look
 * like leavers. With `skipInvalid`, bad records are skipped and reported as warnings. Problems with
 * the file itself (missing, not UTF-8, unreadable CSV or JSON) always refuse it. Synchronous:
 * callers stay simple and a feed is read in one go anyway.
 */
export function readSource(def: SourceDefinition, baseDir: string, options: ReadSourceOptions): Checked<SourceRead> {
  const { result, diagnostics } = readSourceDetail(def, baseDir, options);
  return { result: result.read, diagnostics };
}

/** readSource, plus the row and line of every identity. */
export function readSourceDetail(
  def: SourceDefinition,
  baseDir: string,
  options: ReadSourceOptions,
): Checked<SourceReadDetail> {
  const file = path.isAbsolute(def.path) ? def.path : path.join(baseDir, def.path);
  const refused = (rows: number, diagnostics: readonly Diagnostic[]): Checked<SourceReadDetail> => ({
    result: {
      read: { source: def.id, identities: [], rows, skipped: 0, skippedKeys: [] },
      file,
      format: def.format,
      rows: [],
      lines: [],
    },
    diagnostics,
  });

  let input: Buffer;
  try {
    input = readFileSync(file);
  } catch (error) {
    return refused(0, [readError(error, def, file, baseDir)]);
  }

  const raw: Checked<RawRecords> =
    def.format === 'csv' ? parseCsvRecords(input, file, def) : parseJsonRecords(input, file, def.format);
  if (hasErrors(raw.diagnostics)) return refused(0, capped(raw.diagnostics, file, 'error'));
  const { records, header, headerLine } = raw.result;
  const now = options.now ?? new Date();
  const mapper = createRecordMapper(
    def,
    header
      ? { file, format: def.format, header, ...(headerLine !== undefined ? { headerLine } : {}), now }
      : { file, format: def.format, now },
  );
  if (hasErrors(mapper.diagnostics)) return refused(records.length, [...raw.diagnostics, ...mapper.diagnostics]);
  const map = mapper.result;

  const keyColumn = header ? header.indexOf(def.key) + 1 : 0;
  const firstWithKey = new Map<string, RawRecord>();
  const identities: Identity[] = [];
  const rows: number[] = [];
  const lines: number[] = [];
  const problems: Diagnostic[] = [];
  const skippedKeys: string[] = [];
  let bad = 0;
  for (const record of records) {
    if (record.problem) {
      problems.push(record.problem);
      bad++;
      continue;
    }
    const mapped = map(record);
    let ok = mapped.problems.length === 0;
    if (!ok) for (const p of mapped.problems) problems.push(p);
    if (mapped.key !== undefined) {
      const first = firstWithKey.get(mapped.key);
      if (first === undefined) firstWithKey.set(mapped.key, record);
      else {
        // The first record keeps the key: skipping it instead would make a known identity vanish.
        problems.push(duplicateKey(def, file, first, record, mapped.key, keyColumn));
        ok = false;
      }
    }
    if (ok && mapped.identity) {
      identities.push(mapped.identity);
      rows.push(record.row);
      lines.push(record.line);
    } else {
      bad++;
      if (mapped.key !== undefined) skippedKeys.push(mapped.key);
    }
  }

  const unit = recordUnit(def.format, true);
  if (bad > 0 && !options.skipInvalid) {
    const summary: Diagnostic = {
      severity: 'error',
      code: 'source.refused',
      message: `source "${def.id}": ${bad} of ${records.length} ${unit} in ${file} have problems, so the feed is not loaded`,
      hint: 'Fix those records, or pass --skip-invalid to load the valid records and report the rest.',
      position: { file },
    };
    return refused(records.length, [...raw.diagnostics, ...capped(problems, file, 'error'), summary]);
  }
  const diagnostics: Diagnostic[] = [...raw.diagnostics];
  if (bad > 0) {
    for (const p of capped(problems, file, 'warning')) diagnostics.push({ ...p, severity: 'warning' });
    diagnostics.push({
      severity: 'warning',
      code: 'source.rows_skipped',
      message: `source "${def.id}": skipped ${bad} of ${records.length} ${unit} in ${file} that have problems`,
      hint: 'The identities of skipped records are not loaded this run; fix the records to bring them back.',
      position: { file },
    });
  }
  return {
    result: {
      read: {
        source: def.id,
        identities,
        rows: records.length,
        skipped: bad,
        skippedKeys,
        sha256: createHash('sha256').update(input).digest('hex'),
      },
      file,
      format: def.format,
      rows,
      lines,
    },
    diagnostics,
  };
}

function readError(error: unknown, def: SourceDefinition, file: string, baseDir: string): Diagnostic {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return {
      severity: 'error',
      code: 'source.not_found',
      message: `source "${def.id}": file ${file} does not exist`,
      hint: `Check "path" in the policy; a relative path is read from the policy file's folder (${baseDir}).`,
      position: def.position,
    };
  }
  return {
    severity: 'error',
    code: 'source.unreadable',
    message: `source "${def.id}": cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
    hint:
      code === 'EISDIR'
        ? '"path" must name a file, not a folder.'
        : 'Check that the file exists and that Tenure may read it.',
    position: def.position,
  };
}

function duplicateKey(
  def: SourceDefinition,
  file: string,
  first: RawRecord,
  later: RawRecord,
  key: string,
  keyColumn: number,
): Diagnostic {
  const where = def.format === 'csv' ? `column "${def.key}"` : `field "${def.key}"`;
  return {
    severity: 'error',
    code: 'source.duplicate_key',
    message: `${recordUnit(def.format, true)} ${first.row} and ${later.row} have the same key "${key}" (${where})`,
    hint: 'Each identity appears once in a feed: remove or merge the duplicate record.',
    position:
      keyColumn > 0
        ? { file, line: later.line, column: keyColumn }
        : later.column === undefined
          ? { file, line: later.line }
          : { file, line: later.line, column: later.column },
    subject: key,
  };
}

/** Lists at most MAX_PROBLEMS diagnostics and counts the rest, so one broken export stays readable. */
export function capped(diagnostics: readonly Diagnostic[], file: string, severity: Severity): readonly Diagnostic[] {
  if (diagnostics.length <= MAX_PROBLEMS) return diagnostics;
  const more = diagnostics.length - MAX_PROBLEMS;
  return [
    ...diagnostics.slice(0, MAX_PROBLEMS),
    {
      severity,
      code: 'source.more_problems',
      message: `${file}: and ${more} more problem${more === 1 ? '' : 's'}`,
      hint: 'Fix the problems listed first; the same cause often explains the rest.',
      position: { file },
    },
  ];
}
