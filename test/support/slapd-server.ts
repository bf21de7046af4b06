// A real, throwaway OpenLDAP server for integration tests: a generated slapd.conf (not cn=config) and an mdb database
// in a temporary folder, slapd in the foreground as our child on a free loopback port, the base entries added with
// ldapts; stop() kills it and removes the folder. When slapd is missing and we are root, Debian's `slapd` and
// `ldap-utils` are installed with apt-get; otherwise starting fails with the command to run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'ldapts';
import { aptInstall, freePort, onProcessEnd, sharedOnce } from './server-process.js';

export interface SlapdServer {
  readonly url: string;
  readonly port: number;
  readonly baseDn: string;
  readonly adminDn: string;
  readonly adminPassword: string;
  /** `ldaps://127.0.0.1:PORT` when started with `ldaps: true`. */
  readonly ldapsUrl?: string;
  /** The temporary folder holding slapd.conf and the database. */
  readonly dir: string;
  stop(): Promise<void>;
}

const BASE_DN = 'dc=example,dc=test';
const ADMIN_DN = `cn=admin,${BASE_DN}`;
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';
const INSTALL_HINT =
  "sudo sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update && apt-get install -y slapd ldap-utils'";
// A bound for a start that went wrong, not a timing: a loaded 2-core machine takes seconds.
const READY_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------------------------
// Finding (or installing) slapd

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

function installed(): string | undefined {
  const slapd = findExecutable('slapd');
  return slapd !== undefined &&
    existsSync(join(SCHEMA_DIR, 'core.schema')) &&
    existsSync(join(MODULE_DIR, 'back_mdb.la'))
    ? slapd
    : undefined;
}

async function locateOrInstall(): Promise<string> {
  const found = installed();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `OpenLDAP's slapd (with ${SCHEMA_DIR} and ${MODULE_DIR}/back_mdb) was not found. Install it with:\n  ${INSTALL_HINT}`,
    );
  }
  process.stderr.write('slapd-server: slapd not found; installing slapd and ldap-utils with apt-get…\n');
  await aptInstall(['slapd', 'ldap-utils']);
  // The package may start its own slapd on port 389; we leave it be and use our own port.
  const now = installed();
  if (now === undefined) throw new Error(`apt-get installed slapd, but slapd or its schemas/modules are still missing`);
  return now;
}

const slapdBinary = sharedOnce(locateOrInstall);

// ---------------------------------------------------------------------------------------------------------------
// Safety net: no slapd outlives the test process

interface Live {
  child: ChildProcess;
  readonly dir: string;
}
const live = new Set<Live>();
let safetyNetInstalled = false;

