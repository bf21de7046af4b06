import { strict as assert } from 'node:assert';
import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { openService, type ServiceContext } from '../src/app/service.js';
import { startScheduler, type Scheduler } from '../src/server/scheduler.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { recordingLogger, type Logged } from './support/recording-logger.js';

// Two service instances on one real PostgreSQL store, each running the schedule with its own
// clock: each firing of a job is run by one of them, through the job's lease.

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 2400; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('the scheduler with two instances on PostgreSQL', () => {
  let pg: PostgresServer | undefined;
  const services: ServiceContext[] = [];
  const schedulers: Scheduler[] = [];
  after(async () => {
    for (const s of schedulers) await s.stop();
    for (const s of services) await s.close();
    await pg?.stop();
  });

  it('runs each firing of a job once, whichever instance looks first', async () => {
    pg = await startPostgres();
    const state = await createDatabase(pg);
    const dir = mkdtempSync(join(tmpdir(), 'tenure-scheduler-pg-'));
    cpSync('examples/acme', dir, { recursive: true });
    appendFileSync(join(dir, 'tenure.yaml'), '\nschedule:\n  reconcile: "*/5 * * * *"\n');
    const now = { a: Date.parse('2026-11-01T08:59:00Z'), b: Date.parse('2026-11-01T08:59:00Z') };
    const lines: Logged[] = [];
    for (const which of ['a', 'b'] as const) {
      const service = await openService(
        { config: join(dir, 'tenure.yaml'), state },
        { env: {}, clock: () => new Date(now[which]) },
      );
      services.push(service);
      schedulers.push(
        startScheduler({
          service,
          registry: new Registry(),
          log: recordingLogger(lines, { instance: which }),
          tickMs: 10,
        }),
      );
    }
    const of = (instance: string, msg: string) =>
      lines.filter((l) => l.fields.instance === instance && l.msg.startsWith(msg));

    // A reaches 09:00 first and runs it; B reaches 09:00 while A's run goes on.
    now.a = Date.parse('2026-11-01T09:00:00Z');
    await until(() => of('a', 'scheduled reconcile started')[0], 'a to start the 09:00 run');
    now.b = Date.parse('2026-11-01T09:00:01Z');
    const skipped = await until(() => of('b', 'scheduled reconcile skipped')[0], 'b to skip the 09:00 run');
    assert.match(skipped.msg, /another instance runs it/);
    const done = await until(() => of('a', 'scheduled reconcile finished')[0], 'a to finish');
    assert.equal(done.fields.outcome, 'ok', JSON.stringify(done.fields));

    // B looks again later in the same interval, its clock behind: 09:00 is not run a second time.
    now.b = Date.parse('2026-11-01T08:59:30Z');
    await new Promise((r) => setTimeout(r, 50));
    now.b = Date.parse('2026-11-01T09:00:30Z');
    await until(() => (of('b', 'scheduled reconcile skipped').length >= 2 ? true : undefined), 'b to look again');
    assert.equal(of('b', 'scheduled reconcile started').length, 0);

    // 09:05: B first this time; it runs, and A skips.
    now.b = Date.parse('2026-11-01T09:05:00Z');
    const bDone = await until(() => of('b', 'scheduled reconcile finished')[0], 'b to run 09:05');
    assert.equal(bDone.fields.outcome, 'ok', JSON.stringify(bDone.fields));
    assert.equal((bDone.fields.counts as { changes: number }).changes, 0, 'converged at 09:00 by a');
    now.a = Date.parse('2026-11-01T09:05:02Z');
    await until(() => (of('a', 'scheduled reconcile skipped').length >= 1 ? true : undefined), 'a to skip 09:05');
    assert.equal(of('a', 'scheduled reconcile started').length, 1);
    assert.equal(of('b', 'scheduled reconcile started').length, 1);
  });
});
