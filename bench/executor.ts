// The executor's figures: its throughput against real targets compared with a plain loop sending
// the same requests at the same concurrency, and the journal's overhead per operation.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'ldapts';
import { MemoryConnector } from '../src/connectors/memory/memory-connector.js';
import { createScimConnector } from '../src/connectors/scim/scim-connector.js';
import { createLdapConnector } from '../src/connectors/ldap/ldap-connector.js';
import { escapeDnValue } from '../src/connectors/ldap/ldap-escape.js';
import { executePlan } from '../src/executor/execute-plan.js';
import { MemoryJournal } from '../src/executor/journal.js';
import type { Change, Plan } from '../src/model/plan.js';
import { benchPlan } from './bench-plan.js';
import type { TargetDefinition } from '../src/model/policy.js';
import { openStore } from '../src/store/open-store.js';
import { startScimServer } from '../test/support/scim-server.js';
import { startSlapd } from '../test/support/slapd-server.js';
import { emit } from './load-organisation.js';

const CONCURRENCY = 8;
const [scimOps, ldapOps, journalOps] = (process.argv[2] ?? '10000,5000,2000').split(',').map(Number) as [
  number,
  number,
  number,
];

function planOf(target: string, n: number, prefix: string): Plan {
  const changes: Change[] = Array.from({ length: n }, (_, i) => ({
    target,
    action: 'create_account',
    identity: `${prefix}${i}`,
    account: `${prefix}${i}`,
    reason: 'bench',
  }));
  return benchPlan(target, changes);
}
const target = (kind: TargetDefinition['kind'], id: string, connection: Record<string, unknown>): TargetDefinition => ({
  id,
  kind,
  description: '',
  accountName: 'identity.id',
  attributes: {},
  connection,
  position: { file: 'bench' },
});
const spec = (name: string) => ({
  name,
  identity: name,
  attributes: { givenName: 'Ana', sn: 'Lima', mail: `${name}@example.com` },
});

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) await work(i);
    }),
  );
}

// SCIM: Tenure (match-then-create through the connector, journalled in memory) vs the same
// requests sent by a plain loop: the ServiceProviderConfig once, then per user the connector's
// filter GET (same query string, paging parameters included) and its POST (same body). Each side
// gets a fresh, empty server, so both work against the same store sizes; each returns its elapsed
// time and the requests its server received.
async function scimTenure(n: number): Promise<{ ms: number; requests: number }> {
  const server = await startScimServer();
  const connector = createScimConnector(target('scim', 'apps', { url: server.url, token: server.token }), {
    baseDir: '.',
  });
  const t = performance.now();
  const r = await executePlan('scim', planOf('apps', n, 't'), new Map([['apps', connector]]), new MemoryJournal(), {
    concurrency: CONCURRENCY,
    accountSpec: (c) => spec(c.account),
  });
  const ms = performance.now() - t;
  if (r.targets[0]!.succeeded !== n) throw new Error(`SCIM: ${r.targets[0]!.succeeded} of ${n} succeeded`);
  await connector.close();
  await server.stop();
  return { ms, requests: server.requests };
}

