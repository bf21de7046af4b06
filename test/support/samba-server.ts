// A real, throwaway Samba Active Directory domain controller for integration tests. Provisioning a domain takes
// seconds, so it is done once per machine and Samba version into a template folder under os.tmpdir(); each instance
// is a copy of it (cp -a) with its own smb.conf, its own TLS certificates (a throwaway CA and a server certificate
// for its address, minted with the openssl command) and only the LDAP service running, as our child.
//
// AD's LDAP ports are fixed (389, 636, and the global catalog's 3268, 3269), so each instance listens on a loopback
// address of its own, 127.0.0.N, claimed with a lock file per address that parallel test processes respect. When
// Samba is missing and we are root, Debian's packages are installed with apt-get; otherwise starting fails with the
// command to run (Samba also needs root itself: ports below 1024 and the sysvol ACLs of provisioning).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { aptInstall, onProcessEnd, sharedOnce } from './server-process.js';

export interface SambaServer {
  /** `ldap://127.0.0.N`: simple binds in clear are allowed (`ldap server require strong auth = no`). */
  readonly url: string;
  /** `ldaps://127.0.0.N`, with a certificate for 127.0.0.N and `localhost` signed by `caFile`. */
  readonly ldapsUrl: string;
  /** The loopback address this instance alone listens on. */
  readonly host: string;
  readonly baseDn: string;
  readonly adminDn: string;
  readonly adminPassword: string;
  /** The Kerberos realm, `CORP.EXAMPLE.TEST`. */
  readonly realm: string;
  /** The NetBIOS domain name, `CORP` (as in `CORP\jdoe`). */
  readonly netbiosDomain: string;
  /** The domain's DNS name, the suffix of users' userPrincipalName: `corp.example.test`. */
  readonly upnSuffix: string;
  /** The organizational units every instance starts with (Staff, Groups, Disabled). */
  readonly ous: { readonly staff: string; readonly groups: string; readonly disabled: string };
  /** PEM of the throwaway CA that signed the server's certificate; each instance has its own. */
  readonly caFile: string;
  /** The instance's folder: the copied domain, etc/smb.conf, tls/. stop() removes it. */
  readonly dir: string;
  /** The samba process (its title says "samba: root process", not its command line). */
  readonly pid: number;
  stop(): Promise<void>;
}

const REALM = 'CORP.EXAMPLE.TEST';
const NETBIOS_DOMAIN = 'CORP';
const DNS_DOMAIN = REALM.toLowerCase();
const BASE_DN = DNS_DOMAIN.split('.')
  .map((label) => `DC=${label}`)
  .join(',');
const ADMIN_DN = `CN=Administrator,CN=Users,${BASE_DN}`;
// Fixed, so a machine's long hostname (NetBIOS names have 15 characters at most) cannot break provisioning.
const DC_HOST_NAME = 'dc1';
const OUS = { staff: `OU=Staff,${BASE_DN}`, groups: `OU=Groups,${BASE_DN}`, disabled: `OU=Disabled,${BASE_DN}` };
/** Bump when the template's content changes, so machines provision it again. */
const TEMPLATE_FORMAT = 1;
const TEMPLATE_META = 'tenure-template.json';
const PACKAGES = ['samba', 'samba-ad-provision', 'samba-dsdb-modules', 'samba-vfs-modules', 'winbind'];
const INSTALL_HINT = `sudo sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update && apt-get install -y --no-install-recommends ${PACKAGES.join(' ')} openssl'`;
const LDAP_PORTS = [389, 636, 3268, 3269];
// 127.0.0.1 is left to servers on ephemeral ports (and to a packaged slapd that may hold 389 there).
const FIRST_ADDRESS = 2;
const LAST_ADDRESS = 254;
// Bounds for something that went wrong, not timings: a loaded 2-core machine takes seconds.
const READY_TIMEOUT_MS = 30_000;
const PROVISION_TIMEOUT_MS = 300_000;
const STOP_GRACE_MS = 10_000;
const START_ATTEMPTS = 5;
const LOG_LIMIT = 64 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Running commands (argument arrays only, never a shell string)

interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

