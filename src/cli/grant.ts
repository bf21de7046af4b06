import { grantException, listExceptions, revokeException, type ListedException } from '../app/grant.js';
import { workspaceOf } from '../app/workspace.js';
import { day } from '../plan/explain.js';
import { dateText } from './flags.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, toJson, UserError, type Io } from './output.js';

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
  if (!o.approver)
    throw new UserError('an exception needs an approver: --approver ID (an active identity)', EXIT.usage);
  if (!o.until) throw new UserError('an exception needs an end: --until YYYY-MM-DD', EXIT.usage);
  const granted = await grantException(workspaceOf(g), {
    identity,
    entitlement,
    until: dateText(o.until, '--until'),
    reason: o.reason ?? '',
    approver: o.approver,
  });
  if (g.json) io.out(toJson(granted));
  else
    io.out(
      `exception #${granted.id}: ${identity} holds ${entitlement} until ${day(granted.until)} (approved by ${granted.approver})`,
    );
  return EXIT.ok;
}

/** `tenure grant list [--all] [--identity ID]`: exceptions in force (or all of them). */
export async function grantListCommand(
  io: Io,
  g: GlobalOptions,
  o: { all?: boolean; identity?: string },
): Promise<number> {
  const ws = workspaceOf(g);
  const shown = await listExceptions(ws, {
    ...(o.all ? { all: true } : {}),
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
  });
  if (g.json) io.out(toJson({ exceptions: shown }));
  else if (shown.length === 0) io.out(o.all ? 'No exceptions recorded.' : 'No exceptions in force.');
  else for (const e of shown) io.out(describe(e, ws.asOf));
  return EXIT.ok;
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
  const e = await revokeException(workspaceOf(g), { id, reason: o.reason ?? '' });
  if (g.json) io.out(toJson({ id, identity: e.identity, entitlement: e.entitlement, revoked: true }));
  else io.out(`exception #${id} revoked: ${e.identity} no longer holds ${e.entitlement} through it`);
  return EXIT.ok;
}

function describe(e: ListedException, now: Date): string {
  const state =
    e.revokedAt && e.revokedAt.getTime() <= now.getTime()
      ? `revoked ${day(e.revokedAt)} by ${e.revokedBy}`
      : e.active
        ? `until ${day(e.until)}`
        : `ended ${day(e.until)}`;
  return `#${e.id} ${e.identity} ${e.entitlement} — ${state}; approved by ${e.approver}: ${e.reason}`;
}
