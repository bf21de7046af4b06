import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Account } from '../../model/actual-state.js';
import { ConnectorError, type AccountSpec, type Connector, type ConnectorCapabilities } from '../connector.js';

const snapshotSchema = z.strictObject({
  accounts: z.array(
    z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      identity: z.string().min(1).optional(),
      enabled: z.boolean().default(true),
      entitlements: z.array(z.string()).default([]),
      attributes: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

interface Held {
  readonly id: string;
  readonly name: string;
  readonly identity?: string;
  enabled: boolean;
  /** Insertion-ordered, no duplicates. */
  readonly entitlements: Set<string>;
  readonly attributes: Record<string, string>;
}

/** Runs `f` and hands its result or its error back as a promise (never throws synchronously). */
function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/**
 * A target held in memory, optionally loaded from a snapshot file (`{ "accounts": [...] }`):
 * lets `plan` run against a recorded actual state, and the executor's unit tests run without a
 * server. Accounts are keyed by name; new accounts get ids `mem-1`, `mem-2`, ... that are never
 * reused. Any `TARGET:kind/name` id of this target is an entitlement (no pre-declaration).
 */
export class MemoryConnector implements Connector {
  readonly kind = 'memory';
  readonly capabilities: ConnectorCapabilities = {
    read: true,
    write: true,
    disable: true,
    delete: true,
    memberships: true,
    rotate: false,
  };
  private readonly accounts = new Map<string, Held>();
  private nextId = 1;

  /** `accounts` is copied; two accounts with one name are `invalid_input`. */
  constructor(
    readonly target: string,
    accounts: readonly Account[] = [],
  ) {
    for (const a of accounts) {
      if (this.accounts.has(a.name)) {
        throw new ConnectorError(target, 'invalid_input', `target "${target}": two accounts are named "${a.name}"`);
      }
      this.accounts.set(a.name, {
        id: a.id,
        name: a.name,
        ...(a.identity !== undefined ? { identity: a.identity } : {}),
        enabled: a.enabled,
        entitlements: new Set(a.entitlements),
        attributes: { ...(a.attributes ?? {}) },
      });
      const n = /^mem-(\d+)$/.exec(a.id);
      if (n) this.nextId = Math.max(this.nextId, Number(n[1]) + 1);
    }
  }

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
    const accounts = parseSnapshot(target, path, text);
    try {
      return new MemoryConnector(target, accounts);
    } catch (e) {
      if (e instanceof ConnectorError) throw new ConnectorError(target, e.code, `${path}: ${e.message}`, e.hint);
      throw e;
    }
  }

  /** The state now, in the snapshot file's shape (`JSON.stringify` it to write a snapshot). */
  snapshot(): { accounts: Account[] } {
    return { accounts: [...this.accounts.values()].map(toAccount) };
  }

  /** The target attributes last set on an account (not part of `Account`); for tests. */
  attributesOf(name: string): Readonly<Record<string, string>> | undefined {
    const a = this.accounts.get(name);
    return a ? { ...a.attributes } : undefined;
  }

  listAccounts(): Promise<readonly Account[]> {
    return settle(() => [...this.accounts.values()].map(toAccount));
  }

  readAccount(name: string): Promise<Account | undefined> {
    return settle(() => {
      const a = this.accounts.get(name);
      return a ? toAccount(a) : undefined;
    });
  }

  createAccount(spec: AccountSpec): Promise<Account> {
    return settle(() => {
      if (spec.name === '') throw this.error('invalid_input', 'an account name cannot be empty');
      if (this.accounts.has(spec.name)) {
        throw this.error('already_exists', `account "${spec.name}" already exists in target "${this.target}"`);
      }
      const held: Held = {
        id: `mem-${this.nextId++}`,
        name: spec.name,
        ...(spec.identity !== '' ? { identity: spec.identity } : {}),
        enabled: true,
        entitlements: new Set(),
        attributes: { ...spec.attributes },
      };
      this.accounts.set(spec.name, held);
      return toAccount(held);
    });
  }

  updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    return settle(() => {
      Object.assign(this.get(name).attributes, attributes);
    });
  }

  disableAccount(name: string): Promise<void> {
    return settle(() => {
      this.get(name).enabled = false;
    });
  }

  enableAccount(name: string): Promise<void> {
    return settle(() => {
      this.get(name).enabled = true;
    });
  }

  deleteAccount(name: string): Promise<void> {
    return settle(() => {
      this.get(name);
      this.accounts.delete(name);
    });
  }

  listMembers(entitlement: string): Promise<readonly string[]> {
    return settle(() => {
      this.checkEntitlement(entitlement);
      return [...this.accounts.values()].filter((a) => a.entitlements.has(entitlement)).map((a) => a.name);
    });
  }

  addMembership(name: string, entitlement: string): Promise<void> {
    return settle(() => {
      this.checkEntitlement(entitlement);
      this.get(name).entitlements.add(entitlement);
    });
  }

  removeMembership(name: string, entitlement: string): Promise<void> {
    return settle(() => {
      this.checkEntitlement(entitlement);
      this.get(name).entitlements.delete(entitlement);
    });
  }

  rotateCredential(name: string): Promise<void> {
    return settle(() => {
      this.get(name);
      throw this.error('invalid_input', 'memory targets hold no credentials');
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private get(name: string): Held {
    const a = this.accounts.get(name);
    if (!a) throw this.error('not_found', `account "${name}" does not exist in target "${this.target}"`);
    return a;
  }

  /** Any `TARGET:kind/name` of this target; anything else (another target, `TARGET:account`) is refused. */
  private checkEntitlement(entitlement: string): void {
    const prefix = `${this.target}:`;
    const rest = entitlement.startsWith(prefix) ? entitlement.slice(prefix.length) : undefined;
    if (rest === undefined || !/^[^/]+\/.+$/s.test(rest)) {
      throw this.error(
        'invalid_input',
        `"${entitlement}" is not an entitlement of target "${this.target}"`,
        `expected ${this.target}:KIND/NAME`,
      );
    }
  }

  private error(code: ConnectorError['code'], message: string, hint?: string): ConnectorError {
    return new ConnectorError(this.target, code, message, hint);
  }
}

function toAccount(a: Held): Account {
  return {
    id: a.id,
    name: a.name,
    ...(a.identity !== undefined ? { identity: a.identity } : {}),
    enabled: a.enabled,
    entitlements: [...a.entitlements],
    // Attributes only when it has some: a snapshot without them reads back as it was written.
    ...(Object.keys(a.attributes).length > 0 ? { attributes: { ...a.attributes } } : {}),
  };
}

/** Parses a snapshot's text; problems name the file and the JSON path. */
export function parseSnapshot(target: string, path: string, text: string): Account[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConnectorError(target, 'invalid_input', `${path}: not valid JSON: ${(e as Error).message}`);
  }
  // Most snapshots are well-formed: a plain check is several times faster than the schema on
  // hundreds of thousands of accounts. The schema runs only to say precisely what is wrong.
  const quick = wellFormed(raw);
  if (quick) return quick;
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
    ...(a.attributes !== undefined ? { attributes: a.attributes } : {}),
  }));
}

