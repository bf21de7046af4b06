import type { Checked, Diagnostic } from '../model/diagnostic.js';
import { decodeUtf8 } from './decode-utf8.js';
import type { RawRecord, RawRecords } from './raw-record.js';

const SHAPE_HINT =
  'A JSON feed is an array of objects, [{...}, {...}], or an object with one array of them, {"users": [...]}.';

/**
 * Reads a JSON feed (a top-level array of objects, or an object with exactly one array property)
 * or a JSON Lines feed (one object per line, blank lines allowed) into raw records. Values stay
 * as JSON gave them; the mapper types them. Every record knows the line it starts on.
 */
export function parseJsonRecords(input: Uint8Array, file: string, format: 'json' | 'jsonl'): Checked<RawRecords> {
  const none: RawRecords = { format, file, records: [] };
  const decoded = decodeUtf8(input, file);
  if (decoded.result === undefined) return { result: none, diagnostics: decoded.diagnostics };
  const text = decoded.result;
  if (text.trim() === '') {
    const diagnostic: Diagnostic = {
      severity: 'error',
      code: 'source.empty',
      message: `${file} is empty`,
      hint: format === 'json' ? SHAPE_HINT : 'A JSON Lines feed has one JSON object per line.',
      position: { file },
    };
    return { result: none, diagnostics: [diagnostic] };
  }
  const read = format === 'json' ? readJson(text, file) : readJsonLines(text, file);
  if (read.result.length === 0 && read.diagnostics.length === 0) {
    return {
      result: none,
      diagnostics: [
        {
          severity: 'warning',
          code: 'source.no_records',
          message: `${file} has no records`,
          hint: 'Check the export: an empty feed makes every identity from this source look like a leaver.',
          position: { file },
        },
      ],
    };
  }
  return { result: { format, file, records: read.result }, diagnostics: read.diagnostics };
}

function readJson(text: string, file: string): Checked<RawRecord[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { result: [], diagnostics: [syntaxError(error, text, file, 1)] };
  }
  let items: unknown[];
  let property: string | undefined;
  if (Array.isArray(data)) {
    items = data;
  } else if (isObject(data)) {
    const arrays = Object.keys(data).filter((key) => Array.isArray(data[key]));
    if (arrays.length !== 1) {
      const found =
        arrays.length === 0
          ? `an object with no array property (its keys: ${Object.keys(data).join(', ') || 'none'})`
          : `an object with ${arrays.length} array properties (${arrays.join(', ')}), so which holds the records is ambiguous`;
      return {
        result: [],
        diagnostics: [
          shapeError(
            file,
            `${file}: expected an array of records or an object with one array property, found ${found}`,
          ),
        ],
      };
    }
    property = arrays[0]!;
    items = data[property] as unknown[];
  } else {
    return {
      result: [],
      diagnostics: [
        shapeError(
          file,
          `${file}: expected an array of records or an object with one array property, found ${describe(data)}`,
        ),
      ],
    };
  }

  const starts = locateElements(text, property);
  const records: RawRecord[] = [];
  for (let i = 0; i < items.length; i++) {
    const at = starts.length === items.length ? starts[i]! : { line: 1, column: 1 };
    records.push(toRecord(items[i], i + 1, at.line, at.column, file, 'record'));
  }
  return { result: records, diagnostics: [] };
}

function readJsonLines(text: string, file: string): Checked<RawRecord[]> {
  const records: RawRecord[] = [];
  const diagnostics: Diagnostic[] = [];
  let lineNumber = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber++;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    try {
      records.push(toRecord(JSON.parse(line), lineNumber, lineNumber, 1, file, 'line'));
    } catch (error) {
      diagnostics.push(syntaxError(error, line, file, lineNumber));
    }
  }
  return { result: diagnostics.length > 0 ? [] : records, diagnostics };
}

