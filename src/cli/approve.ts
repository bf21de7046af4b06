import { EXIT, toJson, UserError, type Io } from './output.js';
import { actor } from './actor.js';
import { withStore } from './store-access.js';
import { asOfDate, openPolicy, type GlobalOptions } from './workspace.js';

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
  const amount = Number(countText);
  if (!Number.isInteger(amount) || amount < 1)
    throw new UserError(`"${countText}" is not a number of leavers`, EXIT.usage);
  const { loaded } = openPolicy(g.config);
  const sources = loaded.policy.sources.map((s) => s.id);
  const source = o.source ?? (sources.length === 1 ? sources[0] : undefined);
  if (!source || !sources.includes(source))
    throw new UserError(`name the source: --source ${sources.join(' | ')}`, EXIT.usage);
  if (!o.reason?.trim()) throw new UserError('say why these leavers are expected: --reason TEXT', EXIT.usage);
  const now = asOfDate(g.asOf);
  const by = actor();
  return withStore(g, async (store) => {
    const id = await store.write(async (w) => {
      const newId = await w.addApproval({
        kind: 'leavers',
        scope: `source:${source}`,
        amount,
        reason: o.reason!.trim(),
        approvedBy: by,
        createdAt: now,
      });
      await w.audit([
        {
          at: now,
          actor: by,
          action: 'approval.leavers',
          subject: `source:${source}`,
          reason: o.reason!.trim(),
          details: { approval: newId, leavers: amount },
        },
      ]);
      return newId;
    });
    if (g.json) io.out(toJson({ id, source, leavers: amount }));
    else io.out(`approval #${id}: the next import of ${source} may make up to ${amount} identities leave`);
    return EXIT.ok;
  });
}

/** `tenure approve deprovision N --target ID --reason TEXT`: lets one apply take access from up to N accounts of a target past the breaker. */
export async function approveDeprovisionCommand(
  io: Io,
  g: GlobalOptions,
  countText: string,
  o: { target?: string; reason?: string },
): Promise<number> {
  const amount = Number(countText);
  if (!Number.isInteger(amount) || amount < 1)
    throw new UserError(`"${countText}" is not a number of accounts`, EXIT.usage);
  const { loaded } = openPolicy(g.config);
  const targets = loaded.policy.targets.map((t) => t.id);
  if (!o.target || !targets.includes(o.target))
    throw new UserError(`name the target: --target ${targets.join(' | ')}`, EXIT.usage);
  if (!o.reason?.trim()) throw new UserError('say why so much access goes at once: --reason TEXT', EXIT.usage);
  const now = asOfDate(g.asOf);
  const by = actor();
  return withStore(g, async (store) => {
    const id = await store.write(async (w) => {
      const newId = await w.addApproval({
        kind: 'deprovision',
        scope: `target:${o.target}`,
        amount,
        reason: o.reason!.trim(),
        approvedBy: by,
        createdAt: now,
      });
      await w.audit([
        {
          at: now,
          actor: by,
          action: 'approval.deprovision',
          subject: `target:${o.target}`,
          reason: o.reason!.trim(),
          details: { approval: newId, accounts: amount },
        },
      ]);
      return newId;
    });
    if (g.json) io.out(toJson({ id, target: o.target, accounts: amount }));
    else io.out(`approval #${id}: the next apply may take access from up to ${amount} accounts of ${o.target}`);
    return EXIT.ok;
  });
}
