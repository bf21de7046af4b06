import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { SourceDefinition } from '../model/policy.js';
import { readSource } from './read-source.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/sources/', import.meta.url));
const position = { file: 'tenure.yaml', line: 1, column: 1 };
const utc = (y: number, m: number, d: number, h = 0): Date => new Date(Date.UTC(y, m - 1, d, h));

const hr: SourceDefinition = {
  id: 'hr',
  format: 'csv',
  path: 'hr.csv',
  key: 'employee_id',
  kind: { field: 'worker_type', values: { Employee: 'employee', Contractor: 'contractor' } },
  status: {
    field: 'status',
    values: { Active: 'active', Leave: 'leave', Terminated: 'terminated', Pending: 'pre_hire' },
  },
  manager: 'manager_id',
  startDate: 'start_date',
  endDate: 'end_date',
  attributes: {
    first_name: { field: 'first_name', type: 'string', required: true },
    last_name: { field: 'last_name', type: 'string', required: false },
    department: { field: 'department', type: 'string', required: true },
    title: { field: 'title', type: 'string', required: false },
    grade: { field: 'grade', type: 'int', required: false },
    clearances: { field: 'clearances', type: 'list', separator: ';', required: false },
    hired: { field: 'hire_date', type: 'date', required: false },
    remote: { field: 'remote', type: 'bool', required: false },
  },
  position,
};

const hrBad: SourceDefinition = {
  ...hr,
  path: 'hr-bad.csv',
  manager: undefined,
  endDate: undefined,
  attributes: {
    department: { field: 'department', type: 'string', required: true },
    grade: { field: 'grade', type: 'int', required: false },
  },
};

const nhi: SourceDefinition = {
  id: 'nhi',
  format: 'json',
  path: 'nhi.json',
  key: 'name',
  kind: { field: 'type' },
  status: { constant: 'active' },
  owner: 'owner.id',
  credential: { created: 'created_at', expires: 'expires_at' },
  attributes: {
    system: { field: 'system', type: 'string', required: false },
    scopes: { field: 'scopes', type: 'list', required: false },
  },
  position,
};

const onlyDepartment = { department: { field: 'department', type: 'string', required: true } } as const;

