// Active Directory: Tenure's executor and AD connector creating accounts, each with one group membership, against a
// raw `ldapts` loop sending the same requests over as many connections (one), in the same run, on one throwaway Samba
// domain controller. Usage: bench/active-directory.ts [ACCOUNTS] [--raw-first] [--many].
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import { openWithKind } from '../src/connectors/connector-kind.js';
import { ldapKind } from '../src/connectors/ldap/index.js';
import { escapeDnValue, escapeFilterValue } from '../src/connectors/ldap/ldap-escape.js';
import { randomPassword, unicodePwdValue } from '../src/connectors/ldap/unicode-pwd.js';
import { executePlan } from '../src/executor/execute-plan.js';
import { MemoryJournal } from '../src/executor/journal.js';
import type { Change, Plan } from '../src/model/plan.js';
import { benchPlan } from './bench-plan.js';
import { startSamba } from '../test/support/samba-server.js';
import { emit } from './load-organisation.js';

const accounts = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2000);
const rawFirst = process.argv.includes('--raw-first');
/** Also a raw loop with a connection per request in flight: whether the connector would gain from more connections. */
const many = process.argv.includes('--many');
/** The executor's default; the raw loop keeps as many requests in flight. */
const CONCURRENCY = 8;
/** The connector's one ldapts client (ldap-session.ts): the raw loop gets as many connections. */
const CONNECTIONS = 1;
/** The settings' default page_size: every search but a base one is paged, by the connector and the raw loop alike. */
const PAGE_SIZE = 500;
const TARGET = 'directory';
const GROUP = 'bench';
/** The AD flavor's default object classes and link attribute (ldap-settings.ts). */
const OBJECT_CLASSES = ['top', 'person', 'organizationalPerson', 'user'];
const LINK = 'employeeNumber';
/** The connector's account filter and the attributes it reads an account with (active-directory-connector.ts). */
const ACCOUNT_FILTER =
  '(objectClass=person)(objectClass=organizationalPerson)(objectClass=user)(!(objectClass=computer))(sAMAccountName=*)';
const ACCOUNT_ATTRIBUTES = [
  'sAMAccountName',
  'userPrincipalName',
  'userAccountControl',
  'objectGUID',
  'memberOf',
  LINK,
  'givenName',
  'sn',
  'displayName',
  'mail',
  'title',
  'department',
  'company',
  'telephoneNumber',
  'mobile',
  'physicalDeliveryOfficeName',
  'description',
  'employeeNumber',
  'employeeType',
];

const server = await startSamba();
const ca = readFileSync(server.caFile);
const upnSuffix = server.upnSuffix;
const newClient = () => new Client({ url: server.ldapsUrl, timeout: 30_000, tlsOptions: { ca } });
const admin = newClient();
await admin.bind(server.adminDn, server.adminPassword);

interface Run {
  readonly base: string;
  readonly people: string;
  readonly group: string;
  readonly prefix: string;
}

/** A clean OU for one run, with its people OU and the group every account joins (untimed). */
async function freshRun(k: number, side: string): Promise<Run> {
  const base = `OU=bench-${k},${server.baseDn}`;
  const run = { base, people: `OU=people,${base}`, group: `CN=${GROUP},${base}`, prefix: `${side[0]}${k}-` };
  await admin.add(base, { objectClass: ['top', 'organizationalUnit'] });
  await admin.add(run.people, { objectClass: ['top', 'organizationalUnit'] });
  await admin.add(run.group, { objectClass: ['top', 'group'], sAMAccountName: `${GROUP}-${k}` });
  return run;
}

/**
 * Checks that a run left every account in the group (untimed). Its OU is left in place: deleting 2,000 accounts took
 * over a minute a run, and AD keeps a tombstone of each anyway, so the database would not shrink back; the alternating
 * order spreads its growth over both sides.
 */
async function check(run: Run): Promise<void> {
  const { searchEntries } = await admin.search(run.people, {
    scope: 'one',
    filter: `(memberOf=${escapeFilterValue(run.group)})`,
    attributes: ['1.1'],
    paged: { pageSize: 1000 },
  });
  if (searchEntries.length !== accounts) {
    throw new Error(`${run.base}: ${searchEntries.length} of ${accounts} accounts are in the group`);
  }
}

function planOf(run: Run): Plan {
  const entitlement = `${TARGET}:group/${GROUP}`;
  const changes: Change[] = Array.from({ length: accounts }, (_, i): Change[] => [
    {
      target: TARGET,
      action: 'create_account',
      identity: `E${run.prefix}${i}`,
      account: `${run.prefix}${i}`,
      reason: 'bench',
    },
    {
      target: TARGET,
      action: 'add_membership',
      identity: `E${run.prefix}${i}`,
      account: `${run.prefix}${i}`,
      entitlement,
      reason: 'bench',
    },
  ]).flat();
  return benchPlan(TARGET, changes);
}

