import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { folder, tenure } from './cli-harness.js';
import { hr, policy } from './org-fixture.js';

const csvTarget = '    kind: csv\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }\n';
const guardrails = 'policies:\n  guardrails:\n    mass_leaver: { max_percent: 10, min_count: 2, max_count: 500 }\n';

// Records pushed into a source in its own field names (`tenure records`, the command line's side of the service's
// records API): only the touched identities change, their events are recorded and audited, and with --apply their
// access follows at once. A record that fails validation records nothing; too many leavers at once are held back.
describe('tenure records push and remove', () => {
  const setup = async () => {
    const dir = folder({
      'tenure.yaml': policy.replace('    kind: memory\n', csvTarget) + guardrails,
      'hr.csv': hr(
        Array.from(
          { length: 12 },
          (_, i) => `E${String(i + 1).padStart(3, '0')},Employee,Active,Finance,Accountant,2024-01-01,`,
        ),
      ),
    });
    const run = (...args: string[]) =>
      tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-01', ...args);
    assert.equal((await run('import')).code, 0);
    const applied = await run('apply');
    assert.equal(applied.code, 0, applied.stderr);
    const push = (name: string, records: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(records));
      return join(dir, name);
    };
    const accounts = () =>
      parse<{ name: string; enabled: string }>(readFileSync(join(dir, 'out', 'accounts.csv')), { columns: true });
    const memberships = (who: string) =>
      parse<{ account: string; entitlement: string }>(readFileSync(join(dir, 'out', 'memberships.csv')), {
        columns: true,
      })
        .filter((m) => m.account === who)
        .map((m) => m.entitlement)
        .sort();
    const events = async () =>
      (JSON.parse((await run('--json', 'events')).stdout) as { events: { kind: string; identity: string }[] }).events;
    return { dir, run, push, accounts, memberships, events };
  };
  const record = (id: string, department: string, status = 'Active', end = '') => ({
    employee_id: id,
    worker_type: 'Employee',
    status,
    department,
    title: 'Developer',
    start_date: '2024-01-01',
    end_date: end,
  });

  it('a joiner and a mover pushed with --apply: their access follows at once, nobody else is touched', async () => {
    const t = await setup();
    const file = t.push('changes.json', { records: [record('E100', 'Engineering'), record('E002', 'Engineering')] });
    const r = await t.run('records', 'push', 'hr', file, '--apply');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^source hr: 2 new or changed, 0 gone; 1 joiner, 1 mover$/m);
    assert.match(r.stdout, /^account E100 in directory: created$/m);
    assert.match(r.stdout, /^account E002 in directory: added to directory:group\/engineering$/m);
    assert.deepEqual(t.memberships('E100'), ['directory:group/engineering', 'directory:group/staff']);
    assert.deepEqual(t.memberships('E002'), ['directory:group/engineering', 'directory:group/staff']);
    assert.deepEqual(t.memberships('E003'), ['directory:group/finance', 'directory:group/staff'], 'untouched');
    const after = JSON.parse((await t.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
    assert.equal(after.plan.summary.changes, 0, 'the full plan has nothing left: the push converged');
    const audit = (await t.run('audit', 'export')).stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; reason: string });
    assert.ok(
      audit.some(
        (a) => a.action === 'import.pushed' && /2 record\(s\) pushed, 0 removed: 1 joiner, 1 mover/.test(a.reason),
      ),
    );
    assert.equal((await t.run('audit', 'verify')).code, 0);
  });

  it('a record that fails validation records nothing, naming the record and the field', async () => {
    const t = await setup();
    const before = (await t.events()).length;
    const bad = { ...record('E200', 'Engineering'), department: '' };
    const file = t.push('bad.json', [record('E201', 'Engineering'), bad, 'not a record']);
    const r = await t.run('records', 'push', 'hr', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /problem\(s\) in the records; nothing was recorded/);
    assert.match(r.stderr, /record 2.*department/);
    assert.match(r.stderr, /record 3 is not an object of fields/);
    assert.equal((await t.events()).length, before, 'no event recorded');
    writeFileSync(join(t.dir, 'broken.json'), '{ "records": [');
    const broken = await t.run('records', 'push', 'hr', join(t.dir, 'broken.json'));
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /broken\.json is not JSON/);
    const shape = await t.run('records', 'push', 'hr', t.push('shape.json', { rows: [] }));
    assert.equal(shape.code, 1);
    assert.match(shape.stderr, /expected a JSON array of records, or \{"records": \[\.\.\.\]\}/);
    assert.equal((await t.events()).length, before, 'still no event recorded');
    const unknown = await t.run('records', 'push', 'hrr', file);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /source "hrr" is not declared in the policy[\s\S]*did you mean "hr"\?/);
  });

  it('a removed key is a leaver: disabled with --apply; too many leavers at once are held back whole', async () => {
    const t = await setup();
    const r = await t.run('records', 'remove', 'hr', 'E001', '--apply');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^source hr: 0 new or changed, 1 gone; 1 leaver$/m);
    assert.equal(t.accounts().find((a) => a.name === 'E001')?.enabled, 'false');
    assert.deepEqual(t.memberships('E001'), []);
    const gone = await t.run('records', 'remove', 'hr', 'E999');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /source "hr" holds no identity "E999": nothing to remove/);
    // Three of eleven leaving at once passes the breaker's 10% (at least 2).
    const many = t.push(
      'terminated.json',
      ['E002', 'E003', 'E004'].map((id) => record(id, 'Finance', 'Terminated', '2026-10-30')),
    );
    const held = await t.run('records', 'push', 'hr', many, '--apply');
    assert.equal(held.code, 3, held.stderr);
    assert.match(held.stderr, /STOPPED, nothing recorded\. .*tenure approve leavers 3 --source hr/);
    assert.ok(t.accounts().filter((a) => a.enabled === 'true').length >= 11, 'nobody was disabled');
    assert.equal((await t.run('approve', 'leavers', '3', '--source', 'hr', '--reason', 'restructuring')).code, 0);
    const again = await t.run('records', 'push', 'hr', many, '--apply');
    assert.equal(again.code, 0, again.stderr);
    for (const id of ['E002', 'E003', 'E004'])
      assert.equal(t.accounts().find((a) => a.name === id)?.enabled, 'false', id);
  });
});
