import { ConnectorError, type AccountSpec, type Connector } from '../connectors/connector.js';
import type { Change, Plan } from '../model/plan.js';
import type { Journal, JournalOperation, MarkEffects, OperationState } from './journal.js';

export interface ExecuteOptions {
  /** Operations in flight at once, per target (default 8). */
  readonly concurrency?: number;
  /** Operations started per second, per target (default: no limit). */
  readonly ratePerSecond?: number;
  /** Attempts per operation before it is given up (default 5). */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A target is quarantined when failed attempts pass this share of at least `minAttempts`. */
  readonly quarantine?: { readonly minAttempts: number; readonly failureRatio: number };
  /** The attributes of an account to create. */
  readonly accountSpec?: (change: Change) => AccountSpec;
  /** Injected for tests: waiting and jitter. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** Once aborted (SIGINT, SIGTERM) no new operation starts; those in flight finish and are journalled. */
  readonly signal?: AbortSignal;
  /** What to write with an operation's final mark, in the same transaction: its audit record. */
  readonly effects?: (operation: OperationResult) => MarkEffects | undefined;
}

export type ExecutionEvent =
  | { readonly type: 'started'; readonly target: string; readonly total: number }
  | { readonly type: 'done'; readonly target: string; readonly operation: OperationResult }
  | {
      readonly type: 'retry';
      readonly target: string;
      readonly change: Change;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: string;
    }
  | { readonly type: 'quarantined'; readonly target: string; readonly reason: string };

export interface OperationResult {
  readonly change: Change;
  readonly state: OperationState;
  readonly attempts: number;
  readonly error?: string;
  /** "account jdoe in directory: created". */
  readonly sentence: string;
}

export interface TargetResult {
  readonly target: string;
  readonly succeeded: number;
  readonly dead: number;
  /** Not attempted in this run: kept for the next one (quarantine, or an earlier step of the identity failed). */
  readonly pending: number;
  readonly quarantined?: string;
}

/** Apply always returns the state it reached, even when partial (after Terraform). */
export interface ExecutionResult {
  readonly operations: readonly OperationResult[];
  readonly targets: readonly TargetResult[];
  /** The run was stopped by its signal before every operation was attempted. */
  readonly interrupted: boolean;
}

const PAST: Record<Change['action'], string> = {
  create_account: 'created',
  rename_account: 'renamed',
  link_account: 'linked',
  enable_account: 'enabled',
  update_account: 'updated',
  add_membership: 'added to',
  remove_membership: 'removed from',
  disable_account: 'disabled',
  delete_account: 'deleted',
  rotate_credential: 'credential rotated',
};

/**
 * Carries out a plan through the targets' connectors. Each operation is journalled before and
 * after it runs; operations of one identity run in plan order (account before memberships,
 * memberships removed before the account goes), identities run concurrently up to the target's
 * limit, retryable errors are retried with jittered exponential backoff (honouring a target's
 * Retry-After), and a target that fails too often is quarantined with its remaining operations
 * kept pending while the other targets carry on. Running a plan again resumes it.
 */
export async function executePlan(
  planId: string,
  plan: Plan,
  connectors: ReadonlyMap<string, Connector>,
  journal: Journal,
  options: ExecuteOptions = {},
): Promise<ExecutionResult> {
  const changes = plan.targets.flatMap((t) => t.changes);
  const operations = await journal.begin(planId, changes);
  const results: OperationResult[] = [];
  const targets: TargetResult[] = [];
  // The journal, not the plan passed in, says what runs: a resumed plan runs its recorded operations.
  const byTarget = new Map<string, JournalOperation[]>();
  // Appended in place: copying the list per operation made this quadratic in a target's operations.
  for (const o of operations) {
    const list = byTarget.get(o.change.target);
    if (list) list.push(o);
    else byTarget.set(o.change.target, [o]);
  }
  const failures: unknown[] = [];
  await Promise.all(
    [...byTarget].map(async ([target, ops]) => {
      const connector = connectors.get(target);
      if (!connector) throw new Error(`no connector for target ${target}`);
      try {
        targets.push(await runTarget(target, ops, connector, journal, options, results));
      } catch (e) {
        // A journal that cannot be written (a lost lease, the store gone) stops this target; the
        // others finish what they hold in flight, and the error is raised after.
        failures.push(e);
      }
    }),
  );
  if (failures.length > 0) throw failures[0];
  targets.sort((a, b) => (a.target < b.target ? -1 : 1));
  const order = new Map(operations.map((o) => [o.change, o.seq]));
  results.sort((a, b) => order.get(a.change)! - order.get(b.change)!);
  return { operations: results, targets, interrupted: options.signal?.aborted === true };
}

