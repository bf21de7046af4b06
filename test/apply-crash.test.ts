import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import BetterSqlite3 from 'better-sqlite3';
import { tenure } from './cli-harness.js';
import { hr, org, policy } from './org-fixture.js';

// Crash safety: an apply of 2,001 operations is killed with SIGKILL at 20 random moments and run
// again each time; at the end the target holds exactly the desired state — no account created
// twice, no operation lost — and the journal shows every operation done once.
const PEOPLE = 667; // each: create account + 2 memberships = 2,001 operations
const rows = Array.from(
  { length: PEOPLE },
  (_, i) =>
    `E${String(i + 1).padStart(4, '0')},Employee,Active,${i % 2 ? 'Engineering' : 'Finance'},Developer,2024-01-01,`,
);

function runUntilKilled(args: string[], killAfterMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('apply under SIGKILL', () => {
  it('converges after 20 kills at random points, with nothing duplicated or lost', { timeout: 240_000 }, async () => {
    const o = org(rows);
    const text = policy
      .replace(
        '    kind: memory',
        '    kind: csv\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }',
      )
      .concat(
        'policies:\n  guardrails:\n    deprovision: { max_percent: 100, min_count: 100000, max_count: 100000 }\n',
      );
    writeFileSync(join(o.dir, 'tenure.yaml'), text);
    writeFileSync(join(o.dir, 'hr.csv'), hr(rows));
    const args = ['-c', join(o.dir, 'tenure.yaml'), '--state', join(o.dir, 'state.db'), '--as-of', '2026-11-01'];
    // The plan is saved once; every run applies that same plan, so each resumes the same journal.
    assert.equal((await tenure(...args, 'plan', '--out', join(o.dir, 'plan.json'))).code, 0);
    const planned = JSON.parse(readFileSync(join(o.dir, 'plan.json'), 'utf8')) as { summary: { changes: number } };
    assert.equal(planned.summary.changes, PEOPLE * 3);

    // Deterministic "random" kill points, spread from early (startup) to late in the run.
    let seed = 20261125;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    let kills = 0;
    for (let i = 0; i < 20; i++) {
      // --rate spreads the run over a few seconds, so each kill lands somewhere inside it.
      const code = await runUntilKilled(
        [...args, 'apply', join(o.dir, 'plan.json'), '--rate', '150'],
        600 + Math.floor(next() * 1200),
      );
      if (code === null) kills++;
      else {
        // It finished before the kill: nothing left to interrupt.
        assert.equal(code, 0, `apply exited ${code} instead of finishing or being killed`);
        break;
      }
    }
    assert.equal(kills, 20, `killed ${kills} times`);
    const last = await tenure(...args, 'apply', join(o.dir, 'plan.json'));
    // The state changed as operations landed, so the saved plan is stale now unless it had finished.
    const finish = last.code === 3 ? await tenure(...args, 'apply') : last;
    assert.equal(finish.code, 0, finish.stderr);

    const accounts = parse<{ name: string; identity: string }>(readFileSync(join(o.dir, 'out/accounts.csv'), 'utf8'), {
      columns: true,
    });
    assert.equal(accounts.length, PEOPLE, 'one account per person');
    assert.equal(new Set(accounts.map((a) => a.name)).size, PEOPLE, 'no account created twice');
    const memberships = parse<{ account: string; entitlement: string }>(
      readFileSync(join(o.dir, 'out/memberships.csv'), 'utf8'),
      { columns: true },
    );
    assert.equal(memberships.length, PEOPLE * 2, 'staff + department for everyone');
    assert.equal(new Set(memberships.map((m) => `${m.account} ${m.entitlement}`)).size, memberships.length);
    const again = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
      plan: { summary: { changes: number } };
    };
    assert.equal(again.plan.summary.changes, 0, 'converged: nothing left to do');
    const db = new BetterSqlite3(join(o.dir, 'state.db'), { readonly: true });
    const states = db.prepare('select state, count(*) as n from operations group by state').all() as {
      state: string;
      n: number;
    }[];
    db.close();
    assert.ok(
      states.every((s) => s.state === 'succeeded' || s.state === 'pending'),
      JSON.stringify(states),
    );
  });
});
