import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { canonicalJson } from '../src/audit/canonical-json.js';
import { folder, tenure } from './cli-harness.js';
import { hr, people, policy } from './org-fixture.js';

// Apply holds what it promises when a plan file is edited, when applies run at once, and when it
// is interrupted: nothing applied that Tenure would not compute now, nothing lost or done twice,
// one audit record for every change that landed.
const policyFor = (target: string): string =>
  policy.replace('    kind: memory\n', `${target}\n`) +
  'policies:\n  guardrails:\n    deprovision: { max_percent: 10, min_count: 3, max_count: 500 }\n';

const memoryTarget = '    kind: memory\n    connection: { snapshot: directory.json }';
const csvTarget = '    kind: csv\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }';

function world(target: string, rows: string[], files: Record<string, string> = {}) {
  const dir = folder({
    'tenure.yaml': policyFor(target),
    'hr.csv': hr(rows),
    'directory.json': '{ "accounts": [] }\n',
    ...files,
  });
  const args = ['-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01'];
  return {
    dir,
    args,
    run: (...more: string[]) => tenure(...args, ...more),
    snapshot: () => readFileSync(join(dir, 'directory.json'), 'utf8'),
  };
}

interface SavedPlan {
  digest: string;
  guardrails: { blocked: boolean };
  targets: { target: string; changes: Record<string, unknown>[] }[];
}

const digestOf = (p: SavedPlan): string =>
  createHash('sha256')
    .update(
      canonicalJson(
        p.targets.filter((t) => t.changes.length > 0).map((t) => ({ target: t.target, changes: t.changes })),
      ),
    )
    .digest('hex');

