import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { canonicalJson } from '../audit/canonical-json.js';
import { resolve, dirname, join } from 'node:path';
import { MemoryConnector } from '../connectors/memory/memory-connector.js';
import { executePlan, type ExecutionEvent } from '../executor/execute-plan.js';
import type { Change, Plan } from '../model/plan.js';
import { toCelIdentity } from '../policy/rule-environment.js';
import { actor } from './actor.js';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import { planNow } from './plan-state.js';
import { ProgressLine } from './progress.js';
import { withStore } from './store-access.js';
import { openPolicy, openTargets, type GlobalOptions } from './workspace.js';

export interface ApplyOptions {
  readonly allowDeprovision?: string;
  readonly concurrency?: string;
  readonly rate?: string;
  readonly limit?: string;
}

/**
 * `tenure apply [FILE]`: carries out a saved plan — refused when the policy or the state it was
 * computed from has changed since (exit 3) — or, without a file, plans and applies in one step.
 * Every operation is journalled in the store, so an interrupted apply resumes when run again.
 */
export async function applyCommand(
  io: Io,
  g: GlobalOptions,
  file: string | undefined,
  o: ApplyOptions,
): Promise<number> {
  const { loaded } = openPolicy(g.config);
  const connectors = openTargets(loaded);
  try {
    const now = await planNow(g, { connectors });
    if (!g.json) printDiagnostics(io, now.warnings);
    let plan: Plan = now.plan;
    if (file !== undefined) {
      let saved: Plan;
      try {
        saved = JSON.parse(readFileSync(file, 'utf8')) as Plan;
      } catch (e) {
        throw new UserError(`cannot read the plan ${file}: ${(e as Error).message}`);
      }
      if (saved.formatVersion !== 1) throw new UserError(`${file} is not a Tenure plan of a format this version knows`);
      if (saved.policyHash !== now.plan.policyHash) {
        throw new UserError(
          `the plan ${file} is stale: the policy changed since it was made`,
          EXIT.stopped,
          [],
          'run tenure plan --out again and review it',
        );
      }
      // A plan this store began applying may be resumed: its own operations changed the state.
      const begun = saved.stateHash !== now.plan.stateHash && (await resumable(g, planIdOf(saved)));
      if (begun && !g.json) io.err(`resuming an interrupted apply of ${file}`);
      if (saved.stateHash !== now.plan.stateHash && !begun) {
        throw new UserError(
          `the plan ${file} is stale: identities, exceptions or the targets changed since it was made`,
          EXIT.stopped,
          [],
          'run tenure plan --out again and review it',
        );
      }
      plan = saved;
    }
    await enforceGuardrails(g, plan, o.allowDeprovision);
    if (plan.summary.changes === 0) {
      io.out(g.json ? toJson({ ok: true, operations: [] }) : 'Nothing to apply: every target matches the policy.');
      return EXIT.ok;
    }
    // Target attributes of a new account from the policy's expressions (targets[].attributes).
    const byId = new Map(now.identities.map((i) => [i.id, i]));
    const attributesOf = (c: Change): Record<string, string> => {
      const identity = c.identity === undefined ? undefined : byId.get(c.identity);
      const out: Record<string, string> = {};
      if (!identity) return out;
      for (const [name, rule] of now.loaded.accountAttributes.get(c.target) ?? []) {
        try {
          out[name] = String(rule.value(toCelIdentity(identity), new Date(plan.asOf)));
        } catch {
          // An attribute whose expression reads an absent value is left unset.
        }
      }
      return out;
    };
    const planId = planIdOf(plan);
    const limit = o.limit === undefined ? 30 : Number(o.limit);
    let shown = 0;
    // On a terminal a progress bar per target stands on stderr, and sentences are kept for the end.
    const progress = new ProgressLine(io.tty && !g.json ? (t) => process.stderr.write(t) : undefined);
    const sentences: string[] = [];
    const onEvent = (e: ExecutionEvent): void => {
      if (e.type === 'started') progress.start(e.target, e.total);
      else if (e.type === 'done') progress.done(e.target, e.operation.state === 'succeeded');
      else if (e.type === 'quarantined') progress.quarantined(e.target);
      if (g.json) {
        if (e.type === 'done')
          io.out(
            JSON.stringify({
              type: 'operation',
              target: e.target,
              state: e.operation.state,
              sentence: e.operation.sentence,
            }),
          );
        else if (e.type === 'quarantined') io.out(JSON.stringify(e));
        return;
      }
      if (e.type === 'started' && !io.tty) io.err(`${e.target}: ${e.total} operation(s)`);
      else if (e.type === 'quarantined')
        io.err(`${e.target}: QUARANTINED — ${e.reason}; its remaining operations are kept for the next run`);
      else if (e.type === 'done' && shown++ < limit) {
        if (io.tty) sentences.push(e.operation.sentence);
        else io.out(e.operation.sentence);
      }
    };
    const result = await withStore(g, async (store) => {
      const r = await executePlan(planId, plan, connectors, store.journal(), {
        ...(o.concurrency !== undefined ? { concurrency: Number(o.concurrency) } : {}),
        ...(o.rate !== undefined ? { ratePerSecond: Number(o.rate) } : {}),
        accountSpec: (c) => ({ name: c.account, identity: c.identity ?? c.account, attributes: attributesOf(c) }),
        onEvent,
      });
      const by = actor();
      // Rotations Tenure made are remembered, so a credential is not rotated again on the next run.
      const rotated = r.operations.filter((op) => op.state === 'succeeded' && op.change.action === 'rotate_credential');
      if (rotated.length > 0)
        await store.write((w) =>
          w.addRotations(
            rotated.map((op) => ({
              identity: op.change.identity ?? op.change.account,
              target: op.change.target,
              account: op.change.account,
              at: new Date(plan.asOf),
              purpose: op.change.purpose ?? 'rotation',
            })),
            { actor: by, at: new Date(plan.asOf), reason: `applied plan ${planId}` },
          ),
        );
      await store.write((w) =>
        w.audit(
          r.operations
            .filter((op) => op.state === 'succeeded')
            .map((op) => ({
              at: new Date(plan.asOf),
              actor: by,
              action: `operation.${op.change.action}`,
              subject: op.change.identity ?? op.change.account,
              reason: op.sentence,
              details: { plan: planId, target: op.change.target, entitlement: op.change.entitlement },
            })),
        ),
      );
      return r;
    });
    progress.finish();
    for (const line of sentences) io.out(line);
    await persistMemoryTargets(loaded.policy.targets, loaded.policy.file, connectors);
    const failed = result.targets.reduce((n, t) => n + t.dead + t.pending, 0);
    if (g.json) io.out(JSON.stringify({ type: 'summary', ok: failed === 0, targets: result.targets }));
    else {
      if (shown > limit) io.out(`... and ${shown - limit} more (--limit, or --json for all)`);
      for (const t of result.targets) {
        io.out(
          `${t.target}: ${t.succeeded} done, ${t.dead} failed, ${t.pending} left for the next run${t.quarantined ? ` (quarantined: ${t.quarantined})` : ''}`,
        );
      }
    }
    return failed === 0 ? EXIT.ok : EXIT.applyFailed;
  } finally {
    for (const c of connectors.values()) await c.close();
  }
}

