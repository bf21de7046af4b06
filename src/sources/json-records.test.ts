import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { firstSyntaxError, parseJsonRecords } from './json-records.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/sources/${name}`, import.meta.url));
const json = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('parseJsonRecords', () => {
  it('reads a top-level array, with the line and column where each record starts', () => {
    const { result, diagnostics } = parseJsonRecords(fixture('nhi-array.json'), 'nhi.json', 'json');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.row, r.line, r.column, r.values.name]),
      [
        [1, 2, 3, 'svc-backup'],
        [2, 11, 3, 'ci-token'],
      ],
    );
    assert.deepEqual(result.records[0]?.values.owner, { id: 'E1001' });
  });

  it('reads the one array property of a top-level object', () => {
    const { result, diagnostics } = parseJsonRecords(fixture('nhi.json'), 'nhi.json', 'json');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.row, r.line, r.column, r.values.name]),
      [
        [1, 4, 5, 'svc-backup'],
        [2, 13, 5, 'ci-token'],
      ],
    );
  });

  it('locates records past strings with brackets, escapes and nested arrays', () => {
    const text =
      '{"meta": {"tags": ["[", "]"]}, "note": "a \\" [ b",\n "users": [\n  {"id": "x", "l": [[1], {"a": "]"}]},\n\n  {"id": "y"}]}';
    const { result, diagnostics } = parseJsonRecords(json(text), 'x.json', 'json');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.line, r.column, r.values.id]),
      [
        [3, 3, 'x'],
        [5, 3, 'y'],
      ],
    );
  });

  it('stops locating records once the record array is closed', () => {
    const text = '{"users": [\n  {"id": "x"},\n  {"id": "y"}\n], "meta": {"a": [1, 2], "b": 2}, "n": 1}';
    const { result } = parseJsonRecords(json(text), 'x.json', 'json');
    assert.deepEqual(
      result.records.map((r) => [r.line, r.column]),
      [
        [2, 3],
        [3, 3],
      ],
    );
  });

  it('reads JSON Lines, skipping blank lines and numbering records by line', () => {
    const { result, diagnostics } = parseJsonRecords(fixture('nhi.jsonl'), 'nhi.jsonl', 'jsonl');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.row, r.line, r.values.name]),
      [
        [1, 1, 'svc-backup'],
        [3, 3, 'ci-token'],
      ],
    );
  });

  it('reports a JSON syntax error with its line and column', () => {
    const cases: [string, number, number, string][] = [
      [
        '[\n  { "name": "a", "type": "t" },\n  { "name": "b" "type": "t" }\n]\n',
        3,
        17,
        "Expected ',' or '}' after property value",
      ],
      ['[\n  {"a": tru}\n]', 2, 12, "Unexpected token '}'"],
      ['{"users": [1,]}', 1, 14, "Unexpected token ']'"],
      ['[\r\n  {"a": 1}\r\n', 3, 1, "Expected ',' or ']' after array element"],
      ['[{"a": "x"}]\n]', 2, 1, 'Unexpected non-whitespace character after JSON'],
    ];
    for (const [text, line, column, what] of cases) {
      const { result, diagnostics } = parseJsonRecords(json(text), 'x.json', 'json');
      assert.deepEqual(result.records, []);
      assert.deepEqual(
        diagnostics.map((d) => [d.severity, d.code, d.message, d.position]),
        [
          [
            'error',
            'source.json_syntax',
            `x.json, line ${line}, column ${column}: JSON syntax error: ${what}`,
            { file: 'x.json', line, column },
          ],
        ],
        JSON.stringify(text),
      );
    }
  });

  it('reports every broken line of a JSON Lines feed, and loads none of it', () => {
    const { result, diagnostics } = parseJsonRecords(fixture('broken.jsonl'), 'broken.jsonl', 'jsonl');
    assert.deepEqual(result.records, []);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.message, d.position]),
      [
        [
          'source.json_syntax',
          "broken.jsonl, line 2, column 31: JSON syntax error: Unexpected token 'o'",
          { file: 'broken.jsonl', line: 2, column: 31 },
        ],
      ],
    );
    const two = parseJsonRecords(json('{"a": 1}\n{"a" 2}\n\n  {"a": }\n'), 'x.jsonl', 'jsonl');
    assert.deepEqual(
      two.diagnostics.map((d) => d.position),
      [
        { file: 'x.jsonl', line: 2, column: 6 },
        { file: 'x.jsonl', line: 4, column: 9 },
      ],
    );
  });

  it('says which shape it expected and which it found', () => {
    const expected = 'x.json: expected an array of records or an object with one array property, found';
    const cases: [string, string][] = [
      [
        '{"generated": "2024-06-01", "count": 2}',
        `${expected} an object with no array property (its keys: generated, count)`,
      ],
      [
        '{"users": [], "groups": []}',
        `${expected} an object with 2 array properties (users, groups), so which holds the records is ambiguous`,
      ],
      ['"users"', `${expected} a string`],
      ['null', `${expected} null`],
    ];
    for (const [text, message] of cases) {
      const { diagnostics } = parseJsonRecords(json(text), 'x.json', 'json');
      assert.deepEqual(
        diagnostics.map((d) => [d.severity, d.code, d.message]),
        [['error', 'source.json_shape', message]],
      );
    }
  });

  it('marks an element that is not an object as a bad record', () => {
    const { result, diagnostics } = parseJsonRecords(json('[{"id": "a"},\n "b"]'), 'x.json', 'json');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.row, r.problem?.code, r.problem?.message, r.problem?.position]),
      [
        [1, undefined, undefined, undefined],
        [2, 'source.json_not_object', 'record 2 is a string, not an object', { file: 'x.json', line: 2, column: 2 }],
      ],
    );
  });

  it('refuses empty input and invalid UTF-8, and warns about an empty array', () => {
    assert.deepEqual(
      parseJsonRecords(json(' \n'), 'x.json', 'json').diagnostics.map((d) => [d.severity, d.code]),
      [['error', 'source.empty']],
    );
    assert.deepEqual(
      parseJsonRecords(Buffer.from([0x5b, 0x22, 0xe9, 0x22, 0x5d]), 'x.json', 'json').diagnostics.map((d) => [
        d.code,
        d.position,
      ]),
      [['source.invalid_utf8', { file: 'x.json', line: 1, column: 3 }]],
    );
    assert.deepEqual(
      parseJsonRecords(json('{"users": []}'), 'x.json', 'json').diagnostics.map((d) => [d.severity, d.code]),
      [['warning', 'source.no_records']],
    );
  });
});

describe('firstSyntaxError', () => {
  it('agrees with the positions V8 gives', () => {
    const texts = [
      '[1,2',
      '{"a":1,}',
      '[1 2]',
      '{"a":1}x',
      '{"a":"\u0001"}',
      '{"a" 1}',
      '[01]',
      '[1.]',
      '{"a":"\\x"}',
      '[-]',
      '{"a":"\\u12G4"}',
    ];
    for (const text of texts) {
      let position: number | undefined;
      try {
        JSON.parse(text);
      } catch (error) {
        const match = / at position (\d+)/.exec((error as Error).message);
        position = match ? Number(match[1]) : undefined;
      }
      assert.notEqual(position, undefined, `V8 gives a position for ${JSON.stringify(text)}`);
      assert.equal(firstSyntaxError(text), position, JSON.stringify(text));
    }
  });

  it('finds errors V8 reports without a position', () => {
    assert.equal(firstSyntaxError('abc'), 0);
    assert.equal(firstSyntaxError('[tru]'), 4);
    assert.equal(firstSyntaxError('[1,]'), 3);
    assert.equal(firstSyntaxError(''), 0);
    assert.equal(firstSyntaxError('{"a": [1, {"b": 2}]}'), 20);
  });
});