async function runTarget(
  target: string,
  ops: readonly JournalOperation[],
  connector: Connector,
  journal: Journal,
  o: ExecuteOptions,
  results: OperationResult[],
): Promise<TargetResult> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = o.random ?? Math.random;
  const maxAttempts = o.maxAttempts ?? 5;
  const quarantine = o.quarantine ?? { minAttempts: 50, failureRatio: 0.4 };
  const interval = o.ratePerSecond ? 1000 / o.ratePerSecond : 0;
  let nextStart = 0;
  let attempts = 0;
  let failures = 0;
  let quarantined: string | undefined;
  let succeeded = 0;
  let dead = 0;
  let pending = 0;
  // A journal that cannot be written (a lost lease) stops every worker of the target at once.
  let fatal: { error: unknown } | undefined;
  const stopped = (): boolean => o.signal?.aborted === true || fatal !== undefined;
  o.onEvent?.({ type: 'started', target, total: ops.length });

  // Operations of one identity, in plan order; already finished ones (a resumed run) are skipped.
  const groups = new Map<string, JournalOperation[]>();
  for (const op of ops) {
    const key = op.change.identity ?? op.change.account;
    const group = groups.get(key);
    if (group) group.push(op);
    else groups.set(key, [op]);
  }
  const queue = [...groups.values()];

  const throttle = async (): Promise<void> => {
    if (interval === 0) return;
    const now = Date.now();
    const at = Math.max(now, nextStart);
    nextStart = at + interval;
    if (at > now) await sleep(at - now);
  };

  const result = (op: JournalOperation, state: OperationState, tries: number, error?: string): OperationResult => ({
    change: op.change,
    state,
    attempts: tries,
    ...(error !== undefined ? { error } : {}),
    sentence: sentence(op.change, state, error),
  });
  const finish = (r: OperationResult): void => {
    if (r.state === 'succeeded') succeeded++;
    else if (r.state === 'dead') dead++;
    else pending++;
    results.push(r);
    o.onEvent?.({ type: 'done', target, operation: r });
  };
  /** The final mark, with its effects (the audit record) in the same transaction. */
  const settle = async (op: JournalOperation, state: OperationState, tries: number, error?: string): Promise<void> => {
    const r = result(op, state, tries, error);
    await journal.mark(op.id, state, tries, error, o.effects?.(r));
    finish(r);
  };

  const runOne = async (op: JournalOperation): Promise<boolean> => {
    let tries = op.attempts;
    let last: string | undefined;
    for (;;) {
      if (quarantined) {
        // Kept for the next run, with the error that came last, so the journal still says why.
        await journal.mark(op.id, 'pending', tries, last ?? op.lastError);
        finish(result(op, 'pending', tries, `target quarantined: ${quarantined}`));
        return false;
      }
      if (stopped() && tries > op.attempts) {
        // Interrupted between retries: the operation did not land; it waits for the next run.
        await journal.mark(op.id, 'pending', tries, last);
        finish(result(op, 'pending', tries, 'interrupted'));
        return false;
      }
      await throttle();
      await journal.mark(op.id, 'running', tries + 1);
      tries++;
      attempts++;
      try {
        await apply(connector, op.change, o.accountSpec);
        await settle(op, 'succeeded', tries);
        return true;
      } catch (e) {
        failures++;
        const error = e instanceof ConnectorError ? e : new ConnectorError(target, 'internal', (e as Error).message);
        // The hint travels with the message: it is all that the journal, the sentence and `apply` show.
        const message = `${error.code}: ${error.message}${error.hint ? ` (hint: ${error.hint})` : ''}`;
        last = message;
        if (attempts >= quarantine.minAttempts && failures / attempts > quarantine.failureRatio && !quarantined) {
          quarantined = `${failures} of ${attempts} attempts failed (more than ${Math.round(quarantine.failureRatio * 100)}%)`;
          o.onEvent?.({ type: 'quarantined', target, reason: quarantined });
        }
        if (!error.retryable || tries >= maxAttempts) {
          await settle(op, 'dead', tries, message);
          return false;
        }
        await journal.mark(op.id, 'failed', tries, message);
        const backoff = Math.min(o.maxDelayMs ?? 30_000, (o.baseDelayMs ?? 200) * 2 ** (tries - 1));
        const delay = Math.max(error.retryAfterMs ?? 0, Math.round(backoff / 2 + (random() * backoff) / 2));
        o.onEvent?.({ type: 'retry', target, change: op.change, attempt: tries, delayMs: delay, error: message });
        await sleep(delay);
      }
    }
  };

  const worker = async (): Promise<void> => {
    for (let group = stopped() ? undefined : queue.shift(); group; group = stopped() ? undefined : queue.shift()) {
      let blocked: string | undefined;
      for (const op of group) {
        if (op.state === 'succeeded' || op.state === 'superseded') continue;
        if (!blocked && stopped()) blocked = 'interrupted before it started';
        if (blocked) {
          await journal.mark(op.id, 'pending', op.attempts);
          finish(result(op, 'pending', op.attempts, blocked));
          continue;
        }
        if (!(await runOne(op)))
          blocked = `not attempted: an earlier operation for ${op.change.identity ?? op.change.account} did not succeed`;
      }
    }
  };
  const guarded = async (): Promise<void> => {
    try {
      await worker();
    } catch (e) {
      fatal ??= { error: e };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, guarded));
  if (fatal) throw fatal.error;
  // Groups no worker took (interrupted) are still pending in the journal: count them as left.
  for (const group of queue)
    pending += group.filter((op) => op.state !== 'succeeded' && op.state !== 'superseded').length;
  return { target, succeeded, dead, pending, ...(quarantined ? { quarantined } : {}) };
}

