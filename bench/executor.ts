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
import { CHANGE_ACTIONS, type Change, type ChangeAction, type Plan } from '../src/model/plan.js';
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
  const counts = Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, a === 'create_account' ? n : 0])) as Record<
    ChangeAction,
    number
  >;
  return {
    formatVersion: 1,
    policy: 'bench',
    asOf: '2026-11-01T00:00:00.000Z',
    targets: [{ target, changes, counts, accountsBefore: 0, unlinkedAccounts: 0, deferred: 0, deferredChanges: [] }],
    summary: { changes: n, identitiesAffected: n, byAction: counts, highRiskGrants: 0 },
    guardrails: { blocked: false, deprovision: [], sodConflicts: [] },
  };
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

// SCIM: Tenure (read-then-create through the connector, journalled in memory) vs the same
// requests (a filter GET, then a POST) sent by a plain loop.
{
  const server = await startScimServer();
  const connector = createScimConnector(target('scim', 'apps', { url: server.url, token: server.token }), {
    baseDir: '.',
  });
  let t = performance.now();
  const r = await executePlan(
    'scim',
    planOf('apps', scimOps, 't'),
    new Map([['apps', connector]]),
    new MemoryJournal(),
    { concurrency: CONCURRENCY, accountSpec: (c) => spec(c.account) },
  );
  const tenureOps = scimOps / ((performance.now() - t) / 1000);
  if (r.targets[0]!.succeeded !== scimOps) throw new Error(`SCIM: ${r.targets[0]!.succeeded} of ${scimOps} succeeded`);
  await connector.close();
  await server.stop();
  // A fresh server for the plain loop: the test server's filters scan every user, so both runs
  // must start from an empty one.
  const plainServer = await startScimServer();
  const headers = { authorization: `Bearer ${plainServer.token}`, 'content-type': 'application/scim+json' };
  t = performance.now();
  await pool(scimOps, async (i) => {
    const name = `p${i}`;
    const found = await fetch(`${plainServer.url}/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`, {
      headers,
    });
    await found.json();
    const created = await fetch(`${plainServer.url}/Users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: name,
        externalId: name,
        active: true,
        name: { givenName: 'Ana', familyName: 'Lima' },
        emails: [{ value: `${name}@example.com`, primary: true }],
      }),
    });
    if (created.status !== 201) throw new Error(`plain SCIM POST: HTTP ${created.status}`);
    await created.json();
  });
  const plainOps = scimOps / ((performance.now() - t) / 1000);
  await plainServer.stop();
  emit('scim_tenure_ops_per_s', Math.round(tenureOps), 'ops/s');
  emit('scim_plain_loop_ops_per_s', Math.round(plainOps), 'ops/s');
  emit('scim_tenure_vs_plain', Math.round((tenureOps / plainOps) * 100), '%', '>= 80');
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
  await store.close();
  emit('journal_overhead_sqlite_per_op', Math.round(((sqliteMs - memoryMs) / journalOps) * 1000) / 1000, 'ms');
  emit('journal_ops', journalOps, 'operations');
}
