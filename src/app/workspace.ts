import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { AuditEntry } from '../audit/audit-chain.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { isPostgresUrl, openStore } from '../store/open-store.js';
import { StoreError, type AuditContext, type StateStore } from '../store/state-store.js';
import { EXIT, UserError } from './errors.js';
import { openPolicy } from './inputs.js';

/** What a use case runs against, as a caller (the command line, the service) describes it. */
export interface WorkspaceSpec {
  /** The policy file. */
  readonly config: string;
  /** The state store: a SQLite path or a postgres:// URL (`--state`). */
  readonly state?: string;
  /** The moment rules, events and plans are computed for; absent means now. */
  readonly asOf?: Date;
  /** Who is acting (`--as`). */
  readonly as?: string;
}

/** Who is acting, and how we know: the audit record says which. */
export interface Actor {
  readonly id: string;
  /**
   * `token`: a call to the service, authenticated by an API token; `signal`: SIGHUP to the service; `scheduler`: a
   * scheduled run of the service.
   */
  readonly source: 'flag' | 'env' | 'os' | 'token' | 'signal' | 'scheduler';
}

/**
 * What a long-lived caller (the service) opened once and lends to each request's workspace: the
 * policy it loaded at start, the store it keeps open (never closed by a use case), who is acting.
 */
export interface WorkspaceShared {
  readonly policy?: { loaded: LoadedPolicy; warnings: readonly Diagnostic[] };
  readonly store?: StateStore;
  readonly actor?: Actor;
}

/** Where the store is, and which rule chose it. */
export interface StoreLocation {
  readonly location: string;
  readonly chosenBy: 'flag' | 'env' | 'policy' | 'default';
}

/**
 * How a use case needs the store: to change it (created when missing), only to read it (it must
 * exist), or to read it without writing a byte (the audit's checks: a read-only file or folder,
 * or a copy an auditor was handed).
 */
export type StoreMode = 'write' | 'read' | 'read-only';

const DAY_MS = 86_400_000;

/**
 * The world a use case works in: the policy (loaded once), the store that belongs to it, the
 * clock, the evaluation time and the actor. The command line makes one per command; the service
 * will make one per request. Nothing here prints or exits.
 */
export class Workspace {
  readonly asOf: Date;
  readonly actor: Actor;
  private loadedPolicy?: { loaded: LoadedPolicy; warnings: readonly Diagnostic[] };
  private resolvedStore?: StoreLocation;

  constructor(
    readonly spec: WorkspaceSpec,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** The real time: audit records carry it beside the evaluation time. */
    readonly clock: () => Date = () => new Date(),
    private readonly shared: WorkspaceShared = {},
  ) {
    this.asOf = spec.asOf ?? clock();
    this.actor = shared.actor ?? actorOf(spec.as, env);
  }

  /** The policy, read and validated once; a UserError with every diagnostic when invalid. */
  policy(): { loaded: LoadedPolicy; warnings: readonly Diagnostic[] } {
    return (this.loadedPolicy ??= this.shared.policy ?? openPolicy(this.spec.config));
  }

  /**
   * The store belongs to the policy, never to the working directory: `--state`, else
   * TENURE_DATABASE_URL, else `state:` in the policy file (relative to it), else
   * `.tenure/state.db` next to the policy file.
   */
  storeLocation(): StoreLocation {
    if (this.resolvedStore) return this.resolvedStore;
    const env = this.env.TENURE_DATABASE_URL;
    const policyFile = resolve(this.spec.config);
    const setting = this.spec.state === undefined && !env ? stateSetting(policyFile) : undefined;
    this.resolvedStore =
      this.spec.state !== undefined
        ? { location: this.spec.state, chosenBy: 'flag' }
        : env
          ? { location: env, chosenBy: 'env' }
          : setting !== undefined
            ? {
                location: isPostgresUrl(setting) ? setting : resolve(dirname(policyFile), setting),
                chosenBy: 'policy',
              }
            : { location: join(dirname(policyFile), '.tenure', 'state.db'), chosenBy: 'default' };
    return this.resolvedStore;
  }

  /** Whether a store exists (a PostgreSQL URL is taken to exist; opening it says otherwise). */
  hasStore(): boolean {
    if (this.shared.store) return true;
    const { location } = this.storeLocation();
    return isPostgresUrl(location) || existsSync(location);
  }

