/**
 * What an API token may do: one closed list, none implying another. Each API route needs exactly
 * one of these (docs/api.md lists which).
 */
export const API_SCOPES = [
  'identities:read',
  'plans:read',
  'plans:apply',
  'operations:retry',
  'holds:decide',
  'reviews:read',
  'reviews:decide',
  'reviews:manage',
  'exceptions:write',
  'custody:confirm',
  'governance:read',
  'audit:read',
  'sources:write',
  'policy:reload',
  'tokens:manage',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function isApiScope(s: string): s is ApiScope {
  return (API_SCOPES as readonly string[]).includes(s);
}

/** A token as stored: never its secret, only the secret's SHA-256. */
export interface ApiToken {
  readonly id: number;
  /** Unique among live (unrevoked) tokens. */
  readonly name: string;
  readonly scopes: readonly ApiScope[];
  /** The identity it acts for (a reviewer deciding only their own items), if bound. */
  readonly identity?: string;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly expiresAt: Date;
  readonly lastUsedAt?: Date;
  readonly revokedAt?: Date;
  readonly revokedBy?: string;
}

export type ApiTokenState = 'live' | 'expired' | 'revoked';

/** Revoked wins over expired: it is the stronger statement about the token. */
export function tokenState(t: ApiToken, now: Date): ApiTokenState {
  if (t.revokedAt) return 'revoked';
  return t.expiresAt.getTime() <= now.getTime() ? 'expired' : 'live';
}
