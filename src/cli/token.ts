import { createApiToken, listApiTokens, revokeApiToken, type ListedToken } from '../app/api-tokens.js';
import { workspaceOf } from '../app/workspace.js';
import type { ApiToken } from '../model/api-token.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, toJson, type Io } from './output.js';

/** A token as scripts see it: everything stored but the hash (and never the secret). */
function shown(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    identity: t.identity ?? null,
    createdAt: t.createdAt,
    createdBy: t.createdBy,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt ?? null,
    revokedAt: t.revokedAt ?? null,
    revokedBy: t.revokedBy ?? null,
  };
}

/** `tenure token create --name NAME --scopes LIST [--identity ID] [--expires DATE]`: the secret, shown once. */
export async function tokenCreateCommand(
  io: Io,
  g: GlobalOptions,
  o: { name: string; scopes: string[]; identity?: string; expires?: Date },
): Promise<number> {
  const { token, secret } = await createApiToken(workspaceOf(g), {
    name: o.name,
    scopes: o.scopes,
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
    ...(o.expires ? { expires: o.expires } : {}),
  });
  if (g.json) {
    io.out(toJson({ ...shown(token), token: secret }));
    return EXIT.ok;
  }
  io.out(secret);
  io.err(
    `API token ${token.name} (#${token.id}): ${token.scopes.join(', ')}${token.identity ? `, acting for ${token.identity}` : ''}; expires ${token.expiresAt.toISOString()}.\n` +
      'This is the only time it is shown: Tenure keeps only its hash. Send it as "Authorization: Bearer TOKEN".',
  );
  return EXIT.ok;
}

/** `tenure token list`: every token, its state and last use; never a secret. */
export async function tokenListCommand(io: Io, g: GlobalOptions): Promise<number> {
  const tokens = await listApiTokens(workspaceOf(g));
  if (g.json) {
    io.out(toJson({ tokens: tokens.map((t) => ({ ...shown(t), state: t.state })) }));
    return EXIT.ok;
  }
  if (tokens.length === 0) {
    io.out('No API tokens: tenure token create --name NAME --scopes LIST makes one.');
    return EXIT.ok;
  }
  for (const t of tokens) io.out(line(t));
  return EXIT.ok;
}

/** `tenure token revoke NAME|ID`: the token stops working at once. */
export async function tokenRevokeCommand(io: Io, g: GlobalOptions, nameOrId: string): Promise<number> {
  const t = await revokeApiToken(workspaceOf(g), nameOrId);
  if (g.json) io.out(toJson(shown(t)));
  else io.out(`API token ${t.name} (#${t.id}) revoked; requests with it are refused from now on.`);
  return EXIT.ok;
}

function line(t: ListedToken): string {
  const when =
    t.state === 'revoked'
      ? `revoked ${t.revokedAt!.toISOString()} by ${t.revokedBy ?? 'unknown'}`
      : `${t.state === 'expired' ? 'expired' : 'expires'} ${t.expiresAt.toISOString()}`;
  const used = t.lastUsedAt ? `last used ${t.lastUsedAt.toISOString()}` : 'never used';
  return `#${t.id} ${t.name} [${t.state}] ${t.scopes.join(',')}${t.identity ? ` for ${t.identity}` : ''}; ${when}; ${used}; created by ${t.createdBy}`;
}
