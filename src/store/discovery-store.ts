import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** What `tenure targets check` last found a target to support, and when. */
export interface TargetDiscovery {
  readonly target: string;
  readonly kind: string;
  readonly checkedAt: Date;
  /** What it supports (`{ groups, filter, patch }` for SCIM). */
  readonly features: Readonly<Record<string, boolean>>;
}

export async function readDiscoveries(db: Db): Promise<TargetDiscovery[]> {
  const rows = await db.selectFrom('target_discoveries').selectAll().orderBy('target').execute();
  return rows.map((r) => ({
    target: r.target,
    kind: r.kind,
    checkedAt: new Date(r.checked_at),
    features: JSON.parse(r.data) as Record<string, boolean>,
  }));
}

/** One row per target: the latest check replaces the one before. */
export async function recordDiscovery(db: Db, d: TargetDiscovery): Promise<void> {
  const data = JSON.stringify(Object.fromEntries(Object.entries(d.features).sort(([a], [b]) => a.localeCompare(b))));
  await db
    .insertInto('target_discoveries')
    .values({ target: d.target, kind: d.kind, checked_at: d.checkedAt.toISOString(), data })
    .onConflict((oc) =>
      oc.column('target').doUpdateSet((eb) => ({
        kind: eb.ref('excluded.kind'),
        checked_at: eb.ref('excluded.checked_at'),
        data: eb.ref('excluded.data'),
      })),
    )
    .execute();
}
