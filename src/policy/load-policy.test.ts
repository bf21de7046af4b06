import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatPosition } from '../model/diagnostic.js';
import { loadPolicy } from './load-policy.js';

// A small valid policy; each bad-input case below breaks one thing in it.
const base = `version: 1
name: Test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    attributes:
      department: { field: department, type: string }
      grade: { field: grade, type: int }
      clearances: { field: clearances, type: list }
      hired: { field: hire_date, type: date }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/engineering
    risk: low
  - id: directory:group/admins
    risk: critical
roles:
  - id: engineer
    business_owner: E1
    technical_owner: E2
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: admin
    when: identity.grade >= 9 && "admin" in identity.clearances
    grants: [directory:group/admins]
    inherits: [engineer]
`;

function errors(text: string): string[] {
  const r = loadPolicy(text, 'tenure.yaml');
  return r.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.position ? formatPosition(d.position) : '-'}: ${d.message}`);
}

describe('loadPolicy', () => {
  it('loads a valid policy with compiled rules and sorted roles', () => {
    const r = loadPolicy(base, 'tenure.yaml');
    assert.deepEqual(r.diagnostics, []);
    assert.ok(r.result);
    assert.deepEqual(
      r.result.policy.roles.map((x) => x.id),
      ['admin', 'engineer'],
    );
    assert.deepEqual([...r.result.rules.keys()].sort(), ['admin', 'engineer']);
    assert.deepEqual(r.result.rules.get('admin')!.reads, ['clearances', 'grade']);
    assert.equal(r.result.policy.policies.guardrails.deprovision.maxPercent, 10);
    assert.equal(r.result.policy.entitlements.find((e) => e.id === 'directory:group/admins')!.risk, 'critical');
  });

  const cases: [string, string, string[]][] = [
    ['YAML syntax error', base.replace('name: Test', 'name: [Test'), ['tenure.yaml:3:1: Flow sequence']],
    [
      'wrong type',
      base.replace('risk: low', 'risk: 7'),
      ['tenure.yaml:19:11: entitlements.0.risk: must be one of "low", "medium", "high", "critical"'],
    ],
    [
      'unknown key',
      base.replace('    risk: critical', '    risk: critical\n    colour: red'),
      ['tenure.yaml:22:5: unknown key "colour" in entitlements.1'],
    ],
    [
      'unknown attribute in a rule',
      base.replace('identity.department ==', 'identity.departmnt =='),
      ['tenure.yaml:26:20: role "engineer": identity has no attribute "departmnt"'],
    ],
    [
      'type error in a rule',
      base.replace('identity.grade >= 9', 'identity.grade >= "9"'),
      ['tenure.yaml:29:11: role "admin": no such overload: int >= string'],
    ],
    [
      'rule that is not a boolean',
      base.replace('when: identity.department == "Engineering"', 'when: identity.department'),
      ['tenure.yaml:26:11: role "engineer": the expression must give a bool, but it gives string'],
    ],
    [
      'CEL syntax error',
      base.replace('identity.department == "Engineering"', 'identity.department == '),
      ['tenure.yaml:26:33: role "engineer": Unexpected token: EOF'],
    ],
    [
      'inheritance cycle',
      base.replace(
        'grants: [directory:group/engineering]',
        'grants: [directory:group/engineering]\n    inherits: [admin]',
      ),
      ['role inheritance forms a cycle: admin → engineer → admin'],
    ],
    [
      'unknown parent role',
      base.replace('inherits: [engineer]', 'inherits: [enginer]'),
      ['tenure.yaml:31:16: role "admin" inherits "enginer", which is not a declared role'],
    ],
    [
      'entitlement for an unknown target',
      base.replace('- id: directory:group/admins', '- id: directroy:group/admins'),
      ['tenure.yaml:20:9: entitlement "directroy:group/admins" names target "directroy", which is not declared'],
    ],
    [
      'duplicate role',
      base + '  - id: engineer\n',
      ['tenure.yaml:32:9: role "engineer" is declared twice (first at line 23)'],
    ],
    ['missing version', base.replace('version: 1\n', ''), ['tenure.yaml:1:1: version is required']],
    [
      'duplicate YAML key',
      base.replace('name: Test', 'name: Test\nname: Again'),
      ['tenure.yaml:3:1: Map keys must be unique'],
    ],
    [
      'role granting an undeclared entitlement',
      base.replace('grants: [directory:group/admins]', 'grants: [directory:group/root]'),
      ['role "admin" grants "directory:group/root", which is not a declared entitlement'],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(`reports ${name} with its position`, () => {
      const got = errors(text);
      for (const e of expected)
        assert.ok(
          got.some((g) => g.includes(e)),
          `expected a diagnostic containing\n  ${e}\ngot\n  ${got.join('\n  ')}`,
        );
    });
  }

  it('takes a delimiter and a quote for a CSV source, and refuses them for a JSON one', () => {
    const csv = loadPolicy(
      base.replace('    path: hr.csv', '    path: hr.csv\n    delimiter: ";"\n    quote: "\'"'),
      'x',
    );
    assert.deepEqual(
      csv.result?.policy.sources.map((s) => [s.delimiter, s.quote]),
      [[';', "'"]],
    );
    const json = base
      .replace('format: csv', 'format: json')
      .replace('    path: hr.csv', '    path: hr.json\n    delimiter: ";"');
    assert.deepEqual(errors(json), [
      'tenure.yaml:7:5: source "hr": delimiter applies to CSV feeds only, and this one is json',
    ]);
    assert.deepEqual(errors(base.replace('    path: hr.csv', '    path: hr.csv\n    quote: "<<"')).slice(0, 1), [
      'tenure.yaml:7:12: sources.0.quote: a quote is one character',
    ]);
    assert.deepEqual(errors(base.replace('    path: hr.csv', "    path: hr.csv\n    delimiter: '\";'")), [
      'tenure.yaml:7:16: source "hr": the delimiter "\\";" contains the quote character "\\""',
    ]);
  });

  it('reports every problem at once, not only the first', () => {
    const text = base
      .replace('identity.department ==', 'identity.departmnt ==')
      .replace('inherits: [engineer]', 'inherits: [nobody]')
      .replace('    risk: critical', '    risk: critical\n    colour: red');
    assert.equal(errors(text).length, 3);
  });

  it('points inside a block-scalar rule at the offending line', () => {
    const text = base.replace(
      'when: identity.grade >= 9 && "admin" in identity.clearances',
      'when: |\n      identity.grade >= 9 &&\n        identity.nope == "x"',
    );
    const got = errors(text);
    assert.ok(
      got.some((g) => g.startsWith('tenure.yaml:31:18: role "admin": identity has no attribute "nope"')),
      got.join('\n'),
    );
  });

  it('warns about an inline secret and accepts a reference', () => {
    const inline = loadPolicy(
      base.replace('    kind: memory', '    kind: memory\n    connection: { password: hunter2 }'),
      'tenure.yaml',
    );
    assert.ok(inline.result, 'an inline secret is a warning, not an error');
    assert.deepEqual(
      inline.diagnostics.map((d) => [d.severity, d.code]),
      [['warning', 'policy.inline_secret']],
    );
    const ref = loadPolicy(
      base.replace('    kind: memory', '    kind: memory\n    connection: { password: { env: DIR_PASSWORD } }'),
      'tenure.yaml',
    );
    assert.deepEqual(ref.diagnostics, []);
  });

  it('refuses a malformed secret reference', () => {
    const text = base.replace(
      '    kind: memory',
      '    kind: memory\n    connection: { password: { env: DIR_PASSWORD, file: /run/secret } }',
    );
    assert.deepEqual(errors(text), ['tenure.yaml:17:29: targets.0.connection.password is not a secret reference']);
  });

  it('compiles target attribute expressions and reports their errors with positions', () => {
    const ok = loadPolicy(
      base.replace('    kind: memory', '    kind: memory\n    attributes: { mail: identity.department }'),
      'tenure.yaml',
    );
    assert.ok(ok.result?.accountAttributes.get('directory')?.has('mail'));
    const bad = errors(base.replace('    kind: memory', '    kind: memory\n    attributes: { mail: identity.grade }'));
    assert.deepEqual(bad, [
      'tenure.yaml:17:25: target "directory" attribute mail: the expression must give a string, but it gives int',
    ]);
  });

  it('hints at the closest attribute name', () => {
    const r = loadPolicy(base.replace('identity.department ==', 'identity.departmnt =='), 'tenure.yaml');
    assert.equal(r.diagnostics[0]!.hint, 'did you mean "department"?');
  });

  it('refuses an attribute named like a built-in field', () => {
    assert.ok(
      errors(base.replace('      grade: { field: grade, type: int }', '      kind: { field: grade, type: int }')).some(
        (e) => e.includes('has the name of a built-in identity field'),
      ),
    );
  });

  it('refuses attributes declared with two types in two sources', () => {
    const text = base.replace(
      'targets:',
      `  - id: extra
    format: json
    path: extra.json
    key: id
    kind: { constant: contractor }
    attributes:
      grade: { field: grade, type: string }
