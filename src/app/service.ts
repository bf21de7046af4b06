import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Plan } from '../model/plan.js';
import type { ServiceInstance } from '../store/instance-store.js';
import { migrations } from '../store/migrations.js';
import { isPostgresUrl, openStore } from '../store/open-store.js';
import { StoreError, type StateStore } from '../store/state-store.js';
import { EXIT, UserError } from './errors.js';
import { alive } from './leases.js';
import { planNow } from './plan-state.js';
import { readPolicySource, type PolicySource } from './policy-source.js';
import { Workspace, type Actor, type WorkspaceSpec } from './workspace.js';

/** The lease one `tenure serve` holds on a SQLite store: a second one refuses to start. */
export const SERVICE_LEASE = 'serve';
/** Short, so a killed instance's claim ends soon; renewed four times over its life. */
export const SERVICE_LEASE_TTL_MS = 60_000;
const RENEW_EVERY_MS = 15_000;
const RETRY_MS = 100;
const PG_LOCK_WAIT_MS = 10_000;

/** Whether the store answers and has exactly this program's schema (`/readyz`). */
export interface Readiness {
  readonly ready: boolean;
  readonly schema?: string;
  /** Why not, in words. */
  readonly reason?: string;
}

/**
 * What the service opens once and keeps while it runs: the policy loaded at start, the store (held
 * open, never waiting synchronously for a lock), the lease that makes it the only instance on a
 * SQLite store, and a workspace per request that borrows them.
 */
export interface ServiceContext {
  readonly store: StateStore;
  /** The service's clock: the real time, or a test clock (`TENURE_TEST_CLOCK`). */
  readonly clock: () => Date;
  /** A request's workspace: evaluated now, acting as `actor` (a token) when given, under the policy in use now. */
  workspace(actor?: Actor): Workspace;
  /** The policy in use: requests that start now get it. */
  policy(): PolicySource;
  /**
   * Reads tenure.yaml again: a policy that validates is planned (nothing applied), audited as
   * `policy.reloaded` and swapped in for the requests that start after; an invalid one is a
   * UserError `policy.invalid` and the one in use stays. One reload at a time.
   */
  reloadPolicy(actor: Actor): Promise<PolicyReload>;
  /**
   * Before an apply: every live instance on this store serves the policy `ws` was made with, else a
   * UserError `policy.mismatch`. On SQLite this instance is the only one.
   */
  agreePolicy(ws: Workspace): Promise<void>;
  readiness(): Promise<Readiness>;
  /** Releases the lease and closes the store. */
  close(): Promise<void>;
}

/** What a reload did. */
export interface PolicyReload {
  readonly previous: PolicySource;
  readonly current: PolicySource;
  /** The whole plan under the new policy, not applied; absent when it could not be computed (`planProblem`). */
  readonly plan?: Plan;
  readonly planProblem?: string;
}

/** How long an instance counts as live after its last heartbeat, and how often it beats. */
export const INSTANCE_TTL_MS = 60_000;

export interface ServiceOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: () => Date;
  /** Called when another process took the service lease (this one stalled past its life). */
  readonly onLeaseLost?: (holder: string) => void;
}

/**
 * Opens the service's world. The store is opened with a lock wait of 0: better-sqlite3 waits for
 * a busy database synchronously, which in a server would stall every request, so a write that
 * finds the store busy fails at once (and is retried, or skipped when it only records a use).
 */
