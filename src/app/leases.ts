import { hostname } from 'node:os';
import type { Lease } from '../store/lease-store.js';
import type { StateStore } from '../store/state-store.js';
import { EXIT, UserError } from './errors.js';
import type { Workspace } from './workspace.js';

/**
 * How long a lease lives without renewal. Well above the longest pause of the event loop (a
 * 100,000-identity desired state is computed in one synchronous stretch of seconds), so a busy
 * holder is never mistaken for a dead one; a holder that died on this host is taken over at once.
 */
export const LEASE_TTL_MS = 120_000;
const RENEW_EVERY_MS = 20_000;
const POLL_MS = 200;

/** Leases held for one apply: their fences for the journal, and a way to give them back. */
export interface HeldLeases {
  readonly fences: readonly { readonly name: string; readonly fence: number }[];
  release(): Promise<void>;
}

/**
 * Takes the lease of every target, in target-id order (two applies never wait for each other in
 * a circle), waiting up to the store's lock wait for a holder to finish; then exits 3 naming it.
 */
export async function takeTargetLeases(
  ws: Workspace,
  store: StateStore,
  targets: readonly string[],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<HeldLeases> {
  const held: { name: string; fence: number }[] = [];
  const host = hostname();
  const holder = `${ws.actor.id} on ${host}, pid ${process.pid}`;
  const deadline = ws.clock().getTime() + ws.lockWaitMs();
  const release = async (): Promise<void> => {
    clearInterval(timer);
    for (const h of held.splice(0)) await store.releaseLease(h.name, h.fence).catch(() => undefined);
  };
  const timer = setInterval(() => {
    void (async () => {
      for (const h of held) {
        // A lease taken over meanwhile is not renewed (its fence moved on): the journal's fence
        // check stops this apply at its next write. A store briefly busy is tried again next time.
        await store.renewLease(h.name, h.fence, new Date(ws.clock().getTime() + LEASE_TTL_MS)).catch(() => false);
      }
    })();
  }, RENEW_EVERY_MS);
  timer.unref();
  try {
    for (const target of [...targets].sort()) {
      const name = `target:${target}`;
      for (;;) {
        const outcome = await store.acquireLease(
          { name, holder, host, pid: process.pid, ttlMs: LEASE_TTL_MS, now: ws.clock() },
          (current) => current.host === host && current.pid !== process.pid && !alive(current.pid),
        );
        if (outcome.acquired) {
          held.push({ name, fence: outcome.lease.fence });
          break;
        }
        if (ws.clock().getTime() >= deadline) throw busy(target, outcome.current, ws.lockWaitMs());
        await sleep(POLL_MS);
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { fences: held, release };
}

function busy(target: string, current: Lease, waitMs: number): UserError {
  return new UserError(
    `target ${target} is being applied by ${current.holder} since ${current.acquiredAt.toISOString()}; waited ${Math.round(waitMs / 1000)} s`,
    EXIT.stopped,
    [],
    'run tenure apply again when it has finished (TENURE_LOCK_WAIT_MS sets how long to wait)',
    'target.busy',
  );
}

/** Whether a process of this host is still running (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
