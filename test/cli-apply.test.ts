import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { tenure } from './cli-harness.js';
import { hr, org, people, policy } from './org-fixture.js';

// `tenure apply` end to end: a saved plan is carried out through the connectors, a stale one is
// refused, and applying leaves the targets matching the policy.
describe('tenure apply', () => {
  it('applies a saved plan to the acme targets and converges', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-apply-'));
    cpSync('examples/acme', dir, { recursive: true });
    const run = (...args: string[]) =>
      tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-01', ...args);
    assert.equal((await run('import')).code, 0);
    const planned = await run('plan', '--out', join(dir, 'plan.json'));
    assert.equal(planned.code, 0, planned.stderr);
    const saved = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as {
      policyHash: string;
      stateHash: string;
      summary: { changes: number };
    };
    assert.match(saved.policyHash, /^[0-9a-f]{64}$/);
    assert.ok(saved.summary.changes > 50);
    const applied = await run('apply', join(dir, 'plan.json'), '--limit', '1000');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^account E000047 in apps: added to apps:role\/github-maintainer$/m);
    assert.match(applied.stdout, /^account E000136 in directory: disabled$/m);
    assert.match(applied.stdout, /^directory: \d+ done, 0 failed, 0 left for the next run$/m);
    const after = await run('--json', 'plan');
    assert.equal(
      (JSON.parse(after.stdout) as { plan: { summary: { changes: number } } }).plan.summary.changes,
      0,
      'the targets now match the policy',
    );
    const audit = (await run('audit', 'export')).stdout
      .split('\n')
      .map((l) => (JSON.parse(l) as { action: string }).action);
    assert.ok(
      audit.filter((a) => a.startsWith('operation.')).length === saved.summary.changes,
      'every operation applied is audited',
    );
    assert.equal((await run('audit', 'verify')).code, 0);
    const again = await run('apply', join(dir, 'plan.json'));
    assert.equal(again.code, 3, 'the saved plan is stale once applied');
    assert.match(again.stderr, /the plan .*plan\.json is stale: its changes are not what the policy calls for now/);
  });

  it('refuses a plan made under another policy', async () => {
    const o = org(people(2));
    const saved = join(o.dir, 'plan.json');
    assert.equal((await o.run('--as-of', '2026-11-01', 'plan', '--out', saved)).code, 0);
    writeFileSync(join(o.dir, 'tenure.yaml'), policy.replace('name: Import test', 'name: Changed'));
    const r = await o.run('--as-of', '2026-11-01', 'apply', saved);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /is stale: the policy changed since it was made/);
  });

  it('holds back a plan that would deprovision too much, until a person allows it', async () => {
    const o = org(people(30));
    writeFileSync(
      join(o.dir, 'tenure.yaml'),
      policy.replace(
        '    kind: memory',
        '    kind: csv\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }',
      ),
    );
    assert.equal((await o.run('--as-of', '2026-11-01', 'apply')).code, 0);
    // 18 of them leave (terminated in the feed; Tenure never imported them, so ids that simply
    // vanished from the feed would be unknown links, left alone).
    const leaving = people(30).map((row, i) => (i < 12 ? row : row.replace(',Active,', ',Terminated,')));
    writeFileSync(join(o.dir, 'hr.csv'), hr(leaving));
    const plan = await o.run('--as-of', '2026-11-02', 'plan');
    assert.match(
      plan.stdout,
      /BLOCKED: a person must allow this plan before it is applied\.\n\s+deprovisioning breaker: 18 of 30 account\(s\) in directory \(60%\) would lose access at once/,
    );
    const blocked = await o.run('--as-of', '2026-11-02', 'apply');
    assert.equal(blocked.code, 3);
    assert.match(blocked.stderr, /tenure apply --allow-deprovision 18/);
    const accounts = () =>
      parse<{ enabled: string }>(readFileSync(join(o.dir, 'out/accounts.csv'), 'utf8'), { columns: true }).filter(
        (a) => a.enabled === 'true',
      ).length;
    assert.equal(accounts(), 30, 'nothing was changed');
    const approve = await o.run(
      '--as-of',
      '2026-11-02',
      'approve',
      'deprovision',
      '18',
      '--target',
      'directory',
      '--reason',
      'the Lyon office closes',
    );
    assert.equal(approve.code, 0, approve.stderr);
    const allowed = await o.run('--as-of', '2026-11-02', 'apply');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(accounts(), 12);
  });

  it('writes accounts and memberships to a CSV target in one step', async () => {
    const o = org(people(3));
    writeFileSync(
      join(o.dir, 'tenure.yaml'),
      policy.replace(
        '    kind: memory',
        '    kind: csv\n    attributes: { displayName: \'identity.title + " (" + identity.department + ")"\' }\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }',
      ),
    );
    writeFileSync(join(o.dir, 'hr.csv'), hr(people(3)));
    const r = await o.run('--as-of', '2026-11-01', 'apply');
    assert.equal(r.code, 0, r.stderr);
    const accounts = parse<{ name: string; identity: string; enabled: string }>(
      readFileSync(join(o.dir, 'out/accounts.csv'), 'utf8'),
      { columns: true },
    );
    assert.equal((accounts[0] as unknown as { displayName: string }).displayName, 'Developer (Engineering)');
    assert.deepEqual(
      accounts.map((a) => [a.name, a.identity, a.enabled]),
      [
        ['E001', 'E001', 'true'],
        ['E002', 'E002', 'true'],
        ['E003', 'E003', 'true'],
      ],
    );
    const memberships = parse<{ account: string; entitlement: string }>(
      readFileSync(join(o.dir, 'out/memberships.csv'), 'utf8'),
      { columns: true },
    );
    assert.equal(memberships.length, 6);
    const second = await o.run('--as-of', '2026-11-01', 'apply');
    assert.match(second.stdout, /Nothing to apply: every target matches the policy\./);
  });
});