export async function openService(spec: WorkspaceSpec, options: ServiceOptions = {}): Promise<ServiceContext> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? (() => new Date());
  const base = new Workspace(spec, env, clock);
  let current = readPolicySource(spec.config, clock());
  const { location } = base.storeLocation();
  let store: StateStore;
  try {
    // PostgreSQL waits for its lock without blocking (lock_timeout): instances sharing one store
    // wait for each other's writes, as commands do, rather than fail.
    store = await openStore(location, { waitMs: isPostgresUrl(location) ? PG_LOCK_WAIT_MS : 0 });
  } catch (e) {
    throw e instanceof StoreError ? new UserError(e.message, EXIT.invalid, [], e.hint) : e;
  }
  let lease: { release(): Promise<void> };
  try {
    lease = await takeServiceLease(store, base, options.onLeaseLost ?? (() => undefined));
  } catch (e) {
    await store.close();
    throw e;
  }
  const requestEnv = { ...env, TENURE_LOCK_WAIT_MS: isPostgresUrl(location) ? String(PG_LOCK_WAIT_MS) : '0' };
  const latest = Object.keys(migrations(store.dialect)).sort().at(-1);
  const instanceId = randomUUID();
  const instance = (p: PolicySource): ServiceInstance => {
    const at = clock();
    return {
      id: instanceId,
      host: hostname(),
      pid: process.pid,
      policyHash: p.hash,
      loadedAt: p.loadedAt,
      seenAt: at,
      expiresAt: new Date(at.getTime() + INSTANCE_TTL_MS),
    };
  };
  try {
    await retryBusy(base, () => store.announceInstance(instance(current)));
  } catch (e) {
    await lease.release();
    await store.close();
    throw e;
  }
  // The heartbeat that keeps this instance (and the policy it serves) counted by the others.
  const heartbeat = setInterval(() => {
    store.announceInstance(instance(current)).catch(() => undefined);
  }, RENEW_EVERY_MS);
  heartbeat.unref();
  const policyOf = new WeakMap<Workspace, PolicySource>();
  const workspace = (actor: Actor | undefined, policy: PolicySource): Workspace => {
    const ws = new Workspace(
      { config: spec.config, ...(spec.state !== undefined ? { state: spec.state } : {}) },
      requestEnv,
      clock,
      { policy, store, ...(actor ? { actor } : {}) },
    );
    policyOf.set(ws, policy);
    return ws;
  };
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = async (actor: Actor): Promise<PolicyReload> => {
    const next = readPolicySource(spec.config, clock());
    const previous = current;
    const ws = workspace(actor, next);
    let plan: Plan | undefined;
    let planProblem: string | undefined;
    try {
      plan = (await planNow(ws, {})).plan;
    } catch (e) {
      // The policy is valid; what it would change could not be read (a target down): said, not fatal.
      if (!(e instanceof UserError)) throw e;
      planProblem = [e.message, ...e.diagnostics.slice(0, 5).map((d) => d.message)].join(': ');
    }
    // The row other instances compare and the audit record: one transaction, then the swap.
    await retryBusy(base, () =>
      store.write(
        async (w) => {
          await w.announceInstance(instance(next));
          await w.audit([
            ws.auditEntry({
              action: 'policy.reloaded',
              subject: `policy:${next.hash}`,
              reason:
                previous.hash === next.hash
                  ? 'policy reloaded, unchanged'
                  : `policy reloaded: ${previous.hash.slice(0, 12)} → ${next.hash.slice(0, 12)}`,
              details: {
                previousHash: previous.hash,
                hash: next.hash,
                file: next.loaded.policy.file,
                ...(plan ? { changes: plan.summary.changes, blocked: plan.guardrails.blocked } : {}),
              },
            }),
          ]);
        },
        { waitMs: 0 },
      ),
    );
    current = next;
    return { previous, current: next, ...(plan ? { plan } : {}), ...(planProblem ? { planProblem } : {}) };
  };
  return {
    store,
    clock,
    workspace: (actor) => workspace(actor, current),
    policy: () => current,
    reloadPolicy: (actor) => {
      const run = reloading.then(() => reload(actor));
      reloading = run.catch(() => undefined);
      return run;
    },
    agreePolicy: async (ws) => {
      const mine = policyOf.get(ws) ?? current;
      const others = (await store.liveInstances(clock())).filter(
        (i) => i.id !== instanceId && i.policyHash !== mine.hash,
      );
      if (others.length === 0) return;
      const named = others.map((i) => `${i.host} pid ${i.pid} serves ${i.policyHash.slice(0, 12)}`).join('; ');
      throw new UserError(
        `the service instances on this store do not serve the same policy: this request's is ${mine.hash.slice(0, 12)}; ${named}`,
        EXIT.stopped,
        [],
        'reload the policy on every instance (POST /api/v1/policy/reload or SIGHUP), then try again',
        'policy.mismatch',
      );
    },
    readiness: async () => {
      try {
        const schema = await store.schemaVersion();
        return schema === latest
          ? { ready: true, schema }
          : { ready: false, schema, reason: `the store's schema is ${schema}; this program needs ${latest ?? 'none'}` };
      } catch (e) {
        return {
          ready: false,
          reason: `the state store at ${store.location} does not answer: ${(e as Error).message}`,
        };
      }
    },
    close: async () => {
      clearInterval(heartbeat);
      // Gone from the count at once; a killed instance drops out when its heartbeat expires.
      await retryBusy(base, () =>
        store.retireInstance(instanceId, new Date(clock().getTime() - 10 * INSTANCE_TTL_MS)),
      ).catch(() => undefined);
      await lease.release();
      await store.close();
    },
  };
}

