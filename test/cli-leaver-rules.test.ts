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
});