const scratch = mkdtempSync(path.join(tmpdir(), 'tenure-sources-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
/** Writes a feed into a scratch folder and returns its name there. */
function feed(content: string | Buffer, extension = 'csv'): string {
  const name = `feed-${++files}.${extension}`;
  writeFileSync(path.join(scratch, name), content);
  return name;
}

describe('readSource', () => {
  it('maps a CSV feed into typed identities, in feed order', () => {
    const { result, diagnostics } = readSource(hr, fixtures, { skipInvalid: false });
    assert.deepEqual(diagnostics, []);
    assert.equal(result.rows, 3);
    assert.equal(result.skipped, 0);
    assert.deepEqual(result.identities, [
      {
        id: 'E1001',
        kind: 'employee',
        status: 'active',
        attributes: {
          first_name: 'Ada',
          last_name: 'Lovelace',
          department: 'Engineering',
          title: 'Chief Engineer, Analytical Engine',
          grade: 9n,
          clearances: ['secret', 'internal'],
          hired: utc(2020, 1, 6),
          remote: true,
        },
        source: 'hr',
        startDate: utc(2020, 1, 6),
      },
      {
        id: 'E1002',
        kind: 'employee',
        status: 'leave',
        attributes: {
          first_name: 'Grace',
          last_name: 'Hopper "Amazing Grace"',
          department: 'Engineering',
          title: 'Rear Admiral\n(retired)',
          grade: 8n,
          clearances: ['secret', 'top-secret'],
          hired: utc(2021, 3, 1),
          remote: false,
        },
        source: 'hr',
        manager: 'E1001',
        startDate: utc(2021, 3, 1),
      },
      {
        id: 'E1003',
        kind: 'contractor',
        status: 'pre_hire',
        attributes: { first_name: 'Alan', last_name: 'Turing', department: 'Research' },
        source: 'hr',
        manager: 'E1001',
        startDate: utc(2024, 7, 1, 7),
        endDate: utc(2024, 12, 31),
      },
    ]);
  });

  it('refuses a feed with bad rows whole, reporting every problem where it is', () => {
    const file = path.join(fixtures, 'hr-bad.csv');
    const { result, diagnostics } = readSource(hrBad, fixtures, { skipInvalid: false });
    assert.deepEqual(result, { source: 'hr', identities: [], rows: 7, skipped: 0, skippedKeys: [] });
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code, d.message, d.position]),
      [
        [
          'error',
          'source.missing_required',
          'row 3, column "department" has no value, but attribute "department" is required',
          { file, line: 3, column: 4 },
        ],
        [
          'error',
          'source.unknown_value',
          'row 4, column "status": "Retired" is not a known status (accepted: "Active", "Leave", "Terminated", "Pending")',
          { file, line: 4, column: 3 },
        ],
        [
          'error',
          'source.invalid_date',
          'row 5, column "start_date": "2024-02-30" is not a valid date (expected YYYY-MM-DD)',
          { file, line: 5, column: 5 },
        ],
        [
          'error',
          'source.invalid_int',
          'row 6, column "grade": "3.5" is not a whole number',
          { file, line: 6, column: 6 },
        ],
        [
          'error',
          'source.duplicate_key',
          'rows 2 and 7 have the same key "E2001" (column "employee_id")',
          { file, line: 7, column: 1 },
        ],
        [
          'error',
          'source.refused',
          `source "hr": 5 of 7 rows in ${file} have problems, so the feed is not loaded`,
          { file },
        ],
      ],
    );
    assert.ok(diagnostics.every((d) => d.hint !== undefined && d.hint.length > 0));
  });

  it('with skipInvalid, loads the good rows, keeps the first of duplicate keys and counts what it skipped', () => {
    const { result, diagnostics } = readSource(hrBad, fixtures, { skipInvalid: true });
    assert.deepEqual(
      result.identities.map((i) => [i.id, i.attributes.grade, i.startDate]),
      [
        ['E2001', 3n, utc(2024, 1, 15)],
        ['E2007', 5n, utc(2024, 1, 15)],
      ],
    );
    assert.equal(result.rows, 7);
    assert.equal(result.skipped, 5);
    assert.deepEqual(result.skippedKeys, ['E2002', 'E2003', 'E2004', 'E2005', 'E2001']);
    assert.ok(diagnostics.every((d) => d.severity === 'warning'));
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      [
        'source.missing_required',
        'source.unknown_value',
        'source.invalid_date',
        'source.invalid_int',
        'source.duplicate_key',
        'source.rows_skipped',
      ],
    );
    assert.equal(
      diagnostics.at(-1)?.message,
      `source "hr": skipped 5 of 7 rows in ${path.join(fixtures, 'hr-bad.csv')} that have problems`,
    );
  });

  it('skips a row with the wrong number of fields only when asked', () => {
    const name = feed(
      'employee_id,worker_type,status,department\nE1,Employee,Active,Sales\nE2,Employee,Active,Sales, Marketing\n',
    );
    const def = { ...hrBad, path: name, startDate: undefined, attributes: {} };
    const refused = readSource(def, scratch, { skipInvalid: false });
    assert.deepEqual(refused.result.identities, []);
    assert.deepEqual(refused.diagnostics.map((d) => [d.code, d.message]).slice(0, 1), [
      ['source.csv_column_count', 'row 3 has 5 fields but the header has 4 columns'],
    ]);
    const skipped = readSource(def, scratch, { skipInvalid: true });
    assert.deepEqual(
      skipped.result.identities.map((i) => i.id),
      ['E1'],
    );
    assert.equal(skipped.result.skipped, 1);
  });

  it("refuses a start date more than 50 years after the run's time, at its row and column", () => {
    const name = feed(
      'employee_id,worker_type,status,department,start_date\nE1,Employee,Active,Sales,2024-01-15\nE2,Employee,Active,Sales,9999-12-31\n',
    );
    const def = { ...hrBad, path: name, attributes: {} };
    const refused = readSource(def, scratch, { skipInvalid: false, now: utc(2025, 6, 1) });
    assert.deepEqual(refused.result.identities, []);
    assert.deepEqual(
      refused.diagnostics.slice(0, 1).map((d) => [d.code, d.message, d.position?.line, d.position?.column]),
      [
        [
          'source.date_out_of_range',
          'row 3, column "start_date": "9999-12-31" is not a plausible date: it is more than 50 years after 2025-06-01',
          3,
          5,
        ],
      ],
    );
    // The limit moves with the time given: 2080 is 50 years after 2030.
    const later = feed('employee_id,worker_type,status,department,start_date\nE1,Employee,Active,Sales,2080-01-01\n');
    assert.equal(
      readSource({ ...def, path: later }, scratch, { skipInvalid: false, now: utc(2025, 6, 1) }).result.identities
        .length,
      0,
    );
    assert.equal(
      readSource({ ...def, path: later }, scratch, { skipInvalid: false, now: utc(2030, 6, 1) }).result.identities
        .length,
      1,
    );
  });

  it('reports a missing file as a diagnostic at the policy', () => {
    const { result, diagnostics } = readSource({ ...hr, path: 'nope.csv' }, fixtures, { skipInvalid: true });
    assert.deepEqual(result, { source: 'hr', identities: [], rows: 0, skipped: 0, skippedKeys: [] });
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code, d.message, d.position]),
      [['error', 'source.not_found', `source "hr": file ${path.join(fixtures, 'nope.csv')} does not exist`, position]],
    );
  });

  it('refuses a feed with a file-level problem even with skipInvalid', () => {
    const cases: [SourceDefinition, string][] = [
      [{ ...hrBad, path: feed(Buffer.from([0x69, 0x64, 0x0a, 0x61, 0xff])) }, 'source.invalid_utf8'],
      [{ ...hrBad, path: feed('employee_id,worker_type\nE1,"Employee\n') }, 'source.csv_unclosed_quote'],
      [{ ...hrBad, path: feed('id,id\n1,2\n') }, 'source.duplicate_header'],
      [{ ...nhi, path: feed('[{"name": "a",}]', 'json') }, 'source.json_syntax'],
      [
        { ...hrBad, path: feed('employee_id,worker_type,status,dept,start_date,grade\nE1,Employee,Active,Sales,,\n') },
        'source.unknown_column',
      ],
    ];
    for (const [def, code] of cases) {
      const { result, diagnostics } = readSource(def, scratch, { skipInvalid: true });
      assert.deepEqual(result.identities, [], code);
      assert.deepEqual(
        diagnostics.filter((d) => d.severity === 'error').map((d) => d.code),
        [code],
      );
    }
  });

  it('lists at most 100 problems and counts the rest', () => {
    const rows = Array.from({ length: 150 }, (_, i) => `E${i},Employee,Active,Sales,2024-01-01,high`);
    const name = feed(['employee_id,worker_type,status,department,start_date,grade', ...rows].join('\n'));
    const { diagnostics } = readSource({ ...hrBad, path: name }, scratch, { skipInvalid: false });
    assert.equal(diagnostics.length, 102);
    assert.deepEqual(
      diagnostics.slice(98).map((d) => [d.code, d.message]),
      [
        ['source.invalid_int', 'row 100, column "grade": "high" is not a whole number'],
        ['source.invalid_int', 'row 101, column "grade": "high" is not a whole number'],
        ['source.more_problems', `${path.join(scratch, name)}: and 50 more problems`],
        [
          'source.refused',
          `source "hr": 150 of 150 rows in ${path.join(scratch, name)} have problems, so the feed is not loaded`,
        ],
      ],
    );
  });

  it('reads the same identities from a JSON array, a JSON object and JSON Lines', () => {
    const expected = [
      {
        id: 'svc-backup',
        kind: 'service_account',
        status: 'active',
        attributes: { system: 'backup', scopes: ['read', 'write'] },
        source: 'nhi',
        owner: 'E1001',
        credential: { created: utc(2023, 1, 10, 8), expires: utc(2025, 1, 10) },
      },
      {
        id: 'ci-token',
        kind: 'token',
        status: 'active',
        attributes: { scopes: [] },
        source: 'nhi',
        owner: 'E1002',
        credential: { created: utc(2024, 1, 1) },
      },
    ];
    const variants: SourceDefinition[] = [
      nhi,
      { ...nhi, path: 'nhi-array.json' },
      { ...nhi, format: 'jsonl', path: 'nhi.jsonl' },
    ];
    for (const def of variants) {
      const { result, diagnostics } = readSource(def, fixtures, { skipInvalid: false });
      assert.deepEqual(diagnostics, [], def.path);
      assert.deepEqual(result.identities, expected, def.path);
    }
  });

  it('names JSON records and JSON Lines lines in duplicate-key messages', () => {
    const records =
      '[{"name": "a", "type": "token"},\n {"name": "b", "type": "token"},\n {"name": "a", "type": "token"}]';
    const json = readSource({ ...nhi, path: feed(records, 'json') }, scratch, { skipInvalid: false });
    assert.deepEqual(
      json.diagnostics.filter((d) => d.code === 'source.duplicate_key').map((d) => [d.message, d.position?.line]),
      [['records 1 and 3 have the same key "a" (field "name")', 3]],
    );
    const lines = '{"name": "a", "type": "token"}\n\n{"name": "a", "type": "token"}\n';
    const jsonl = readSource({ ...nhi, format: 'jsonl', path: feed(lines, 'jsonl') }, scratch, { skipInvalid: false });
    assert.deepEqual(
      jsonl.diagnostics.filter((d) => d.code === 'source.duplicate_key').map((d) => d.message),
      ['lines 1 and 3 have the same key "a" (field "name")'],
    );
  });

  it('refuses a JSON record that is not an object, or skips it', () => {
    const name = feed('[{"name": "a", "type": "token"}, 42]', 'json');
    const refused = readSource({ ...nhi, path: name }, scratch, { skipInvalid: false });
    assert.deepEqual(
      refused.diagnostics.map((d) => d.message),
      [
        'record 2 is a number, not an object',
        `source "nhi": 1 of 2 records in ${path.join(scratch, name)} have problems, so the feed is not loaded`,
      ],
    );
    const skipped = readSource({ ...nhi, path: name }, scratch, { skipInvalid: true });
    assert.deepEqual(
      skipped.result.identities.map((i) => i.id),
      ['a'],
    );
  });

  it('reads a feed with its own delimiter and quote', () => {
    const name = feed(
      "employee_id;worker_type;status;department\nE1;Employee;Active;'Sales; EMEA'\nE2;Employee;Active;'R''n''D'\n",
    );
    const def = { ...hrBad, path: name, startDate: undefined, attributes: onlyDepartment, delimiter: ';', quote: "'" };
    const r = readSource(def, scratch, { skipInvalid: false });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.result.identities.map((i) => [i.id, i.attributes.department]),
      [
        ['E1', 'Sales; EMEA'],
        ['E2', "R'n'D"],
      ],
    );
  });

  it('says once that a feed looks separated by another character, instead of a missing column per mapping', () => {
    const semicolons = readFileSync(path.join(fixtures, 'hr.csv'), 'utf8').replace(/,/g, ';');
    const lines = semicolons.split('\n');
    const name = feed(`${lines[0]}\nE1;Ada;Lovelace;Employee;Active;Engineering;Engineer;;2020-01-06;;9;;;yes\n`);
    const r = readSource({ ...hr, path: name }, scratch, { skipInvalid: false });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.message, d.hint]),
      [
        [
          'source.csv_delimiter',
          `source "hr": the header looks separated by semicolons (";"), but the source reads commas (",")`,
          'Set delimiter: ";" in the source, or export the feed separated by commas.',
        ],
      ],
    );

    const tabs = feed('employee_id\tworker_type\tstatus\tdepartment\nE1\tEmployee\tActive\tSales\n');
    const t = readSource({ ...hrBad, path: tabs, startDate: undefined }, scratch, { skipInvalid: false });
    assert.deepEqual(
      t.diagnostics.map((d) => [d.code, d.hint]),
      [['source.csv_delimiter', 'Set delimiter: "\\t" in the source, or export the feed separated by commas.']],
    );

    // Quoted header fields make the parser stop at the first wrong delimiter: the same advice, at the header.
    const quoted = feed('"employee_id"|"worker_type"|"status"|"department"\n"E1"|"Employee"|"Active"|"Sales"\n');
    const q = readSource({ ...hrBad, path: quoted, startDate: undefined }, scratch, { skipInvalid: false });
    assert.deepEqual(
      q.diagnostics.map((d) => [d.code, d.position?.line, d.hint]),
      [['source.csv_delimiter', 1, 'Set delimiter: "|" in the source, or export the feed separated by commas.']],
    );

    // The whole fixture breaks the parser at its first quoted field: the same advice.
    const whole = readSource({ ...hr, path: feed(semicolons) }, scratch, { skipInvalid: false });
    assert.deepEqual(
      whole.diagnostics.map((d) => [d.code, d.position?.line]),
      [['source.csv_delimiter', 1]],
    );

    // A column that is simply missing is still reported as one.
    const missing = feed('employee_id,worker_type,status\nE1,Employee,Active\n');
    const m = readSource({ ...hrBad, path: missing, startDate: undefined, attributes: onlyDepartment }, scratch, {
      skipInvalid: false,
    });
    assert.deepEqual(
      m.diagnostics.map((d) => d.code),
      ['source.unknown_column'],
    );
  });
});
