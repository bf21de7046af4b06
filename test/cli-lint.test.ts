import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';
import { org, people } from './org-fixture.js';

// `tenure lint` as a user and a CI job see it: grouped text, JSON, and --fail-on exit codes.
// A state file that does not exist keeps the example read from its feeds, whatever the working folder holds.
const acme = (): string[] => [
  '-c',
  'examples/acme/tenure.yaml',
  '--as-of',
  '2026-11-01',
  '--state',
  join(folder({}), 'state.db'),
];

interface LintJson {
  ok: boolean;
  total: number;
  counts: Record<string, number>;
  failOn?: string;
  failing?: number;
  findings: { code: string; severity: string; subject: string; message: string; related?: string[] }[];
}

describe('tenure lint', () => {
  it('finds the hidden separation-of-duties problem in examples/acme, grouped by severity', async () => {
    const r = await tenure(...acme(), 'lint');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^CRITICAL \(1\)\n {2}sod\.identity_conflict {2}identity:E000031\n/m);
    assert.match(
      r.stdout,
      /E000031 holds apps:role\/erp-payment-approve \(role finance-payments-approver\) and apps:role\/erp-payment-create \(role finance-payments-clerk\) \(rule payments-create-approve\)/,
    );
    // The orphaned non-human identities from the README, and the role without a technical owner.
    assert.match(r.stdout, /key-salesforce-export's owner E000136 is terminated/);
    assert.match(r.stdout, /svc-backup-nightly's owner E000099 is terminated/);
    assert.match(r.stdout, /role\.no_technical_owner {2}role:leadership {2}\(examples\/acme\/tenure\.yaml:\d+:5\)/);
    assert.match(r.stdout, /entitlement warehouse:role\/sysadmin \(critical\) is declared but no role grants it/);
    assert.match(r.stdout, /^\d+ findings: 1 critical, 2 high, \d+ medium, \d+ low, \d+ info\.$/m);
    // Groups come most severe first.
    const order = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'].map((h) => r.stdout.indexOf(`${h} (`));
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    assert.ok(order.every((i) => i >= 0));
  });

  it('prints findings and counts as JSON', async () => {
    const r = await tenure(...acme(), '--json', 'lint');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as LintJson;
    assert.equal(json.ok, true);
    assert.equal(json.total, json.findings.length);
    assert.equal(
      Object.values(json.counts).reduce((a, b) => a + b, 0),
      json.total,
    );
    assert.equal(json.counts.critical, 1);
    const sod = json.findings.find((f) => f.code === 'sod.identity_conflict');
    assert.deepEqual(sod && { subject: sod.subject, severity: sod.severity, related: sod.related }, {
      subject: 'identity:E000031',
      severity: 'critical',
      related: ['role:finance-payments-approver', 'role:finance-payments-clerk'],
    });
    // Every finding says why and how to fix it.
    assert.ok(json.findings.every((f) => f.message && 'why' in f && 'fix' in f));
  });

  it('exits 1 when a finding is at or above --fail-on, and 0 below it', async () => {
    const critical = await tenure(...acme(), 'lint', '--fail-on', 'critical');
    assert.equal(critical.code, 1);
    assert.match(critical.stdout, /1 finding\(s\) at or above critical: failing \(--fail-on critical\)\./);
    const json = JSON.parse((await tenure(...acme(), '--json', 'lint', '--fail-on', 'high')).stdout) as LintJson;
    assert.deepEqual([json.ok, json.failOn, json.failing], [false, 'high', 3]);

    // A small organisation whose worst findings are roles without owners (medium).
    const o = org(people(3));
    const medium = await o.run('--as-of', '2026-11-01', 'lint', '--fail-on', 'medium');
    assert.equal(medium.code, 1, medium.stdout);
    const high = await o.run('--as-of', '2026-11-01', 'lint', '--fail-on', 'HIGH');
    assert.equal(high.code, 0, high.stdout);
    assert.match(high.stdout, /nothing at or above high: passing/);
    assert.match(high.stdout, /role finance's rule holds for nobody who receives access/);
  });

  it('refuses an unknown severity as a usage error listing the severities', async () => {
    const r = await tenure(...acme(), 'lint', '--fail-on', 'severe');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--fail-on takes one of info, low, medium, high, critical, not "severe"/);
    const limit = await tenure(...acme(), 'lint', '--limit', '0');
    assert.equal(limit.code, 2);
  });

  it('shows at most --limit findings per severity', async () => {
    const r = await tenure(...acme(), 'lint', '--limit', '1');
    assert.equal(r.code, 0);
    const medium = r.stdout.slice(r.stdout.indexOf('MEDIUM ('), r.stdout.indexOf('LOW ('));
    assert.equal(medium.match(/^ {2}[a-z]+\.[a-z_]+ {2}/gm)?.length, 1, medium);
    assert.match(medium, /\.\.\. and \d+ more medium \(--limit N or --json for all\)/);
  });

  it('reads exceptions and identities from the store once imported', async () => {
    const dir = folder({});
    const run = (...args: string[]) =>
      tenure('-c', 'examples/acme/tenure.yaml', '--state', join(dir, 'state.db'), '--as-of', '2026-11-01', ...args);
    assert.equal((await run('import')).code, 0);
    const add = await run(
      'grant',
      'add',
      'E000078',
      'apps:role/erp-payment-approve',
      '--until',
      '2026-11-20',
      '--reason',
      'covering approvals during the close',
      '--approver',
      'E000011',
    );
    assert.equal(add.code, 0, add.stderr);
    const json = JSON.parse((await run('--json', 'lint')).stdout) as LintJson;
    const clerk = json.findings.find((f) => f.subject === 'identity:E000078');
    assert.equal(clerk?.code, 'sod.identity_conflict');
    assert.deepEqual(clerk.related, ['role:finance-payments-clerk', 'exception:1']);
    assert.match(clerk.message, /apps:role\/erp-payment-approve \(exception #1\)/);
  });
});
