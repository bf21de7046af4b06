import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  API_SCOPES,
  isApiScope,
  tokenState,
  type ApiScope,
  type ApiToken,
  type ApiTokenState,
} from '../model/api-token.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, UserError } from './errors.js';
import type { Workspace } from './workspace.js';

/** Days a token lives unless its creator says otherwise. */
export const TOKEN_DAYS = 90;
/** A use is recorded at most this often per token, so reads do not turn into a write per request. */
export const TOUCH_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;
const PREFIX = 'tnr_';
/** Random bytes in a secret: 256 bits. */
const SECRET_BYTES = 32;
/** `tnr_` and the base64url of 32 bytes (43 characters); longer is allowed, shorter is not a token. */
const TOKEN_SHAPE = /^tnr_[A-Za-z0-9_-]{43,128}$/;
const NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface NewTokenRequest {
  readonly name: string;
  /** As written: a comma-separated list, or the parts of one. */
  readonly scopes: readonly string[];
  readonly identity?: string;
  readonly expires?: Date;
}

/** A created token: the secret is here once and nowhere else; the store keeps its SHA-256. */
export interface CreatedToken {
  readonly token: ApiToken;
  readonly secret: string;
}

export interface ListedToken extends ApiToken {
  readonly state: ApiTokenState;
}

/** Why a presented token does not authenticate, for the caller's status and message. */
export type TokenRefusal = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'untrusted';

export type TokenCheck =
  | { readonly ok: true; readonly token: ApiToken }
  | { readonly ok: false; readonly refusal: TokenRefusal; readonly detail?: string };

/** The closed scope list parsed: an unknown scope is a usage error with the closest one. */
export function parseScopes(parts: readonly string[]): ApiScope[] {
  const words = parts
    .flatMap((p) => p.split(','))
    .map((w) => w.trim())
    .filter((w) => w !== '');
  if (words.length === 0)
    throw new UserError('a token needs at least one scope', EXIT.usage, [], `scopes: ${API_SCOPES.join(', ')}`);
  for (const w of words)
    if (!isApiScope(w))
      throw new UserError(
        `unknown scope "${w}"`,
        EXIT.usage,
        [],
        `${didYouMean(w, API_SCOPES) ?? ''} The scopes are: ${API_SCOPES.join(', ')}`.trim(),
      );
  return [...new Set(words as ApiScope[])].sort();
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether text has the shape of a Tenure token at all (checked before any lookup). */
export function isTokenShaped(text: string): boolean {
  return TOKEN_SHAPE.test(text);
}

/** `tenure token create`: a new token with its scopes, bound identity and expiry, audited. */
export async function createApiToken(ws: Workspace, req: NewTokenRequest): Promise<CreatedToken> {
  const name = req.name.trim();
  if (!NAME_SHAPE.test(name) || /^\d+$/.test(name))
    throw new UserError(
      `"${req.name}" cannot name a token`,
      EXIT.usage,
      [],
      'a name is 1 to 64 letters, digits, dots, dashes or underscores, starts with a letter or digit, and is not only digits (those are token ids)',
    );
  const scopes = parseScopes(req.scopes);
  const createdAt = ws.asOf;
  const expiresAt = req.expires ?? new Date(createdAt.getTime() + TOKEN_DAYS * DAY_MS);
  if (expiresAt.getTime() <= createdAt.getTime())
    throw new UserError(
      `--expires ${expiresAt.toISOString()} is not after the token's creation (${createdAt.toISOString()})`,
      EXIT.usage,
      [],
      'give a date in the future',
    );
  const secret = PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
  return ws.withStore('write', async (store, waitMs) => {
    const identity = req.identity?.trim();
    if (identity !== undefined) {
      const ids = (await store.identities()).map((i) => i.id);
      if (!ids.includes(identity))
        throw new UserError(
          `no identity "${identity}" in the store to bind the token to`,
          EXIT.invalid,
          [],
          didYouMean(identity, ids) ?? 'bind a token to an imported identity (tenure import first)',
        );
    }
    const id = await store.write(
      (w) =>
        w.addApiToken(
          {
            name,
            hash: hashToken(secret),
            scopes,
            ...(identity !== undefined ? { identity } : {}),
            createdAt,
            createdBy: ws.actor.id,
            expiresAt,
          },
          ws.auditContext(`API token ${name} created`),
        ),
      { waitMs },
    );
    const token = (await store.apiTokens()).find((t) => t.id === id)!;
    return { token, secret };
  });
}

/** `tenure token list`: every token with its state at the workspace's time; never a secret. */
export function listApiTokens(ws: Workspace): Promise<ListedToken[]> {
  return ws.ifStored([], async (store) =>
    (await store.apiTokens()).map((t) => ({ ...t, state: tokenState(t, ws.asOf) })),
  );
}

/** `tenure token revoke NAME|ID`: the live token of that name, or the token of that id. */
export function revokeApiToken(ws: Workspace, nameOrId: string): Promise<ApiToken> {
  const key = nameOrId.trim();
  return ws.withStore('read', async (store, waitMs) => {
    const all = await store.apiTokens();
    const found = /^\d+$/.test(key)
      ? all.find((t) => t.id === Number(key))
      : (all.find((t) => t.name === key && !t.revokedAt) ?? all.findLast((t) => t.name === key));
    if (!found)
      throw new UserError(
        `no API token ${/^\d+$/.test(key) ? '#' : ''}${key}`,
        EXIT.invalid,
        [],
        didYouMean(
          key,
          all.filter((t) => !t.revokedAt).map((t) => t.name),
        ) ?? 'tenure token list shows the tokens',
      );
    if (found.revokedAt)
      throw new UserError(
        `API token ${found.name} (#${found.id}) was already revoked on ${found.revokedAt.toISOString()} by ${found.revokedBy ?? 'unknown'}`,
      );
    await store.write((w) => w.revokeApiToken(found.id, ws.auditContext(`API token ${found.name} revoked`)), {
      waitMs,
    });
    return (await store.apiTokens()).find((t) => t.id === found.id)!;
  });
}

/**
 * Authenticates a presented token at the real time: its SHA-256 is looked up, compared in constant
 * time, and it must be live and match its audit record. A use is recorded at most once a minute,
 * without waiting for a busy store.
 */
export function verifyApiToken(ws: Workspace, presented: string): Promise<TokenCheck> {
  if (!isTokenShaped(presented)) return Promise.resolve({ ok: false, refusal: 'malformed' });
  const hash = hashToken(presented);
  return ws.withStore('read', async (store): Promise<TokenCheck> => {
    const found = await store.apiTokenByHash(hash);
    if (!found || !timingSafeEqual(Buffer.from(found.hash, 'hex'), Buffer.from(hash, 'hex')))
      return { ok: false, refusal: 'unknown' };
    const { token } = found;
    if (!found.trusted) return { ok: false, refusal: 'untrusted', ...(found.problem ? { detail: found.problem } : {}) };
    const now = ws.clock();
    const state = tokenState(token, now);
    if (state !== 'live') return { ok: false, refusal: state };
    if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS)
      await store.touchApiToken(token.id, now, new Date(now.getTime() - TOUCH_INTERVAL_MS), { waitMs: 0 });
    return { ok: true, token };
  });
}
