import { z } from 'zod';
import type { Account } from '../../model/actual-state.js';
import { ConnectorError, type AccountSpec, type Connector, type ConnectorCapabilities } from '../connector.js';
import { GroupCommit, NO_CHANGE } from '../group-commit.js';

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

/**
 * One account. Never changed in place: a change puts a new object in the state, so the text of an
 * unchanged account can be kept from one write of the snapshot file to the next.
 */
interface Held {
  readonly id: string;
  readonly name: string;
  readonly identity?: string;
  readonly enabled: boolean;
  /** Insertion-ordered, no duplicates. */
  readonly entitlements: ReadonlySet<string>;
  readonly attributes: Readonly<Record<string, string>>;
}

interface State {
  readonly accounts: Map<string, Held>;
  /** The number of the next `mem-N` id. */
  nextId: number;
}

/** Runs `f` and hands its result or its error back as a promise (never throws synchronously). */
function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** What every memory target can do. */
export const MEMORY_CAPABILITIES: ConnectorCapabilities = {
  read: true,
  write: true,
  disable: true,
  delete: true,
  memberships: true,
  rotate: false,
  rename: true,
};

/**
 * A target held in memory, optionally kept in a snapshot file (`{ "accounts": [...] }`): lets
 * `plan` run against a recorded actual state, `apply` change it, and the executor's unit tests run
 * without a server. Accounts are keyed by name; new accounts get ids `mem-1`, `mem-2`, ... (after
 * the highest one held). Any `TARGET:kind/name` id of this target is an entitlement (no
 * pre-declaration).
 *
 * With a snapshot file, the file is what the target holds, as a CSV target's files are: every
 * change is written to it before its promise settles (the journal marks an operation done only
 * then), by replacing the file atomically with group commit (GroupCommit), and the file is read
 * again when something else changed it.
 */
export class MemoryConnector implements Connector {
  readonly kind = 'memory';
  readonly capabilities: ConnectorCapabilities = MEMORY_CAPABILITIES;
  /** The state when there is no snapshot file. */
  private readonly held: State;
  /** The snapshot file's state, when there is one. */
  private file: GroupCommit<State, 'snapshot'> | undefined;

  /** `accounts` is copied; two accounts with one name are `invalid_input`. Held in memory only. */
  constructor(
    readonly target: string,
    accounts: readonly Account[] = [],
  ) {
    this.held = stateOf(target, accounts);
  }

  /**
   * A target kept in the snapshot file at `path`, read now: a missing file is `not_found`, a
   * malformed one `invalid_input` naming the file.
   */
  static fromSnapshotFile(target: string, path: string): MemoryConnector {
    const c = MemoryConnector.onSnapshotFile(target, path);
    c.file!.loadSync();
    return c;
  }

  /** A target kept in the snapshot file at `path`, read at its first use (the connector kind's factory). */
  static onSnapshotFile(target: string, path: string): MemoryConnector {
    const c = new MemoryConnector(target);
    const rendered = new WeakMap<Held, Buffer>();
    c.file = new GroupCommit<State, 'snapshot'>({
      files: [path],
      parse: ([buf]) => {
        if (buf === undefined) throw unreadable(target, path, 'ENOENT');
        const accounts = parseSnapshot(target, path, buf.toString('utf8'));
        try {
          return stateOf(target, accounts);
        } catch (e) {
          if (e instanceof ConnectorError) throw new ConnectorError(target, e.code, `${path}: ${e.message}`, e.hint);
          throw e;
        }
      },
      render: (s) => [[path, snapshotText(s, rendered)]],
      // No fsync: the atomic rename is enough here. What must hold is that a change the journal
      // calls done is in the file even when the process is killed right after; a killed process's
      // writes are in the kernel's cache, seen by the next reader, and the rename makes every
      // reader see the old file or the new one, whole. A power cut may lose the last writes of a
      // memory target (a test and demo target, not a system of record); waiting for the disk on
      // every batch would buy nothing against the failure this guards.
      fsync: false,
      ioError: (file, action, e) => {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        if (action === 'read') return unreadable(target, file, code);
        return new ConnectorError(
          target,
          code === 'EACCES' || code === 'EPERM' ? 'permission_denied' : 'unreachable',
          `snapshot of target "${target}" cannot be written: ${file} (${code})`,
        );
      },
    });
    return c;
  }