targets:`,
    );
    assert.ok(
      errors(text).some((e) => e.includes('attribute "grade" is string in source "extra" but int in source "hr"')),
    );
  });

  it('refuses a YAML alias bomb with a positioned error instead of throwing', () => {
    // "Billion laughs": each level repeats the one before nine times.
    const levels = ['      - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= 9; i++)
      levels.push(
        `      - &l${i} [${Array(9)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const text = base.replace('  - id: directory\n', `  - id: directory\n    laughs:\n${levels.join('\n')}\n`);
    const r = loadPolicy(text, 'tenure.yaml');
    assert.equal(r.result, undefined);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.code, d.position && formatPosition(d.position)]),
      // Line 19 holds &l2, the first list of aliases of a list that holds aliases.
      [['error', 'policy.yaml_aliases', 'tenure.yaml:19:14']],
    );
    assert.match(r.diagnostics[0]!.message, /YAML aliases expand too far.*\*l1/);
    assert.ok(r.diagnostics[0]!.hint);
  });

  it('still accepts an anchor repeated by many roles', () => {
    const many = Array.from(
      { length: 300 },
      (_, i) => `  - id: team${i}\n    when: identity.department == "T${i}"\n    grants: *eng`,
    );
    const text =
      base.replace('grants: [directory:group/engineering]', 'grants: &eng [directory:group/engineering]') +
      many.join('\n') +
      '\n';
    const r = loadPolicy(text, 'tenure.yaml');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.result?.policy.roles.find((x) => x.id === 'team299')?.grants, ['directory:group/engineering']);
  });

  it('refuses a negative or fractional min_disabled_days at its line, and defaults it to 7', () => {
    for (const bad of ['-3', '1.5']) {
      const found = errors(base + `policies:\n  leaver:\n    min_disabled_days: ${bad}\n`);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0]!, /^tenure\.yaml:34:24: policies\.leaver\.min_disabled_days: expected /);
    }
    assert.equal(loadPolicy(base, 'tenure.yaml').result?.policy.policies.leaver.minDisabledDays, 7);
  });

  it('reports an alias without an anchor at the alias', () => {
    assert.deepEqual(errors(base.replace('grants: [directory:group/admins]', 'grants: *admins')), [
      'tenure.yaml:30:13: Unresolved alias (the anchor must be set before the alias): admins',
    ]);
  });

  it('refuses a rule beyond the evaluation budget at the nested comprehension, with a hint', () => {
    const r = loadPolicy(
      base.replace(
        'when: identity.grade >= 9 && "admin" in identity.clearances',
        'when: identity.clearances.all(a, identity.clearances.all(b, identity.clearances.exists(c, c == a)))',
      ),
      'tenure.yaml',
    );
    assert.equal(r.result, undefined);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.position && formatPosition(d.position), d.message]),
      [
        [
          'policy.rule_nesting',
          'tenure.yaml:29:65',
          'role "admin": comprehensions nest 3 deep (exists inside all inside all); at most 2 are allowed',
        ],
      ],
    );
    assert.match(r.diagnostics[0]!.hint ?? '', /multiplies the work per identity/);
  });
});