/** Runs the command line in its own process, as two people at two terminals would. */
function spawned(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onStderr?: (all: string, child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function auditOperations(stateDb: string): string[] {
  const db = new BetterSqlite3(stateDb, { readonly: true });
  try {
    const rows = db.prepare(`select action, details from audit_log where action like 'operation.%'`).all() as {
      action: string;
      details: string;
    }[];
    return rows.map((r) => {
      const d = JSON.parse(r.details) as { account: string; entitlement?: string };
      return `${r.action} ${d.account} ${d.entitlement ?? ''}`.trim();
    });
  } finally {
    db.close();
  }
}

/** The operations the journal calls done, as the audit log names them; none before the store exists. */
function succeededOperations(stateDb: string): string[] {
  try {
    const db = new BetterSqlite3(stateDb, { readonly: true });
    try {
      const rows = db
        .prepare(`select action, account, entitlement from operations where state = 'succeeded'`)
        .all() as { action: string; account: string; entitlement: string | null }[];
      return rows.map((r) => `operation.${r.action} ${r.account} ${r.entitlement ?? ''}`.trim());
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

describe('a saved plan is untrusted input', () => {
  const edits: [name: string, edit: (p: SavedPlan) => void, code: number, message: RegExp][] = [
    [
      'an added grant',
      (p) => p.targets[0]!.changes.push({ ...p.targets[0]!.changes[1]!, entitlement: 'directory:group/finance' }),
      3,
      /was edited after it was saved: its changes no longer match its digest/,
    ],
    [
      'an added grant with its digest made again',
      (p) => {
        p.targets[0]!.changes.push({ ...p.targets[0]!.changes[1]!, entitlement: 'directory:group/finance' });
        p.digest = digestOf(p);
      },
      3,
      /is stale: its changes are not what the policy calls for now/,
    ],
    ['a renamed account', (p) => (p.targets[0]!.changes[0]!.account = 'mallory'), 3, /was edited after it was saved/],
    [
      'an unknown action',
      (p) => (p.targets[0]!.changes[0]!.action = 'drop_table'),
      1,
      /is not a Tenure plan this version can apply: targets\.0\.changes\.0\.action/,
    ],
    ['a missing digest', (p) => delete (p as Partial<SavedPlan>).digest, 1, /digest/],
  ];
  for (const [name, edit, code, message] of edits) {
    it(`refuses ${name}, and changes nothing`, async () => {
      const w = world(memoryTarget, people(3));
      assert.equal((await w.run('plan', '--out', join(w.dir, 'plan.json'))).code, 0);
      const saved = JSON.parse(readFileSync(join(w.dir, 'plan.json'), 'utf8')) as SavedPlan;
      edit(saved);
      writeFileSync(join(w.dir, 'plan.json'), JSON.stringify(saved));
      const r = await w.run('apply', join(w.dir, 'plan.json'));
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(w.snapshot(), '{ "accounts": [] }\n', 'the target is untouched');
    });
  }

  it('recomputes the guardrail verdict: a blocked plan flipped to unblocked is still blocked', async () => {
    const accounts = people(10).map((row) => {
      const id = row.split(',')[0]!;
      return { id, name: id, identity: id, enabled: true, entitlements: ['directory:group/staff'] };
    });
    const snapshot = JSON.stringify({ accounts }, null, 2) + '\n';
    // Everyone but one is terminated: 9 of 10 accounts would be disabled.
    const rows = people(10).map((row, i) => (i === 0 ? row : row.replace(',Active,', ',Terminated,')));
    const w = world(memoryTarget, rows, { 'directory.json': snapshot });
    assert.equal((await w.run('plan', '--out', join(w.dir, 'plan.json'))).code, 0);
    const saved = JSON.parse(readFileSync(join(w.dir, 'plan.json'), 'utf8')) as SavedPlan;
    assert.equal(saved.guardrails.blocked, true);
    saved.guardrails.blocked = false;
    writeFileSync(join(w.dir, 'plan.json'), JSON.stringify(saved));
    const r = await w.run('apply', join(w.dir, 'plan.json'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /the deprovisioning breaker holds the plan back/);
    assert.equal(w.snapshot(), snapshot, 'the target is untouched');
  });
});

describe('applies at once', () => {
  for (const [kind, target] of [
    ['memory snapshot', memoryTarget],
    ['CSV files', csvTarget],
  ] as const) {
    it(`three applies on a ${kind} target lose nothing and duplicate nothing`, { timeout: 240_000 }, async () => {
      const w = world(target, people(40));
      const stateDb = join(w.dir, '.tenure', 'state.db');
      const before = JSON.parse((await w.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
      assert.equal(before.plan.summary.changes, 120);
      // Long enough to wait for each other: a second apply waits for the first one's lease.
      const runs = await Promise.all(
        [1, 2, 3].map(() => spawned([...w.args, 'apply', '--rate', '200'], { TENURE_LOCK_WAIT_MS: '180000' })),
      );
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const after = JSON.parse((await w.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
      assert.equal(after.plan.summary.changes, 0, 'converged: the next plan is empty');
      const audited = auditOperations(stateDb);
      assert.equal(audited.length, 120, 'one audit record per change');
      assert.equal(new Set(audited).size, 120, 'no change applied twice');
      if (kind === 'CSV files') {
        const accounts = parse<{ name: string }>(readFileSync(join(w.dir, 'out/accounts.csv'), 'utf8'), {
          columns: true,
        });
        const memberships = parse<{ account: string; entitlement: string }>(
          readFileSync(join(w.dir, 'out/memberships.csv'), 'utf8'),
          { columns: true },
        );
        assert.equal(accounts.length, 40);
        assert.equal(new Set(memberships.map((m) => `${m.account} ${m.entitlement}`)).size, 80);
        assert.equal(memberships.length, 80, 'no membership written twice');
      } else {
        const held = JSON.parse(w.snapshot()) as { accounts: { name: string; entitlements: string[] }[] };
        assert.equal(held.accounts.length, 40);
        assert.equal(
          held.accounts.reduce((n, a) => n + a.entitlements.length, 0),
          80,
        );
      }
    });
  }

  it('a second apply that cannot wait long enough exits 3 naming the holder', { timeout: 120_000 }, async () => {
    const w = world(csvTarget, people(40));
    let second: Promise<{ code: number | null; stderr: string }> | undefined;
    const first = await spawned([...w.args, 'apply', '--rate', '20'], {}, (all) => {
      // Once the first holds the lease and has begun, a second one with a short wait is refused.
      if (!second && /directory: \d+ operation\(s\)/.test(all))
        second = spawned([...w.args, 'apply'], { TENURE_LOCK_WAIT_MS: '500', TENURE_ACTOR: 'bob' });
    });
    assert.equal(first.code, 0, first.stderr);
    const r = await second!;
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /target directory is being applied by .* on .*, pid \d+ since /);
  });
});

describe('apply interrupted', () => {
  it(
    'SIGINT finishes what is in flight, journals it, exits 130; the next apply finishes the rest, each change audited once',
    { timeout: 240_000 },
    async () => {
      const w = world(csvTarget, people(60));
      const stateDb = join(w.dir, '.tenure', 'state.db');
      const planned = JSON.parse((await w.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
      const total = planned.plan.summary.changes;
      let signalled = false;
      const succeeded = (): number => succeededOperations(stateDb).length;
      let poll: NodeJS.Timeout | undefined;
      const r = await spawned([...w.args, 'apply', '--rate', '30'], {}, (all, child) => {
        // Interrupt on progress seen in the journal, not on a timer: watch it once the executor has begun.
        if (poll || !/directory: \d+ operation\(s\)/.test(all)) return;
        poll = setInterval(() => {
          if (signalled || succeeded() < 10) return;
          signalled = true;
          clearInterval(poll);
          child.kill('SIGINT');
        }, 50);
      });
      clearInterval(poll);
      assert.ok(signalled, r.stderr);
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, /SIGINT: no new operations start/);
      assert.match(r.stderr, /interrupted: what is left runs with the next tenure apply/);
      const done = succeeded();
      assert.ok(done >= 10 && done < total, `${done} of ${total} done before the interrupt`);
      assert.equal(auditOperations(stateDb).length, done, 'every change that landed has its audit record');

      const rest = await w.run('apply');
      assert.equal(rest.code, 0, rest.stderr);
      const audited = auditOperations(stateDb);
      assert.equal(audited.length, total, 'one audit record per change of the plan');
      assert.equal(new Set(audited).size, total);
      const db = new BetterSqlite3(stateDb, { readonly: true });
      const states = db.prepare('select state, count(*) as n from operations group by state').all() as {
        state: string;
        n: number;
      }[];
      db.close();
      assert.ok(
        states.every((s) => s.state === 'succeeded' || s.state === 'superseded'),
        `the interrupted plan's rows are closed as superseded: ${JSON.stringify(states)}`,
      );
      const again = JSON.parse((await w.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
      assert.equal(again.plan.summary.changes, 0);
    },
  );

  it(
    'SIGKILL on a memory snapshot target loses nothing the journal calls done; the next apply finishes, each change audited once',
    { timeout: 240_000 },
    async () => {
      const w = world(memoryTarget, people(60));
      const stateDb = join(w.dir, '.tenure', 'state.db');
      const planned = JSON.parse((await w.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
      const total = planned.plan.summary.changes;
      assert.equal(total, 180);
      let killed = false;
      let poll: NodeJS.Timeout | undefined;
      const r = await spawned([...w.args, 'apply', '--rate', '30'], {}, (all, child) => {
        // Killed on progress seen in the journal, not on a timer: watch it once the executor has begun.
        if (poll || !/directory: \d+ operation\(s\)/.test(all)) return;
        poll = setInterval(() => {
          if (killed || succeededOperations(stateDb).length < 10) return;
          killed = true;
          clearInterval(poll);
          child.kill('SIGKILL');
        }, 50);
      });
      clearInterval(poll);
      assert.ok(killed, r.stderr);
      assert.equal(r.code, null, `killed, not exited: ${r.stderr}`);

      // What the journal calls done is in the snapshot file: the next plan does not ask for it again.
      const done = succeededOperations(stateDb);
      assert.ok(done.length >= 10 && done.length < total, `${done.length} of ${total} done before the kill`);
      const held = new Map(
        (JSON.parse(w.snapshot()) as { accounts: { name: string; entitlements: string[] }[] }).accounts.map((a) => [
          a.name,
          a,
        ]),
      );
      for (const op of done) {
        const [action, account, entitlement] = op.split(' ');
        const a = held.get(account!);
        if (action === 'operation.create_account') assert.ok(a, `${op}: the account is in the snapshot`);
        else assert.ok(a?.entitlements.includes(entitlement!), `${op}: the membership is in the snapshot`);
      }
      assert.deepEqual(auditOperations(stateDb).sort(), [...done].sort(), 'every change done has its audit record');

      const rest = await w.run('apply');
      assert.equal(rest.code, 0, rest.stderr);
      const again = JSON.parse((await w.run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
      assert.equal(again.plan.summary.changes, 0, 'converged: the next plan is empty');
      const audited = auditOperations(stateDb);
      assert.equal(audited.length, total, 'one audit record per change of the plan');
      assert.equal(new Set(audited).size, total, 'no change audited twice');
      const after = JSON.parse(w.snapshot()) as { accounts: { entitlements: string[] }[] };
      assert.equal(after.accounts.length, 60);
      assert.equal(
        after.accounts.reduce((n, a) => n + a.entitlements.length, 0),
        120,
      );
    },
  );
});

describe('a change that landed just before its apply was killed', () => {
  it('is found in the target by the next apply, journalled as done and audited once', async () => {
    const w = world(memoryTarget, people(3));
    const stateDb = join(w.dir, '.tenure', 'state.db');
    assert.equal((await w.run('import')).code, 0);
    assert.equal((await w.run('apply')).code, 0);
    // E003 moves to Finance. An apply adds the finance group to its account in the snapshot and is
    // killed before it journals that: the journal still says running, no audit record exists.
    writeFileSync(join(w.dir, 'hr.csv'), hr([...people(2), 'E003,Employee,Active,Finance,Accountant,2024-01-01,']));
    assert.equal((await w.run('import')).code, 0);
    const snap = JSON.parse(w.snapshot()) as { accounts: { name: string; entitlements: string[] }[] };
    snap.accounts.find((a) => a.name === 'E003')!.entitlements.push('directory:group/finance');
    writeFileSync(join(w.dir, 'directory.json'), JSON.stringify(snap, null, 2));
    const db = new BetterSqlite3(stateDb);
    const insert = db.prepare(
      `insert into operations (plan, seq, change, target, action, identity, account, entitlement, state, attempts, updated_at)
       values ('killed-plan', ?, ?, 'directory', ?, 'E003', 'E003', ?, 'running', 1, '2026-11-01T00:00:00Z')`,
    );
    const change = (action: string, entitlement: string) =>
      canonicalJson({ target: 'directory', action, identity: 'E003', account: 'E003', entitlement, reason: 'moved' });
    insert.run(0, change('add_membership', 'directory:group/finance'), 'add_membership', 'directory:group/finance');
    // The other one was running too, but had not reached the target.
    insert.run(
      1,
      change('remove_membership', 'directory:group/engineering'),
      'remove_membership',
      'directory:group/engineering',
    );
    db.close();

    const r = await w.run('apply');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /1 operation\(s\) of an interrupted apply had taken effect in the targets before it stopped: journalled as done and audited now/,
    );
    assert.match(r.stdout, /^account E003 in directory: removed from directory:group\/engineering$/m);
    assert.doesNotMatch(r.stdout, /added to directory:group\/finance/, 'not done twice');
    const check = new BetterSqlite3(stateDb, { readonly: true });
    try {
      const finance = check
        .prepare(`select reason from audit_log where action = 'operation.add_membership' and details like ?`)
        .all('%E003%directory:group/finance%') as { reason: string }[];
      assert.deepEqual(
        finance.map((f) => f.reason),
        ['account E003 in directory: added to directory:group/finance (found in effect after an interrupted apply)'],
      );
      const states = check
        .prepare(`select action, state from operations where plan = 'killed-plan' order by seq`)
        .all() as { action: string; state: string }[];
      assert.deepEqual(
        states.map((s) => `${s.action} ${s.state}`),
        ['add_membership succeeded', 'remove_membership superseded'],
      );
    } finally {
      check.close();
    }
    assert.equal((await w.run('audit', 'verify')).code, 0);
  });
});
