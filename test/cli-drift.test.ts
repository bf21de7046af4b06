import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { org, people, policy } from './org-fixture.js';

// `tenure drift` end to end against a memory target kept in a snapshot file: the report, its JSON,
// and a remediation plan that `tenure apply` carries out under the usual guardrails.

interface SnapshotAccount {
  id: string;
  name: string;
  identity?: string;
  enabled: boolean;
  entitlements: string[];
}

interface DriftJson {
  ok: boolean;
  drift: {
    findings: { code: string; severity: string; subject: string; message: string }[];
    targets: { target: string; accounts: number; byCode: Record<string, number> }[];
    summary: { findings: number; bySeverity: Record<string, number> };
  };
  remediation?: { summary: { changes: number } };
}

const staff = 'directory:group/staff';
const engineering = 'directory:group/engineering';
const finance = 'directory:group/finance';

function linked(id: string, groups: string[], enabled = true): SnapshotAccount {
  return { id: `uid=${id}`, name: id, identity: id, enabled, entitlements: groups };
}

/** The org fixture with its directory kept in directory.json, holding these accounts. */
function drifted(rows: string[], accounts: SnapshotAccount[]) {
  const o = org(rows);
  writeFileSync(
    join(o.dir, 'tenure.yaml'),
    policy.replace('    kind: memory', '    kind: memory\n    connection: { snapshot: directory.json }'),
  );
  writeFileSync(join(o.dir, 'directory.json'), JSON.stringify({ accounts }, null, 2));
  const snapshot = () =>
    (JSON.parse(readFileSync(join(o.dir, 'directory.json'), 'utf8')) as { accounts: SnapshotAccount[] }).accounts;
  const run = (...args: string[]) => o.run('--as-of', '2026-11-01', ...args);
  return { ...o, run, snapshot };
}

const rows = [
  'E001,Employee,Active,Engineering,Developer,2024-01-01,',
  'E002,Employee,Active,Finance,Accountant,2024-01-01,',
  'E003,Employee,Terminated,Engineering,Developer,2024-01-01,2026-10-01',
  'E004,Employee,Active,Engineering,Developer,2024-01-01,',
];
const accounts = [
  linked('E001', [staff, engineering, finance]),
  linked('E003', [staff, engineering]),
  linked('E004', [staff]),
  { id: 'uid=ghost', name: 'ghost', enabled: true, entitlements: [finance] },
  { id: 'uid=retired', name: 'retired', enabled: false, entitlements: [] },
];

