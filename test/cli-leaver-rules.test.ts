import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';
import { hr, policy } from './org-fixture.js';

// The leaver rules end to end: events recorded by imports decide when the plan deletes a
// leaver's account and how long a mover keeps the old access.
describe('leaver and mover rules through the store', () => {
  it("defers a mover's old access for the grace period and deletes a leaver's account when due", async () => {
    const text = policy + '\npolicies:\n  leaver:\n    delete_after_days: 30\n    mover_grace_days: 7\n';
    const dir = folder({
      'tenure.yaml': text,
      'hr.csv': hr([
        'E001,Employee,Active,Engineering,Developer,2024-01-01,',
        'E002,Employee,Active,Engineering,Developer,2024-01-01,',
      ]),
      'actual.json': JSON.stringify({
        targets: {
          directory: {
            accounts: [
              {
                id: '1',
                name: 'E001',
                identity: 'E001',
                enabled: true,
                entitlements: ['directory:group/staff', 'directory:group/engineering'],
              },
              {
                id: '2',
                name: 'E002',
                identity: 'E002',
                enabled: true,
                entitlements: ['directory:group/staff', 'directory:group/engineering'],
              },
            ],
          },
        },
      }),
    });
    const run = (...args: string[]) =>
      tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args);
    const plan = (asOf: string) =>
      run('--as-of', asOf, '--json', 'plan', '--actual', join(dir, 'actual.json')).then(
        (r) =>
          JSON.parse(r.stdout) as {
            plan: {
              targets: {
                changes: { identity: string; action: string; entitlement?: string }[];
                deferred: number;
                deferredChanges: { reason: string }[];
              }[];
            };
          },
      );
    assert.equal((await run('--as-of', '2026-11-01', 'import')).code, 0);
    writeFileSync(
      join(dir, 'hr.csv'),
      hr([
        'E001,Employee,Active,Finance,Accountant,2024-01-01,',
        'E002,Employee,Terminated,Engineering,Developer,2024-01-01,2026-11-02',
      ]),
    );
    assert.equal((await run('--as-of', '2026-11-02', 'import')).code, 0);

    const early = (await plan('2026-11-03')).plan.targets[0]!;
    const act = (t: typeof early) => t.changes.map((c) => [c.identity, c.action, c.entitlement ?? '']);
    assert.deepEqual(act(early), [
      ['E001', 'add_membership', 'directory:group/finance'],
      ['E002', 'remove_membership', 'directory:group/engineering'],
      ['E002', 'remove_membership', 'directory:group/staff'],
      ['E002', 'disable_account', ''],
    ]);
    assert.equal(early.deferred, 1);
    assert.match(early.deferredChanges[0]!.reason, /kept until 2026-11-09: mover grace period of 7 days/);

    const later = (await plan('2026-11-09')).plan.targets[0]!;
    assert.deepEqual(
      act(later).filter(([id]) => id === 'E001'),
      [
        ['E001', 'add_membership', 'directory:group/finance'],
        ['E001', 'remove_membership', 'directory:group/engineering'],
      ],
    );
    const due = (await plan('2026-12-02')).plan.targets[0]!;
    assert.deepEqual(
      act(due).filter(([id]) => id === 'E002'),
      [
        ['E002', 'remove_membership', 'directory:group/engineering'],
        ['E002', 'remove_membership', 'directory:group/staff'],
        ['E002', 'delete_account', ''],
      ],
    );
  });

  it("counts the deletion clock from the end date the feed gives, keeps a late-recorded leaver disabled a week first, and why names the plan's day", async () => {
    const text = policy + '\npolicies:\n  leaver:\n    delete_after_days: 30\n';
    const dir = folder({
      'tenure.yaml': text,
      'hr.csv': hr(['E002,Employee,Active,Engineering,Developer,2024-01-01,']),
      'actual.json': JSON.stringify({
        targets: {
          directory: {
            accounts: [{ id: '2', name: 'E002', identity: 'E002', enabled: true, entitlements: [] }],
          },
        },
      }),
    });
    const run = (...args: string[]) =>
      tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args);
    const changes = async (asOf: string) =>
      (
        JSON.parse((await run('--as-of', asOf, '--json', 'plan', '--actual', join(dir, 'actual.json'))).stdout) as {
          plan: { targets: { changes: { action: string; reason: string }[] }[] };
        }
      ).plan.targets[0]!.changes;
    assert.equal((await run('--as-of', '2026-10-01', 'import')).code, 0);
    // HR records on 2026-11-20 a termination that took effect on 2026-10-10: 30 days after it
    // have passed, but the account is disabled first and deleted a week after the record.
    writeFileSync(join(dir, 'hr.csv'), hr(['E002,Employee,Terminated,Engineering,Developer,2024-01-01,2026-10-10']));
    assert.equal((await run('--as-of', '2026-11-20', 'import')).code, 0);
    const first = await changes('2026-11-21');
    assert.deepEqual(
      first.map((c) => c.action),
      ['disable_account'],
    );
    assert.match(
      first[0]!.reason,
      /deleted on 2026-11-27, 30 days after leaving on 2026-10-10 .*recorded on 2026-11-20 and accounts stay disabled 7 days first/,
    );
    const why = await run('--as-of', '2026-11-21', 'why', 'E002');
    assert.match(
      why.stdout,
      /its account in directory will be deleted on 2026-11-27 \(policy leaver.delete_after_days\)/,
    );
    assert.deepEqual(
      (await changes('2026-11-27')).map((c) => c.action),
      ['delete_account'],
    );
  });
});
