import type { Kysely, Transaction } from 'kysely';
import type { AccountLink } from '../model/actual-state.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Inserts links one by one (one per account created or adopted); returns their row ids. */
export async function insertLinks(db: Db, links: readonly AccountLink[], at: Date): Promise<number[]> {
  const ids: number[] = [];
  for (const l of links) {
    const row = await db
      .insertInto('account_links')
      .values({
        target: l.target,
        account_id: l.accountId,
        account: l.account,
        identity: l.identity,
        linked_at: at.toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(Number(row.id));
  }
  return ids;
}

/** The links of the rows given (trusted ones), the latest row of each account winning. */
export async function readLinks(db: Db, only: ReadonlySet<number>): Promise<AccountLink[]> {
  const rows = await db.selectFrom('account_links').selectAll().orderBy('id').execute();
  const latest = new Map<string, AccountLink>();
  for (const r of rows) {
    if (!only.has(Number(r.id))) continue;
    latest.set(`${r.target}\u0000${r.account_id}`, {
      target: r.target,
      accountId: r.account_id,
      account: r.account,
      identity: r.identity,
    });
  }
  return [...latest.values()];
}