function run(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? '/',
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: PROVISION_TIMEOUT_MS,
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

async function runOrThrow(what: string, command: string, args: readonly string[], cwd?: string): Promise<string> {
  const result = await run(command, args, cwd === undefined ? {} : { cwd });
  if (result.code !== 0) throw new Error(`${what} failed (exit ${String(result.code)}):\n${tail(result.output)}`);
  return result.output;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Finding (or installing) Samba

interface SambaTools {
  readonly samba: string;
  readonly sambaTool: string;
  readonly openssl: string;
  /** As `samba --version` prints it, e.g. `4.17.12-Debian`. */
  readonly version: string;
}

function located(): Omit<SambaTools, 'version'> | undefined {
  const samba = findExecutable('samba');
  const sambaTool = findExecutable('samba-tool');
  const openssl = findExecutable('openssl');
  return samba && sambaTool && openssl ? { samba, sambaTool, openssl } : undefined;
}

async function locateOrInstall(): Promise<SambaTools> {
  if (process.getuid?.() !== 0) {
    // Samba binds ports 389 and 636 and provisioning writes the sysvol's NT ACLs as security.* attributes.
    throw new Error(
      'A Samba AD domain controller needs root, and these tests do not run as root. Run them as root; ' +
        `Samba itself (if missing) is installed with:\n  ${INSTALL_HINT}`,
    );
  }
  let tools = located();
  if (tools === undefined) {
    process.stderr.write(`samba-server: samba, samba-tool or openssl not found; installing ${PACKAGES.join(', ')}…\n`);
    await aptInstall([...PACKAGES, 'openssl']);
    tools = located();
    if (tools === undefined) throw new Error(`apt-get installed ${PACKAGES.join(' ')} but samba-tool is still missing`);
  }
  const printed = await runOrThrow('samba --version', tools.samba, ['--version']);
  const version = /Version\s+(\S+)/.exec(printed)?.[1];
  if (version === undefined) throw new Error(`could not read Samba's version from: ${printed.trim()}`);
  return { ...tools, version };
}

const sambaTools = sharedOnce(locateOrInstall);

// ---------------------------------------------------------------------------------------------------------------
// Lock files: created whole (written elsewhere, then hard-linked into place, which fails if the name exists), so a
// reader never sees a half-written one. A lock whose process is gone is stale and may be taken over.

interface Lock {
  readonly path: string;
  readonly content: string;
}

async function tryLock(path: string): Promise<Lock | undefined> {
  const content = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(staging, content, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(staging, path);
        return { path, content };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let holder = '';
      try {
        holder = await readFile(path, 'utf8');
      } catch {
        continue; // released meanwhile: try again
      }
      const pid = Number(holder.split(' ')[0]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return undefined;
      await unlink(path).catch(() => undefined); // stale: its process is gone
    }
    return undefined;
  } finally {
    await unlink(staging).catch(() => undefined);
  }
}

/** Removes the lock if it is still ours (synchronously, so it works in an 'exit' handler). */
function releaseLockSync(lock: Lock): void {
  try {
    if (readFileSync(lock.path, 'utf8') === lock.content) unlinkSync(lock.path);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The template: one provisioned domain per machine and Samba version

interface TemplateMeta {
  /** The folder samba-tool provisioned into; the template's smb.conf names it. */
  readonly provisionedDir: string;
  readonly adminPassword: string;
  readonly sambaVersion: string;
}

export interface SambaTemplate {
  readonly dir: string;
  readonly meta: TemplateMeta;
  /** How long provisioning took, when this call provisioned; undefined when the template was already there. */
  readonly provisionMs: number | undefined;
}

function templateDir(tools: SambaTools): string {
  const key = createHash('sha256')
    .update(JSON.stringify([TEMPLATE_FORMAT, tools.version, REALM, NETBIOS_DOMAIN, DC_HOST_NAME]))
    .digest('hex')
    .slice(0, 12);
  return join(tmpdir(), `tenure-samba-template-${tools.version.replace(/[^\w.-]/g, '_')}-${key}`);
}

async function readTemplate(dir: string): Promise<TemplateMeta | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, TEMPLATE_META), 'utf8')) as TemplateMeta;
  } catch {
    return undefined;
  }
}

