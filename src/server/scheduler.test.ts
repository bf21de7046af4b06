import { strict as assert } from 'node:assert';
import { appendFileSync, cpSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { openService, type ServiceContext } from '../app/service.js';
import { recordingLogger, type Logged } from '../../test/support/recording-logger.js';
import { startScheduler, type Scheduler } from './scheduler.js';

// The scheduler in-process on a copy of acme, with a clock the test moves: a job due while its
// last run goes on is skipped, a failing run is logged and the next one still happens.

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('the scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-scheduler-'));
  cpSync('examples/acme', dir, { recursive: true });
  appendFileSync(join(dir, 'tenure.yaml'), '\nschedule:\n  reconcile: "*/5 * * * *"\n');
  let now = Date.parse('2026-11-01T08:59:00Z');
  const clock = () => new Date(now);
  let service: ServiceContext;
  let scheduler: Scheduler | undefined;
  const registry = new Registry();
  const lines: Logged[] = [];
  const finished = () => lines.filter((l) => l.msg.startsWith('scheduled reconcile finished'));

  before(async () => {
    service = await openService({ config: join(dir, 'tenure.yaml') }, { env: {}, clock });
    scheduler = startScheduler({ service, registry, log: recordingLogger(lines), tickMs: 10 });
  });
  after(async () => {
    await scheduler?.stop();
    await service.close();
  });

  it('runs nothing before the job is due', async () => {
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['scheduler started with 1 job(s)'],
    );
  });

  it('skips a run due while the last one goes on, and counts it', async () => {
    now = Date.parse('2026-11-01T09:00:00Z');
    await until(() => lines.find((l) => l.msg === 'scheduled reconcile started'), 'the first run to start');
    // Due again at 09:05 while the first run (an import and a full apply) is still going.
    now = Date.parse('2026-11-01T09:05:00Z');
    const skipped = await until(
      () =>
        lines.find((l) => l.msg.startsWith('scheduled reconcile skipped')) ??
        (finished().length > 0 ? null : undefined),
      'the second run to be skipped',
    );
    assert.ok(skipped, 'the first run had already finished: the skip could not be seen');
    assert.equal(skipped.level, 'warn');
    assert.equal(skipped.fields.runningSince, '2026-11-01T09:00:00.000Z');
    const done = await until(() => finished()[0], 'the first run to finish');
    assert.equal(done.fields.outcome, 'ok', JSON.stringify(done));
    assert.equal(done.fields.started, '2026-11-01T09:00:00.000Z');
    assert.ok((done.fields.counts as { succeeded: number }).succeeded > 0, JSON.stringify(done.fields));
    assert.equal(typeof done.fields.durationMs, 'number');
    const text = await registry.metrics();
    assert.match(text, /^tenure_scheduled_runs_total\{job="reconcile",outcome="skipped"\} 1$/m);
    assert.match(text, /^tenure_scheduled_runs_total\{job="reconcile",outcome="ok"\} 1$/m);
    assert.match(text, /^tenure_scheduled_run_duration_seconds_count\{job="reconcile"\} 1$/m);
  });

  it('logs a failing run, and the next one still happens', async () => {
    renameSync(join(dir, 'hr.csv'), join(dir, 'hr.csv.away'));
    now = Date.parse('2026-11-01T09:10:00Z');
    const failed = await until(() => finished()[1], 'the run without its feed to end');
    assert.equal(failed.fields.outcome, 'failed');
    assert.match(String(failed.fields.reason), /hr\.csv/);
    assert.equal(failed.level, 'warn');
    renameSync(join(dir, 'hr.csv.away'), join(dir, 'hr.csv'));
    now = Date.parse('2026-11-01T09:15:00Z');
    const next = await until(() => finished()[2], 'the next run to end');
    assert.equal(next.fields.outcome, 'ok', JSON.stringify(next.fields));
    // Converged at 09:00: nothing was left to change.
    assert.equal((next.fields.counts as { changes: number }).changes, 0);
    assert.match(await registry.metrics(), /^tenure_scheduled_runs_total\{job="reconcile",outcome="failed"\} 1$/m);
  });

  it('starts nothing once stopped', async () => {
    await scheduler!.stop();
    scheduler = undefined;
    now = Date.parse('2026-11-01T09:20:00Z');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(lines.filter((l) => l.msg === 'scheduled reconcile started').length, 3);
  });
});
