// A real, throwaway PostgreSQL (≥ 15) server for integration tests: initdb into a temporary folder, start it on a
// free loopback port, stop it and remove the folder afterwards. When the binaries are missing and we are root, they
// are installed from Debian's packages with apt-get. Set TENURE_TEST_DATABASE_URL to use an existing server instead.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { aptInstall, freePort, onProcessEnd, sharedOnce } from './server-process.js';

export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

const MIN_MAJOR = 15;
const INSTALL_HINT =
  "sudo sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update && apt-get install -y --no-install-recommends postgresql'";
const START_ATTEMPTS = 5;
// A bound for a start that went wrong, not a timing: a loaded 2-core machine takes seconds.
const READY_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------------------------
// Running commands (argument arrays only, never a shell string built from our inputs)

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment for child processes: no PG* variables that could redirect pg_ctl or initdb, English messages. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  return { ...env, LC_ALL: 'C', ...extra };
}

function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: '/',
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** How to run a PostgreSQL program: as user `postgres` when we are root (initdb and postgres refuse root). */
interface Invoker {
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  wrap(command: string, args: readonly string[]): [string, string[]];
}

let invokerPromise: Promise<Invoker> | undefined;

function invoker(): Promise<Invoker> {
  invokerPromise ??= makeInvoker().catch((error: unknown) => {
    invokerPromise = undefined;
    throw error;
  });
  return invokerPromise;
}

async function makeInvoker(): Promise<Invoker> {
  if (!isRoot()) return { uid: undefined, gid: undefined, wrap: (command, args) => [command, [...args]] };
  const uid = await run('id', ['-u', 'postgres']);
  const gid = await run('id', ['-g', 'postgres']);
  if (uid.code !== 0 || gid.code !== 0) {
    throw new Error(
      'We run as root, and PostgreSQL refuses to run as root, but there is no user "postgres" to run it as. ' +
        `Install Debian's PostgreSQL, which creates it: ${INSTALL_HINT}`,
    );
  }
  const ids = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  const runuser = findExecutable('runuser');
  if (runuser !== undefined) {
    return { ...ids, wrap: (command, args) => [runuser, ['-u', 'postgres', '--', command, ...args]] };
  }
  const su = findExecutable('su');
  if (su !== undefined) {
    // The shell script is a constant: the program and its arguments arrive as positional parameters ("--" keeps su
    // from reading the program's options as its own).
    return {
      ...ids,
      wrap: (command, args) => [su, ['-s', '/bin/sh', '-c', 'exec "$0" "$@"', '--', 'postgres', command, ...args]],
    };
  }
  throw new Error('We run as root but found neither runuser nor su to run PostgreSQL as user "postgres".');
}

// ---------------------------------------------------------------------------------------------------------------
// Finding (or installing) the server binaries

async function majorVersionOf(binDir: string): Promise<number | undefined> {
  for (const program of ['initdb', 'pg_ctl', 'postgres']) if (!existsSync(join(binDir, program))) return undefined;
  try {
    const result = await run(join(binDir, 'pg_ctl'), ['--version']);
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function findBinDir(): Promise<string | undefined> {
  try {
    const result = await run('pg_config', ['--bindir']);
    const dir = result.stdout.trim();
    if (result.code === 0 && dir !== '' && ((await majorVersionOf(dir)) ?? 0) >= MIN_MAJOR) return dir;
  } catch {
    // no pg_config on PATH
  }
  let versions: number[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((major) => major >= MIN_MAJOR)
      .sort((a, b) => b - a);
  } catch {
    // no Debian layout
  }
  for (const major of versions) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    if (((await majorVersionOf(dir)) ?? 0) >= MIN_MAJOR) return dir;
  }
  return undefined;
}

async function locateOrInstall(): Promise<string> {
  const found = await findBinDir();
  if (found !== undefined) return found;
  if (!isRoot()) {
    throw new Error(
      `PostgreSQL ≥ ${MIN_MAJOR} server binaries were not found (looked at \`pg_config --bindir\` and ` +
        `/usr/lib/postgresql/*/bin). Install them with:\n  ${INSTALL_HINT}\n` +
        'or set TENURE_TEST_DATABASE_URL to the URL of an existing PostgreSQL ≥ 15 server.',
    );
  }
  process.stderr.write(`postgres-server: PostgreSQL ≥ ${MIN_MAJOR} not found; installing it with apt-get…\n`);
  await aptInstall(['postgresql']);
  // The package may have created and started its own cluster on port 5432: we leave it be and use our own port.
  const installed = await findBinDir();
  if (installed === undefined) {
    throw new Error(`apt-get installed "postgresql" but no PostgreSQL ≥ ${MIN_MAJOR} server binaries were found.`);
  }
  return installed;
}

const postgresBinDir = sharedOnce(locateOrInstall);

// ---------------------------------------------------------------------------------------------------------------
// Safety net: no server outlives the test process

interface LiveServer {
  readonly binDir: string;
  readonly dataDir: string;
  readonly invoker: Invoker;
}

const live = new Set<LiveServer>();
let safetyNetInstalled = false;

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops the server at once (synchronously, so it works in an 'exit' handler) and removes its folder. */
function killSync(server: LiveServer): void {
  live.delete(server);
  if (postmasterPid(server.dataDir) !== undefined) {
    const pgCtl = join(server.binDir, 'pg_ctl');
    const [command, args] = server.invoker.wrap(pgCtl, ['stop', '-D', server.dataDir, '-m', 'immediate', '-w']);
    spawnSync(command, args, { cwd: '/', env: childEnv(), stdio: 'ignore', timeout: 15_000 });
    const pid = postmasterPid(server.dataDir);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  rmSync(server.dataDir, { recursive: true, force: true, maxRetries: 3 });
}

function killAllSync(): void {
  for (const server of [...live]) killSync(server);
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  onProcessEnd(killAllSync);
}

// ---------------------------------------------------------------------------------------------------------------
// Starting and stopping

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const size = (await handle.stat()).size;
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      await handle.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Waits until the server answers a query over TCP. */
async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`server did not answer queries within ${READY_TIMEOUT_MS} ms: ${String(lastError)}`);
}