describe('tenure drift', () => {
  it('reports each difference by class, with counts per target', async () => {
    const o = drifted(rows, accounts);
    const r = await o.run('drift');
    assert.equal(r.code, 0, 'reporting drift is not a failure');
    assert.match(r.stdout, /^class\s+directory\s+total$/m);
    assert.match(r.stdout, /^terminated_enabled\s+1\s+1$/m);
    assert.match(r.stdout, /^orphan_account\s+1\s+1$/m);
    assert.match(r.stdout, /^missing_account\s+1\s+1$/m);
    assert.match(r.stdout, /^missing_grant\s+1\s+1$/m);
    assert.match(r.stdout, /^unmanaged_grant\s+1\s+1$/m);
    assert.match(
      r.stdout,
      /critical account:directory\/E003 {2}E003 is terminated, but account E003 in directory is still enabled, with 2 managed membership\(s\)/,
    );
    assert.match(
      r.stdout,
      /account:directory\/ghost {2}account ghost in directory is enabled and no identity explains it/,
    );
    assert.match(r.stdout, /1 disabled account\(s\) no identity explains: no access/);
    assert.match(r.stdout, /^5 finding\(s\): 1 critical, 2 medium, 2 low\./m);
    assert.deepEqual(o.snapshot(), accounts, 'reporting changes nothing');
  });

  it('prints one JSON document for scripts, and fails only with --fail-on', async () => {
    const o = drifted(rows, accounts);
    const r = await o.run('--json', 'drift');
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout) as DriftJson;
    assert.deepEqual(
      doc.drift.findings.map((f) => [f.code, f.severity, f.subject]),
      [
        ['drift.terminated_enabled', 'critical', 'account:directory/E003'],
        ['drift.missing_account', 'medium', 'account:directory/E002'],
        ['drift.orphan_account', 'medium', 'account:directory/ghost'],
        ['drift.missing_grant', 'low', 'account:directory/E004'],
        ['drift.unmanaged_grant', 'low', 'account:directory/E001'],
      ],
    );
    assert.equal(doc.drift.targets[0]!.accounts, 5);
    assert.equal(doc.remediation, undefined, 'the default only reports');

    const failing = await o.run('drift', '--fail-on', 'critical');
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /1 finding\(s\) at or above critical: failing/);
    assert.equal((await o.run('drift', '--fail-on', 'high', '--target', 'directory')).code, 1);
    assert.equal((await o.run('--json', 'drift', '--fail-on', 'critical')).code, 1);
  });

  it('refuses bad arguments before reading anything', async () => {
    const o = drifted(rows, accounts);
    const severity = await o.run('drift', '--fail-on', 'urgent');
    assert.equal(severity.code, 2);
    assert.match(severity.stderr, /--fail-on takes one of info, low, medium, high, critical, not "urgent"/);
    const out = await o.run('drift', '--out', join(o.dir, 'x.json'));
    assert.equal(out.code, 2);
    assert.match(out.stderr, /hint: add --remediate/);
    const target = await o.run('drift', '--target', 'directry');
    assert.equal(target.code, 1);
    assert.match(target.stderr, /--target directry: the policy declares no such target/);
    assert.match(target.stderr, /directory/);
  });

  it('remediates through a saved plan that tenure apply carries out, until drift is clean', async () => {
    const o = drifted(rows, accounts);
    const file = join(o.dir, 'remediation.json');
    const made = await o.run('drift', '--remediate', '--out', file);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /remediation plan saved to .*remediation\.json; review it, then: tenure apply/);
    assert.match(made.stdout, /- ghost: disable account — no identity explains this account/);
    const plan = JSON.parse(readFileSync(file, 'utf8')) as {
      formatVersion: number;
      stateHash: string;
      targets: { changes: { action: string; account: string; identity?: string }[] }[];
    };
    assert.equal(plan.formatVersion, 1);
    assert.match(plan.stateHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      plan.targets[0]!.changes.map((c) => `${c.account} ${c.action}`),
      [
        'E001 remove_membership',
        'E002 create_account',
        'E002 add_membership',
        'E002 add_membership',
        'E003 remove_membership',
        'E003 remove_membership',
        'E003 disable_account',
        'E004 add_membership',
        'ghost disable_account',
      ],
    );

    const applied = await o.run('apply', file);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^account ghost in directory: disabled$/m);
    const after = o.snapshot();
    assert.equal(after.find((a) => a.name === 'ghost')!.enabled, false);
    assert.deepEqual(
      after.find((a) => a.name === 'ghost')!.entitlements,
      [finance],
      'an orphan is disabled, not emptied',
    );
    assert.equal(after.find((a) => a.name === 'E003')!.enabled, false);

    const again = await o.run('--json', 'drift', '--remediate');
    assert.equal(again.code, 0);
    const doc = JSON.parse(again.stdout) as DriftJson;
    assert.deepEqual(doc.drift.findings, [], 'a second drift run is clean');
    assert.equal(doc.remediation!.summary.changes, 0);
    assert.match((await o.run('drift')).stdout, /No drift: every account is explained and matches the policy\./);
    assert.equal((await o.run('apply', file)).code, 3, 'the applied remediation is stale now');
  });

  it('is held back by the deprovisioning breaker like any plan', async () => {
    // 30 people in sync and 20 enabled orphans: disabling them all is 40% of 50 accounts at once.
    const team = people(30);
    const orphans = Array.from({ length: 20 }, (_, i) => ({
      id: `uid=old${i}`,
      name: `old${i}`,
      enabled: true,
      entitlements: [staff],
    }));
    const o = drifted(team, [...team.map((row) => linked(row.split(',')[0]!, [staff, engineering])), ...orphans]);
    const report = await o.run('drift');
    assert.match(report.stdout, /^orphan_account\s+20\s+20$/m);
    const file = join(o.dir, 'remediation.json');
    const made = await o.run('drift', '--remediate', '--out', file);
    assert.equal(made.code, 0);
    assert.match(
      made.stdout,
      /BLOCKED: a person must allow this plan before it is applied\.\n\s+deprovisioning breaker: 20 of 50 account\(s\) in directory \(40%\) would lose access at once/,
    );
    const blocked = await o.run('apply', file);
    assert.equal(blocked.code, 3);
    assert.match(blocked.stderr, /the deprovisioning breaker holds the plan back/);
    assert.ok(
      o.snapshot().every((a) => a.enabled),
      'nothing was disabled',
    );
    const noReason = await o.run('apply', file, '--allow-deprovision', '20');
    assert.equal(noReason.code, 2, 'an override needs a reason');
    assert.match(noReason.stderr, /--allow-deprovision .*say why with --reason/);
    assert.ok(
      o.snapshot().every((a) => a.enabled),
      'nothing was disabled',
    );
    const allowed = await o.run(
      '--as',
      'E000001',
      'apply',
      file,
      '--allow-deprovision',
      '20',
      '--reason',
      'orphans found by the quarterly drift review',
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    // The flag is recorded as a person's approval, exactly like tenure approve deprovision.
    const approvals = (await o.run('audit', 'export')).stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; actor: string; reason: string; details: { actorSource?: string } })
      .filter((r) => r.action === 'approval.deprovision');
    assert.deepEqual(
      approvals.map((a) => [a.actor, a.reason, a.details.actorSource]),
      [['E000001', 'orphans found by the quarterly drift review', 'flag']],
    );
    assert.equal(o.snapshot().filter((a) => !a.enabled).length, 20);
    assert.equal((JSON.parse((await o.run('--json', 'drift')).stdout) as DriftJson).drift.summary.findings, 0);
  });
});