function toRecord(item: unknown, row: number, line: number, column: number, file: string, unit: string): RawRecord {
  if (isObject(item)) return { row, line, column, values: item };
  return {
    row,
    line,
    column,
    values: {},
    problem: {
      severity: 'error',
      code: 'source.json_not_object',
      message: `${unit} ${row} is ${describe(item)}, not an object`,
      hint: 'Each record of a JSON feed is an object of fields: {"id": "E1001", ...}.',
      position: { file, line, column },
    },
  };
}

function shapeError(file: string, message: string): Diagnostic {
  return { severity: 'error', code: 'source.json_shape', message, hint: SHAPE_HINT, position: { file } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * A JSON syntax error with its line and column. `text` starts at line `firstLine`; Node 20 gives
 * "at position N" in most messages but not all ("Unexpected token 'x', ... is not valid JSON"),
 * so the offset is otherwise found by scanning.
 */
function syntaxError(error: unknown, text: string, file: string, firstLine: number): Diagnostic {
  if (!(error instanceof SyntaxError)) throw error;
  const match = / at position (\d+)/.exec(error.message);
  const offset = match ? Number(match[1]) : firstSyntaxError(text);
  // Keep V8's description, drop its quotation of the whole input.
  const what = error.message
    .replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '')
    .replace(/ (?:in JSON )?at position \d+.*$/s, '');
  let line = firstLine;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = offset - lineStart + 1;
  return {
    severity: 'error',
    code: 'source.json_syntax',
    message: `${file}, line ${line}, column ${column}: JSON syntax error: ${what}`,
    hint: 'Fix the JSON at that position (a missing comma, a trailing comma or an unquoted name are the usual causes).',
    position: { file, line, column },
  };
}

interface Location {
  readonly line: number;
  readonly column: number;
}

/**
 * Where each element of the record array starts, in valid JSON: the top-level array, or the
 * array held by `property` of the top-level object. A single pass over the text; strings are
 * skipped whole, and valid JSON has no raw line break inside them.
 */
function locateElements(text: string, property: string | undefined): Location[] {
  const out: Location[] = [];
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let target = property === undefined ? 1 : -1; // depth just inside the record array
  let expectElement = false;
  let expectKey = false;
  let key: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (expectElement && depth === target && c !== 44 && c !== 93) {
      out.push({ line, column: i - lineStart + 1 });
      expectElement = false;
    }
    switch (c) {
      case 34: {
        const start = i;
        for (i++; i < text.length; i++) {
          const d = text.charCodeAt(i);
          if (d === 92) i++;
          else if (d === 34) break;
        }
        if (expectKey && depth === 1) {
          key = JSON.parse(text.slice(start, i + 1)) as string;
          expectKey = false;
        }
        break;
      }
      case 123: // {
      case 91: // [
        depth++;
        if (depth === 1 && c === 123) expectKey = true;
        if (depth === 2 && c === 91 && target === -1 && key === property) target = 2;
        if (depth === target && c === 91) expectElement = true;
        break;
      case 125: // }
      case 93: // ]
        if (depth === target && c === 93) target = -2; // the record array is done
        depth--;
        break;
      case 44: // ,
        if (depth === target) expectElement = true;
        if (depth === 1 && property !== undefined) expectKey = true;
        break;
    }
  }
  return out;
}

/** Offset of the first syntax error in `text` (a strict JSON grammar), or text.length. */
export function firstSyntaxError(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const digits = (): void => {
    if (!(text[i]! >= '0' && text[i]! <= '9')) fail();
    while (text[i]! >= '0' && text[i]! <= '9') i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch.charCodeAt(0) < 0x20) fail();
      if (ch === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              fail();
            }
          }
          i += 4;
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) fail();
      }
      i++;
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      if (text[i] === '-') i++;
      if (text[i] === '0') i++;
      else digits();
      if (text[i] === '.') {
        i++;
        digits();
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits();
      }
    } else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return text.length;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.offset;
    throw error;
  }
}

/** Unwinds the descent to where the grammar broke. */
class SyntaxAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}