  /**
   * Opens the store for `f`. `write` creates it when missing; `read` needs it to exist and says
   * where it looked when it does not — a command that only reads never creates an empty store.
   */
  async withStore<T>(mode: StoreMode, f: (store: StateStore, waitMs: number) => Promise<T>): Promise<T> {
    if (this.shared.store) {
      // Lent by the service: open already, and not ours to close.
      try {
        return await f(this.shared.store, this.lockWaitMs());
      } catch (e) {
        throw storeProblem(e);
      }
    }
    const { location, chosenBy } = this.storeLocation();
    if (mode !== 'write' && !this.hasStore())
      throw new UserError(
        `no state store at ${location}${chosenBy === 'default' ? ' (next to the policy file)' : ''}`,
        EXIT.invalid,
        [],
        'tenure import creates it; pass --state, TENURE_DATABASE_URL or state: in the policy for another one',
      );
    const waitMs = this.lockWaitMs();
    let store: StateStore;
    try {
      store = await openStore(location, { waitMs, ...(mode === 'read-only' ? { readOnly: true } : {}) });
    } catch (e) {
      // A command that only reads works on a store it may not write (a read-only file or folder):
      // opened that way, nothing is migrated or written.
      if (mode !== 'read' || !(e instanceof StoreError) || !/read-?only|EACCES|EROFS|permission/i.test(e.message))
        throw storeProblem(e);
      try {
        store = await openStore(location, { waitMs, readOnly: true });
      } catch (again) {
        throw storeProblem(again);
      }
    }
    try {
      return await f(store, waitMs);
    } catch (e) {
      throw storeProblem(e);
    } finally {
      await store.close();
    }
  }

  /** Reads from the store when there is one, else gives `none`: store-free commands stay store-free. */
  ifStored<T>(none: T, f: (store: StateStore, waitMs: number) => Promise<T>): Promise<T> {
    return this.hasStore() ? this.withStore('read', f) : Promise.resolve(none);
  }

  /** TENURE_LOCK_WAIT_MS: how long to wait for another Tenure process that holds the store or a target. */
  lockWaitMs(): number {
    const text = this.env.TENURE_LOCK_WAIT_MS;
    if (text === undefined || text === '') return 10_000;
    if (!/^\d{1,9}$/.test(text.trim()))
      throw new UserError(
        `TENURE_LOCK_WAIT_MS takes a whole number of milliseconds, not "${text}"`,
        EXIT.usage,
        [],
        'unset it for the default of 10000',
      );
    return Number(text.trim());
  }

  /**
   * An audit record of this workspace's actor. The evaluation time (`--as-of`) is the record's
   * time, as before; the real time and how the actor was named ride along, so a backdated
   * change is visible for what it is.
   */
  auditEntry(entry: Omit<AuditEntry, 'actor' | 'at'> & { readonly at?: Date }): AuditEntry {
    const recordedAt = this.clock();
    const at = entry.at ?? this.asOf;
    return {
      ...entry,
      at,
      actor: this.actor.id,
      details: {
        ...entry.details,
        actorSource: this.actor.source,
        ...(Math.abs(recordedAt.getTime() - at.getTime()) > 60_000 ? { recordedAt } : {}),
      },
    };
  }

  /** The same, for the store's governed writes (which write their own records): who, when, why. */
  auditContext(reason: string, details: Readonly<Record<string, unknown>> = {}, at?: Date): AuditContext {
    const entry = this.auditEntry({ action: 'plan.saved', subject: '', reason, details, ...(at ? { at } : {}) });
    return { actor: entry.actor, at: entry.at, reason, details: entry.details };
  }

  /** Said on a terminal when a change is recorded for a time more than a day from now. */
  backdatingNote(): string | undefined {
    const gap = this.asOf.getTime() - this.clock().getTime();
    if (this.spec.asOf === undefined || Math.abs(gap) <= DAY_MS) return undefined;
    const days = Math.round(Math.abs(gap) / DAY_MS);
    return `note: recording this as of ${this.asOf.toISOString().slice(0, 10)}, ${days} day(s) ${gap < 0 ? 'before' : 'after'} today (${this.clock().toISOString().slice(0, 10)}); the audit log keeps both times`;
  }
}

const cache = new WeakMap<WorkspaceSpec, Workspace>();

/** The workspace of a command's options: made once, so the policy is read once per command. */
export function workspaceOf(spec: WorkspaceSpec): Workspace {
  let ws = cache.get(spec);
  if (!ws) cache.set(spec, (ws = new Workspace(spec)));
  return ws;
}

function actorOf(flag: string | undefined, env: NodeJS.ProcessEnv): Actor {
  if (flag !== undefined && flag.trim() !== '') return { id: flag.trim(), source: 'flag' };
  const fromEnv = env.TENURE_ACTOR?.trim();
  if (fromEnv) return { id: fromEnv, source: 'env' };
  let user = env.USER ?? env.LOGNAME;
  try {
    user ??= userInfo().username;
  } catch {
    // A uid with no passwd entry (some containers): the name below stands in.
  }
  return { id: user ?? 'unknown', source: 'os' };
}

/**
 * `state:` of the policy file, read leniently: a policy with errors still says where its store is,
 * so `audit verify` and `status` work while the policy is being fixed.
 */
function stateSetting(policyFile: string): string | undefined {
  try {
    const doc = parseYaml(readFileSync(policyFile, 'utf8'), { maxAliasCount: 50 }) as unknown;
    const value = (doc as { state?: unknown } | null)?.state;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  } catch {
    return undefined;
  }
}

function storeProblem(e: unknown): unknown {
  if (e instanceof StoreError)
    return e.code === 'busy'
      ? new UserError(e.message, EXIT.stopped, [], e.hint, 'store.busy')
      : new UserError(e.message, EXIT.invalid, [], e.hint);
  return e;
}
