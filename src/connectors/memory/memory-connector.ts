import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Account } from '../../model/actual-state.js';
import { ConnectorError, type Connector } from '../connector.js';

const snapshotSchema = z.strictObject({
  accounts: z.array(
    z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      identity: z.string().min(1).optional(),
      enabled: z.boolean().default(true),
      entitlements: z.array(z.string()).default([]),
    }),
  ),
});

/**
 * A target held in memory, optionally loaded from a snapshot file (`{ "accounts": [...] }`):
 * lets `plan` run against a recorded actual state, and tests run without a server.
 */
export class MemoryConnector implements Connector {
  readonly kind = 'memory';
  readonly capabilities = { read: true, write: false };

  constructor(
    readonly target: string,
    private readonly accounts: readonly Account[],
  ) {}

  static fromSnapshotFile(target: string, path: string): MemoryConnector {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ConnectorError(
        target,
        code === 'ENOENT' ? 'not_found' : 'unreachable',
        `snapshot of target "${target}" cannot be read: ${path} (${code ?? (e as Error).message})`,
        'check connection.snapshot in the policy, or pass --actual FILE',
      );
    }
    return new MemoryConnector(target, parseSnapshot(target, path, text));
  }

  listAccounts(): Promise<readonly Account[]> {
    return Promise.resolve(this.accounts);
  }
}

/** Parses a snapshot's text; problems name the file and the JSON path. */
export function parseSnapshot(target: string, path: string, text: string): Account[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConnectorError(target, 'invalid_input', `${path}: not valid JSON: ${(e as Error).message}`);
  }
  const r = snapshotSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0]!;
    const where = first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new ConnectorError(
      target,
      'invalid_input',
      `${path}: ${where.replace(/^\./, '') || 'top level'}: ${first.message}`,
      'a snapshot is { "accounts": [ { "id", "name", "identity"?, "enabled", "entitlements": [...] } ] }',
    );
  }
  return r.data.accounts.map((a) => ({
    id: a.id,
    name: a.name,
    ...(a.identity !== undefined ? { identity: a.identity } : {}),
    enabled: a.enabled,
    entitlements: a.entitlements,
  }));
}
