import { exceptionActive, type AccessException } from '../model/exception.js';
import { day } from '../plan/explain.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, UserError } from './errors.js';
import { declaredEntitlement } from './inputs.js';
import type { Workspace } from './workspace.js';

const DAY_MS = 86_400_000;

export interface GrantedException {
  readonly id: number;
  readonly identity: string;
  readonly entitlement: string;
  readonly approver: string;
  readonly until: Date;
}

/**
 * Grants a time-bound exception outside the role model (`tenure grant add`). It needs a reason, an
 * approver who is an active identity other than the holder, and an end in the future no later
 * than the policy's `exceptions.max_days`. The checks of the holder and approver read the store
 * inside the same transaction that writes the exception and its `exception.granted` record.
 */
export async function grantException(
  ws: Workspace,
  options: {
    readonly identity: string;
    readonly entitlement: string;
    readonly until: Date;
    readonly reason: string;
    /** The identity id of the person who approved it. */
    readonly approver: string;
  },
): Promise<GrantedException> {
  const { loaded } = ws.policy();
  const { identity, entitlement, until } = options;
  declaredEntitlement(loaded, entitlement);
  const reason = options.reason.trim();
  if (reason === '')
    throw new UserError('an exception needs a reason: --reason "why this person needs it"', EXIT.usage);
  const now = ws.asOf;
  const maxDays = loaded.policy.policies.exceptions.maxDays;
  if (until.getTime() <= now.getTime())
    throw new UserError(`--until ${dateWords(until)} is not in the future`, EXIT.invalid);
  if (until.getTime() - now.getTime() > maxDays * DAY_MS)
    throw new UserError(
      `--until ${dateWords(until)} is more than ${maxDays} days away (policy exceptions.max_days)`,
      EXIT.invalid,
      [],
      `the latest end allowed today is ${day(new Date(now.getTime() + maxDays * DAY_MS))}`,
    );
  return ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const known = await w.identities();
        const ids = known.map((i) => i.id);
        const holder = known.find((i) => i.id === identity);
        if (!holder)
          throw new UserError(
            `no identity "${identity}" in the state store`,
            EXIT.invalid,
            [],
            didYouMean(identity, ids) ?? 'run tenure import first',
          );
        const approver = known.find((i) => i.id === options.approver);
        if (!approver)
          throw new UserError(
            `approver "${options.approver}" is not a known identity`,
            EXIT.invalid,
            [],
            didYouMean(options.approver, ids),
          );
        if (approver.id === holder.id)
          throw new UserError('nobody approves their own exception: name another approver', EXIT.invalid);
        if (approver.status !== 'active')
          throw new UserError(`approver ${approver.id} is ${approver.status}, not active`, EXIT.invalid);
        const id = await w.addException(
          { identity, entitlement, reason, approver: approver.id, grantedBy: ws.actor.id, from: now, until },
          ws.auditContext(reason),
        );
        return { id, identity, entitlement, approver: approver.id, until };
      },
      { waitMs },
    ),
  );
}

/** An exception as listed, with whether it grants access at the workspace's time. */
export type ListedException = AccessException & { readonly active: boolean };

/**
 * Exceptions (`tenure grant list`): those in force at the workspace's time, or all of them with
 * `all`; of one identity when `identity` is given. Oldest first.
 */
export async function listExceptions(
  ws: Workspace,
  options: { readonly all?: boolean; readonly identity?: string } = {},
): Promise<ListedException[]> {
  const all = await ws.withStore('read', (store) => store.exceptions(options.identity));
  return all
    .map((e) => ({ ...e, active: exceptionActive(e, ws.asOf) }))
    .filter((e) => options.all === true || e.active);
}

/**
 * Ends an exception in force now (`tenure grant revoke`). The check that it is still in force and
 * the revocation with its `exception.revoked` record share one transaction, so two revocations at
 * once cannot both pass and overwrite each other's reason. Returns the exception as it was.
 */
export async function revokeException(
  ws: Workspace,
  options: { readonly id: number; readonly reason: string },
): Promise<AccessException> {
  const { id } = options;
  const reason = options.reason.trim();
  if (reason === '') throw new UserError('say why: --reason TEXT', EXIT.usage);
  return ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const e = (await w.exceptions()).find((x) => x.id === id);
        if (!e) throw new UserError(`no exception #${id}`, EXIT.invalid, [], 'tenure grant list --all shows them');
        if (!exceptionActive(e, ws.asOf))
          throw new UserError(`exception #${id} is not in force (it ended or was revoked already)`, EXIT.invalid);
        await w.revokeException(id, ws.auditContext(reason));
        return e;
      },
      { waitMs },
    ),
  );
}

/** A date as the user most likely wrote it: the day alone at midnight UTC, else the full time. */
function dateWords(d: Date): string {
  return d.getTime() % DAY_MS === 0 ? day(d) : d.toISOString();
}
