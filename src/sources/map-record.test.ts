import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttributeValue } from '../model/identity.js';
import type { FieldMapping, SourceDefinition } from '../model/policy.js';
import { createRecordMapper, mapRecord } from './map-record.js';
import type { MapContext } from './map-record.js';
import type { RawRecord } from './raw-record.js';

const position = { file: 'tenure.yaml', line: 1, column: 1 };

function source(overrides: Partial<SourceDefinition> = {}): SourceDefinition {
  return {
    id: 'hr',
    format: 'csv',
    path: 'hr.csv',
    key: 'id',
    kind: { field: 'kind' },
    status: { field: 'status' },
    attributes: {},
    position,
    ...overrides,
  };
}

const csvContext: MapContext = { file: 'hr.csv', format: 'csv', header: ['id', 'kind', 'status', 'v'] };
const jsonContext: MapContext = { file: 'nhi.json', format: 'json' };

function record(values: Record<string, unknown>): RawRecord {
  return { row: 14, line: 15, values: { id: 'E1', kind: 'employee', status: 'active', ...values } };
}

/** Maps one attribute `v` of the given type; returns its value, or the one problem's message. */
function mapAttribute(
  mapping: Omit<FieldMapping, 'field' | 'required'> & { required?: boolean },
  raw: unknown,
  context = csvContext,
) {
  const def = source({ attributes: { v: { field: 'v', required: false, ...mapping } } });
  const { result, diagnostics } = mapRecord(def, record({ v: raw }), context);
  if (diagnostics.length > 0) {
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.equal(result, undefined);
    return { message: diagnostics[0]!.message, code: diagnostics[0]!.code, position: diagnostics[0]!.position };
  }
  return { value: result!.attributes.v, present: 'v' in result!.attributes };
}

const utc = (...args: [number, number, number, number?, number?]): Date =>
  new Date(Date.UTC(args[0], args[1] - 1, args[2], args[3] ?? 0, args[4] ?? 0));