async function scimPlain(n: number): Promise<{ ms: number; requests: number }> {
  const server = await startScimServer();
  const accept = { authorization: `Bearer ${server.token}`, accept: 'application/scim+json, application/json' };
  const headers = { ...accept, 'content-type': 'application/scim+json' };
  const t = performance.now();
  await (await fetch(`${server.url}/ServiceProviderConfig`, { headers: accept })).json();
  await pool(n, async (i) => {
    const name = `p${i}`;
    const query = new URLSearchParams({ filter: `userName eq ${JSON.stringify(name)}`, startIndex: '1', count: '100' });
    const found = await fetch(`${server.url}/Users?${query.toString()}`, { headers: accept });
    if (found.status !== 200) throw new Error(`plain SCIM GET: HTTP ${found.status}`);
    await found.json();
    const created = await fetch(`${server.url}/Users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: name,
        externalId: name,
        active: true,
        name: { givenName: 'Ana', familyName: 'Lima' },
        emails: [{ value: `${name}@example.com`, type: 'work', primary: true }],
      }),
    });
    if (created.status !== 201) throw new Error(`plain SCIM POST: HTTP ${created.status}`);
    await created.json();
  });
  const ms = performance.now() - t;
  await server.stop();
  return { ms, requests: server.requests };
}

// Start each run from a collected heap, so no run pays for another's garbage.
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

// Two runs of each side, in the order Tenure, plain, plain, Tenure: a slow start (compilation) or
// a drift in the machine's load falls on both sides alike. Each side's figure is its faster run
// (other work on the machine only ever slows a run down); the ratio over all four runs is kept too.
{
  const runs = { tenure: [] as number[], plain: [] as number[] };
  const cpu = { tenure: 0, plain: 0 };
  const requests = new Set<number>();
  for (const side of ['tenure', 'plain', 'plain', 'tenure'] as const) {
    collect();
    const cpu0 = process.cpuUsage();
    const r = side === 'tenure' ? await scimTenure(scimOps) : await scimPlain(scimOps);
    const used = process.cpuUsage(cpu0);
    const cpuMs = (used.user + used.system) / 1000;
    runs[side].push(r.ms);
    cpu[side] += cpuMs;
    requests.add(r.requests);
    process.stderr.write(
      `scim ${side}: ${scimOps} operations in ${Math.round(r.ms)} ms (process CPU ${Math.round(cpuMs)} ms)\n`,
    );
  }
  // The comparison is only fair if every run sent as many requests.
  if (requests.size !== 1)
    throw new Error(`SCIM: the runs sent different numbers of requests: ${[...requests].join(', ')}`);
  const opsPerS = (ms: number) => scimOps / (ms / 1000);
  const tenureOps = opsPerS(Math.min(...runs.tenure));
  const plainOps = opsPerS(Math.min(...runs.plain));
  const sum = (ms: number[]) => ms.reduce((a, b) => a + b, 0);
  emit('scim_ops', scimOps, 'operations per run');
  emit('scim_requests', [...requests][0]!, 'requests per run');
  emit('scim_tenure_ops_per_s', Math.round(tenureOps), 'ops/s');
  emit('scim_plain_loop_ops_per_s', Math.round(plainOps), 'ops/s');
  emit('scim_tenure_vs_plain', Math.round((tenureOps / plainOps) * 100), '%', '>= 80');
  emit('scim_tenure_vs_plain_all_runs', Math.round((sum(runs.plain) / sum(runs.tenure)) * 100), '%');
  // CPU time of the whole process (client, server, garbage collection) per operation: less swayed
  // than elapsed time by other work on the machine.
  emit('scim_tenure_cpu_per_op', Math.round((cpu.tenure / (2 * scimOps)) * 1000) / 1000, 'ms');
  emit('scim_plain_loop_cpu_per_op', Math.round((cpu.plain / (2 * scimOps)) * 1000) / 1000, 'ms');
}

// LDAP: Tenure's creates vs raw ldapts search-then-add at the same concurrency.
{
  const slapd = await startSlapd();
  const people = `ou=people,${slapd.baseDn}`;
  process.env.BENCH_LDAP_PASSWORD = slapd.adminPassword;
  const connector = createLdapConnector(
    target('ldap', 'directory', {
      url: slapd.url,
      bind_dn: slapd.adminDn,
      bind_password: { env: 'BENCH_LDAP_PASSWORD' },
      people_base: people,
      groups_base: `ou=groups,${slapd.baseDn}`,
      disabled_base: `ou=disabled,${slapd.baseDn}`,
      disable_method: 'attribute',
    }),
    { baseDir: '.' },
  );
  let t = performance.now();
  const r = await executePlan(
    'ldap',
    planOf('directory', ldapOps, 't'),
    new Map([['directory', connector]]),
    new MemoryJournal(),
    { concurrency: CONCURRENCY, accountSpec: (c) => spec(c.account) },
  );
  const tenureOps = ldapOps / ((performance.now() - t) / 1000);
  if (r.targets[0]!.succeeded !== ldapOps) throw new Error(`LDAP: ${r.targets[0]!.succeeded} of ${ldapOps} succeeded`);
  await connector.close();
  await slapd.stop();
  // A fresh directory for the raw loop, so both start from an empty people branch.
  const raw = await startSlapd();
  const rawPeople = `ou=people,${raw.baseDn}`;
  const clients = Array.from({ length: CONCURRENCY }, () => new Client({ url: raw.url }));
  await Promise.all(clients.map((c) => c.bind(raw.adminDn, raw.adminPassword)));
  t = performance.now();
  let k = 0;
  await pool(ldapOps, async (i) => {
    const c = clients[k++ % CONCURRENCY]!;
    const name = `p${i}`;
    await c.search(rawPeople, { scope: 'one', filter: `(uid=${name})`, attributes: ['uid'] });
    await c.add(`uid=${escapeDnValue(name)},${rawPeople}`, {
      objectClass: ['inetOrgPerson'],
      uid: name,
      cn: name,
      sn: 'Lima',
      givenName: 'Ana',
      mail: `${name}@example.com`,
      employeeNumber: name,
    });
  });
  const plainOps = ldapOps / ((performance.now() - t) / 1000);
  await Promise.all(clients.map((c) => c.unbind()));
  await raw.stop();
  emit('ldap_tenure_ops_per_s', Math.round(tenureOps), 'ops/s');
  emit('ldap_raw_ldapts_ops_per_s', Math.round(plainOps), 'ops/s');
  emit('ldap_tenure_vs_raw', Math.round((tenureOps / plainOps) * 100), '%', '>= 80');
}

// The journal: the same operations on an in-memory target, journalled in memory vs in the
// embedded SQLite store (each mark its own committed transaction).
{
  const run = async (
    journal: MemoryJournal | ReturnType<Awaited<ReturnType<typeof openStore>>['journal']>,
    id: string,
  ): Promise<number> => {
    const t = performance.now();
    await executePlan(id, planOf('mem', journalOps, 'j'), new Map([['mem', new MemoryConnector('mem', [])]]), journal, {
      concurrency: CONCURRENCY,
    });
    return performance.now() - t;
  };
  const memoryMs = await run(new MemoryJournal(), 'j1');
  const store = await openStore(join(mkdtempSync(join(tmpdir(), 'tenure-bench-journal-')), 'state.db'));
  const sqliteMs = await run(store.journal(), 'j2');
  // The same again as apply runs it now: every mark checks the lease's fence, and every operation
  // that lands writes its audit record in the mark's transaction.
  const claim = {
    name: 'target:mem',
    holder: 'bench',
    host: 'bench',
    pid: process.pid,
    ttlMs: 120_000,
    now: new Date(),
  };
  const lease = await store.acquireLease(claim, () => false);
  if (!lease.acquired) throw new Error('bench: lease not acquired');
  const t = performance.now();
  await executePlan(
    'j3',
    planOf('mem', journalOps, 'j'),
    new Map([['mem', new MemoryConnector('mem', [])]]),
    store.journal([{ name: 'target:mem', fence: lease.lease.fence }]),
    {
      concurrency: CONCURRENCY,
      effects: (op) =>
        op.state === 'succeeded'
          ? {
              audit: [
                {
                  at: new Date(),
                  actor: 'bench',
                  action: `operation.${op.change.action}`,
                  subject: op.change.account,
                  reason: op.sentence,
                  details: { plan: 'j3', target: op.change.target, account: op.change.account },
                },
              ],
            }
          : undefined,
    },
  );
  const auditedMs = performance.now() - t;
  await store.close();
  emit('journal_overhead_sqlite_per_op', Math.round(((sqliteMs - memoryMs) / journalOps) * 1000) / 1000, 'ms');
  emit(
    'audit_and_lease_per_op_sqlite',
    Math.round(((auditedMs - sqliteMs) / journalOps) * 1000) / 1000,
    'ms',
    '<= 0.5',
  );
  emit('journal_ops', journalOps, 'operations');
}
