import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { onProcessEnd } from './support/server-process.js';

// Policy reload on real `tenure serve` processes: SIGHUP on SQLite (an invalid file refused, a valid one
// swapped in), and two instances on one PostgreSQL that refuse to apply while they serve different policies.

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Serving {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves once the service's log (stdout, JSON lines) has a line matching `re` after `from` characters. */
  readonly logged: (re: RegExp, from?: number) => Promise<string>;
  readonly logLength: () => number;
  readonly stderr: () => string;
  /** The exit code, or which signal ended it. */
  readonly exit: Promise<number | string>;
}

const running = new Set<ChildProcess>();
onProcessEnd(() => {
  for (const c of running) c.kill('SIGKILL');
});

function world(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync('examples/acme', dir, { recursive: true });
  const config = join(dir, 'tenure.yaml');
  const cli = (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, ...args], {
      encoding: 'utf8',
      env,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const token = (env: NodeJS.ProcessEnv, name: string, scopes: string) => {
    const r = cli(env, 'token', 'create', '--name', name, '--scopes', scopes);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const serve = (env: NodeJS.ProcessEnv): Promise<Serving> => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', '-c', config, 'serve', '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    running.add(child);
    let out = '';
    let err = '';
    const waiting = new Set<() => void>();
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      for (const w of waiting) w();
    });
    // A process ended by a signal has no code: the signal is kept, so a failure says which one.
    const exit = new Promise<number | string>((resolve) =>
      child.on('exit', (code, signal) => {
        running.delete(child);
        resolve(code ?? `killed by ${signal ?? 'an unknown signal'}`);
      }),
    );
    const logged = (re: RegExp, from = 0) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const line = out
            .slice(from)
            .split('\n')
            .find((l) => re.test(l));
          if (line === undefined) return;
          waiting.delete(check);
          resolve(line);
        };
        waiting.add(check);
        check();
        void exit.then((code) => reject(new Error(`tenure serve exited ${code}:\n${err}`)));
      });
    return new Promise((resolve, reject) => {
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        const m = /listening on (https?:\/\/\S+)/.exec(err);
        if (m) resolve({ child, url: m[1]!, logged, logLength: () => out.length, stderr: () => err, exit });
      });
      void exit.then((code) => reject(new Error(`tenure serve exited ${code} before listening:\n${err}`)));
    });
  };
  return { dir, config, cli, token, serve };
}

async function call(s: Serving, method: string, path: string, token: string) {
  const r = await fetch(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  return { status: r.status, text, json: <T>() => JSON.parse(text) as T };
}

async function stop(s: Serving) {
  s.child.kill('SIGTERM');
  assert.equal(await s.exit, 0, `tenure serve did not exit 0 on SIGTERM; its stderr:\n${s.stderr()}`);
}

describe('tenure serve: policy reload (real processes)', () => {
  let pg: PostgresServer | undefined;
  after(async () => {
    await pg?.stop();
  });

  it('SIGHUP refuses an invalid policy in the log and keeps the old one; a valid one is swapped in', async () => {
    const w = world('tenure-serve-reload-');
    const env = { ...process.env };
    assert.equal(w.cli(env, 'import', '--limit', '0').code, 0);
    const reader = w.token(env, 'reader', 'governance:read');
    const original = readFileSync(w.config, 'utf8');
    const s = await w.serve(env);
    try {
      writeFileSync(w.config, `${original}\nroles_typo: []\n`);
      let from = s.logLength();
      s.child.kill('SIGHUP');
      const refused = await s.logged(/policy reload refused/, from);
      const entry = JSON.parse(refused) as { diagnostics: string[]; code: string };
      assert.equal(entry.code, 'policy.invalid');
      assert.ok(
        entry.diagnostics.some((d) => /tenure\.yaml:\d+:\d+: error: .*roles_typo/.test(d)),
        refused,
      );
      const kept = await call(s, 'GET', '/api/v1/policy', reader);
      assert.equal(kept.json<{ hash: string }>().hash, sha256(original));

      const changed = `${original}\n# reviewed by the access board\n`;
      writeFileSync(w.config, changed);
      from = s.logLength();
      s.child.kill('SIGHUP');
      const done = JSON.parse(await s.logged(/"policy reloaded"/, from)) as { previousHash: string; hash: string };
      assert.deepEqual([done.previousHash, done.hash], [sha256(original), sha256(changed)]);
      const now = await call(s, 'GET', '/api/v1/policy', reader);
      assert.equal(now.json<{ hash: string; text: string }>().text, changed);
    } finally {
      await stop(s);
    }
    const audit = w.cli(env, '--json', 'audit', 'verify');
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  });

  it('two instances on one PostgreSQL refuse to apply until both serve the same policy', async () => {
    pg = await startPostgres();
    const w = world('tenure-serve-reload-pg-');
    const env = { ...process.env, TENURE_DATABASE_URL: await createDatabase(pg), TENURE_LOG_LEVEL: 'warn' };
    assert.equal(w.cli(env, 'import', '--limit', '0').code, 0);
    const admin = w.token(env, 'admin', 'policy:reload');
    const helpdesk = w.token(env, 'helpdesk', 'plans:apply');
    const original = readFileSync(w.config, 'utf8');
    const one = await w.serve(env);
    const two = await w.serve(env);
    try {
      const first = await call(two, 'POST', '/api/v1/identities/E000047/reconcile', helpdesk);
      assert.equal(first.status, 200, first.text);

      const changed = `${original}\n# reviewed by the access board\n`;
      writeFileSync(w.config, changed);
      const reloaded = await call(one, 'POST', '/api/v1/policy/reload', admin);
      assert.equal(reloaded.status, 200, reloaded.text);
      assert.equal(reloaded.json<{ hash: string }>().hash, sha256(changed));
      for (const s of [two, one]) {
        const refused = await call(s, 'POST', '/api/v1/identities/E000048/reconcile', helpdesk);
        assert.equal(refused.status, 409, refused.text);
        assert.equal(refused.json<{ error: { code: string } }>().error.code, 'policy.mismatch');
      }

      const caughtUp = await call(two, 'POST', '/api/v1/policy/reload', admin);
      assert.equal(caughtUp.status, 200, caughtUp.text);
      const agreed = await call(two, 'POST', '/api/v1/identities/E000048/reconcile', helpdesk);
      assert.equal(agreed.status, 200, agreed.text);

      // Only live instances count: once the one that differs has stopped, the other applies again.
      writeFileSync(w.config, original);
      assert.equal((await call(two, 'POST', '/api/v1/policy/reload', admin)).status, 200);
      assert.equal((await call(two, 'POST', '/api/v1/identities/E000049/reconcile', helpdesk)).status, 409);
      await stop(one);
      const alone = await call(two, 'POST', '/api/v1/identities/E000049/reconcile', helpdesk);
      assert.equal(alone.status, 200, alone.text);
    } finally {
      for (const s of [one, two]) if (s.child.exitCode === null) await stop(s);
    }
  });
});
