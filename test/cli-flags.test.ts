import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

// A typo in a flag must never switch a guardrail off or change anything: every bad value is a
// usage error (exit 2) naming the flag and what it accepts, and the store and targets stay as
// they were (here: no store is created, the target snapshot is untouched).
const policy = `version: 1
name: Flags
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: directory
    kind: memory
    connection: { snapshot: directory.json }
entitlements:
  - id: directory:group/engineering
roles:
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
`;
const csv = 'employee_id,department,status\nE1,Engineering,Active\nE2,Sales,Active\n';
const snapshot = '{ "accounts": [] }\n';

const cases: readonly (readonly [args: readonly string[], expect: RegExp])[] = [
  [['apply', '--allow-deprovision', 'abc'], /--allow-deprovision takes a whole number from 1 to/],
  [['apply', '--allow-deprovision', '-3'], /--allow-deprovision takes a whole number from 1 to/],
  [['apply', '--allow-deprovision', '1e3'], /--allow-deprovision takes a whole number/],
  [['apply', '--concurrency', 'abc'], /--concurrency takes a whole number from 1 to 256/],
  [['apply', '--concurrency', '0'], /--concurrency takes a whole number from 1 to 256/],
  [['apply', '--rate', '0'], /--rate takes a number greater than 0/],
  [['apply', '--rate', 'fast'], /--rate takes a number greater than 0/],
  [['apply', '--limit', '-5'], /--limit takes a whole number from 0 to/],
  [['apply', '--reason', '  '], /--reason cannot be empty/],
  [['import', '--approve-leavers', 'abc'], /--approve-leavers takes a whole number from 1 to/],
  [['import', '--approve-leavers', '0x10'], /--approve-leavers takes a whole number/],
  [['--as-of', '99999-01-01', 'import'], /--as-of takes a date, not "99999-01-01"/],
  [['--as-of', '2999-01-01', 'import'], /--as-of 2999-01-01 is out of range/],
  [['--as-of', '1899-12-31', 'import'], /--as-of 1899-12-31 is out of range/],
  [['--as-of', '2026-02-30', 'import'], /--as-of takes a date, not "2026-02-30"/],
  [['--as-of', '2026-11-01T09:00', 'import'], /--as-of takes a date/],
  [['--as', '', 'import'], /--as cannot be empty/],
  [['events', '--since', 'notadate'], /--since takes a date, not "notadate"/],
  [['events', '--limit', '2.5'], /--limit takes a whole number/],
  [['lint', '--fail-on', 'hihg'], /--fail-on takes one of info, low, medium, high, critical/],
  [['drift', '--fail-on', 'severe'], /--fail-on takes one of/],
  [['drift', '--limit', '0'], /--limit takes a whole number from 1/],
  [['who-has', 'directory:group/engineering', '--limit', 'all'], /--limit takes a whole number/],
  [['plan', '--limit', 'ten'], /--limit takes a whole number/],
  [['impact', '--base', 'tenure.yaml', '--limit', '-1'], /--limit takes a whole number/],
  [['demo', '--people', 'many'], /--people takes a whole number/],
  [['demo', 'generate', '--seed', '-1'], /--seed takes a whole number/],
];

describe('flags are parsed at the edge', () => {
  for (const [args, expect] of cases) {
    it(`tenure ${args.join(' ')} exits 2 naming the flag, and changes nothing`, async () => {
      const dir = folder({ 'tenure.yaml': policy, 'hr.csv': csv, 'directory.json': snapshot });
      const before = readdirSync(dir).sort();
      const r = await tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expect);
      assert.equal(existsSync(join(dir, 'state.db')), false, 'no store was created');
      assert.deepEqual(readdirSync(dir).sort(), before, 'no file was written');
      assert.equal(readFileSync(join(dir, 'directory.json'), 'utf8'), snapshot, 'the target is untouched');
    });
  }

  it('accepts a timestamp with its zone and a plain day', async () => {
    const dir = folder({ 'tenure.yaml': policy, 'hr.csv': csv, 'directory.json': snapshot });
    for (const asOf of ['2026-11-01', '2026-11-01T09:30:00Z', '2026-11-01T09:30:00+02:00']) {
      const r = await tenure('-c', join(dir, 'tenure.yaml'), '--as-of', asOf, '--json', 'plan');
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { plan: { asOf: string } };
      assert.equal(doc.plan.asOf, new Date(asOf.length === 10 ? `${asOf}T00:00:00Z` : asOf).toISOString());
    }
  });
});
