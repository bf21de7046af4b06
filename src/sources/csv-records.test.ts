import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { findQuoteProblem, parseCsvRecords } from './csv-records.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/sources/${name}`, import.meta.url));
const csv = (text: string): Buffer => Buffer.from(text, 'utf8');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('parseCsvRecords', () => {
  it('reads quoted fields with commas, line breaks and doubled quotes, numbering rows as a spreadsheet does', () => {
    const { result, diagnostics } = parseCsvRecords(fixture('hr.csv'), 'hr.csv');
    assert.deepEqual(diagnostics, []);
    assert.equal(result.header?.[0], 'employee_id');
    assert.deepEqual(
      result.records.map((r) => [r.row, r.line, r.values.employee_id]),
      [
        [2, 2, 'E1001'],
        [3, 3, 'E1002'], // spans lines 3-4
        [5, 6, 'E1003'], // row 4 is a blank line
      ],
    );
    const [ada, grace] = result.records;
    assert.equal(ada?.values.title, 'Chief Engineer, Analytical Engine');
    assert.equal(grace?.values.last_name, 'Hopper "Amazing Grace"');
    assert.equal(grace?.values.title, 'Rear Admiral\n(retired)');
    assert.equal(grace?.values.manager_id, 'E1001');
  });

  it('reads CRLF, LF and mixed line endings alike, with the same rows and lines', () => {
    const lf = 'id,note\nE1,"two\nlines"\nE2,"a, b"\n';
    const cases = [
      ['LF', lf],
      ['CRLF', lf.replaceAll('\n', '\r\n')],
      ['mixed', 'id,note\r\nE1,"two\nlines"\nE2,"a, b"\r\n'],
    ] as const;
    for (const [name, text] of cases) {
      const { result, diagnostics } = parseCsvRecords(csv(text), 'x.csv');
      assert.deepEqual(diagnostics, [], name);
      assert.deepEqual(
        result.records.map((r) => [r.row, r.line, r.values.id, r.values.note?.replace('\r\n', '\n')]),
        [
          [2, 2, 'E1', 'two\nlines'],
          [3, 4, 'E2', 'a, b'],
        ],
        name,
      );
    }
  });

  it('drops the BOM, so the first column is still "employee_id"', () => {
    const { result, diagnostics } = parseCsvRecords(
      Buffer.concat([BOM, csv('employee_id,name\r\nE1,Zoë\r\n')]),
      'x.csv',
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(result.header, ['employee_id', 'name']);
    assert.deepEqual({ ...result.records[0]?.values }, { employee_id: 'E1', name: 'Zoë' });
  });

  it('refuses invalid UTF-8 before parsing, with the line and column of the first bad byte', () => {
    const cases = [
      { bytes: Buffer.from([0x61, 0xff, 0x62]), line: 1, column: 2, byte: 'FF', offset: 1 },
      // "Zoë" saved as Latin-1: 0xEB is the ë.
      {
        bytes: Buffer.concat([csv('id,name\nE1,Zo'), Buffer.from([0xeb]), csv('\n')]),
        line: 2,
        column: 6,
        byte: 'EB',
        offset: 13,
      },
      // The BOM is not a column a user sees; "é" is one column though two bytes.
      { bytes: Buffer.concat([BOM, csv('é,'), Buffer.from([0xc3, 0x28])]), line: 1, column: 3, byte: 'C3', offset: 6 },
    ];
    for (const c of cases) {
      const { result, diagnostics } = parseCsvRecords(c.bytes, 'x.csv');
      assert.deepEqual(result.records, []);
      assert.deepEqual(
        diagnostics.map((d) => [d.severity, d.code, d.message, d.position]),
        [
          [
            'error',
            'source.invalid_utf8',
            `x.csv is not valid UTF-8: byte 0x${c.byte} at line ${c.line}, column ${c.column} (byte offset ${c.offset}) does not start a valid character`,
            { file: 'x.csv', line: c.line, column: c.column },
          ],
        ],
      );
    }
  });

  it('reports an unclosed quote where the quote opened', () => {
    const { result, diagnostics } = parseCsvRecords(csv('id,name\r\nE1,Ann\r\nE2,"Bob\r\nE3,Cy\r\n'), 'x.csv');
    assert.deepEqual(result.records, []);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]?.code, 'source.csv_unclosed_quote');
    assert.equal(diagnostics[0]?.message, 'the quoted field that starts at line 3, column 4 is never closed');
    assert.deepEqual(diagnostics[0]?.position, { file: 'x.csv', line: 3, column: 4 });
    assert.ok(diagnostics[0]?.hint);
  });

  it('reports stray quotes with their line', () => {
    const cases = [
      ['id,height\nE1,5\'10"\n', 'x.csv, line 2: a quote appears inside a field that does not start with a quote', 8],
      ['id,name\nE1,"Ann"x\n', 'x.csv, line 2: text follows the closing quote of a field', 9],
    ] as const;
    for (const [text, message, column] of cases) {
      const { diagnostics } = parseCsvRecords(csv(text), 'x.csv');
      assert.deepEqual(
        diagnostics.map((d) => [d.code, d.message, d.position]),
        [['source.csv_invalid_quote', message, { file: 'x.csv', line: 2, column }]],
      );
    }
  });

  it('marks rows whose field count differs from the header, tolerating trailing empty fields', () => {
    const { result, diagnostics } = parseCsvRecords(csv('id,name\nE1,Ann,extra\nE2\nE3,Cy,,\n'), 'x.csv');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.row, r.problem?.code, r.problem?.message, r.problem?.position]),
      [
        [
          2,
          'source.csv_column_count',
          'row 2 has 3 fields but the header has 2 columns',
          { file: 'x.csv', line: 2, column: 3 },
        ],
        [3, 'source.csv_column_count', 'row 3 has 1 field but the header has 2 columns', { file: 'x.csv', line: 3 }],
        [4, undefined, undefined, undefined],
      ],
    );
  });

  it('skips rows of empty cells, as spreadsheets export below the data', () => {
    const { result, diagnostics } = parseCsvRecords(csv('id,name\nE1,Ann\n,\n , \nE2,Bob\n,,,\n'), 'x.csv');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.records.map((r) => [r.row, r.values.id]),
      [
        [2, 'E1'],
        [5, 'E2'],
      ],
    );
  });

  it('refuses a header that names a column twice', () => {
    const { diagnostics } = parseCsvRecords(csv('id,email,name,email\nE1,a,b,c\n'), 'x.csv');
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code, d.message, d.position]),
      [
        [
          'error',
          'source.duplicate_header',
          'x.csv: column "email" appears twice in the header (columns 2 and 4)',
          { file: 'x.csv', line: 1, column: 4 },
        ],
      ],
    );
  });

  it('refuses an empty file, and warns about a header without records', () => {
    for (const bytes of [csv(''), BOM, csv('\r\n\r\n')]) {
      const { diagnostics } = parseCsvRecords(bytes, 'x.csv');
      assert.deepEqual(
        diagnostics.map((d) => [d.severity, d.code, d.message]),
        [['error', 'source.empty', 'x.csv is empty']],
      );
    }
    const { result, diagnostics } = parseCsvRecords(csv('id,name\n'), 'x.csv');
    assert.deepEqual(result.header, ['id', 'name']);
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code]),
      [['warning', 'source.no_records']],
    );
  });

  it('keeps the fields in header order for the mapper, and values by name', () => {
    const { result } = parseCsvRecords(csv(' id , name\nE1,Ann\n'), 'x.csv');
    assert.deepEqual(result.header, ['id', 'name']);
    assert.deepEqual(result.records[0]?.fields, ['E1', 'Ann']);
    assert.deepEqual({ ...result.records[0]?.values }, { id: 'E1', name: 'Ann' });
  });
});

describe('findQuoteProblem', () => {
  it('finds nothing in well-quoted CSV', () => {
    assert.equal(findQuoteProblem('a,"b ""c"", d"\n"x\ny",z\n'), undefined);
  });
  it('locates each kind of quoting mistake', () => {
    assert.deepEqual(findQuoteProblem('a,b\n1,"x\n2,3'), { kind: 'unclosed', line: 2, column: 3 });
    assert.deepEqual(findQuoteProblem('a,b\n1,x"y'), { kind: 'quote_in_field', line: 2, column: 4 });
    assert.deepEqual(findQuoteProblem('a,b\n1,"x" y'), { kind: 'after_closing_quote', line: 2, column: 6 });
  });
});