/** One operation, safe to run twice: a create that finds the account links to it. */
async function apply(connector: Connector, change: Change, specOf?: (c: Change) => AccountSpec): Promise<void> {
  switch (change.action) {
    case 'create_account': {
      // Every connector matches before it creates (the contract's already_exists), so a repeat
      // links to the existing account instead of duplicating it, in one request.
      const spec = specOf?.(change) ?? {
        name: change.account,
        identity: change.identity ?? change.account,
        attributes: {},
      };
      try {
        await connector.createAccount(spec);
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.code !== 'already_exists') throw e;
        // Matched, not created: a repeat of our own create links, but an account of someone else is not ours to take.
        const existing = await connector.readAccount(change.account);
        // The target says the name is taken, yet no account of it has that name: something else holds it (an object
        // outside what the target reads, a role Tenure does not manage). Not ours to link to.
        if (existing === undefined) {
          throw new ConnectorError(
            change.target,
            'conflict',
            `account "${change.account}" cannot be created: the target has the name taken by something it does not read as an account`,
            'give the account another name (targets[].account_name), or free the name in the target',
          );
        }
        const owner = existing.identity;
        if (owner !== undefined && owner !== '' && change.identity !== undefined && owner !== change.identity) {
          throw new ConnectorError(
            change.target,
            'conflict',
            `account "${change.account}" exists and belongs to ${owner}, not ${change.identity}`,
            'give one of them another account name (targets[].account_name), or fix the link in the target',
          );
        }
        // Taken as ours without a link (a create stopped before its link was written or recorded): linked now, so the
        // next plan finds it by its link rather than adopting it again.
        if ((owner === undefined || owner === '') && change.identity !== undefined && connector.linkAccount)
          await connector.linkAccount(change.account, change.identity);
      }
      return;
    }
    case 'rename_account':
      if (!connector.renameAccount || change.newName === undefined || change.identity === undefined)
        throw new ConnectorError(change.target, 'invalid_input', `target "${change.target}" cannot rename accounts`);
      return connector.renameAccount(change.account, change.newName, change.identity);
    case 'link_account':
      if (!connector.linkAccount || change.identity === undefined)
        throw new ConnectorError(change.target, 'invalid_input', `target "${change.target}" cannot link accounts`);
      return connector.linkAccount(change.account, change.identity);
    case 'rotate_credential':
      return connector.rotateCredential(change.account);
    case 'update_account':
      return connector.updateAccount(change.account, change.attributes ?? {});
    case 'enable_account':
      return connector.enableAccount(change.account);
    case 'disable_account':
      return connector.disableAccount(change.account);
    case 'add_membership':
      return connector.addMembership(change.account, change.entitlement!);
    case 'remove_membership':
      return connector.removeMembership(change.account, change.entitlement!);
    case 'delete_account':
      try {
        await connector.deleteAccount(change.account);
      } catch (e) {
        if (e instanceof ConnectorError && e.code === 'not_found') return;
        throw e;
      }
  }
}

/** "account jdoe in directory: created", "account jdoe in directory: added to directory:group/x". */
export function sentence(change: Change, state: OperationState, error?: string): string {
  const what = change.entitlement
    ? `${PAST[change.action]} ${change.entitlement}`
    : change.newName !== undefined
      ? `${PAST[change.action]} to ${change.newName}`
      : change.action === 'link_account' && change.identity !== undefined
        ? `${PAST[change.action]} to ${change.identity}`
        : PAST[change.action];
  const head = `account ${change.account} in ${change.target}`;
  if (state === 'succeeded') return `${head}: ${what}`;
  if (state === 'dead') return `${head}: NOT ${what} — ${error ?? 'failed'}`;
  return `${head}: not yet ${what} — ${error ?? 'pending'}`;
}
