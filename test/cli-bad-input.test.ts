import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

// Each case breaks one thing in a small, valid organisation; `tenure validate` must name the
// problem and its position, exit 1, and never show a stack trace.
const policy = `version: 1
name: Bad input
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    start_date: start_date
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/engineering
roles:
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
`;
// "Billion laughs": each level of aliases repeats the one before nine times.
const laughs = ['    laughs:', '      - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
for (let i = 1; i <= 9; i++)
  laughs.push(
    `      - &l${i} [${Array(9)
      .fill(`*l${i - 1}`)
      .join(', ')}]`,
  );
const csv = 'employee_id,department,status,start_date\nE1,Engineering,Active,2024-01-15\nE2,Sales,Active,2023-05-02\n';

interface Case {
  readonly name: string;
  readonly files: Record<string, string | Buffer>;
  readonly expect: RegExp[];
}

const cases: Case[] = [
  {
    name: 'a misspelt connection setting',
    files: {
      'tenure.yaml': policy.replace(
        '    kind: memory',
        '    kind: postgres\n    connection: { url: postgres://x@db/app, secret_snk: { file: s.tsv } }',
      ),
      'hr.csv': csv,
    },
    expect: [
      /tenure\.yaml:14:5: error: target "directory": connection\.secret_snk is not a setting of a postgres target/,
      /hint: did you mean "secret_sink"/,
    ],
  },
  {
    name: 'a YAML syntax error',
    files: { 'tenure.yaml': policy.replace('name: Bad input', 'name: [Bad'), 'hr.csv': csv },
    expect: [/^tenure\.yaml:3:1: error: /m],
  },
  {
    name: 'a YAML alias bomb',
    files: {
      'tenure.yaml': policy.replace('    kind: memory', `    kind: memory\n${laughs.join('\n')}`),
      'hr.csv': csv,
    },
    expect: [/^tenure\.yaml:19:14: error: YAML aliases expand too far/m, /hint: /],
  },
  {
    name: 'a wrong type',
    files: { 'tenure.yaml': policy.replace('kind: memory', 'kind: 42'), 'hr.csv': csv },
    expect: [
      /^tenure\.yaml:15:11: error: targets\.0\.kind: must be one of "memory", "csv", "scim", "ldap", "postgres"/m,
    ],
  },
  {
    name: 'an unknown key',
    files: { 'tenure.yaml': policy.replace('    kind: memory', '    kind: memory\n    colour: blue'), 'hr.csv': csv },
    expect: [/^tenure\.yaml:16:5: error: unknown key "colour" in targets\.0/m],
  },
  {
    name: 'an unknown attribute in a rule',
    files: { 'tenure.yaml': policy.replace('identity.department ==', 'identity.dept =='), 'hr.csv': csv },
    expect: [/^tenure\.yaml:20:20: error: role "engineer": identity has no attribute "dept"/m, /hint: /],
  },
  {
    name: 'a type error in a rule',
    files: {
      'tenure.yaml': policy.replace('identity.department == "Engineering"', 'identity.start_date == "2024"'),
      'hr.csv': csv,
    },
    expect: [/^tenure\.yaml:20:11: error: role "engineer": no such overload: google\.protobuf\.Timestamp == string/m],
  },
  {
    name: 'a rule too costly to evaluate',
    files: {
      'tenure.yaml': policy.replace(
        'identity.department == "Engineering"',
        `'["a", "b"].all(x, ["c"].all(y, ["d"].exists(z, identity.department == x + y + z)))'`,
      ),
      'hr.csv': csv,
    },
    expect: [/^tenure\.yaml:20:43: error: role "engineer": comprehensions nest 3 deep/m, /hint: /],
  },
  {
    name: 'an inheritance cycle',
    files: { 'tenure.yaml': policy + '    inherits: [lead]\n  - id: lead\n    inherits: [engineer]\n', 'hr.csv': csv },
    expect: [/error: role inheritance forms a cycle: engineer → lead → engineer/],
  },
  {
    name: 'an entitlement for an unknown target',
    files: {
      'tenure.yaml': policy.replace(
        '  - id: directory:group/engineering',
        '  - id: directory:group/engineering\n  - id: wiki:space/eng',
      ),
      'hr.csv': csv,
    },
    expect: [/^tenure\.yaml:18:9: error: entitlement "wiki:space\/eng" names target "wiki", which is not declared/m],
  },
  {
    name: 'a duplicate role',
    files: { 'tenure.yaml': policy + '  - id: engineer\n', 'hr.csv': csv },
    expect: [/^tenure\.yaml:22:9: error: role "engineer" is declared twice \(first at line 19\)/m],
  },
  {
    name: 'a CSV with an unclosed quote',
    files: { 'tenure.yaml': policy, 'hr.csv': csv + 'E3,"Sales,Active,2023-05-02\n' },
    expect: [/hr\.csv:4(:\d+)?: error: .*quote/i],
  },
  {
    name: 'a duplicate employee id',
    files: { 'tenure.yaml': policy, 'hr.csv': csv + 'E1,Sales,Active,2022-01-01\n' },
    expect: [/hr\.csv:4(:\d+)?: error: .*E1/],
  },
  {
    name: 'invalid UTF-8',
    files: {
      'tenure.yaml': policy,
      'hr.csv': Buffer.concat([
        Buffer.from(csv),
        Buffer.from('E3,Sal'),
        Buffer.from([0xff]),
        Buffer.from('es,Active,2023-05-02\n'),
      ]),
    },
    expect: [/hr\.csv:4:7: error: .*UTF-8/i],
  },
  {
    name: 'a bad date',
    files: { 'tenure.yaml': policy, 'hr.csv': csv + 'E3,Sales,Active,2024-02-30\n' },
    expect: [/hr\.csv:4:4: error: .*"2024-02-30"/],
  },
  {
    name: 'a start date thousands of years away',
    files: { 'tenure.yaml': policy, 'hr.csv': csv + 'E3,Sales,Active,9999-12-31\n' },
    expect: [
      /hr\.csv:4:4: error: row 4, column "start_date": "9999-12-31" is not a plausible date: it is more than 50 years after/,
    ],
  },
  {
    name: 'an unknown status value',
    files: { 'tenure.yaml': policy, 'hr.csv': csv + 'E3,Sales,Retired,2024-02-01\n' },
    expect: [/hr\.csv:4:3: error: .*"Retired"/],
  },
  {
    name: 'a missing required field',
    files: { 'tenure.yaml': policy, 'hr.csv': csv + 'E3,,Active,2024-02-01\n' },
    expect: [/hr\.csv:4:2: error: .*department/],
  },
  {
    name: 'a missing feed',
    files: { 'tenure.yaml': policy },
    expect: [/^tenure\.yaml:4:5: error: source "hr": file hr\.csv does not exist/m],
  },
];

describe('tenure validate on bad input', () => {
  for (const c of cases) {
    it(`reports ${c.name} with its position and exits 1`, async () => {
      const dir = folder(c.files);
      const r = await tenure('-c', join(dir, 'tenure.yaml'), 'validate');
      const shown = r.stderr.replaceAll(dir + '/', '');
      assert.equal(r.code, 1, shown);
      for (const e of c.expect) assert.match(shown, e);
      assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+\)?/, 'no stack trace');
    });
  }

  it('accepts a CSV with a BOM and CRLF line ends', async () => {
    const dir = folder({ 'tenure.yaml': policy, 'hr.csv': '\uFEFF' + csv.replaceAll('\n', '\r\n') });
    const r = await tenure('-c', join(dir, 'tenure.yaml'), 'validate');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source hr: 2 identities from 2 rows/);
  });

  it('loads the valid rows with --skip-invalid and says what it skipped', async () => {
    const dir = folder({ 'tenure.yaml': policy, 'hr.csv': csv + 'E3,Sales,Active,2024-02-30\n' });
    const r = await tenure('-c', join(dir, 'tenure.yaml'), 'validate', '--skip-invalid');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source hr: 2 identities from 3 rows \(1 skipped\)/);
    assert.match(r.stderr, /warning: .*"2024-02-30"/);
  });

  it('says a feed looks separated by semicolons, once, and reads it with delimiter: ";"', async () => {
    const semicolons = csv.replace(/,/g, ';');
    const dir = folder({ 'tenure.yaml': policy, 'hr.csv': semicolons });
    const r = await tenure('-c', join(dir, 'tenure.yaml'), 'validate');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /hr\.csv:1: error: source "hr": .*the header looks separated by semicolons \(";"\)/);
    assert.match(r.stderr, /hint: Set delimiter: ";" in the source/);
    assert.doesNotMatch(r.stderr, /not in the header/);

    const fixed = folder({
      'tenure.yaml': policy.replace('    path: hr.csv', '    path: hr.csv\n    delimiter: ";"'),
      'hr.csv': semicolons,
    });
    const ok = await tenure('-c', join(fixed, 'tenure.yaml'), 'validate');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /source hr: 2 identities from 2 rows/);
  });

  it('warns, without failing, about a manager no source has', async () => {
    const dir = folder({
      'tenure.yaml': policy.replace('    start_date: start_date', '    start_date: start_date\n    manager: manager'),
      'hr.csv':
        'employee_id,department,status,start_date,manager\nE1,Engineering,Active,2024-01-15,\nE2,Sales,Active,2023-05-02,E404\n',
    });
    const r = await tenure('-c', join(dir, 'tenure.yaml'), 'validate');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /hr\.csv:3: warning: source "hr": 1 identity names a manager that no source has: "E404" \(row 3, E2\)/,
    );
  });

  it('says where the policy file should be when it is missing', async () => {
    const r = await tenure('-c', '/nonexistent/tenure.yaml', 'validate');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /policy file not found: \/nonexistent\/tenure\.yaml/);
  });

  it('exits 2 on a usage error', async () => {
    const r = await tenure('plan', '--format', 'pdf');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pdf/);
  });

  it('prints one JSON document with --json', async () => {
    const dir = folder({ 'tenure.yaml': policy.replace('identity.department ==', 'identity.dept =='), 'hr.csv': csv });
    const r = await tenure('-c', join(dir, 'tenure.yaml'), '--json', 'validate');
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      diagnostics: { code: string; position: { line: number; column: number } }[];
    };
    assert.equal(doc.ok, false);
    assert.deepEqual(
      doc.diagnostics.map((d) => [d.code, d.position.line, d.position.column]),
      [['policy.unknown_attribute', 20, 20]],
    );
  });
});
