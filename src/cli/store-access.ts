import { existsSync } from 'node:fs';
import type { AuditEntry } from '../audit/audit-chain.js';
import type { AccessException } from '../model/exception.js';
import type { Denial } from '../model/review.js';
import type { LifecycleEvent } from '../model/lifecycle.js';
import type { CredentialRotation, Custody } from '../model/custody.js';
import type { PlanLifecycle } from '../plan/compute-plan.js';
import { openStore, DEFAULT_STATE, isPostgresUrl } from '../store/open-store.js';
import { StoreError, type StateStore } from '../store/state-store.js';
import { EXIT, UserError } from './output.js';
import type { GlobalOptions } from './workspace.js';

/** `--state`, else TENURE_DATABASE_URL, else the embedded SQLite file. */
export function stateLocation(g: GlobalOptions): string {
  return g.state ?? process.env.TENURE_DATABASE_URL ?? DEFAULT_STATE;
}

/** Opens the store, turning its problems into messages a user can act on. */
export async function withStore<T>(
  g: GlobalOptions,
  f: (store: StateStore, waitMs: number) => Promise<T>,
  options: { readonly readOnly?: boolean } = {},
): Promise<T> {
  let store: StateStore;
  // TENURE_LOCK_WAIT_MS: how long to wait for another Tenure process that holds the store.
  const waitMs = process.env.TENURE_LOCK_WAIT_MS === undefined ? 10_000 : Number(process.env.TENURE_LOCK_WAIT_MS);
  try {
    store = await openStore(stateLocation(g), { waitMs, ...options });
  } catch (e) {
    throw asUserError(e);
  }
  try {
    return await f(store, waitMs);
  } catch (e) {
    throw asUserError(e);
  } finally {
    await store.close();
  }
}

function asUserError(e: unknown): unknown {
  if (e instanceof StoreError)
    return new UserError(e.message, e.code === 'busy' ? EXIT.stopped : EXIT.invalid, [], e.hint);
  return e;
}

/**
 * Reads from the store when there is one, else gives `none`: commands that work without a store
 * stay store-free (a SQLite file that does not exist is not created just to find that out).
 */
export async function ifStored<T>(
  g: GlobalOptions,
  none: T,
  f: (store: StateStore, waitMs: number) => Promise<T>,
): Promise<T> {
  const location = stateLocation(g);
  if (!isPostgresUrl(location) && !existsSync(location)) return none;
  return withStore(g, f);
}

/** Exceptions recorded in the store; none without a store. */
export function storedExceptions(g: GlobalOptions): Promise<AccessException[]> {
  return ifStored(g, [], (store) => store.exceptions());
}

/** Denials (revokes from access reviews) recorded in the store; none without a store. */
export function storedDenials(g: GlobalOptions): Promise<Denial[]> {
  return ifStored(g, [], (store) => store.denials());
}

/** Custody hand-overs of non-human identities and the credentials Tenure rotated; none without a store. */
export function storedNhiState(g: GlobalOptions): Promise<{ custody: Custody[]; rotations: CredentialRotation[] }> {
  return ifStored(g, { custody: [], rotations: [] }, async (store) => ({
    custody: await store.custody(),
    rotations: await store.rotations(),
  }));
}

export interface StoredPlanInputs {
  readonly exceptions: AccessException[];
  readonly denials: Denial[];
  /** Absent without a store: the planner then takes end dates for departures and applies no mover grace. */
  readonly lifecycle?: PlanLifecycle;
  readonly custody: Custody[];
  readonly rotations: CredentialRotation[];
}

/** Everything recorded that a plan reads, from one opening of the store (nothing without one). */
export function storedPlanInputs(g: GlobalOptions): Promise<StoredPlanInputs> {
  const none: StoredPlanInputs = { exceptions: [], denials: [], custody: [], rotations: [] };
  return ifStored(g, none, async (store): Promise<StoredPlanInputs> => ({
    exceptions: await store.exceptions(),
    denials: await store.denials(),
    lifecycle: lifecycleOf(await store.events()),
    custody: await store.custody(),
    rotations: await store.rotations(),
  }));
}

/**
 * When each identity left and its latest move, from the recorded lifecycle events: what the
 * planner needs for the leaver rules (delete after N days, mover grace).
 */
function lifecycleOf(events: readonly LifecycleEvent[]): PlanLifecycle {
  const left = new Map<string, Date>();
  const moved = new Map<string, { at: Date; grantsRemoved: readonly string[] }>();
  for (const e of events) {
    // Events come oldest first: a later one replaces an earlier one; a rehire clears a departure.
    if (e.kind === 'leaver' || e.kind === 'end_date_reached') left.set(e.identity, e.effective ?? e.at);
    else if (e.kind === 'rehire' || e.kind === 'joiner') left.delete(e.identity);
    if (e.kind === 'mover') moved.set(e.identity, { at: e.at, grantsRemoved: e.grantsRemoved });
  }
  return { leftAt: (id) => left.get(id), lastMove: (id) => moved.get(id) };
}

/** Appends an audit record when a store exists; commands that work without one stay store-free. */
export async function auditIfStored(g: GlobalOptions, entry: AuditEntry): Promise<void> {
  await ifStored(g, undefined, (store, waitMs) => store.write((w) => w.audit([entry]), { waitMs }));
}
