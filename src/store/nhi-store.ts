import type { Kysely } from 'kysely';
import type { CredentialRotation, Custody } from '../model/custody.js';
import type { Database } from './schema.js';

type Db = Kysely<Database>;

export type NewCustody = Omit<Custody, 'id' | 'state' | 'decidedBy' | 'decidedAt'>;

// Non-human identity custody (owner left: who takes it over, by when) and the credentials Tenure
// rotated, kept apart from the main store file, which delegates here.

export async function readCustody(db: Db, nhi?: string): Promise<Custody[]> {
  let q = db.selectFrom('nhi_custody').selectAll().orderBy('id');
  if (nhi !== undefined) q = q.where('nhi', '=', nhi);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    nhi: r.nhi,
    previousOwner: r.previous_owner,
    ...(r.proposed_owner !== null ? { proposedOwner: r.proposed_owner } : {}),
    since: new Date(r.since),
    deadline: new Date(r.deadline),
    state: r.state as Custody['state'],
    ...(r.decided_by !== null ? { decidedBy: r.decided_by } : {}),
    ...(r.decided_at !== null ? { decidedAt: new Date(r.decided_at) } : {}),
  }));
}

export async function insertCustody(db: Db, c: NewCustody): Promise<number> {
  const r = await db
    .insertInto('nhi_custody')
    .values({
      nhi: c.nhi,
      previous_owner: c.previousOwner,
      proposed_owner: c.proposedOwner ?? null,
      since: c.since.toISOString(),
      deadline: c.deadline.toISOString(),
      state: 'pending',
      decided_by: null,
      decided_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}

export async function confirmCustody(db: Db, id: number, by: string, at: Date): Promise<void> {
  await db
    .updateTable('nhi_custody')
    .set({ state: 'confirmed', decided_by: by, decided_at: at.toISOString() })
    .where('id', '=', id)
    .execute();
}

/** Rotations, oldest first; only those with the given ids when given. */
export async function readRotations(
  db: Db,
  only?: ReadonlySet<number>,
): Promise<{ id: number; rotation: CredentialRotation }[]> {
  const rows = await db.selectFrom('credential_rotations').selectAll().orderBy('id').execute();
  return rows
    .filter((r) => !only || only.has(Number(r.id)))
    .map((r) => ({
      id: Number(r.id),
      rotation: {
        identity: r.identity,
        target: r.target,
        account: r.account,
        at: new Date(r.at),
        purpose: r.purpose as CredentialRotation['purpose'],
      },
    }));
}

/** Inserts rotations one by one (a handful per apply); returns their ids. */
export async function insertRotations(db: Db, rotations: readonly CredentialRotation[]): Promise<number[]> {
  const ids: number[] = [];
  for (const r of rotations) {
    const row = await db
      .insertInto('credential_rotations')
      .values({
        identity: r.identity,
        target: r.target,
        account: r.account,
        at: r.at.toISOString(),
        purpose: r.purpose,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(Number(row.id));
  }
  return ids;
}