/** Runs a write that may find SQLite busy (a CLI command writing) again, without blocking, up to the lock wait. */
async function retryBusy<T>(ws: Workspace, f: () => Promise<T>): Promise<T> {
  const deadline = ws.clock().getTime() + ws.lockWaitMs();
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 'busy') || ws.clock().getTime() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

/**
 * On SQLite, one instance serves a store: it holds the `serve` lease, renewed while it runs and
 * given back on exit, so a killed instance's claim expires within a minute (at once when its
 * process is gone from this host). On PostgreSQL several instances share the store.
 */
async function takeServiceLease(
  store: StateStore,
  ws: Workspace,
  onLost: (holder: string) => void,
): Promise<{ release(): Promise<void> }> {
  if (store.dialect !== 'sqlite') return { release: () => Promise.resolve() };
  const host = hostname();
  const holder = `tenure serve (${ws.actor.id}) on ${host}, pid ${process.pid}`;
  const deadline = ws.clock().getTime() + ws.lockWaitMs();
  let fence: number | undefined;
  for (;;) {
    try {
      const outcome = await store.acquireLease(
        { name: SERVICE_LEASE, holder, host, pid: process.pid, ttlMs: SERVICE_LEASE_TTL_MS, now: ws.clock() },
        (current) => current.host === host && current.pid !== process.pid && !alive(current.pid),
      );
      if (!outcome.acquired)
        throw new UserError(
          `another Tenure service already serves the state store at ${store.location}: ${outcome.current.holder}, since ${outcome.current.acquiredAt.toISOString()}`,
          EXIT.stopped,
          [],
          `one tenure serve per SQLite store: stop that one first (a killed one's claim ends by ${outcome.current.expiresAt.toISOString()}), or use PostgreSQL for several instances`,
        );
      fence = outcome.lease.fence;
      break;
    } catch (e) {
      // A CLI command writing at this moment: tried again, without blocking, up to the lock wait.
      if (!(e instanceof StoreError && e.code === 'busy') || ws.clock().getTime() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  const held = fence;
  const timer = setInterval(() => {
    void (async () => {
      try {
        const kept = await store.renewLease(SERVICE_LEASE, held, new Date(ws.clock().getTime() + SERVICE_LEASE_TTL_MS));
        if (!kept) {
          clearInterval(timer);
          onLost('another process');
        }
      } catch {
        // Busy this time (a CLI command writing): the next renewal comes well before expiry.
      }
    })();
  }, RENEW_EVERY_MS);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      // Given back so the next instance need not wait; a store busy for seconds leaves it to expire.
      for (let tries = 0; tries < 20; tries++) {
        try {
          await store.releaseLease(SERVICE_LEASE, held);
          return;
        } catch (e) {
          if (!(e instanceof StoreError && e.code === 'busy')) return;
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    },
  };
}