/** Every file below `dir`, relative to it. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/**
 * Copies work only if smb.conf is the one file that names the provisioned folder (true of Samba 4.17: the sam.ldb
 * partitions are found relative to sam.ldb). Checked on every provisioning, so a Samba that starts recording its
 * path elsewhere fails here, by name, rather than in an instance that quietly uses the template's files.
 */
async function checkOnlyConfNamesFolder(dir: string): Promise<void> {
  const needles = [Buffer.from(dir, 'utf8'), Buffer.from(dir, 'utf16le'), Buffer.from(dir.toUpperCase(), 'utf8')];
  const naming: string[] = [];
  for (const file of await filesBelow(dir)) {
    if (file === join('etc', 'smb.conf')) continue;
    const content = await readFile(join(dir, file));
    if (needles.some((needle) => content.includes(needle))) naming.push(file);
  }
  if (naming.length > 0) {
    throw new Error(
      `the provisioned domain names its folder in ${naming.join(', ')}, not only in etc/smb.conf: ` +
        'copies of it would use the template. This Samba needs another way to make instances.',
    );
  }
}

async function provision(tools: SambaTools, finalDir: string): Promise<TemplateMeta> {
  // Leftovers of provisionings whose process died (named by their pid, so a live one is never touched).
  const parent = tmpdir();
  const prefix = `${finalDir.slice(parent.length + 1)}.tmp-`;
  for (const entry of await readdir(parent)) {
    const pid = Number(/^(\d+)-/.exec(entry.slice(prefix.length))?.[1]);
    if (entry.startsWith(prefix) && Number.isInteger(pid) && !isAlive(pid)) {
      await rm(join(parent, entry), { recursive: true, force: true });
    }
  }
  const dir = await mkdtemp(join(parent, `${prefix}${process.pid}-`));
  try {
    await chmod(dir, 0o700);
    const emptyConf = join(dir, 'provision-empty.conf');
    await writeFile(emptyConf, '');
    // Random per machine; upper, lower, digit and symbol meet the default complexity rule.
    const adminPassword = `Tenure-${randomBytes(12).toString('hex')}-A9`;
    await runOrThrow('samba-tool domain provision', tools.sambaTool, [
      'domain',
      'provision',
      '--server-role=dc',
      '--dns-backend=NONE',
      `--realm=${REALM}`,
      `--domain=${NETBIOS_DOMAIN}`,
      `--host-name=${DC_HOST_NAME}`,
      `--adminpass=${adminPassword}`,
      `--targetdir=${dir}`,
      '-s',
      emptyConf,
    ]);
    await rm(emptyConf);
    await checkOnlyConfNamesFolder(dir);
    const meta: TemplateMeta = { provisionedDir: dir, adminPassword, sambaVersion: tools.version };
    await writeFile(join(dir, TEMPLATE_META), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    // Atomic: the template's name appears only with everything in it.
    try {
      await rename(dir, finalDir);
    } catch (error) {
      // Another process provisioned too (it took over a lock it found stale as we did): use its template.
      const theirs = await readTemplate(finalDir);
      if (theirs === undefined) throw error;
      await rm(dir, { recursive: true, force: true });
      return theirs;
    }
    return meta;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The provisioned domain all instances are copied from, provisioning it when this machine has none for this Samba
 * version. One test process provisions; others wait for it (a lock file beside the template).
 */
export async function sambaTemplate(): Promise<SambaTemplate> {
  const tools = await sambaTools();
  const dir = templateDir(tools);
  const deadline = Date.now() + PROVISION_TIMEOUT_MS;
  for (;;) {
    const existing = await readTemplate(dir);
    if (existing !== undefined) return { dir, meta: existing, provisionMs: undefined };
    const lock = await tryLock(`${dir}.lock`);
    if (lock !== undefined) {
      try {
        const meanwhile = await readTemplate(dir);
        if (meanwhile !== undefined) return { dir, meta: meanwhile, provisionMs: undefined };
        const started = performance.now();
        const meta = await provision(tools, dir);
        return { dir, meta, provisionMs: performance.now() - started };
      } finally {
        releaseLockSync(lock);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`another process has been provisioning ${dir} for ${PROVISION_TIMEOUT_MS} ms (see ${dir}.lock)`);
    }
    await sleep(250);
  }
}

const template = sharedOnce(sambaTemplate);

// ---------------------------------------------------------------------------------------------------------------
// Claiming a loopback address

interface Claim {
  readonly host: string;
  readonly lock: Lock;
}

/** Whether we can listen on host:port now (a listener on the wildcard address also takes it). */
function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

async function claimAddress(skip: ReadonlySet<string>): Promise<Claim> {
  for (let n = FIRST_ADDRESS; n <= LAST_ADDRESS; n++) {
    const host = `127.0.0.${n}`;
    if (skip.has(host)) continue;
    const lock = await tryLock(join(tmpdir(), `tenure-samba-${host}.lock`));
    if (lock === undefined) continue;
    const free = await Promise.all(LDAP_PORTS.map((port) => canListen(host, port)));
    if (free.every(Boolean)) return { host, lock };
    releaseLockSync(lock); // something we do not know listens there
  }
  throw new Error(
    `no loopback address 127.0.0.${FIRST_ADDRESS}-${LAST_ADDRESS} has ports ${LDAP_PORTS.join(', ')} free ` +
      `(locks are ${join(tmpdir(), 'tenure-samba-127.0.0.*.lock')})`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Safety net: no samba outlives the test process (it also exits by itself when its stdin, our pipe, closes)

interface Live {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly claim: Claim;
}
const live = new Set<Live>();
let safetyNetInstalled = false;

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killSync(server: Live): void {
  live.delete(server);
  if (running(server.child)) {
    try {
      server.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(server.dir, { recursive: true, force: true, maxRetries: 3 });
  releaseLockSync(server.claim.lock);
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  onProcessEnd(() => {
    for (const server of [...live]) killSync(server);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// An instance's TLS files and smb.conf

/** openssl's configuration for the two certificates; `host` is ours (127.0.0.N), never outside input. */
function opensslConf(host: string): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    'CN = unused',
    '[ca]',
    'basicConstraints = critical,CA:TRUE',
    'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash',
    '[server]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    // 127.0.0.1 too: a test may reach the DC through a proxy on it (test/support/fault-proxy.ts).
    `subjectAltName = IP:${host},IP:127.0.0.1,DNS:localhost`,
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}

interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A throwaway CA and a server certificate it signed for `host` (and localhost). P-256 keys: fast to make. */
async function mintTls(tools: SambaTools, dir: string, host: string): Promise<TlsFiles> {
  await writeFile(join(dir, 'openssl.cnf'), opensslConf(host));
  const openssl = (args: readonly string[]): Promise<string> =>
    runOrThrow(`openssl ${args.slice(0, 2).join(' ')}`, tools.openssl, args, dir);
  const newKey = ['-config', 'openssl.cnf', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const days = ['-days', '2'];
  await openssl(
    ['req', '-x509', ...newKey, '-extensions', 'ca', ...days, '-subj', '/CN=Tenure test CA (Samba)'].concat([
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ]),
  );
  await openssl(['req', '-new', ...newKey, '-subj', `/CN=${host}`, '-keyout', 'key.pem', '-out', 'server.csr']);
  const serial = ['-set_serial', `0x${randomBytes(8).toString('hex')}`];
  await openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', ...serial, ...days].concat([
      '-extfile',
      'openssl.cnf',
      '-extensions',
      'server',
      '-out',
      'cert.pem',
    ]),
  );
  // Samba refuses a private key others can read.
  await chmod(join(dir, 'key.pem'), 0o600);
  await chmod(join(dir, 'ca.key'), 0o600);
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

// smb.conf expands %-sequences and continues a line ending in a backslash: paths must not have those.
const PLAIN_PATH = /^[\w./+-]+$/;

/** smb.conf parameter names ignore case and spaces ("server services" is "ServerServices"). */
function paramName(line: string): string | undefined {
  return /^\s*([^=;#[]+?)\s*=/.exec(line)?.[1]?.replace(/\s+/g, '').toLowerCase();
}

/**
 * The instance's smb.conf: the template's, with the provisioned folder's paths moved to the instance's, and our
 * settings in [global] in place of any the template had.
 */
function instanceConf(templateConf: string, meta: TemplateMeta, dir: string, host: string, tls: TlsFiles): string {
  const settings: readonly (readonly [string, string])[] = [
    // Only the LDAP server: faster to start, and no SMB, Kerberos or DNS ports to share between instances.
    ['server services', 'ldap'],
    ['interfaces', `${host}/8`],
    ['bind interfaces only', 'yes'],
    // Simple binds in clear over ldap:// would otherwise fail ("Transport encryption required"). Tenure's
    // connector refuses to send passwords in clear itself; the tests check that it does.
    ['ldap server require strong auth', 'no'],
    ['tls enabled', 'yes'],
    ['tls keyfile', tls.keyFile],
    ['tls certfile', tls.certFile],
    ['tls cafile', tls.caFile],
    // The defaults are under /run/samba, shared by every samba on the machine (the pid file refuses a second one).
    ['pid directory', join(dir, 'run')],
    ['ncalrpc dir', join(dir, 'ncalrpc')],
  ];
  const ours = new Set(settings.map(([name]) => paramName(`${name} =`)));
  const lines: string[] = [];
  let section = '';
  let sawGlobal = false;
  for (const line of templateConf.split(meta.provisionedDir).join(dir).split('\n')) {
    const header = /^\s*\[([^\]]*)\]/.exec(line);
    if (header !== null) {
      section = header[1]!.trim().toLowerCase();
      lines.push(line);
      if (section === 'global') {
        sawGlobal = true;
        lines.push('\t# Tenure test instance', ...settings.map(([name, value]) => `\t${name} = ${value}`));
      }
      continue;
    }
    if (section === 'global' && ours.has(paramName(line))) continue;
    lines.push(line);
  }
  if (!sawGlobal) throw new Error(`the template's smb.conf has no [global] section:\n${templateConf}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Starting and stopping

async function tryBind(url: string, password: string, ca?: string): Promise<void> {
  const client = new Client({
    url,
    connectTimeout: 1_000,
    timeout: 2_000,
    ...(ca === undefined ? {} : { tlsOptions: { ca: [ca] } }),
  });
  try {
    await client.bind(ADMIN_DN, password);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function addOus(url: string, password: string): Promise<void> {
  const client = new Client({ url, timeout: 10_000 });
  try {
    await client.bind(ADMIN_DN, password);
    for (const dn of Object.values(OUS)) {
      await client.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: /^OU=([^,]+)/.exec(dn)![1]! });
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Resolves true when the child exits within `ms`, false otherwise. */
function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (!running(child)) {
      resolve(true);
      return;
    }
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    child.once('exit', onExit);
  });
}

type Started = { readonly ready: true; readonly server: Live } | { readonly ready: false; readonly addressTaken: true };

async function startInstance(
  tools: SambaTools,
  templateDir: string,
  meta: TemplateMeta,
  claim: Claim,
): Promise<Started> {
  let dir: string | undefined;
  let server: Live | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'tenure-samba-'));
    if (!PLAIN_PATH.test(dir)) {
      throw new Error(`the temporary folder ${JSON.stringify(dir)} has characters smb.conf cannot take; set TMPDIR`);
    }
    await runOrThrow('copying the template (cp -a)', 'cp', ['-a', `${templateDir}/.`, dir]);
    await rm(join(dir, TEMPLATE_META));
    for (const sub of ['tls', 'run', 'ncalrpc']) await mkdir(join(dir, sub), { mode: 0o700 });
    const tls = await mintTls(tools, join(dir, 'tls'), claim.host);
    const confFile = join(dir, 'etc', 'smb.conf');
    await writeFile(confFile, instanceConf(await readFile(confFile, 'utf8'), meta, dir, claim.host, tls));

    // -i: in the foreground, logging to stderr, and exiting when its stdin closes, so even a SIGKILLed test process
    // leaves no samba behind. -M single: one process, no forks.
    const command = [tools.samba, '-i', '-M', 'single', '-s', confFile];
    const child = spawn(command[0]!, command.slice(1), {
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    server = { child, dir, claim };
    live.add(server);
    let log = '';
    const collect = (c: Buffer): void => {
      log = (log + c.toString('utf8')).slice(-LOG_LIMIT);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    // A forgotten stop() must not keep the test process alive: the safety net kills samba when it ends.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }

    const url = `ldap://${claim.host}`;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError: unknown;
    let ready = false;
    while (Date.now() < deadline && spawnError === undefined && running(child)) {
      try {
        await tryBind(url, meta.adminPassword);
        ready = true;
        break;
      } catch (error) {
        lastError = error;
        await sleep(50);
      }
    }
    if (!ready) {
      if (/NT_STATUS_ADDRESS_ALREADY_ASSOCIATED/.test(log)) {
        killSync(server); // someone took a port after our probe; the caller tries another address
        return { ready: false, addressTaken: true };
      }
      throw new Error(
        `samba failed to start on ${claim.host} (${
          spawnError !== undefined
            ? `spawn error: ${spawnError.message}`
            : !running(child)
              ? `exit ${String(child.exitCode ?? child.signalCode)}`
              : `no successful bind within ${READY_TIMEOUT_MS} ms: ${String(lastError)}`
        }); command: ${command.join(' ')}\n--- samba output (last lines) ---\n${tail(log)}`,
      );
    }
    try {
      await tryBind(`ldaps://${claim.host}`, meta.adminPassword, await readFile(tls.caFile, 'utf8'));
    } catch (error) {
      throw new Error(`samba answers on ${url} but not on ldaps:// with its own CA: ${String(error)}\n${tail(log)}`);
    }
    try {
      await addOus(url, meta.adminPassword);
    } catch (error) {
      throw new Error(`samba started but the OUs could not be added: ${String(error)}\n${tail(log)}`);
    }
    return { ready: true, server };
  } catch (error) {
    if (server !== undefined) killSync(server);
    else {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      releaseLockSync(claim.lock);
    }
    throw error;
  }
}

/**
 * Starts a throwaway Samba AD DC (realm CORP.EXAMPLE.TEST) on a loopback address of its own, with ldap:// and
 * ldaps:// and the OUs Staff, Groups and Disabled. The first start on a machine provisions the template (seconds);
 * later ones copy it.
 */
export async function startSamba(): Promise<SambaServer> {
  const tools = await sambaTools();
  const { dir: templateDir, meta } = await template();
  installSafetyNet();
  const taken = new Set<string>();
  for (let attempt = 1; ; attempt++) {
    const claim = await claimAddress(taken);
    const started = await startInstance(tools, templateDir, meta, claim);
    if (started.ready) return makeServer(started.server, meta.adminPassword);
    taken.add(claim.host);
    if (attempt >= START_ATTEMPTS) {
      throw new Error(`samba could not listen on ${[...taken].join(', ')}: each was taken after our probe`);
    }
  }
}

function makeServer(server: Live, adminPassword: string): SambaServer {
  const { child, dir, claim } = server;
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (running(child)) {
      child.stdin?.end(); // samba -i ends when its stdin does
      if (!(await exitWithin(child, STOP_GRACE_MS))) {
        child.kill('SIGTERM');
        if (!(await exitWithin(child, 3_000))) {
          child.kill('SIGKILL');
          await exitWithin(child, 3_000);
        }
      }
    }
    killSync(server);
    await rm(dir, { recursive: true, force: true });
  };
  return Object.freeze({
    url: `ldap://${claim.host}`,
    ldapsUrl: `ldaps://${claim.host}`,
    host: claim.host,
    baseDn: BASE_DN,
    adminDn: ADMIN_DN,
    adminPassword,
    realm: REALM,
    netbiosDomain: NETBIOS_DOMAIN,
    upnSuffix: DNS_DOMAIN,
    ous: Object.freeze({ ...OUS }),
    caFile: join(dir, 'tls', 'ca.pem'),
    dir,
    pid: child.pid!,
    stop: () => (stopping ??= stop()),
  });
}