/**
 * A plan's journal key: the same plan always resumes the same journal, and two plans of one state
 * (a plan and a drift remediation, say) never share one, so the digest of the changes is part of it.
 */
function planIdOf(plan: Plan): string {
  const changes = createHash('sha256')
    .update(canonicalJson(plan.targets.map((t) => t.changes)))
    .digest('hex')
    .slice(0, 12);
  return `${(plan.policyHash ?? '').slice(0, 16)}-${(plan.stateHash ?? '').slice(0, 16)}-${changes}`;
}

/** Whether this store holds an unfinished journal of the plan. */
async function resumable(g: GlobalOptions, planId: string): Promise<boolean> {
  const ops = await withStore(g, (store) => store.planOperations(planId));
  return ops.length > 0 && ops.some((o) => o.state !== 'succeeded');
}

/**
 * A blocked plan is applied only when a person allows it: separation-of-duties conflicts never
 * (fix the roles), the deprovisioning breaker with --allow-deprovision N or an approval recorded
 * with `tenure approve deprovision N --target T` (used once).
 */
async function enforceGuardrails(g: GlobalOptions, plan: Plan, allowText?: string): Promise<void> {
  if (!plan.guardrails.blocked) return;
  const sod = plan.guardrails.sodConflicts;
  if (sod.length > 0) {
    const first = sod[0]!;
    throw new UserError(
      `the plan would create ${sod.length} separation-of-duties conflict(s), e.g. ${first.identity} holding ${first.entitlements.join(' and ')} (rule ${first.rule})`,
      EXIT.stopped,
      [],
      'fix the roles that grant both, or the policy; tenure plan lists every conflict',
    );
  }
  const allow = allowText === undefined ? 0 : Number(allowText);
  const blocked = plan.guardrails.deprovision.filter((d) => d.blocked && d.accounts > allow);
  if (blocked.length === 0) return;
  await withStore(g, async (store) => {
    for (const d of blocked) {
      const approval = (await store.approvals('deprovision', `target:${d.target}`)).find(
        (a) => a.usedByImport === undefined && a.amount >= d.accounts,
      );
      if (!approval) {
        throw new UserError(
          `the deprovisioning breaker holds the plan back: ${d.reason}`,
          EXIT.stopped,
          [],
          `review the plan, then: tenure apply --allow-deprovision ${d.accounts} (or tenure approve deprovision ${d.accounts} --target ${d.target} --reason ...)`,
        );
      }
      await store.write((w) =>
        w.useApproval(approval.id, 0, { actor: actor(), at: new Date(plan.asOf), reason: `apply: ${d.reason}` }),
      );
    }
  });
}

/** A memory target with a snapshot file keeps what apply did in that file (written atomically). */
async function persistMemoryTargets(
  targets: readonly { id: string; kind: string; connection: Readonly<Record<string, unknown>> }[],
  policyFile: string,
  connectors: ReadonlyMap<string, unknown>,
): Promise<void> {
  for (const t of targets) {
    const c = connectors.get(t.id);
    if (t.kind !== 'memory' || !(c instanceof MemoryConnector) || typeof t.connection.snapshot !== 'string') continue;
    const path = resolve(dirname(policyFile), t.connection.snapshot);
    const temp = join(dirname(path), `.${t.id}.${process.pid}.tmp`);
    writeFileSync(temp, JSON.stringify(c.snapshot(), null, 2) + '\n');
    renameSync(temp, path);
  }
  await Promise.resolve();
}
