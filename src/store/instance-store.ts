import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * One running `tenure serve` as the store sees it: the policy it has loaded and how long its
 * heartbeat holds. Instances sharing a PostgreSQL store compare these before they apply.
 */
export interface ServiceInstance {
  /** Made at start (a UUID): never reused. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** SHA-256 of the policy file the instance is serving. */
  readonly policyHash: string;
  readonly loadedAt: Date;
  readonly seenAt: Date;
  /** Past this the instance is taken as stopped: its heartbeat renews it. */
  readonly expiresAt: Date;
}

/** Inserts or replaces the instance's row: at start, on every heartbeat and after a reload. */
export async function announceInstance(db: Db, i: ServiceInstance): Promise<void> {
  const row = {
    host: i.host,
    pid: i.pid,
    policy_hash: i.policyHash,
    loaded_at: i.loadedAt.toISOString(),
    seen_at: i.seenAt.toISOString(),
    expires_at: i.expiresAt.toISOString(),
  };
  await db
    .insertInto('service_instances')
    .values({ id: i.id, ...row })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

/** Removes the instance's row (a clean stop), and rows of instances whose heartbeat ended long ago. */
export async function retireInstance(db: Db, id: string, staleBefore: Date): Promise<void> {
  await db.deleteFrom('service_instances').where('id', '=', id).execute();
  await db.deleteFrom('service_instances').where('expires_at', '<', staleBefore.toISOString()).execute();
}

/** The instances whose heartbeat holds at `now`, oldest first. */
export async function liveInstances(db: Db, now: Date): Promise<ServiceInstance[]> {
  const rows = await db
    .selectFrom('service_instances')
    .selectAll()
    .where('expires_at', '>', now.toISOString())
    .orderBy('loaded_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    host: r.host,
    pid: Number(r.pid),
    policyHash: r.policy_hash,
    loadedAt: new Date(r.loaded_at),
    seenAt: new Date(r.seen_at),
    expiresAt: new Date(r.expires_at),
  }));
}
