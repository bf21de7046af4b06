import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder } from '../../test/cli-harness.js';
import { verifyAudit } from './audit.js';
import { demoWorkspace, generateDemo, runDemoWeek, setUpDemo, type DemoDay } from './demo.js';
import { planNow } from './plan-state.js';
import { Workspace } from './workspace.js';

// The demo's week as values: what each day imported, planned and applied, and what the guardrails did.
const at = (asOf: string) => new Workspace({ config: 'unused.yaml', asOf: new Date(asOf) });

describe('generateDemo', () => {
  it('writes the same organisation for the same seed', () => {
    const a = generateDemo(at('2026-11-23'), { people: 50, roles: 10, seed: 4, folder: folder({}) });
    const b = generateDemo(at('2026-11-23'), { people: 50, roles: 10, seed: 4, folder: folder({}) });
    assert.deepEqual(a.files, [...a.files].sort());
    assert.ok(a.files.includes('tenure.yaml') && a.files.includes('hr.csv'));
    for (const f of a.files) assert.ok(existsSync(join(a.folder, f)), f);
    assert.equal(a.stats.people, 50);
    assert.deepEqual(b.stats, a.stats);
    assert.equal(readFileSync(join(b.folder, 'hr.csv'), 'utf8'), readFileSync(join(a.folder, 'hr.csv'), 'utf8'));
  });
});

describe('runDemoWeek', () => {
  it('runs a week of joiners, movers and leavers to a converged, verified end', async () => {
    const dir = folder({ 'notes.txt': 'mine', 'state.db': 'an older run' });
    const setup = setUpDemo(at('2026-11-23T15:30:00Z'), { people: 60, roles: 10, seed: 7, folder: dir });
    // A fresh start: the old store is gone, nothing else in the folder is touched.
    assert.equal(existsSync(setup.state), false);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
    assert.deepEqual([setup.config, setup.start.toISOString()], [join(dir, 'tenure.yaml'), '2026-11-23T00:00:00.000Z']);

    const days: DemoDay[] = [];
    for await (const day of runDemoWeek(setup)) days.push(day);
    assert.deepEqual(
      days.map((d) => [d.day, d.date.toISOString().slice(0, 10)]),
      [
        [0, '2026-11-23'],
        [1, '2026-11-24'],
        [2, '2026-11-25'],
        [3, '2026-11-26'],
        [4, '2026-11-27'],
        [5, '2026-11-28'],
        [6, '2026-11-29'],
      ],
    );
    assert.deepEqual(
      days.flatMap((d) => d.surprises),
      [],
    );
    for (const d of days) {
      assert.equal(d.applied?.operations.length ?? 0, d.plan.changes, `day ${d.day}: every planned change is applied`);
      assert.equal(d.applied?.failed ?? 0, 0, `day ${d.day}: nothing fails`);
    }
    const [first, joiners, leavers, , , truncated] = days;
    assert.ok(first!.firstRun && first!.firstRun.plan.changes > 0);
    assert.equal(first!.import.outcome, 'applied');
    // The baseline records every identity of both feeds as a joiner.
    assert.equal(
      first!.import.events.joiner,
      first!.sources.reduce((n, s) => n + (s.counts.joiner ?? 0), 0),
    );
    assert.ok(first!.sources.length === 2 && first!.sources.every((s) => (s.counts.joiner ?? 0) > 0));
    assert.equal(joiners!.import.events.joiner, 3);
    assert.ok((joiners!.import.events.mover ?? 0) >= 1);
    assert.ok(joiners!.subjects.length >= 4, 'the day is about its joiners and movers');
    assert.equal(leavers!.import.events.leaver, 3);
    assert.deepEqual([truncated!.import.outcome, truncated!.import.events], ['stopped', {}]);
    assert.match(truncated!.import.reason!, /would leave at once/);
    assert.equal(truncated!.applied, undefined, 'nothing to apply while the feed is held back');

    const end = days[6]!.date;
    const audit = await verifyAudit(demoWorkspace(setup, end), { key: undefined });
    assert.equal(audit.ok, true);
    assert.ok(audit.chain.records > first!.plan.changes);
    assert.equal((await planNow(demoWorkspace(setup, end), {})).plan.summary.changes, 0, 'converged');
  });

  it('has people deal with the guardrails the first plan meets: a role fix, then an approval', async () => {
    // At this size and seed the generated role model breaks separation of duties and the first
    // reconciliation takes access from more accounts than the breaker allows.
    const setup = setUpDemo(at('2026-11-23'), { people: 700, roles: 60, seed: 3, folder: folder({}) });
    const policyBefore = readFileSync(setup.config, 'utf8');
    let first: DemoDay | undefined;
    for await (const day of runDemoWeek(setup)) {
      first = day;
      break;
    }
    const run = first!.firstRun!;
    assert.ok(run.sod && run.sod.conflicts.length > 0, 'separation-of-duties conflicts at this size');
    assert.ok(run.sod.fixes.length > 0);
    assert.notEqual(readFileSync(setup.config, 'utf8'), policyBefore, 'the role owner changed the policy');
    assert.deepEqual(first!.surprises, [], 'no conflict is left after the fix');
    assert.ok(run.approvedDeprovision.length > 0, 'the deprovisioning breaker stops the first plan at this size');
    await demoWorkspace(setup, setup.start).withStore('read', async (store) => {
      for (const d of run.approvedDeprovision) {
        assert.equal(d.blocked, true);
        const approvals = await store.approvals('deprovision', `target:${d.target}`);
        assert.deepEqual(
          approvals.map((a) => a.amount),
          [d.accounts],
          `${d.target}: one approval for the accounts the breaker counted`,
        );
      }
    });
    assert.equal(first!.applied?.operations.length, first!.plan.changes);
    assert.equal(first!.applied?.failed, 0);
    // The plan applied is the one after the fix, not the first one.
    assert.notDeepEqual(first!.plan, run.plan);
  });
});
