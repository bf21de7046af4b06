import type { Kysely } from 'kysely';
import type { Denial, ReviewCampaign, ReviewDecision, ReviewItem } from '../model/review.js';
import { bulkInsert } from './bulk-insert.js';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';

type Db = Kysely<Database>;

export type NewCampaign = Omit<ReviewCampaign, 'id' | 'state' | 'closedAt' | 'closedBy'>;
export type NewReviewItem = Omit<ReviewItem, 'id' | 'campaign' | 'decision' | 'comment' | 'decidedAt' | 'decidedBy'>;
export type NewDenial = Omit<Denial, 'id' | 'liftedAt'>;

// Access reviews and denials in the store: campaigns, their items and decisions, and the revokes
// that stick. Kept apart from the main store file, which delegates here.

export async function readCampaigns(db: Db, id?: number): Promise<ReviewCampaign[]> {
  let q = db.selectFrom('review_campaigns').selectAll().orderBy('id');
  if (id !== undefined) q = q.where('id', '=', id);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    scope: r.scope,
    createdAt: new Date(r.created_at),
    createdBy: r.created_by,
    ...(r.due !== null ? { due: new Date(r.due) } : {}),
    noResponse: r.no_response as ReviewDecision,
    state: r.state as ReviewCampaign['state'],
    ...(r.closed_at !== null ? { closedAt: new Date(r.closed_at) } : {}),
    ...(r.closed_by !== null ? { closedBy: r.closed_by } : {}),
  }));
}

export async function readReviewItems(db: Db, filter: { campaign?: number; id?: number }): Promise<ReviewItem[]> {
  let q = db.selectFrom('review_items').selectAll().orderBy('id');
  if (filter.campaign !== undefined) q = q.where('campaign', '=', filter.campaign);
  if (filter.id !== undefined) q = q.where('id', '=', filter.id);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    campaign: Number(r.campaign),
    identity: r.identity,
    entitlement: r.entitlement,
    ...(r.reviewer !== null ? { reviewer: r.reviewer } : {}),
    provenance: r.provenance,
    roles: JSON.parse(r.roles) as string[],
    ...(r.last_used !== null ? { lastUsed: new Date(r.last_used) } : {}),
    ...(r.decision !== null ? { decision: r.decision as ReviewDecision } : {}),
    ...(r.comment !== null ? { comment: r.comment } : {}),
    ...(r.decided_at !== null ? { decidedAt: new Date(r.decided_at) } : {}),
    ...(r.decided_by !== null ? { decidedBy: r.decided_by } : {}),
  }));
}

export async function readDenials(db: Db, identity?: string): Promise<Denial[]> {
  let q = db.selectFrom('denials').selectAll().orderBy('id');
  if (identity !== undefined) q = q.where('identity', '=', identity);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    identity: r.identity,
    entitlement: r.entitlement,
    origin: r.origin,
    reason: r.reason,
    decidedBy: r.decided_by,
    at: new Date(r.at),
    roles: JSON.parse(r.roles) as string[],
    ...(r.lifted_at !== null ? { liftedAt: new Date(r.lifted_at) } : {}),
  }));
}

export async function insertCampaign(
  db: Db,
  dialect: Dialect,
  c: NewCampaign,
  items: readonly NewReviewItem[],
): Promise<number> {
  const r = await db
    .insertInto('review_campaigns')
    .values({
      scope: c.scope,
      created_at: c.createdAt.toISOString(),
      created_by: c.createdBy,
      due: c.due ? c.due.toISOString() : null,
      no_response: c.noResponse,
      state: 'open',
      closed_at: null,
      closed_by: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const campaign = Number(r.id);
  await bulkInsert(
    db,
    dialect,
    'review_items',
    items.map((i) => ({
      campaign,
      identity: i.identity,
      entitlement: i.entitlement,
      reviewer: i.reviewer ?? null,
      provenance: i.provenance,
      roles: JSON.stringify(i.roles),
      last_used: i.lastUsed ? i.lastUsed.toISOString() : null,
      decision: null,
      comment: null,
      decided_at: null,
      decided_by: null,
    })),
  );
  return campaign;
}

export async function recordDecisions(
  db: Db,
  decisions: readonly { item: number; decision: ReviewDecision; comment: string; at: Date; by: string }[],
): Promise<void> {
  for (const d of decisions) {
    await db
      .updateTable('review_items')
      .set({ decision: d.decision, comment: d.comment, decided_at: d.at.toISOString(), decided_by: d.by })
      .where('id', '=', d.item)
      .execute();
  }
}

export async function markCampaignClosed(db: Db, id: number, at: Date, by: string): Promise<void> {
  await db
    .updateTable('review_campaigns')
    .set({ state: 'closed', closed_at: at.toISOString(), closed_by: by })
    .where('id', '=', id)
    .execute();
}

/** Inserts denials one by one (one per revoke decision); returns their ids. */
export async function insertDenials(db: Db, denials: readonly NewDenial[]): Promise<number[]> {
  const ids: number[] = [];
  for (const d of denials) {
    const row = await db
      .insertInto('denials')
      .values({
        identity: d.identity,
        entitlement: d.entitlement,
        origin: d.origin,
        reason: d.reason,
        decided_by: d.decidedBy,
        at: d.at.toISOString(),
        roles: JSON.stringify(d.roles),
        lifted_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(Number(row.id));
  }
  return ids;
}