  /** Snapshot files written so far (a batch of changes written together counts once); for tests. */
  get snapshotWrites(): number {
    return this.file?.writes ?? 0;
  }

  /**
   * The state now, in the snapshot file's shape (`JSON.stringify` it to write a snapshot). With a
   * snapshot file: as this instance last read or changed it, without waiting for queued operations.
   */
  snapshot(): { accounts: Account[] } {
    return snapshotOf(this.peek());
  }

  /** The target attributes last set on an account (not part of `Account`); for tests. */
  attributesOf(name: string): Readonly<Record<string, string>> | undefined {
    const a = this.peek().accounts.get(name);
    return a ? { ...a.attributes } : undefined;
  }

  listAccounts(): Promise<readonly Account[]> {
    return this.run(false, (s) => [...s.accounts.values()].map(toAccount));
  }

  readAccount(name: string): Promise<Account | undefined> {
    return this.run(false, (s) => {
      const a = s.accounts.get(name);
      return a ? toAccount(a) : undefined;
    });
  }

  createAccount(spec: AccountSpec): Promise<Account> {
    return this.run(true, (s) => {
      if (spec.name === '') throw this.error('invalid_input', 'an account name cannot be empty');
      if (s.accounts.has(spec.name)) {
        throw this.error('already_exists', `account "${spec.name}" already exists in target "${this.target}"`);
      }
      const held: Held = {
        id: `mem-${s.nextId++}`,
        name: spec.name,
        ...(spec.identity !== '' ? { identity: spec.identity } : {}),
        enabled: true,
        entitlements: new Set(),
        attributes: { ...spec.attributes },
      };
      s.accounts.set(spec.name, held);
      return toAccount(held);
    });
  }

  updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    return this.run(true, (s) => {
      const a = this.get(s, name);
      s.accounts.set(name, { ...a, attributes: { ...a.attributes, ...attributes } });
    });
  }

  disableAccount(name: string): Promise<void> {
    return this.run(true, (s) => {
      const a = this.get(s, name);
      if (!a.enabled) return NO_CHANGE;
      s.accounts.set(name, { ...a, enabled: false });
    });
  }

  enableAccount(name: string): Promise<void> {
    return this.run(true, (s) => {
      const a = this.get(s, name);
      if (a.enabled) return NO_CHANGE;
      s.accounts.set(name, { ...a, enabled: true });
    });
  }

  deleteAccount(name: string): Promise<void> {
    return this.run(true, (s) => {
      this.get(s, name);
      s.accounts.delete(name);
    });
  }

  renameAccount(name: string, newName: string, identity: string): Promise<void> {
    return this.run(true, (s) => {
      const a = s.accounts.get(name);
      const taken = s.accounts.get(newName);
      if (a === undefined) {
        if (taken !== undefined && taken.identity === identity) return NO_CHANGE;
        throw this.error('not_found', `account "${name}" does not exist in target "${this.target}"`);
      }
      if (name === newName) return NO_CHANGE;
      if (taken !== undefined) {
        throw this.error('already_exists', `account "${newName}" already exists in target "${this.target}"`);
      }
      s.accounts.delete(name);
      s.accounts.set(newName, { ...a, name: newName });
    });
  }

  linkAccount(name: string, identity: string): Promise<void> {
    return this.run(true, (s) => {
      const a = this.get(s, name);
      if (a.identity === identity) return NO_CHANGE;
      s.accounts.set(name, { ...a, identity });
    });
  }

  listMembers(entitlement: string): Promise<readonly string[]> {
    return this.run(false, (s) => {
      this.checkEntitlement(entitlement);
      return [...s.accounts.values()].filter((a) => a.entitlements.has(entitlement)).map((a) => a.name);
    });
  }

  addMembership(name: string, entitlement: string): Promise<void> {
    return this.run(true, (s) => {
      this.checkEntitlement(entitlement);
      const a = this.get(s, name);
      if (a.entitlements.has(entitlement)) return NO_CHANGE;
      s.accounts.set(name, { ...a, entitlements: new Set(a.entitlements).add(entitlement) });
    });
  }

  removeMembership(name: string, entitlement: string): Promise<void> {
    return this.run(true, (s) => {
      this.checkEntitlement(entitlement);
      const a = this.get(s, name);
      if (!a.entitlements.has(entitlement)) return NO_CHANGE;
      const entitlements = new Set(a.entitlements);
      entitlements.delete(entitlement);
      s.accounts.set(name, { ...a, entitlements });
    });
  }

  rotateCredential(name: string): Promise<void> {
    return this.run(false, (s) => {
      this.get(s, name);
      throw this.error('invalid_input', 'memory targets hold no credentials');
    });
  }

  /** Waits until every change asked for is in the snapshot file. */
  async close(): Promise<void> {
    await this.file?.close();
  }

  /**
   * Runs one operation on the state: at once in memory, or queued on the snapshot file, settling
   * once the file holds its change. `changes` says whether it may change anything; it returns
   * NO_CHANGE when it found nothing to change (no write). It must check before it changes anything.
   */
  private run<T>(changes: boolean, op: (s: State) => T | typeof NO_CHANGE): Promise<T> {
    if (this.file) return this.file.run(changes ? 'snapshot' : false, op);
    return settle(() => {
      const value = op(this.held);
      return value === NO_CHANGE ? (undefined as T) : value;
    });
  }

  private peek(): State {
    return this.file ? (this.file.peek() ?? this.file.loadSync()) : this.held;
  }

  private get(s: State, name: string): Held {
    const a = s.accounts.get(name);
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

/** A state holding copies of `accounts`; two accounts with one name are `invalid_input`. */
function stateOf(target: string, accounts: readonly Account[]): State {
  const state: State = { accounts: new Map(), nextId: 1 };
  for (const a of accounts) {
    if (state.accounts.has(a.name)) {
      throw new ConnectorError(target, 'invalid_input', `target "${target}": two accounts are named "${a.name}"`);
    }
    state.accounts.set(a.name, {
      id: a.id,
      name: a.name,
      ...(a.identity !== undefined ? { identity: a.identity } : {}),
      enabled: a.enabled,
      entitlements: new Set(a.entitlements),
      attributes: { ...(a.attributes ?? {}) },
    });
    const n = /^mem-(\d+)$/.exec(a.id);
    if (n) state.nextId = Math.max(state.nextId, Number(n[1]) + 1);
  }
  return state;
}

function snapshotOf(s: State): { accounts: Account[] } {
  return { accounts: [...s.accounts.values()].map(toAccount) };
}

const SNAPSHOT_HEAD = Buffer.from('{\n  "accounts": [\n');
const SNAPSHOT_SEPARATOR = Buffer.from(',\n');
const SNAPSHOT_TAIL = Buffer.from('\n  ]\n}\n');

/**
 * The snapshot file's text, as `JSON.stringify(snapshot, null, 2)` writes it, from each account's
 * text: kept in `cache` while the account is unchanged, so writing a batch of changes renders only
 * the accounts it touched, not the whole target again.
 */
function snapshotText(s: State, cache: WeakMap<Held, Buffer>): Buffer {
  if (s.accounts.size === 0) return Buffer.from('{\n  "accounts": []\n}\n');
  const parts: Buffer[] = [SNAPSHOT_HEAD];
  for (const a of s.accounts.values()) {
    let text = cache.get(a);
    if (text === undefined) {
      // JSON escapes line breaks inside strings: every line break here is one of the layout's.
      text = Buffer.from('    ' + JSON.stringify(toAccount(a), null, 2).replaceAll('\n', '\n    '));
      cache.set(a, text);
    }
    if (parts.length > 1) parts.push(SNAPSHOT_SEPARATOR);
    parts.push(text);
  }
  parts.push(SNAPSHOT_TAIL);
  return Buffer.concat(parts);
}

function unreadable(target: string, path: string, code: string): ConnectorError {
  return new ConnectorError(
    target,
    code === 'ENOENT' ? 'not_found' : 'unreachable',
    `snapshot of target "${target}" cannot be read: ${path} (${code})`,
    'check connection.snapshot in the policy, or pass --actual FILE',
  );
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
