import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** One holder's claim on a named resource (`target:directory`), with a fencing number. */
export interface Lease {
  readonly name: string;
  /** Who holds it, for messages: `alice on build-3, pid 4121`. */
  readonly holder: string;
  readonly host: string;
  readonly pid: number;
  /** Grows with every new holder: a write carrying an older fence is from a holder that lost it. */
  readonly fence: number;
  readonly acquiredAt: Date;
  readonly expiresAt: Date;
}

export interface LeaseClaim {
  readonly name: string;
  readonly holder: string;
  readonly host: string;
  readonly pid: number;
  readonly ttlMs: number;
  readonly now: Date;
}

export type LeaseOutcome =
  { readonly acquired: true; readonly lease: Lease } | { readonly acquired: false; readonly current: Lease };

// Leases live in the store so that every process and, later, every service instance sharing the
// store sees them; the row is kept when released so the fence never goes back.

export async function readLease(db: Db, name: string): Promise<Lease | undefined> {
  const r = await db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
  return (
    r && {
      name: r.name,
      holder: r.holder,
      host: r.host,
      pid: Number(r.pid),
      fence: Number(r.fence),
      acquiredAt: new Date(r.acquired_at),
      expiresAt: new Date(r.expires_at),
    }
  );
}

/**
 * Takes the lease when nobody holds it, its holder's time ran out, or `takeOver` says the holder
 * is gone (a process on this host that no longer exists). Runs inside a write transaction.
 */
export async function acquireLease(
  db: Db,
  claim: LeaseClaim,
  takeOver: (current: Lease) => boolean,
): Promise<LeaseOutcome> {
  const current = await readLease(db, claim.name);
  const free =
    current === undefined ||
    current.holder === '' ||
    current.expiresAt.getTime() <= claim.now.getTime() ||
    takeOver(current);
  if (current && !free) return { acquired: false, current };
  const lease: Lease = {
    name: claim.name,
    holder: claim.holder,
    host: claim.host,
    pid: claim.pid,
    fence: (current?.fence ?? 0) + 1,
    acquiredAt: claim.now,
    expiresAt: new Date(claim.now.getTime() + claim.ttlMs),
  };
  const row = {
    holder: lease.holder,
    host: lease.host,
    pid: lease.pid,
    fence: lease.fence,
    acquired_at: lease.acquiredAt.toISOString(),
    expires_at: lease.expiresAt.toISOString(),
  };
  if (current) await db.updateTable('leases').set(row).where('name', '=', claim.name).execute();
  else
    await db
      .insertInto('leases')
      .values({ name: claim.name, ...row })
      .execute();
  return { acquired: true, lease };
}

/** Extends a lease still held under `fence`; false when another holder has taken it since. */
export async function renewLease(db: Db, name: string, fence: number, until: Date): Promise<boolean> {
  const r = await db
    .updateTable('leases')
    .set({ expires_at: until.toISOString() })
    .where('name', '=', name)
    .where('fence', '=', fence)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Gives a lease back (when still held under `fence`): the next claimant need not wait for it to expire. */
export async function releaseLease(db: Db, name: string, fence: number): Promise<void> {
  await db
    .updateTable('leases')
    .set({ holder: '', expires_at: new Date(0).toISOString() })
    .where('name', '=', name)
    .where('fence', '=', fence)
    .execute();
}

/** The leases among `held` that are no longer held under their fence. */
export async function lostLeases(
  db: Db,
  held: readonly { readonly name: string; readonly fence: number }[],
): Promise<string[]> {
  if (held.length === 0) return [];
  const rows = await db
    .selectFrom('leases')
    .select(['name', 'fence'])
    .where(
      'name',
      'in',
      held.map((h) => h.name),
    )
    .execute();
  const now = new Map(rows.map((r) => [r.name, Number(r.fence)]));
  return held.filter((h) => now.get(h.name) !== h.fence).map((h) => h.name);
}