describe('mapRecord: typed attributes from CSV text', () => {
  const ok: [FieldMapping['type'], string, AttributeValue, string?][] = [
    ['string', '  Paris ', 'Paris'],
    ['int', '42', 42n],
    ['int', '-7', -7n],
    ['int', '9007199254740993', 9007199254740993n],
    ['double', '3.5', 3.5],
    ['double', '-1e3', -1000],
    ['double', '.5', 0.5],
    ['bool', 'true', true],
    ['bool', 'YES', true],
    ['bool', '1', true],
    ['bool', 'False', false],
    ['bool', 'no', false],
    ['bool', '0', false],
    ['date', '2024-02-29', utc(2024, 2, 29)],
    ['date', '2024-03-01T09:30:00Z', utc(2024, 3, 1, 9, 30)],
    ['date', '2024-03-01T09:30:00+02:00', utc(2024, 3, 1, 7, 30)],
    ['date', '2024-03-01T09:30:00.250-01:00', new Date(Date.UTC(2024, 2, 1, 10, 30, 0, 250))],
    ['list', 'secret; internal;; ', ['secret', 'internal']],
  ];
  for (const [type, raw, expected] of ok) {
    it(`${type} ${JSON.stringify(raw)} → ${String(expected)}`, () => {
      assert.deepEqual(mapAttribute({ type }, raw), { value: expected, present: true });
    });
  }

  it('splits lists on the declared separator', () => {
    assert.deepEqual(mapAttribute({ type: 'list', separator: '|' }, 'a | b;c'), { value: ['a', 'b;c'], present: true });
  });

  it('reads dates in a declared format', () => {
    assert.deepEqual(mapAttribute({ type: 'date', format: 'DD/MM/YYYY' }, '31/12/2024'), {
      value: utc(2024, 12, 31),
      present: true,
    });
    assert.equal(
      mapAttribute({ type: 'date', format: 'DD/MM/YYYY' }, '2024-12-31').message,
      'row 14, column "v": "2024-12-31" is not a valid date (expected DD/MM/YYYY)',
    );
    assert.equal(
      mapAttribute({ type: 'date', format: 'DD/MM/YYYY' }, '31/02/2024').message,
      'row 14, column "v": "31/02/2024" is not a valid date (expected DD/MM/YYYY)',
    );
  });

  const bad: [FieldMapping['type'], string, string, string][] = [
    ['int', '3.5', 'source.invalid_int', '"3.5" is not a whole number'],
    ['int', 'abc', 'source.invalid_int', '"abc" is not a whole number'],
    ['int', '1,000', 'source.invalid_int', '"1,000" is not a whole number'],
    ['double', 'abc', 'source.invalid_double', '"abc" is not a number'],
    ['double', '0x10', 'source.invalid_double', '"0x10" is not a number'],
    ['double', '3,5', 'source.invalid_double', '"3,5" is not a number'],
    ['bool', 'maybe', 'source.invalid_bool', '"maybe" is not a yes/no value (expected true, false, yes, no, 1 or 0)'],
    ['date', '2024-02-30', 'source.invalid_date', '"2024-02-30" is not a valid date (expected YYYY-MM-DD)'],
    ['date', '2023-02-29', 'source.invalid_date', '"2023-02-29" is not a valid date (expected YYYY-MM-DD)'],
    ['date', '31/12/2024', 'source.invalid_date', '"31/12/2024" is not a valid date (expected YYYY-MM-DD)'],
    ['date', '2024-13-01', 'source.invalid_date', '"2024-13-01" is not a valid date (expected YYYY-MM-DD)'],
    ['date', '2024-1-5', 'source.invalid_date', '"2024-1-5" is not a valid date (expected YYYY-MM-DD)'],
    [
      'date',
      '2024-03-01T25:00:00Z',
      'source.invalid_date',
      '"2024-03-01T25:00:00Z" is not a valid date (expected YYYY-MM-DD)',
    ],
    [
      'date',
      '2024-03-01T09:30:00',
      'source.invalid_date',
      '"2024-03-01T09:30:00" is not a valid date: the timestamp has no time zone',
    ],
  ];
  for (const [type, raw, code, text] of bad) {
    it(`${type} ${JSON.stringify(raw)} is refused`, () => {
      assert.deepEqual(mapAttribute({ type }, raw), {
        code,
        message: `row 14, column "v": ${text}`,
        position: { file: 'hr.csv', line: 15, column: 4 },
      });
    });
  }

  it('leaves out an attribute whose cell is empty or blank', () => {
    for (const type of ['string', 'int', 'double', 'bool', 'date', 'list'] as const) {
      assert.deepEqual(mapAttribute({ type }, ''), { value: undefined, present: false }, type);
      assert.deepEqual(mapAttribute({ type }, '   '), { value: undefined, present: false }, type);
    }
  });

  it('refuses a record without a required attribute', () => {
    assert.deepEqual(mapAttribute({ type: 'string', required: true }, ''), {
      code: 'source.missing_required',
      message: 'row 14, column "v" has no value, but attribute "v" is required',
      position: { file: 'hr.csv', line: 15, column: 4 },
    });
  });
});