const SNAPSHOT_KEYS = new Set(['id', 'name', 'identity', 'enabled', 'entitlements', 'attributes']);

/** The accounts of a snapshot that `snapshotSchema` accepts as it is, or undefined to let the schema judge. */
function wellFormed(raw: unknown): Account[] | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const keys = Object.keys(raw);
  const list = (raw as { accounts?: unknown }).accounts;
  if (keys.length !== 1 || !Array.isArray(list)) return undefined;
  const out: Account[] = new Array<Account>(list.length);
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as Record<string, unknown> | null;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined;
    for (const k in a) if (!SNAPSHOT_KEYS.has(k)) return undefined;
    const { id, name, identity, enabled, entitlements, attributes } = a;
    if (typeof id !== 'string' || id === '' || typeof name !== 'string' || name === '') return undefined;
    if (identity !== undefined && (typeof identity !== 'string' || identity === '')) return undefined;
    if (enabled !== undefined && typeof enabled !== 'boolean') return undefined;
    if (entitlements !== undefined && (!Array.isArray(entitlements) || entitlements.some((e) => typeof e !== 'string')))
      return undefined;
    if (
      attributes !== undefined &&
      (typeof attributes !== 'object' ||
        attributes === null ||
        Array.isArray(attributes) ||
        Object.values(attributes).some((v) => typeof v !== 'string'))
    )
      return undefined;
    out[i] = {
      id,
      name,
      ...(identity !== undefined ? { identity } : {}),
      enabled: enabled ?? true,
      entitlements: (entitlements as string[] | undefined) ?? [],
      ...(attributes !== undefined ? { attributes: attributes as Record<string, string> } : {}),
    };
  }
  return out;
}
