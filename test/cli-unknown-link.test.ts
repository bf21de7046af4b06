import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { org, policy } from './org-fixture.js';

// An account whose link names an identity Tenure never imported (written by another system) is
// not a leaver's: plan and apply leave it alone, drift reports it, and only a drift remediation
// disables it. An identity Tenure imported and that then left is still deprovisioned, and an
// account Tenure adopts by its name is shown in the plan.

interface SnapshotAccount {
  id: string;
  name: string;
  identity?: string;
  enabled: boolean;
  entitlements: string[];
}

const staff = 'directory:group/staff';
const engineering = 'directory:group/engineering';
const finance = 'directory:group/finance';

const ada = 'E001,Employee,Active,Engineering,Developer,2024-01-01,';
const bea = 'E002,Employee,Active,Finance,Accountant,2024-01-01,';
const cal = 'E005,Employee,Active,Engineering,Developer,2024-01-01,';

const accounts: SnapshotAccount[] = [
  { id: 'uid=E001', name: 'E001', identity: 'E001', enabled: true, entitlements: [staff, engineering] },
  // No link: Tenure did not create it; its name is E002's account name, so E002 adopts it.
  { id: 'uid=E002', name: 'E002', enabled: true, entitlements: [staff, 'directory:group/vpn'] },
  { id: 'uid=E005', name: 'E005', identity: 'E005', enabled: true, entitlements: [staff, engineering] },
  // Linked by another system to an id no source of Tenure's ever had.
  { id: 'uid=ext', name: 'ext', identity: 'E9999', enabled: true, entitlements: [staff, finance] },
];

function world() {
  const o = org([ada, bea, cal]);
  writeFileSync(
    join(o.dir, 'tenure.yaml'),
    policy.replace('    kind: memory', '    kind: memory\n    connection: { snapshot: directory.json }'),
  );
  writeFileSync(join(o.dir, 'directory.json'), JSON.stringify({ accounts }, null, 2));
  const snapshot = () =>
    (JSON.parse(readFileSync(join(o.dir, 'directory.json'), 'utf8')) as { accounts: SnapshotAccount[] }).accounts;
  const account = (name: string) => snapshot().find((a) => a.name === name)!;
  const run = (...args: string[]) => o.run('--as-of', '2026-11-01', ...args);
  return { ...o, run, snapshot, account };
}

describe('an account linked to an identity Tenure never imported', () => {
  it('is left alone by plan and apply, reported by drift, and disabled only by a remediation', async () => {
    const o = world();
    assert.equal((await o.run('import')).code, 0);
    // E005 leaves the feed: Tenure imported it, so it is a leaver.
    o.write([ada, bea]);
    const second = await o.run('import');
    assert.equal(second.code, 0, second.stderr);

    const plan = await o.run('plan');
    assert.equal(plan.code, 0, plan.stderr);
    assert.doesNotMatch(plan.stdout, /ext|E9999/, 'the plan says nothing about it');
    assert.match(plan.stdout, /- E005: disable account — E005 is no longer in any source/);
    assert.match(plan.stdout, /\(1 account\(s\) no identity explains: left alone; see drift\)/);
    assert.match(plan.stdout, /\(adopts 1 existing account\(s\) by name\)/);
    assert.match(
      plan.stdout,
      /= E002 \(E002\): adopted by name: E002 in directory records no identity and is the account_name of E002; enabled, holds directory:group\/staff, directory:group\/vpn/,
    );
    const json = JSON.parse((await o.run('--json', 'plan')).stdout) as {
      plan: { targets: { changes: { account: string }[]; adopted: { identity: string; entitlements: string[] }[] }[] };
    };
    const dir = json.plan.targets[0]!;
    assert.ok(!dir.changes.some((c) => c.account === 'ext'));
    assert.deepEqual(
      dir.adopted.map((a) => [a.identity, a.entitlements]),
      [['E002', [staff, 'directory:group/vpn']]],
    );

    const applied = await o.run('apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(o.account('ext'), accounts[3], 'still enabled, with its memberships');
    assert.equal(o.account('E005').enabled, false, 'the leaver is disabled');
    assert.deepEqual(o.account('E005').entitlements, []);

    const drift = await o.run('drift');
    assert.equal(drift.code, 0);
    assert.match(drift.stdout, /^unknown_link\s+1\s+1$/m);
    assert.match(
      drift.stdout,
      /medium {3}account:directory\/ext {2}account ext in directory is linked to identity E9999, which Tenure has never imported; no plan changes it; it holds directory:group\/staff, directory:group\/finance/,
    );
    assert.match(drift.stdout, /fix: correct the link .*tenure drift --remediate --out FILE/);
    assert.deepEqual(o.account('ext'), accounts[3], 'reporting changes nothing');

    const file = join(o.dir, 'remediation.json');
    const made = await o.run('drift', '--remediate', '--out', file);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /- ext: disable account — linked to an identity Tenure has never imported/);
    const fixed = await o.run('apply', file);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /^account ext in directory: disabled$/m);
    assert.deepEqual(o.account('ext'), { ...accounts[3], enabled: false }, 'disabled, not emptied');

    const after = await o.run('--json', 'drift');
    assert.deepEqual(
      (JSON.parse(after.stdout) as { drift: { findings: { code: string }[] } }).drift.findings.map((f) => f.code),
      ['drift.undeclared_entitlement'],
      'disabled, it is no longer a finding; only the adopted account’s undeclared group is left',
    );
  });
});
