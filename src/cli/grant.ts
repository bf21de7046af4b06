import { workspaceOf } from '../app/workspace.js';
import { exceptionActive, type AccessException } from '../model/exception.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, toJson, UserError, type Io } from './output.js';

import type { GlobalOptions } from './global-options.js';
import { declaredEntitlement } from '../app/inputs.js';
import { dateText } from './flags.js';

const DAY_MS = 86_400_000;

/**
 * `tenure grant add IDENTITY ENTITLEMENT --until DATE --reason TEXT --approver ID`: a time-bound
 * exception outside the role model. It needs a reason, an approver who is an active identity
 * other than the holder, and an end no later than the policy's maximum.
 */
export async function grantAddCommand(
  io: Io,
  g: GlobalOptions,
  identity: string,
  entitlement: string,
  o: { until?: string; reason?: string; approver?: string },
): Promise<number> {
  const { loaded } = workspaceOf(g).policy();
  declaredEntitlement(loaded, entitlement);
  const now = workspaceOf(g).asOf;
  if (!o.reason?.trim())
    throw new UserError('an exception needs a reason: --reason "why this person needs it"', EXIT.usage);
  if (!o.approver)
    throw new UserError('an exception needs an approver: --approver ID (an active identity)', EXIT.usage);
  if (!o.until) throw new UserError('an exception needs an end: --until YYYY-MM-DD', EXIT.usage);
  const until = dateText(o.until, '--until');
  const maxDays = loaded.policy.policies.exceptions.maxDays;
  if (until.getTime() <= now.getTime()) throw new UserError(`--until ${o.until} is not in the future`, EXIT.invalid);
  if (until.getTime() - now.getTime() > maxDays * DAY_MS) {
    const latest = new Date(now.getTime() + maxDays * DAY_MS).toISOString().slice(0, 10);
    throw new UserError(
      `--until ${o.until} is more than ${maxDays} days away (policy exceptions.max_days)`,
      EXIT.invalid,
      [],
      `the latest end allowed today is ${latest}`,
    );
  }
  return workspaceOf(g).withStore('write', async (store) => {
    const known = await store.identities();
    const ids = known.map((i) => i.id);
    const holder = known.find((i) => i.id === identity);
    if (!holder)
      throw new UserError(
        `no identity "${identity}" in the state store`,
        EXIT.invalid,
        [],
        didYouMean(identity, ids) ?? 'run tenure import first',
      );
    const approver = known.find((i) => i.id === o.approver);
    if (!approver)
      throw new UserError(
        `approver "${o.approver}" is not a known identity`,
        EXIT.invalid,
        [],
        didYouMean(o.approver!, ids),
      );
    if (approver.id === holder.id)
      throw new UserError('nobody approves their own exception: name another approver', EXIT.invalid);
    if (approver.status !== 'active')
      throw new UserError(`approver ${approver.id} is ${approver.status}, not active`, EXIT.invalid);
    const by = workspaceOf(g).actor.id;
    // The store writes the exception's audit record with it, in the same transaction.
    const id = await store.write((w) =>
      w.addException(
        { identity, entitlement, reason: o.reason!.trim(), approver: approver.id, grantedBy: by, from: now, until },
        workspaceOf(g).auditContext(o.reason!.trim()),
      ),
    );
    if (g.json) io.out(toJson({ id, identity, entitlement, approver: approver.id, until }));
    else
      io.out(
        `exception #${id}: ${identity} holds ${entitlement} until ${until.toISOString().slice(0, 10)} (approved by ${approver.id})`,
      );
    return EXIT.ok;
  });
}

/** `tenure grant list [--all] [--identity ID]`: exceptions in force (or all of them). */
export async function grantListCommand(
  io: Io,
  g: GlobalOptions,
  o: { all?: boolean; identity?: string },
): Promise<number> {
  const now = workspaceOf(g).asOf;
  return workspaceOf(g).withStore('read', async (store) => {
    const all = await store.exceptions(o.identity);
    const shown = o.all ? all : all.filter((e) => exceptionActive(e, now));
    if (g.json) io.out(toJson({ exceptions: shown.map((e) => ({ ...e, active: exceptionActive(e, now) })) }));
    else if (shown.length === 0) io.out(o.all ? 'No exceptions recorded.' : 'No exceptions in force.');
    else for (const e of shown) io.out(describe(e, now));
    return EXIT.ok;
  });
}

/** `tenure grant revoke ID --reason TEXT`: ends an exception now. */
export async function grantRevokeCommand(
  io: Io,
  g: GlobalOptions,
  idText: string,
  o: { reason?: string },
): Promise<number> {
  const id = Number(idText.replace(/^#/, ''));
  if (!Number.isInteger(id) || id < 1)
    throw new UserError(`"${idText}" is not an exception number`, EXIT.usage, [], 'tenure grant list shows them');
  if (!o.reason?.trim()) throw new UserError('say why: --reason TEXT', EXIT.usage);
  const now = workspaceOf(g).asOf;
  return workspaceOf(g).withStore('write', async (store) => {
    const e = (await store.exceptions()).find((x) => x.id === id);
    if (!e) throw new UserError(`no exception #${id}`, EXIT.invalid, [], 'tenure grant list --all shows them');
    if (!exceptionActive(e, now))
      throw new UserError(`exception #${id} is not in force (it ended or was revoked already)`, EXIT.invalid);
    await store.write((w) => w.revokeException(id, workspaceOf(g).auditContext(o.reason!.trim())));
    io.out(`exception #${id} revoked: ${e.identity} no longer holds ${e.entitlement} through it`);
    return EXIT.ok;
  });
}

function describe(e: AccessException, now: Date): string {
  const state =
    e.revokedAt && e.revokedAt.getTime() <= now.getTime()
      ? `revoked ${e.revokedAt.toISOString().slice(0, 10)} by ${e.revokedBy}`
      : exceptionActive(e, now)
        ? `until ${e.until.toISOString().slice(0, 10)}`
        : `ended ${e.until.toISOString().slice(0, 10)}`;
  return `#${e.id} ${e.identity} ${e.entitlement} — ${state}; approved by ${e.approver}: ${e.reason}`;
}
