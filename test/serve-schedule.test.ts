import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { onProcessEnd } from './support/server-process.js';

// The scheduler of a real `tenure serve`, on copies of examples/acme, with the service's clock set
// through TENURE_TEST_CLOCK (and run faster): jobs fire by the clock alone, with no API call and no
// CLI apply; an invalid schedule stops the service from starting; SIGTERM aborts a run cleanly.

const GRACE_END = '2026-11-09T00:00:00.000Z';

function copyOfAcme(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-serve-schedule-'));
  cpSync('examples/acme', dir, { recursive: true });
  return { dir, config: join(dir, 'tenure.yaml') };
}

function cli(config: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const running = new Set<ChildProcess>();
onProcessEnd(() => {
  for (const c of running) c.kill('SIGKILL');
});

interface Serving {
  readonly child: ChildProcess;
  readonly url: string;
  /** Fastify's JSON log lines so far. */
  readonly logs: () => LogLine[];
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly job?: string;
  readonly started?: string;
  readonly outcome?: string;
  readonly counts?: Record<string, number>;
}

function start(
  config: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; stderr: () => string; exit: Promise<number | null>; logs: () => LogLine[] } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, 'serve', '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  return { child, stderr: () => err, exit, logs };
}

async function serve(config: string, env: NodeJS.ProcessEnv): Promise<Serving> {
  const s = start(config, env);
  const url = await until(
    () => /listening on (https?:\/\/\S+)/.exec(s.stderr())?.[1],
    'tenure serve to listen',
    () => (s.child.exitCode !== null ? `it exited ${s.child.exitCode}:\n${s.stderr()}` : undefined),
  );
  return { ...s, url };
}

