import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { folder, tenure } from './cli-harness.js';

// `tenure demo`: the README's first command. A week of HR changes on a generated company, planned
// and applied each day to CSV targets; the checks read the targets' files and the store afterwards.
interface DemoJson {
  ok: boolean;
  surprises: string[];
  audit: { ok: boolean; records: number };
  days: {
    day: number;
    date: string;
    story: string[];
    import: { outcome: string; events: Record<string, number> };
    plan: { changes: number };
    guardrails: string[];
    applied: { operations: number; failed: number };
  }[];
}

describe('tenure demo', () => {
  const dir = folder({});
  const cli = [
    '--as-of',
    '2026-11-23',
    '--as',
    'demo-runner',
    'demo',
    '--people',
    '300',
    '--roles',
    '30',
    '--dir',
    dir,
  ];
  let demo: DemoJson;

  it('runs a week of joiners, movers and leavers, with the guardrails doing their job', async () => {
    const r = await tenure('--json', ...cli);
    assert.equal(r.code, 0, r.stderr || r.stdout);
    demo = JSON.parse(r.stdout) as DemoJson;
    assert.deepEqual(demo.surprises, []);
    assert.deepEqual(
      demo.days.map((d) => d.date),
      ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'],
    );
    for (const d of demo.days) {
      assert.equal(d.applied.failed, 0, `day ${d.day}: nothing fails`);
      assert.equal(d.applied.operations, d.plan.changes, `day ${d.day}: every planned change is applied`);
    }
    const [first, joiners, leavers, owner, , truncated, back] = demo.days;
    assert.ok(first!.applied.operations > 0);
    assert.equal(joiners!.import.events.joiner, 3);
    assert.equal(joiners!.import.events.mover, 3);
    assert.equal(leavers!.import.events.leaver, 3);
    assert.equal(owner!.import.events.leaver, 1);
    assert.ok((owner!.import.events.owner_gone ?? 0) >= 1, 'the leaver owned a non-human identity');
    assert.equal(truncated!.import.outcome, 'stopped');
    assert.ok(truncated!.guardrails.some((g) => /mass-leaver/.test(g)));
    assert.equal(truncated!.import.events.owner_gone ?? 0, 0, 'owners in the held-back feed have not left');
    assert.notEqual(back!.import.outcome, 'stopped');
    assert.ok(demo.audit.ok && demo.audit.records > first!.applied.operations);
  });

  it('leaves the targets exactly as the policy wants them', async () => {
    const args = ['-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-29'];
    const plan = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
      plan: { summary: { changes: number } };
    };
    assert.equal(plan.plan.summary.changes, 0, 'converged');
    // Who ran the demo is who its records name, as for any command.
    const exported = (await tenure(...args, 'audit', 'export')).stdout.trim().split('\n');
    const actors = new Set(exported.map((l) => (JSON.parse(l) as { actor: string }).actor));
    assert.deepEqual([...actors], ['demo-runner']);
    // The leavers of day 3: disabled in every target, with no memberships left.
    const leavers = demo.days[2]!.story.map((s) => /\((E\d+)\)/.exec(s)![1]!);
    assert.equal(leavers.length, 3);
    for (const target of ['directory', 'apps', 'warehouse']) {
      const accounts = parse<{ name: string; enabled: string }>(
        readFileSync(join(dir, 'targets', target, 'accounts.csv')),
        { columns: true },
      );
      const memberships = parse<{ account: string }>(readFileSync(join(dir, 'targets', target, 'memberships.csv')), {
        columns: true,
      });
      assert.equal(new Set(accounts.map((a) => a.name)).size, accounts.length, `${target}: no account twice`);
      for (const id of leavers) {
        const a = accounts.find((x) => x.name === id);
        if (a) assert.equal(a.enabled, 'false', `${target}: ${id} disabled`);
        assert.ok(!memberships.some((m) => m.account === id), `${target}: ${id} holds nothing`);
      }
    }
  });

  it('tells the story in words on a terminal', async () => {
    const r = await tenure(...cli);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Monday 2026-11-23 — the first run$/m);
    assert.match(r.stdout, /HR: .* \(E\d+\) joins .*, starting today/);
    assert.match(r.stdout, /account E\d+ in \w+: created/);
    assert.match(r.stdout, /✋ import of hr held back by the mass-leaver breaker, nothing recorded/);
    assert.match(r.stdout, /audit log: [\d,]+ records, hash chain verified/);
  });

  it('refuses sizes it cannot make a week of, before writing anything', async () => {
    const empty = folder({});
    for (const [flag, value, expect] of [
      ['--people', '5', /--people 5: the demo takes a whole number from 10 to 100000/],
      ['--people', 'many', /--people takes a whole number from 1 to 1000000, not "many"/],
      ['--roles', '0', /--roles takes a whole number from 1 to 100000, not "0"/],
      ['--seed', '-1', /--seed takes a whole number from 0 to \d+, not "-1"/],
    ] as const) {
      const r = await tenure('demo', flag, value, '--dir', empty);
      assert.equal(r.code, 2, `${flag} ${value}`);
      assert.match(r.stderr, expect);
    }
    assert.deepEqual(readdirSync(empty), [], 'nothing written');
  });
});
