import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A port on 127.0.0.1 that nothing listens on now (the caller retries if it is taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/**
 * Runs `cleanup` (synchronously) when the test process ends, however it ends, so no server a
 * test started outlives it. Signals end Node without running 'exit' handlers: clean up, then let
 * the signal do what it would have done.
 */
export function onProcessEnd(cleanup: () => void): void {
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      cleanup();
      process.removeListener(signal, handler);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

/**
 * `apt-get update` then `apt-get install` of the packages, non-interactive, waiting for apt's
 * locks (another test process may be installing at the same time). Only for root.
 */
export async function aptInstall(packages: readonly string[]): Promise<void> {
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
    for (let attempt = 1; ; attempt++) {
      const r = await runApt(args);
      if (r.code === 0) break;
      if (/could not get lock|unable to lock/i.test(r.output) && attempt < 60) {
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        continue;
      }
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${String(r.code)}):\n${r.output.split('\n').slice(-30).join('\n')}`,
      );
    }
  }
}

function runApt(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (e) => resolve({ code: null, output: `${output}\n${e.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Runs `f` once and shares its promise; a failure is forgotten so the next caller tries again. */
export function sharedOnce<T>(f: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    promise ??= f().catch((error: unknown) => {
      promise = undefined;
      throw error;
    });
    return promise;
  };
}
