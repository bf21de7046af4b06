// PostgreSQL: Tenure's executor and connector creating roles, each with one group membership, against a raw `pg`
// loop sending the same statements (CREATE ROLE, COMMENT ON ROLE, GRANT) over as many connections, in the same run,
// on one throwaway PostgreSQL server. Usage: bench/postgres.ts [ROLES] [--raw-first].
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createPostgresConnector, quoteIdent, quoteLiteral } from '../src/connectors/postgres/postgres-connector.js';
import { executePlan } from '../src/executor/execute-plan.js';
import { MemoryJournal } from '../src/executor/journal.js';
import type { Change, Plan } from '../src/model/plan.js';
import { benchPlan } from './bench-plan.js';
import { startPostgres } from '../test/support/postgres-server.js';
import { emit } from './load-organisation.js';

const roles = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2000);
const rawFirst = process.argv.includes('--raw-first');
/** The connector's pool size (postgres-connector.ts): the raw loop gets as many connections. */
const CONNECTIONS = 4;
/** The executor's default; the connector's pool queues what its connections cannot take at once. */
const CONCURRENCY = 8;
const TARGET = 'warehouse';
const GROUP = 'bench_readers';

function planOf(prefix: string): Plan {
  const entitlement = `${TARGET}:role/${GROUP}`;
  const changes: Change[] = Array.from({ length: roles }, (_, i): Change[] => [
    { target: TARGET, action: 'create_account', identity: `${prefix}${i}`, account: `${prefix}${i}`, reason: 'bench' },
    {
      target: TARGET,
      action: 'add_membership',
      identity: `${prefix}${i}`,
      account: `${prefix}${i}`,
      entitlement,
      reason: 'bench',
    },
  ]).flat();
  return benchPlan(TARGET, changes);
}

const attributes = (name: string) => ({ displayName: `Ana Lima ${name}`, mail: `${name}@example.com` });

const server = await startPostgres();
const admin = new pg.Client({ connectionString: server.url });
admin.on('error', () => undefined);
await admin.connect();
await admin.query(`CREATE ROLE ${quoteIdent(GROUP)} NOLOGIN`);

// Every query sent, by either side, counted at the driver: the round trips per role.
let queries = 0;
const proto = pg.Client.prototype as unknown as { query: (this: pg.Client, ...args: unknown[]) => unknown };
const query = proto.query;
proto.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return query.apply(this, args);
};

async function tenure(prefix: string): Promise<number> {
  const connector = createPostgresConnector(
    {
      id: TARGET,
      kind: 'postgres',
      description: '',
      accountName: 'identity.id',
      attributes: {},
      connection: { url: server.url },
      position: { file: 'bench' },
    },
    { baseDir: '.', env: {} },
  );
  const t = performance.now();
  const r = await executePlan('pg', planOf(prefix), new Map([[TARGET, connector]]), new MemoryJournal(), {
    concurrency: CONCURRENCY,
    accountSpec: (c) => ({ name: c.account, identity: c.identity!, attributes: attributes(c.account) }),
  });
  const ms = performance.now() - t;
  await connector.close();
  if (r.targets[0]!.succeeded !== 2 * roles) {
    throw new Error(`Tenure: ${r.targets[0]!.succeeded} of ${2 * roles} operations succeeded`);
  }
  return ms;
}

/** The raw loop: each statement its own query, or (batched) CREATE ROLE and COMMENT ON ROLE in one, as Tenure sends them. */
async function raw(prefix: string, batched: boolean): Promise<number> {
  const t = performance.now();
  const clients = Array.from({ length: CONNECTIONS }, () => new pg.Client({ connectionString: server.url }));
  await Promise.all(clients.map((c) => c.connect()));
  let next = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (let i = next++; i < roles; i = next++) {
        const role = quoteIdent(`${prefix}${i}`);
        const comment = JSON.stringify({ tenure: { identity: `${prefix}${i}`, ...attributes(`${prefix}${i}`) } });
        if (batched) {
          await c.query(`CREATE ROLE ${role} LOGIN; COMMENT ON ROLE ${role} IS ${quoteLiteral(comment)}`);
        } else {
          await c.query(`CREATE ROLE ${role} LOGIN`);
          await c.query(`COMMENT ON ROLE ${role} IS ${quoteLiteral(comment)}`);
        }
        await c.query(`GRANT ${quoteIdent(GROUP)} TO ${role}`);
      }
    }),
  );
  await Promise.all(clients.map((c) => c.end()));
  return performance.now() - t;
}