function killSync(server: Live): void {
  live.delete(server);
  if (server.child.exitCode === null && server.child.signalCode === null) {
    try {
      server.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(server.dir, { recursive: true, force: true, maxRetries: 3 });
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

/** Quotes a value for slapd.conf (double quotes; backslash and quote escaped). */
function confQuote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** PEM files for a server that offers StartTLS on its ldap:// port. */
export interface SlapdTls {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface SlapdOptions {
  /** Offer StartTLS with this certificate (and ldaps:// with `ldaps`). */
  readonly tls?: SlapdTls;
  /** Listen on a second port for ldaps:// (TLS from the start); needs `tls`. */
  readonly ldaps?: boolean;
  /** Extra schema (slapd.conf `attributetype` / `objectclass` lines), as a directory configured by others has. */
  readonly schema?: string;
  /** Load the referential-integrity overlay for these attributes: a modify-DN rewrites them in every entry. */
  readonly refint?: readonly string[];
  /** slapd.conf `access to` lines for the database (the root DN is never bound by them). */
  readonly access?: readonly string[];
}

function slapdConf(dir: string, password: string, options: SlapdOptions): string {
  const { tls, schema, refint, access } = options;
  return [
    '# Tenure test server (generated)',
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${confQuote(join(SCHEMA_DIR, `${s}.schema`))}`),
    ...(schema === undefined ? [] : [`include ${confQuote(join(dir, 'extra.schema'))}`]),
    ...(tls
      ? [`TLSCertificateFile ${confQuote(tls.certFile)}`, `TLSCertificateKeyFile ${confQuote(tls.keyFile)}`]
      : []),
    `pidfile ${confQuote(join(dir, 'slapd.pid'))}`,
    `argsfile ${confQuote(join(dir, 'slapd.args'))}`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    ...(refint === undefined ? [] : ['moduleload refint']),
    'loglevel none',
    // The paged-results control (RFC 2696) is built into slapd's frontend and back-mdb: nothing to load.
    'sizelimit unlimited',
    'database mdb',
    `suffix ${confQuote(BASE_DN)}`,
    `rootdn ${confQuote(ADMIN_DN)}`,
    `rootpw ${confQuote(password)}`,
    `directory ${confQuote(dir)}`,
    'maxsize 67108864',
    'index objectClass eq',
    'index uid,cn,member eq',
    ...(access ?? []),
    ...(refint === undefined ? [] : ['overlay refint', `refint_attributes ${refint.join(' ')}`]),
    '',
  ].join('\n');
}

async function tryBind(url: string, password: string): Promise<void> {
  const client = new Client({ url, connectTimeout: 500, timeout: 1_000 });
  try {
    await client.bind(ADMIN_DN, password);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function addBaseEntries(url: string, password: string): Promise<void> {
  const client = new Client({ url, timeout: 5_000 });
  try {
    await client.bind(ADMIN_DN, password);
    await client.add(BASE_DN, { objectClass: ['top', 'dcObject', 'organization'], dc: 'example', o: 'Example' });
    for (const ou of ['people', 'groups', 'disabled']) {
      await client.add(`ou=${ou},${BASE_DN}`, { objectClass: ['top', 'organizationalUnit'], ou });
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/**
 * Starts a throwaway slapd on 127.0.0.1 and a free port, with the base entries of dc=example,dc=test; with `tls`, it
 * offers StartTLS with that certificate, and with `ldaps` also listens for ldaps:// on a second port.
 */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdServer> {
  if (options.ldaps && options.tls === undefined) throw new Error('startSlapd: ldaps needs tls');
  const slapd = await slapdBinary();
  installSafetyNet();
  const dir = await mkdtemp(join(tmpdir(), 'tenure-slapd-'));
  const password = randomBytes(12).toString('hex');
  const confFile = join(dir, 'slapd.conf');
  const writeConf = async (): Promise<void> => {
    if (options.schema !== undefined) await writeFile(join(dir, 'extra.schema'), options.schema);
    await writeFile(confFile, slapdConf(dir, password, options));
  };
  await writeConf();

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = options.ldaps ? `ldaps://127.0.0.1:${await freePort()}` : undefined;
    const listen = ldapsUrl === undefined ? `${url}/` : `${url}/ ${ldapsUrl}/`;
    // -d 0: stay in the foreground as our child (so stop() can kill it) without debug output; errors go to stderr.
    const child = spawn(slapd, ['-h', listen, '-f', confFile, '-d', '0'], {
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server: Live = { child, dir };
    live.add(server);
    let log = '';
    child.stdout?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    // A forgotten stop() must not keep the test process alive: the 'exit' safety net kills slapd then.
    child.unref();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError: unknown;
    let ready = false;
    while (Date.now() < deadline) {
      if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) break;
      try {
        await tryBind(url, password);
        ready = true;
        break;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (ready) {
      try {
        await addBaseEntries(url, password);
      } catch (error) {
        killSync(server);
        throw new Error(`slapd started but the base entries could not be added: ${String(error)}\n${tail(log)}`);
      }
      return makeServer(server, url, port, password, ldapsUrl);
    }
    const exited = child.exitCode !== null || child.signalCode !== null;
    // With -d 0 slapd prints nothing on a bad start; `slapd -Tt` (slaptest) says what is wrong with the config.
    const check =
      spawnError === undefined && exited ? await run(slapd, ['-Tt', '-f', confFile, '-u'], process.env) : undefined;
    killSync(server);
    if (check?.code === 0 && attempt < START_ATTEMPTS) {
      // The config is fine, so most likely someone took the port between our probe and slapd's bind: try another.
      await mkdir(dir, { recursive: true }); // killSync removed it
      await writeConf();
      continue;
    }
    throw new Error(
      `slapd failed to start on ${url} (${
        spawnError !== undefined
          ? `spawn error: ${spawnError.message}`
          : exited
            ? `exit ${String(child.exitCode ?? child.signalCode)}`
            : `no successful bind within ${READY_TIMEOUT_MS} ms: ${String(lastError)}`
      }); command: ${slapd} -h '${listen}' -f ${confFile} -d 0\n--- slapd output (last lines) ---\n${tail(
        `${log}\n${check?.output ?? ''}`,
      )}`,
    );
  }
}

function makeServer(server: Live, url: string, port: number, password: string, ldapsUrl?: string): SlapdServer {
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const { child } = server;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    killSync(server);
    await rm(server.dir, { recursive: true, force: true });
  };
  return Object.freeze({
    url,
    port,
    baseDn: BASE_DN,
    adminDn: ADMIN_DN,
    adminPassword: password,
    ...(ldapsUrl === undefined ? {} : { ldapsUrl }),
    dir: server.dir,
    stop: () => (stopping ??= stop()),
  });
}