const attributes = (name: string) => ({
  givenName: 'Ana',
  sn: 'Lima',
  displayName: `Ana Lima ${name}`,
  mail: `${name}@${upnSuffix}`,
});

// Every request sent, by either side, counted at the client: searches, adds and modifies per account.
type Kind = 'search' | 'add' | 'modify';
const KINDS: readonly Kind[] = ['search', 'add', 'modify'];
const requests: Record<Kind, number> = { search: 0, add: 0, modify: 0 };
const proto = Client.prototype as unknown as Record<Kind, (...args: unknown[]) => unknown>;
for (const kind of KINDS) {
  const original = proto[kind];
  proto[kind] = function (this: Client, ...args: unknown[]) {
    requests[kind]++;
    return original.apply(this, args);
  };
}

async function tenure(run: Run): Promise<number> {
  const connector = openWithKind(
    ldapKind,
    {
      id: TARGET,
      kind: 'ldap',
      description: '',
      accountName: 'identity.id',
      attributes: {},
      position: { file: 'bench' },
      connection: {
        flavor: 'active_directory',
        url: server.ldapsUrl,
        ca_file: server.caFile,
        bind_dn: server.adminDn,
        bind_password: { env: 'AD_BENCH_PASSWORD' },
        people_base: run.people,
        groups_base: run.base,
        upn_suffix: upnSuffix,
      },
    },
    { baseDir: '.', env: { AD_BENCH_PASSWORD: server.adminPassword }, entitlements: [`${TARGET}:group/${GROUP}`] },
  );
  const t = performance.now();
  const r = await executePlan('ad', planOf(run), new Map([[TARGET, connector]]), new MemoryJournal(), {
    accountSpec: (c) => ({ name: c.account, identity: c.identity!, attributes: attributes(c.account) }),
  });
  await connector.close();
  const ms = performance.now() - t;
  if (r.targets[0]!.succeeded !== 2 * accounts) {
    const failed = r.operations.find((o) => o.state !== 'succeeded');
    throw new Error(`Tenure: ${r.targets[0]!.succeeded} of ${2 * accounts} operations succeeded (${failed?.error})`);
  }
  return ms;
}

/**
 * The raw loop: per account the requests the connector sends, in its order (active-directory-connector.ts): the
 * domain-wide sAMAccountName search, the add, the read-back (a base search at the new DN); then, for the membership,
 * the account's search and the group's modify. CONCURRENCY requests in flight over `connections` clients.
 */
async function raw(run: Run, connections: number): Promise<number> {
  const t = performance.now();
  const clients = Array.from({ length: connections }, newClient);
  await Promise.all(clients.map((c) => c.bind(server.adminDn, server.adminPassword)));
  const findAccount = (c: Client, name: string) =>
    c.search(run.people, {
      scope: 'sub',
      filter: `(&${ACCOUNT_FILTER}(sAMAccountName=${escapeFilterValue(name)}))`,
      attributes: ACCOUNT_ATTRIBUTES,
      explicitBufferAttributes: ['objectGUID'],
      paged: { pageSize: PAGE_SIZE },
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      const c = clients[w % connections]!;
      for (let i = next++; i < accounts; i = next++) {
        const name = `${run.prefix}${i}`;
        const taken = await c.search(server.baseDn, {
          scope: 'sub',
          filter: `(sAMAccountName=${escapeFilterValue(name)})`,
          attributes: ['sAMAccountName', LINK],
          paged: { pageSize: PAGE_SIZE },
        });
        if (taken.searchEntries.length > 0) throw new Error(`raw: ${name} exists`);
        const a = attributes(name);
        const password = randomPassword({ avoid: [name, a.displayName] });
        const dn = `CN=${escapeDnValue(name)},${run.people}`;
        await c.add(dn, [
          new Attribute({ type: 'objectClass', values: OBJECT_CLASSES }),
          new Attribute({ type: 'sAMAccountName', values: [name] }),
          new Attribute({ type: 'userPrincipalName', values: [`${name}@${upnSuffix}`] }),
          ...Object.entries(a).map(([type, v]) => new Attribute({ type, values: [v] })),
          new Attribute({ type: LINK, values: [`E${name}`] }),
          new Attribute({ type: 'userAccountControl', values: ['512'] }),
          new Attribute({ type: 'pwdLastSet', values: ['0'] }),
          new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(password)] }),
        ]);
        const created = await c.search(dn, {
          scope: 'base',
          filter: `(&${ACCOUNT_FILTER})`,
          attributes: ACCOUNT_ATTRIBUTES,
          explicitBufferAttributes: ['objectGUID'],
        });
        if (created.searchEntries.length !== 1) throw new Error(`raw: ${name} cannot be read back`);
        // The membership: the account found again by name, then the group's modify.
        const found = (await findAccount(c, name)).searchEntries[0];
        if (found === undefined) throw new Error(`raw: ${name} not found`);
        await c.modify(run.group, [
          new LdapChange({ operation: 'add', modification: new Attribute({ type: 'member', values: [found.dn] }) }),
        ]);
      }
    }),
  );
  await Promise.all(clients.map((c) => c.unbind()));
  return performance.now() - t;
}