/** Drops a run's roles (untimed), so every run starts from the same catalogue. */
async function dropRoles(prefix: string): Promise<void> {
  for (let i = 0; i < roles; i += 500) {
    const names = Array.from({ length: Math.min(500, roles - i) }, (_, k) => quoteIdent(`${prefix}${i + k}`));
    await admin.query(`DROP ROLE ${names.join(', ')}`);
  }
}

const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

// Six runs, Tenure, raw, raw batched, raw batched, raw, Tenure (or the reverse with --raw-first), each from a collected
// heap and an empty catalogue; each side's figure is its faster run, and the ratio over all runs is kept too.
type Side = 'tenure' | 'raw' | 'batched';
const half: Side[] = rawFirst ? ['raw', 'batched', 'tenure'] : ['tenure', 'raw', 'batched'];
const order = [...half, ...[...half].reverse()];
const runs: Record<Side, number[]> = { tenure: [], raw: [], batched: [] };
const sent: Record<Side, number> = { tenure: 0, raw: 0, batched: 0 };
const cpu: Record<Side, number> = { tenure: 0, raw: 0, batched: 0 };
for (const [k, side] of order.entries()) {
  collect();
  const prefix = `${side[0]}${k}_`;
  const before = queries;
  const cpu0 = process.cpuUsage();
  const ms = side === 'tenure' ? await tenure(prefix) : await raw(prefix, side === 'batched');
  sent[side] += queries - before;
  const used = process.cpuUsage(cpu0);
  cpu[side] += (used.user + used.system) / 1000;
  runs[side].push(ms);
  process.stderr.write(`postgres ${side}: ${roles} roles in ${Math.round(ms)} ms\n`);
  await dropRoles(prefix);
}
await admin.end();
await server.stop();

const perS = (ms: number) => roles / (ms / 1000);
const sum = (ms: number[]) => ms.reduce((a, b) => a + b, 0);
const rate = (side: Side) => perS(Math.min(...runs[side]));
const perRole = (side: Side) => Math.round((sent[side] / (2 * roles)) * 100) / 100;
emit('postgres_roles', roles, 'roles per run (each CREATE ROLE, COMMENT ON ROLE, GRANT)');
emit('postgres_tenure_roles_per_s', Math.round(rate('tenure')), 'roles/s');
emit('postgres_raw_pg_roles_per_s', Math.round(rate('raw')), 'roles/s');
emit('postgres_raw_pg_batched_roles_per_s', Math.round(rate('batched')), 'roles/s');
emit('postgres_tenure_vs_raw', Math.round((rate('tenure') / rate('raw')) * 100), '%', '>= 80');
emit('postgres_tenure_vs_raw_all_runs', Math.round((sum(runs.raw) / sum(runs.tenure)) * 100), '%');
emit('postgres_tenure_vs_raw_batched', Math.round((rate('tenure') / rate('batched')) * 100), '%');
emit('postgres_tenure_vs_raw_batched_all_runs', Math.round((sum(runs.batched) / sum(runs.tenure)) * 100), '%');
// CPU time of this process (the client side only: the server is another process) per role, steadier than elapsed time.
const cpuPerRole = (side: Side) => Math.round((cpu[side] / (2 * roles)) * 1000) / 1000;
emit('postgres_tenure_cpu_per_role', cpuPerRole('tenure'), 'ms');
emit('postgres_raw_cpu_per_role', cpuPerRole('raw'), 'ms');
emit('postgres_raw_batched_cpu_per_role', cpuPerRole('batched'), 'ms');
emit('postgres_tenure_queries_per_role', perRole('tenure'), 'round trips');
emit('postgres_raw_queries_per_role', perRole('raw'), 'round trips');
emit('postgres_raw_batched_queries_per_role', perRole('batched'), 'round trips');