/** Polls until `f` gives a value; gives up (failing, with what was seen) only after a long while. */
async function until<T>(f: () => T | undefined, what: string, gone?: () => string | undefined): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    const why = gone?.();
    if (why) throw new Error(`gave up waiting for ${what}: ${why}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function entitlementsOf(dir: string, target: string, account: string): string[] | undefined {
  try {
    const snapshot = JSON.parse(readFileSync(join(dir, 'actual', `${target}.json`), 'utf8')) as {
      accounts: { name: string; entitlements: string[] }[];
    };
    return snapshot.accounts.find((a) => a.name === account)?.entitlements;
  } catch {
    return undefined; // Between the write and the rename of the file: read again.
  }
}

interface AuditLine {
  action: string;
  actor: string;
  at: string;
  subject: string;
  details: { entitlement?: string; actorSource?: string };
}

function audit(config: string): AuditLine[] {
  const r = cli(config, 'audit', 'export');
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

describe('tenure serve: the scheduler', () => {
  it("a mover's old access goes after the grace period by the scheduler alone", async () => {
    const { dir, config } = copyOfAcme();
    assert.equal(cli(config, '--as-of', '2026-11-01', 'import').code, 0);
    assert.equal(cli(config, '--as-of', '2026-11-01', 'apply').code, 0);
    // E000009 moves from Engineering to Finance on 2026-11-02; acme keeps a mover's old access 7 days.
    const hr = readFileSync(join(dir, 'hr.csv'), 'utf8').split('\n');
    assert.match(hr[9]!, /^E000009,.*,Engineering,Engineering Manager,/);
    hr[9] = hr[9]!.replace(',Engineering,Engineering Manager,', ',Finance,Finance Manager,');
    writeFileSync(join(dir, 'hr.csv'), hr.join('\n'));
    const moved = cli(config, '--as-of', '2026-11-02', 'import');
    assert.match(moved.stdout, /mover\s+E000009 moved: department Engineering → Finance/);
    appendFileSync(config, '\nschedule:\n  reconcile: "* * * * *"\n');
    assert.deepEqual(entitlementsOf(dir, 'directory', 'E000009')?.includes('directory:group/engineering'), true);

    // Four clock minutes before the grace ends, twenty clock seconds a second.
    const server = await serve(config, {
      TENURE_TEST_CLOCK: '2026-11-08T23:56:00Z',
      TENURE_TEST_CLOCK_RATE: '20',
      TENURE_LOG_LEVEL: 'info',
    });
    assert.match(
      server.stderr(),
      /warning: TENURE_TEST_CLOCK is set: .* started at 2026-11-08T23:56:00.000Z .* for tests only/,
    );
    assert.ok(server.logs().some((l) => l.level === 40 && /TENURE_TEST_CLOCK is set/.test(l.msg)));
    await until(() => {
      const now = entitlementsOf(dir, 'directory', 'E000009');
      return now && !now.includes('directory:group/engineering') ? true : undefined;
    }, 'the old department group to go');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    server.child.kill('SIGTERM');
    assert.equal(await server.exit, 0, server.stderr());

    assert.ok(entitlementsOf(dir, 'directory', 'E000009')?.includes('directory:group/finance'));
    const finished = server.logs().filter((l) => l.msg === 'scheduled reconcile finished: ok');
    assert.ok(finished.length >= 2, JSON.stringify(server.logs().filter((l) => l.job)));
    assert.ok(
      finished.every((l) => typeof l.started === 'string' && typeof l.counts?.changes === 'number'),
      JSON.stringify(finished),
    );
    const ok = /^tenure_scheduled_runs_total\{job="reconcile",outcome="ok"\} (\d+)$/m.exec(metrics);
    assert.ok(ok && Number(ok[1]) >= 2, metrics);
    assert.match(metrics, /^tenure_scheduled_run_duration_seconds_count\{job="reconcile"\} [1-9]/m);

    // Who did it and when: the scheduler; the new access before the grace ended, the old one's removal after.
    const mine = audit(config).filter((a) => a.subject === 'E000009' && a.action.startsWith('operation.'));
    const added = mine.filter((a) => a.action === 'operation.add_membership');
    const removed = mine.filter((a) => a.action === 'operation.remove_membership');
    assert.deepEqual(removed.map((a) => a.details.entitlement).sort(), [
      'apps:role/datadog-viewer',
      'apps:role/github-user',
      'apps:role/jenkins-release-approver',
      'directory:group/engineering',
      'warehouse:role/product_reader',
      'warehouse:role/sandbox',
    ]);
    assert.ok(
      [...added, ...removed].every((a) => a.actor === 'scheduler' && a.details.actorSource === 'scheduler'),
      JSON.stringify(mine),
    );
    assert.ok(
      removed.every((a) => a.at >= GRACE_END),
      JSON.stringify(removed),
    );
    assert.ok(added.length === 4 && added.every((a) => a.at < GRACE_END), JSON.stringify(added));
    assert.equal(cli(config, 'audit', 'verify').code, 0);
  });

  it('an invalid schedule refuses to start, naming file:line:col', async () => {
    const { config } = copyOfAcme();
    assert.equal(cli(config, '--as-of', '2026-11-01', 'import').code, 0);
    const lines = readFileSync(config, 'utf8').split('\n').length;
    appendFileSync(config, 'schedule:\n  reconcile: "*/15 * * * *"\n  drift: "0 25 * * *"\n');
    const s = start(config, {});
    assert.equal(await s.exit, 1, s.stderr());
    assert.ok(s.stderr().includes(`tenure.yaml:${lines + 2}:10`), s.stderr());
    assert.match(s.stderr(), /schedule\.drift: "0 25 \* \* \*" is not a cron expression Tenure runs: .*hour/);
    assert.doesNotMatch(s.stderr(), /listening on/);
  });

  it("SIGTERM during a scheduled run exits 0 with the run's operations journalled", async () => {
    const { dir, config } = copyOfAcme();
    // 150 joiners: a run of well over a thousand operations, so the signal lands in the middle of it.
    const rows = Array.from({ length: 150 }, (_, i) => {
      const id = `E9${String(i).padStart(5, '0')}`;
      return `${id},Test,Joiner${i},joiner${i}@acme.example,Employee,Active,Engineering,Software Engineer,London,CC0100,5,,E000003,2026-10-01,2026-10-01,`;
    });
    appendFileSync(join(dir, 'hr.csv'), `${rows.join('\n')}\n`);
    assert.equal(cli(config, '--as-of', '2026-11-01', 'import').code, 0);
    appendFileSync(config, '\nschedule:\n  reconcile: "* * * * *"\n');

    const server = await serve(config, {
      TENURE_TEST_CLOCK: '2026-11-01T00:00:50Z',
      TENURE_TEST_CLOCK_RATE: '10',
      TENURE_LOG_LEVEL: 'debug',
    });
    // Progress observed, not a timer: the first operation of the run has ended.
    await until(
      () => server.logs().some((l) => l.job === 'reconcile' && / in (directory|apps|warehouse): /.test(l.msg)),
      'the first operation of the scheduled run',
    );
    server.child.kill('SIGTERM');
    assert.equal(await server.exit, 0, server.stderr());

    const end = server.logs().find((l) => l.msg === 'scheduled reconcile finished: aborted');
    assert.ok(end?.counts, JSON.stringify(server.logs().filter((l) => l.job && l.level >= 30)));
    const { changes, succeeded, failed } = end.counts as { changes: number; succeeded: number; failed: number };
    assert.equal(failed, 0);
    assert.ok(succeeded > 0 && succeeded < changes, JSON.stringify(end.counts));
    // Each operation that ran has its audit record (written with its journal mark), none more.
    const ops = audit(config).filter((a) => a.action.startsWith('operation.') && a.actor === 'scheduler');
    assert.equal(ops.length, succeeded);
    // What was not done is what is left: the next plan holds exactly the rest.
    const plan = cli(config, '--as-of', '2026-11-01T00:01:00Z', '--json', 'plan');
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(
      (JSON.parse(plan.stdout) as { plan: { summary: { changes: number } } }).plan.summary.changes,
      changes - succeeded,
    );
    assert.equal(cli(config, 'audit', 'verify').code, 0);
  });
});