/** Quotes a value for postgresql.conf. */
function confString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function externalServer(url: string): PostgresServer {
  const parsed = new URL(url);
  return Object.freeze({
    url,
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    dataDir: '',
    stop: () => Promise.resolve(),
  });
}

/** Starts a throwaway server; reuses TENURE_TEST_DATABASE_URL when set (stop() is then a no-op). */
export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.TENURE_TEST_DATABASE_URL;
  if (external !== undefined && external !== '') return externalServer(external);

  const binDir = await postgresBinDir();
  const runner = await invoker();
  const asPostgres = (program: string, args: readonly string[]): Promise<RunResult> => {
    const [command, wrapped] = runner.wrap(join(binDir, program), args);
    return run(command, wrapped);
  };

  installSafetyNet();
  const dataDir = await mkdtemp(join(tmpdir(), 'tenure-pg-'));
  const server: LiveServer = { binDir, dataDir, invoker: runner };
  live.add(server);
  try {
    // pg_ctl pastes the data folder into a double-quoted /bin/sh command line of its own.
    if (/["$`\\\n]/.test(dataDir)) {
      throw new Error(`the temporary folder ${JSON.stringify(dataDir)} has characters pg_ctl cannot take; set TMPDIR`);
    }
    if (runner.uid !== undefined && runner.gid !== undefined) await chown(dataDir, runner.uid, runner.gid);

    const initdb = await asPostgres('initdb', [
      '-D',
      dataDir,
      '--auth=trust',
      '--username=postgres',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    if (initdb.code !== 0) {
      throw new Error(
        `initdb failed (exit ${String(initdb.code)}) in ${dataDir} (user "postgres" must be able to reach ` +
          `os.tmpdir()):\n${tail(initdb.stdout + initdb.stderr)}`,
      );
    }
    // The socket folder goes in the configuration file, not in pg_ctl's -o, which pg_ctl passes to a shell.
    // A Unix socket path has a length limit (107 bytes); when ours would be longer we listen on TCP only.
    const socketDir = Buffer.byteLength(join(dataDir, '.s.PGSQL.65535')) < 100 ? dataDir : '';
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      `\n# Tenure test server\nunix_socket_directories = ${confString(socketDir)}\n`,
    );

    const logFile = join(dataDir, 'log');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const logOffset = await fileSize(logFile);
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      const started = await asPostgres('pg_ctl', [
        'start',
        '-D',
        dataDir,
        '-l',
        logFile,
        '-w',
        '-t',
        '60',
        '-o',
        options,
      ]);
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      if (started.code === 0) {
        try {
          await waitUntilReady(url);
        } catch (error) {
          const log = tail(await readFrom(logFile, logOffset));
          throw new Error(`PostgreSQL started but ${(error as Error).message}\n--- server log ---\n${log}`);
        }
        return makeServer(server, url, port, asPostgres);
      }
      const log = await readFrom(logFile, logOffset);
      if (/address already in use|could not bind/i.test(log) && attempt < START_ATTEMPTS) continue;
      throw new Error(
        `PostgreSQL failed to start on 127.0.0.1:${port} (pg_ctl exit ${String(started.code)}): ` +
          `${(started.stderr || started.stdout).trim()}\n--- server log (last lines) ---\n${tail(log)}`,
      );
    }
  } catch (error) {
    killSync(server);
    throw error;
  }
}

function makeServer(
  server: LiveServer,
  url: string,
  port: number,
  asPostgres: (program: string, args: readonly string[]) => Promise<RunResult>,
): PostgresServer {
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const result = await asPostgres('pg_ctl', ['stop', '-D', server.dataDir, '-m', 'fast', '-w', '-t', '60']);
    const stillRunning = postmasterPid(server.dataDir) !== undefined;
    killSync(server); // removes the folder, and kills the server if pg_ctl could not stop it
    await rm(server.dataDir, { recursive: true, force: true });
    if (result.code !== 0 && stillRunning) {
      throw new Error(`pg_ctl stop failed (exit ${String(result.code)}); the server was killed:\n${result.stderr}`);
    }
  };
  return Object.freeze({
    url,
    port,
    dataDir: server.dataDir,
    stop: () => (stopping ??= stop()),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Databases

/** A fresh, empty database on that server for one test (CREATE DATABASE ... ), returning its URL. */
export async function createDatabase(server: PostgresServer, name?: string): Promise<string> {
  const database = name ?? `tenure_test_${randomBytes(8).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
    throw new TypeError(`database name ${JSON.stringify(database)} must match /^[a-z_][a-z0-9_]{0,62}$/`);
  }
  const client = new pg.Client({ connectionString: server.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // template0 is always pristine and never has connections, so parallel CREATE DATABASE calls do not collide.
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)} TEMPLATE template0`);
  } finally {
    await client.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  return url.toString();
}
