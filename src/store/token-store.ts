import type { Kysely, Selectable, Transaction } from 'kysely';
import { isApiScope, type ApiToken } from '../model/api-token.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A token to store: its secret's SHA-256 (hex), never the secret. */
export type NewApiToken = Omit<ApiToken, 'id' | 'lastUsedAt' | 'revokedAt' | 'revokedBy'> & {
  readonly hash: string;
};

// API tokens, kept apart from the main store file, which delegates here.

export async function readTokens(db: Db): Promise<ApiToken[]> {
  return (await db.selectFrom('api_tokens').selectAll().orderBy('id').execute()).map(toToken);
}

/** The token whose secret has this SHA-256, with the hash as stored (for a constant-time compare). */
export async function readTokenByHash(db: Db, hash: string): Promise<{ token: ApiToken; hash: string } | undefined> {
  const r = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  return r && { token: toToken(r), hash: r.token_hash };
}

export async function insertToken(db: Db, t: NewApiToken): Promise<number> {
  const r = await db
    .insertInto('api_tokens')
    .values({
      name: t.name,
      token_hash: t.hash,
      scopes: JSON.stringify(t.scopes),
      identity: t.identity ?? null,
      created_at: t.createdAt.toISOString(),
      created_by: t.createdBy,
      expires_at: t.expiresAt.toISOString(),
      last_used_at: null,
      revoked_at: null,
      revoked_by: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}

export async function markTokenRevoked(db: Db, id: number, by: string, at: Date): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: at.toISOString(), revoked_by: by })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Sets when a token was last used, unless a use at or after `notBefore` is already recorded. */
export async function touchToken(db: Db, id: number, at: Date, notBefore: Date): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: at.toISOString() })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', notBefore.toISOString())]))
    .execute();
}

function toToken(r: Selectable<Database['api_tokens']>): ApiToken {
  const scopes = (JSON.parse(r.scopes) as string[]).filter(isApiScope);
  return {
    id: Number(r.id),
    name: r.name,
    scopes,
    ...(r.identity !== null ? { identity: r.identity } : {}),
    createdAt: new Date(r.created_at),
    createdBy: r.created_by,
    expiresAt: new Date(r.expires_at),
    ...(r.last_used_at !== null ? { lastUsedAt: new Date(r.last_used_at) } : {}),
    ...(r.revoked_at !== null ? { revokedAt: new Date(r.revoked_at) } : {}),
    ...(r.revoked_by !== null ? { revokedBy: r.revoked_by } : {}),
  };
}
