import type { Approval } from '../store/state-store.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import { workspaceOf } from '../app/workspace.js';
import { recordApproval as record } from '../app/approve.js';
import type { GlobalOptions } from './global-options.js';

/** Records an approval through the application layer. */
function recordApproval(
  g: GlobalOptions,
  kind: Approval['kind'],
  scope: string,
  amount: number,
  reason: string,
): Promise<number> {
  return record(workspaceOf(g), kind, scope, amount, reason);
}

function count(text: string, what: string): number {
  const n = /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(`"${text}" is not a number of ${what}: write a whole number of at least 1`, EXIT.usage);
  return n;
}

/**
 * `tenure approve leavers N --source ID --reason TEXT`: a person's approval, recorded and
 * audited, that lets the next import of that source make up to N identities leave past the
 * mass-leaver guardrail. It is used once.
 */
export async function approveLeaversCommand(
  io: Io,
  g: GlobalOptions,
  countText: string,
  o: { source?: string; reason?: string },
): Promise<number> {
  const amount = count(countText, 'leavers');
  const { loaded } = workspaceOf(g).policy();
  const sources = loaded.policy.sources.map((s) => s.id);
  const source = o.source ?? (sources.length === 1 ? sources[0] : undefined);
  if (!source || !sources.includes(source))
    throw new UserError(`name the source: --source ${sources.join(' | ')}`, EXIT.usage);
  if (!o.reason?.trim()) throw new UserError('say why these leavers are expected: --reason TEXT', EXIT.usage);
  const id = await recordApproval(g, 'leavers', `source:${source}`, amount, o.reason.trim());
  if (g.json) io.out(toJson({ id, source, leavers: amount }));
  else io.out(`approval #${id}: the next import of ${source} may make up to ${amount} identities leave`);
  return EXIT.ok;
}

/** `tenure approve deprovision N --target ID --reason TEXT`: lets one apply take access from up to N accounts of a target past the breaker. */
export async function approveDeprovisionCommand(
  io: Io,
  g: GlobalOptions,
  countText: string,
  o: { target?: string; reason?: string },
): Promise<number> {
  const amount = count(countText, 'accounts');
  const { loaded } = workspaceOf(g).policy();
  const targets = loaded.policy.targets.map((t) => t.id);
  if (!o.target || !targets.includes(o.target))
    throw new UserError(`name the target: --target ${targets.join(' | ')}`, EXIT.usage);
  if (!o.reason?.trim()) throw new UserError('say why so much access goes at once: --reason TEXT', EXIT.usage);
  const id = await recordApproval(g, 'deprovision', `target:${o.target}`, amount, o.reason.trim());
  if (g.json) io.out(toJson({ id, target: o.target, accounts: amount }));
  else io.out(`approval #${id}: the next apply may take access from up to ${amount} accounts of ${o.target}`);
  return EXIT.ok;
}

/**
 * `tenure approve start-date ID --reason TEXT`: lets the next import take in an active
 * identity's start date moved into the future — and the loss of access that comes with it. Used once.
 */
export async function approveStartDateCommand(
  io: Io,
  g: GlobalOptions,
  identity: string,
  o: { reason?: string },
): Promise<number> {
  if (!o.reason?.trim()) throw new UserError('say why the new start date is right: --reason TEXT', EXIT.usage);
  const id = await recordApproval(g, 'start_date', `identity:${identity}`, 1, o.reason.trim());
  if (g.json) io.out(toJson({ id, identity }));
  else io.out(`approval #${id}: the next import may move ${identity}'s start date into the future`);
  return EXIT.ok;
}
