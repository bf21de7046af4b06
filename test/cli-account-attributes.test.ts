import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { hr, org, people, policy } from './org-fixture.js';

// Accounts change, not only appear and go: the attributes the policy computes for a target
// (targets[].attributes) are set at create and updated when the source changes them.
describe('account attributes', () => {
  const o = org(people(3));
  writeFileSync(
    join(o.dir, 'tenure.yaml'),
    policy.replace(
      '    kind: memory',
      '    kind: csv\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }\n    attributes:\n      displayName: identity.id + " (" + identity.title + ")"',
    ),
  );
  const accounts = () =>
    parse<{ name: string; displayName: string }>(readFileSync(join(o.dir, 'out/accounts.csv')), { columns: true });

  it('sets them at create and updates an account whose source changed', async () => {
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    assert.equal((await o.run('--as-of', '2026-11-01', 'apply')).code, 0);
    assert.deepEqual(
      accounts().map((a) => a.displayName),
      ['E001 (Developer)', 'E002 (Developer)', 'E003 (Developer)'],
    );
    const rows = people(3);
    rows[1] = rows[1]!.replace('Developer', 'Staff Developer');
    o.write(hr(rows));
    assert.equal((await o.run('--as-of', '2026-11-02', 'import')).code, 0);
    const drift = JSON.parse((await o.run('--as-of', '2026-11-02', '--json', 'drift')).stdout) as {
      drift: { findings: { code: string; subject: string }[] };
    };
    assert.deepEqual(
      drift.drift.findings.filter((f) => f.code === 'drift.attribute_mismatch').map((f) => f.subject),
      ['account:directory/E002'],
    );
    const plan = await o.run('--as-of', '2026-11-02', 'plan');
    assert.match(plan.stdout, /E002: update account — displayName: "E002 \(Developer\)" → "E002 \(Staff Developer\)"/);
    const applied = await o.run('--as-of', '2026-11-02', 'apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /account E002 in directory: updated/);
    assert.equal(accounts().find((a) => a.name === 'E002')?.displayName, 'E002 (Staff Developer)');
    const again = JSON.parse((await o.run('--as-of', '2026-11-02', '--json', 'plan')).stdout) as {
      plan: { summary: { changes: number } };
    };
    assert.equal(again.plan.summary.changes, 0, 'converged');
  });
});