/** The domain controller's CPU time so far (user + system, ms), from /proc: the server is another process. */
function serverCpuMs(): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5), counted from the state field (3) here; in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

// Four runs, Tenure, raw, raw, Tenure (or the reverse with --raw-first; with --many a raw loop on CONCURRENCY
// connections joins each half), each from a collected heap and a clean OU; each side's figure is its faster run, and
// the ratio over all runs is kept too.
type Side = 'tenure' | 'raw' | 'many';
const half: Side[] = [...(rawFirst ? ['raw', 'tenure'] : ['tenure', 'raw']), ...(many ? ['many'] : [])] as Side[];
const order = [...half, ...[...half].reverse()];
const zero = () => ({ tenure: 0, raw: 0, many: 0 });
const runs: Record<Side, number[]> = { tenure: [], raw: [], many: [] };
const sent: Record<Kind, Record<Side, number>> = { search: zero(), add: zero(), modify: zero() };
const cpu: Record<Side, number> = zero();
const serverCpu: Record<Side, number> = zero();
for (const [k, side] of order.entries()) {
  const run = await freshRun(k, side);
  collect();
  const before = { ...requests };
  const cpu0 = process.cpuUsage();
  const server0 = serverCpuMs();
  const ms = side === 'tenure' ? await tenure(run) : await raw(run, side === 'many' ? CONCURRENCY : CONNECTIONS);
  const used = process.cpuUsage(cpu0);
  serverCpu[side] += serverCpuMs() - server0;
  cpu[side] += (used.user + used.system) / 1000;
  for (const kind of KINDS) sent[kind][side] += requests[kind] - before[kind];
  runs[side].push(ms);
  process.stderr.write(`active-directory ${side}: ${accounts} accounts in ${Math.round(ms)} ms\n`);
  await check(run);
}
await admin.unbind();
await server.stop();

const perS = (ms: number) => accounts / (ms / 1000);
const sum = (ms: number[]) => ms.reduce((a, b) => a + b, 0);
const rate = (side: Side) => perS(Math.min(...runs[side]));
const perAccount = (side: Side, total: number) => Math.round((total / (runs[side].length * accounts)) * 1000) / 1000;
emit('ad_accounts', accounts, 'accounts per run (each created, then added to one group)');
emit('ad_tenure_accounts_per_s', Math.round(rate('tenure')), 'accounts/s');
emit('ad_raw_ldapts_accounts_per_s', Math.round(rate('raw')), 'accounts/s');
emit('ad_tenure_vs_raw', Math.round((rate('tenure') / rate('raw')) * 100), '%', '>= 80');
emit('ad_tenure_vs_raw_all_runs', Math.round((sum(runs.raw) / sum(runs.tenure)) * 100), '%');
if (many) {
  emit('ad_raw_ldapts_many_connections_accounts_per_s', Math.round(rate('many')), 'accounts/s');
  emit('ad_tenure_vs_raw_many_connections', Math.round((rate('tenure') / rate('many')) * 100), '%');
}
const sides: Side[] = many ? ['tenure', 'raw', 'many'] : ['tenure', 'raw'];
// CPU time of this process (the client side) and of the domain controller per account: where the time goes.
for (const side of sides) emit(`ad_${side}_cpu_per_account`, perAccount(side, cpu[side]), 'ms');
for (const side of sides) emit(`ad_${side}_server_cpu_per_account`, perAccount(side, serverCpu[side]), 'ms');
for (const side of sides)
  for (const kind of KINDS) emit(`ad_${side}_${kind}_per_account`, perAccount(side, sent[kind][side]), 'requests');
// The comparison holds only while the raw loop sends what the connector sends: say so loudly when it no longer does.
for (const kind of KINDS) {
  const [t, r] = [perAccount('tenure', sent[kind].tenure), perAccount('raw', sent[kind].raw)];
  if (t !== r) process.stderr.write(`active-directory: ${kind} requests per account differ: Tenure ${t}, raw ${r}\n`);
}