describe('mapRecord: typed attributes from JSON values', () => {
  const ok: [FieldMapping['type'], unknown, AttributeValue][] = [
    ['string', 'x', 'x'],
    ['string', 1001, '1001'],
    ['int', 42, 42n],
    ['int', '42', 42n],
    ['double', 2.5, 2.5],
    ['bool', true, true],
    ['bool', 0, false],
    ['date', '2024-01-01', utc(2024, 1, 1)],
    ['list', ['a', ' b ', ''], ['a', 'b']],
    ['list', [], []],
    ['list', 'a;b', ['a', 'b']],
  ];
  for (const [type, raw, expected] of ok) {
    it(`${type} ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(mapAttribute({ type }, raw, jsonContext), { value: expected, present: true });
    });
  }

  const bad: [FieldMapping['type'], unknown, string][] = [
    ['int', 3.5, 'record 14, field "v": 3.5 is not a whole number'],
    ['int', 2 ** 60, 'record 14, field "v": 1152921504606847000 is not a whole number JSON can hold exactly'],
    ['bool', 'maybe', 'record 14, field "v": "maybe" is not a yes/no value (expected true, false, yes, no, 1 or 0)'],
    ['list', [1, { a: 1 }], 'record 14, field "v": [1,{"a":1}] is not a list of strings'],
    ['string', { id: 'E1' }, 'record 14, field "v": {"id":"E1"} is not text'],
    ['date', 20240101, 'record 14, field "v": 20240101 is not a valid date (expected YYYY-MM-DD)'],
  ];
  for (const [type, raw, message] of bad) {
    it(`${type} ${JSON.stringify(raw)} is refused`, () => {
      const result = mapAttribute({ type }, raw, jsonContext);
      assert.equal(result.message, message);
      assert.deepEqual(result.position, { file: 'nhi.json', line: 15 });
    });
  }

  it('treats null like a missing value', () => {
    assert.deepEqual(mapAttribute({ type: 'string' }, null, jsonContext), { value: undefined, present: false });
  });

  it('reads nested fields by dotted path', () => {
    const def = source({
      format: 'json',
      key: 'name',
      kind: { field: 'type' },
      status: { constant: 'active' },
      owner: 'owner.id',
      attributes: { team: { field: 'owner.team.name', type: 'string', required: true } },
    });
    const raw = {
      row: 3,
      line: 9,
      column: 5,
      values: { name: 'svc-ci', type: 'service_account', owner: { id: 'E1001', team: { name: 'Platform' } } },
    };
    const { result, diagnostics } = mapRecord(def, raw, jsonContext);
    assert.deepEqual(diagnostics, []);
    assert.equal(result?.owner, 'E1001');
    assert.deepEqual(result?.attributes, { team: 'Platform' });

    const missing = mapRecord(
      def,
      { ...raw, values: { name: 'svc-ci', type: 'service_account', owner: 'E1001' } },
      jsonContext,
    );
    assert.deepEqual(
      missing.diagnostics.map((d) => [d.message, d.position]),
      [
        [
          'record 3, field "owner.team.name" has no value, but attribute "team" is required',
          { file: 'nhi.json', line: 9, column: 5 },
        ],
      ],
    );
  });
});

describe('mapRecord: key, kind and status', () => {
  const def = source({
    kind: { field: 'kind', values: { Employee: 'employee', Contractor: 'contractor' } },
    status: {
      field: 'status',
      values: { Active: 'active', Leave: 'leave', Terminated: 'terminated', Pending: 'pre_hire' },
    },
  });

  it('maps raw values through the value maps', () => {
    const { result, diagnostics } = mapRecord(def, record({ kind: 'Contractor', status: 'Pending' }), csvContext);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(result, { id: 'E1', kind: 'contractor', status: 'pre_hire', attributes: {}, source: 'hr' });
  });

  it('lists the accepted raw values for an unknown status', () => {
    const { result, diagnostics } = mapRecord(def, record({ kind: 'Employee', status: 'Retired' }), csvContext);
    assert.equal(result, undefined);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.message, d.position]),
      [
        [
          'source.unknown_value',
          'row 14, column "status": "Retired" is not a known status (accepted: "Active", "Leave", "Terminated", "Pending")',
          { file: 'hr.csv', line: 15, column: 3 },
        ],
      ],
    );
  });

  it('suggests the right case for a value that differs only in case', () => {
    const { diagnostics } = mapRecord(def, record({ kind: 'employee', status: 'Active' }), csvContext);
    assert.equal(diagnostics[0]?.hint, 'Did you mean "Employee"? Values are matched exactly.');
  });

  it('requires an unmapped status to be a Tenure status, and accepts any kind', () => {
    const plain = source();
    assert.deepEqual(mapRecord(plain, record({ kind: 'robot', status: 'leave' }), csvContext).result?.kind, 'robot');
    assert.deepEqual(
      mapRecord(plain, record({ status: 'Active' }), csvContext).diagnostics.map((d) => d.message),
      ['row 14, column "status": "Active" is not a status (accepted: pre_hire, active, leave, terminated)'],
    );
  });

  it('refuses a record without a key, kind or status', () => {
    const { diagnostics } = mapRecord(source(), record({ id: '', kind: ' ', status: '' }), csvContext);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.message]),
      [
        ['source.missing_key', 'row 14, column "id" has no value, but it is the identity key'],
        ['source.missing_value', 'row 14, column "kind" has no value, but every identity needs a kind'],
        ['source.missing_value', 'row 14, column "status" has no value, but every identity needs a status'],
      ],
    );
  });

  it('reports every problem of a record, not just the first', () => {
    const def2 = source({ attributes: { v: { field: 'v', type: 'int', required: false } }, startDate: 'v' });
    const { diagnostics } = mapRecord(def2, record({ status: 'gone', v: 'x' }), csvContext);
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['source.unknown_value', 'source.invalid_date', 'source.invalid_int'],
    );
  });

  it('uses constants and checks them once', () => {
    const constant = source({ kind: { constant: 'service_account' }, status: { constant: 'active' } });
    assert.deepEqual(mapRecord(constant, record({}), csvContext).result, {
      id: 'E1',
      kind: 'service_account',
      status: 'active',
      attributes: {},
      source: 'hr',
    });
    const wrong = createRecordMapper(source({ status: { constant: 'enabled' } }), csvContext);
    assert.deepEqual(
      wrong.diagnostics.map((d) => [d.code, d.message, d.position]),
      [
        [
          'source.invalid_status',
          'source "hr": status "enabled" is not a status (accepted: pre_hire, active, leave, terminated)',
          position,
        ],
      ],
    );
    const badMap = createRecordMapper(
      source({ status: { field: 'status', values: { Pending: 'prehire' } } }),
      csvContext,
    );
    assert.deepEqual(
      badMap.diagnostics.map((d) => d.message),
      [
        'source "hr": status value "Pending" maps to "prehire", which is not a status (accepted: pre_hire, active, leave, terminated)',
      ],
    );
  });

  it('reports a mapped column that the CSV header lacks, once, at the policy', () => {
    const { diagnostics } = createRecordMapper(source({ startDate: 'Start_Date', endDate: 'leaving' }), {
      ...csvContext,
      header: ['id', 'kind', 'status', 'start_date'],
    });
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.message, d.hint, d.position]),
      [
        [
          'source.unknown_column',
          'source "hr": column "Start_Date" (start_date) is not in the header of hr.csv',
          'Did you mean "start_date"? Column names are matched exactly.',
          position,
        ],
        [
          'source.unknown_column',
          'source "hr": column "leaving" (end_date) is not in the header of hr.csv',
          'The header has: id, kind, status, start_date.',
          position,
        ],
      ],
    );
  });

  it('maps manager, dates, owner and credential dates', () => {
    const nhi = source({
      format: 'json',
      manager: 'manager',
      startDate: 'start',
      endDate: 'end',
      owner: 'owner',
      credential: { created: 'created', expires: 'expires', lastRotated: 'rotated', lastUsed: 'used' },
    });
    const values = {
      manager: 'E9',
      start: '2024-01-01',
      end: '',
      owner: 'E7',
      created: '2023-05-01T00:00:00Z',
      expires: '2025-05-01',
      rotated: null,
    };
    const { result, diagnostics } = mapRecord(nhi, record(values), jsonContext);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(result, {
      id: 'E1',
      kind: 'employee',
      status: 'active',
      attributes: {},
      source: 'hr',
      manager: 'E9',
      startDate: utc(2024, 1, 1),
      owner: 'E7',
      credential: { created: utc(2023, 5, 1), expires: utc(2025, 5, 1) },
    });
    const none = mapRecord(nhi, record({}), jsonContext).result;
    assert.equal(none !== undefined && 'credential' in none, false);
  });

  it('reads CSV fields by column index when the record carries them', () => {
    const { result } = createRecordMapper(source(), csvContext);
    const mapped = result({ row: 2, line: 2, values: {}, fields: ['E5', 'employee', 'active', ''] });
    assert.equal(mapped.identity?.id, 'E5');
  });
});

describe('mapRecord: dates too far out to be meant', () => {
  const now = utc(2025, 6, 1);
  const def = source({
    startDate: 'start',
    endDate: 'end',
    credential: { expires: 'expires' },
    attributes: {
      born: { field: 'born', type: 'date', required: false },
      hired: { field: 'hired', type: 'date', required: false, format: 'DD/MM/YYYY' },
    },
  });
  const context: MapContext = {
    file: 'hr.csv',
    format: 'csv',
    header: ['id', 'kind', 'status', 'start', 'end', 'expires', 'born', 'hired'],
    now,
  };
  const problems = (values: Record<string, unknown>, c = context) =>
    mapRecord(def, record(values), c).diagnostics.map((d) => [d.code, d.message, d.position]);

  it('refuses an active employee starting on 9999-12-31, at the row and column', () => {
    assert.deepEqual(problems({ start: '9999-12-31' }), [
      [
        'source.date_out_of_range',
        'row 14, column "start": "9999-12-31" is not a plausible date: it is more than 50 years after 2025-06-01',
        { file: 'hr.csv', line: 15, column: 4 },
      ],
    ]);
  });

  it('refuses dates before 1900 in every date field, with or without a time to judge against', () => {
    const old = { end: '1899-12-31', expires: '0202-01-01', born: '1024-03-01', hired: '01/01/1899' };
    const expected = [
      ['end', 5],
      ['expires', 6],
      ['born', 7],
      ['hired', 8],
    ].map(([field, column]) => [
      'source.date_out_of_range',
      `row 14, column "${field}": ${JSON.stringify(old[field as keyof typeof old])} is not a plausible date: it is before 1900`,
      { file: 'hr.csv', line: 15, column },
    ]);
    assert.deepEqual(problems(old), expected);
    assert.deepEqual(problems(old, { ...context, now: undefined }), expected);
  });

  it('accepts dates from 1900 to 50 years after now, and judges the far future only against a given now', () => {
    const edge = { start: '1900-01-01', end: '2075-06-01', born: '1931-07-04', hired: '01/06/2075' };
    assert.deepEqual(problems(edge), []);
    assert.deepEqual(
      problems({ end: '2075-06-01T00:00:01Z', hired: '02/06/2075' }).map(([code, , at]) => [code, at]),
      [
        ['source.date_out_of_range', { file: 'hr.csv', line: 15, column: 5 }],
        ['source.date_out_of_range', { file: 'hr.csv', line: 15, column: 8 }],
      ],
    );
    assert.deepEqual(problems({ start: '9999-12-31' }, { ...context, now: undefined }), []);
  });

  it("reads an end date written as one of the source's no_end texts as none, and still refuses it as a start date", () => {
    const sap = source({ ...def, noEnd: ['9999-12-31', '31.12.9999'] });
    const mapped = mapRecord(sap, record({ start: '2024-01-01', end: '9999-12-31', expires: ' 31.12.9999 ' }), context);
    assert.deepEqual(mapped.diagnostics, []);
    assert.equal(mapped.result?.endDate, undefined);
    assert.equal(mapped.result?.credential, undefined);
    assert.deepEqual(
      mapRecord(sap, record({ start: '9999-12-31' }), context).diagnostics.map((d) => d.code),
      ['source.date_out_of_range'],
      'no_end is about end dates only',
    );
    assert.match(mapRecord(def, record({ end: '9999-12-31' }), context).diagnostics[0]!.hint ?? '', /no_end/);
  });

  it('judges a repeated date each time it is read', () => {
    const mapper = createRecordMapper(def, context).result;
    assert.equal(mapper(record({ start: '2024-01-01' })).problems.length, 0);
    assert.equal(mapper(record({ start: '9999-12-31' })).problems.length, 1);
    assert.equal(mapper(record({ start: '9999-12-31' })).problems.length, 1);
  });
});
