import { openStore, DEFAULT_STATE } from '../store/open-store.js';
import { StoreError, type StateStore } from '../store/state-store.js';
import { EXIT, UserError } from './output.js';
import type { GlobalOptions } from './workspace.js';

/** `--state`, else TENURE_DATABASE_URL, else the embedded SQLite file. */
export function stateLocation(g: GlobalOptions): string {
  return g.state ?? process.env.TENURE_DATABASE_URL ?? DEFAULT_STATE;
}

/** Opens the store, turning its problems into messages a user can act on. */
export async function withStore<T>(g: GlobalOptions, f: (store: StateStore, waitMs: number) => Promise<T>): Promise<T> {
  let store: StateStore;
  // TENURE_LOCK_WAIT_MS: how long to wait for another Tenure process that holds the store.
  const waitMs = process.env.TENURE_LOCK_WAIT_MS === undefined ? 10_000 : Number(process.env.TENURE_LOCK_WAIT_MS);
  try {
    store = await openStore(stateLocation(g), { waitMs });
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
