import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { org, policy } from './org-fixture.js';

// When the account name the policy computes changes (a login or an email changes in HR), the plan
// renames the account it finds by its link, keeping its memberships; drift reports the rename
// until it is applied. An account adopted by its name gets the link recorded, so it is found by
// its link from then on and is adopted only once.

interface SnapshotAccount {
  id: string;
  name: string;
  identity?: string;
  enabled: boolean;
  entitlements: string[];
}

const staff = 'directory:group/staff';
const engineering = 'directory:group/engineering';
const row = (id: string, login: string, department = 'Engineering') =>
  `${id},Employee,Active,${department},${login},2024-01-01,`;

function world(accounts: SnapshotAccount[]) {
  const o = org([row('E001', 'ada'), row('E002', 'bea', 'Finance'), row('E005', 'cal')]);
  writeFileSync(
    join(o.dir, 'tenure.yaml'),
    policy.replace(
      '    kind: memory',
      '    kind: memory\n    account_name: identity.title\n    connection: { snapshot: directory.json }',
    ),
  );
  writeFileSync(join(o.dir, 'directory.json'), JSON.stringify({ accounts }, null, 2));
  const snapshot = () =>
    (JSON.parse(readFileSync(join(o.dir, 'directory.json'), 'utf8')) as { accounts: SnapshotAccount[] }).accounts;
  const account = (name: string) => snapshot().find((a) => a.name === name);
  const run = (...args: string[]) => o.run('--as-of', '2026-11-01', ...args);
  const audited = (action: string) => {
    const db = new Database(join(o.dir, 'state.db'), { readonly: true });
    try {
      return db.prepare('SELECT subject, reason FROM audit_log WHERE action = ? ORDER BY seq').all(action) as {
        subject: string;
        reason: string;
      }[];
    } finally {
      db.close();
    }
  };
  return { ...o, run, snapshot, account, audited };
}

describe('renames and links', () => {
  it('renames an account found by its link, keeping its memberships; drift says so until then', async () => {
    const o = world([]);
    assert.equal((await o.run('import')).code, 0);
    assert.equal((await o.run('apply')).code, 0);
    const before = o.account('ada')!;
    assert.deepEqual([before.identity, [...before.entitlements].sort()], ['E001', [engineering, staff]]);

    // Ada's login changes in HR.
    o.write([row('E001', 'ada.lovelace'), row('E002', 'bea', 'Finance'), row('E005', 'cal')]);
    assert.equal((await o.run('import')).code, 0);
    const plan = await o.run('plan');
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(
      plan.stdout,
      /^ {2}~ ada: rename account to ada\.lovelace — E001's account name is now "ada\.lovelace" \(targets\[\]\.account_name\); found by its link, it keeps what it holds$/m,
    );
    assert.match(plan.stdout, /Summary: 1 change\(s\) for 1 identity: 1 rename account\./);

    const drift = await o.run('drift');
    assert.match(
      drift.stdout,
      /low {6}account:directory\/ada {2}account ada in directory \(of E001\) is still named "ada"; the policy names it "ada\.lovelace" now/,
    );

    const applied = await o.run('apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^account ada in directory: renamed to ada\.lovelace$/m);
    assert.equal(o.account('ada'), undefined);
    const after = o.account('ada.lovelace')!;
    assert.deepEqual(after, { ...before, name: 'ada.lovelace' }, 'same id, link, state and memberships');
    assert.deepEqual(
      o.audited('operation.rename_account').map((r) => r.subject),
      ['E001'],
    );
    const again = JSON.parse((await o.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
    assert.equal(again.plan.summary.changes, 0);
    const clean = JSON.parse((await o.run('--json', 'drift')).stdout) as { drift: { findings: unknown[] } };
    assert.deepEqual(clean.drift.findings, []);
  });

  it('does not rename onto a name another account holds, and warns', async () => {
    const o = world([]);
    assert.equal((await o.run('import')).code, 0);
    assert.equal((await o.run('apply')).code, 0);
    // Ada's new login is Bea's.
    o.write([row('E001', 'bea'), row('E002', 'bea.b', 'Finance'), row('E005', 'cal')]);
    assert.equal((await o.run('import')).code, 0);
    const plan = await o.run('plan');
    assert.match(
      plan.stderr,
      /^E001: warning: target "directory": E001's account "ada" is not renamed to "bea", which another account has$/m,
    );
    // Bea moves to bea.b first; Ada is renamed on the next plan, once the name is free.
    assert.match(plan.stdout, /~ bea: rename account to bea\.b/);
    assert.doesNotMatch(plan.stdout, /~ ada: rename/);
    const applied = await o.run('--json', 'apply');
    assert.equal(applied.code, 0, applied.stderr);
    // Scripts see the same warning in the summary line.
    const summary = JSON.parse(applied.stdout.trim().split('\n').at(-1)!) as {
      type: string;
      diagnostics: { code: string; subject?: string }[];
    };
    assert.equal(summary.type, 'summary');
    assert.deepEqual(
      summary.diagnostics.map((d) => [d.code, d.subject]),
      [['plan.rename_conflict', 'E001']],
    );
    const next = await o.run('plan');
    assert.match(next.stdout, /~ ada: rename account to bea —/);
    assert.equal((await o.run('apply')).code, 0);
    assert.deepEqual(
      o
        .snapshot()
        .map((a) => [a.name, a.identity])
        .sort(),
      [
        ['bea', 'E001'],
        ['bea.b', 'E002'],
        ['cal', 'E005'],
      ],
    );
  });

  it('records the link of an account adopted by its name, so it is adopted once', async () => {
    const o = world([{ id: 'legacy-7', name: 'cal', enabled: true, entitlements: [staff, 'directory:group/vpn'] }]);
    assert.equal((await o.run('import')).code, 0);
    const plan = await o.run('plan');
    assert.match(plan.stdout, /\(adopts 1 existing account\(s\) by name\)/);
    assert.match(plan.stdout, /~ cal: link account to E005 — adopted by name: records E005 in the account's link/);
    const applied = await o.run('apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^account cal in directory: linked to E005$/m);
    assert.deepEqual(o.account('cal'), {
      id: 'legacy-7',
      name: 'cal',
      identity: 'E005',
      enabled: true,
      entitlements: [staff, 'directory:group/vpn', engineering],
    });
    const next = await o.run('plan');
    assert.doesNotMatch(next.stdout, /adopts/);
    assert.match(next.stdout, /No changes/);

    // Found by its link now, it follows a later rename.
    o.write([row('E001', 'ada'), row('E002', 'bea', 'Finance'), row('E005', 'cal.new')]);
    assert.equal((await o.run('import')).code, 0);
    assert.match((await o.run('plan')).stdout, /~ cal: rename account to cal\.new/);
  });
});
