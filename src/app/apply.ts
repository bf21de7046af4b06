import type { Connector } from '../connectors/connector.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';
import {
  executePlan,
  sentence as executedSentence,
  type ExecutionEvent,
  type ExecutionResult,
  type OperationResult,
} from '../executor/execute-plan.js';
import type { Journal, MarkEffects } from '../executor/journal.js';
import { landedOperations } from '../executor/landed-operations.js';
import type { ActualState } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Change, Plan } from '../model/plan.js';
import { parseSavedPlan, type SavedPlan } from '../plan/plan-schema.js';
import { toCelIdentity } from '../policy/rule-environment.js';
import type { StateStore } from '../store/state-store.js';
import { remediationOf, driftNow } from './drift.js';
import { EXIT, UserError } from './errors.js';
import { openTargets } from './inputs.js';
import { StoredLinkBook } from './kept-links.js';
import { takeTargetLeases } from './leases.js';
import { changesDigest, planIdOf } from './plan-identity.js';
import { connectorWarningsOf, planNow, type PlannedState } from './plan-state.js';
import type { Workspace } from './workspace.js';

export interface ApplyRequest {
  /** A saved plan: its file name (for messages) and its text, untrusted until checked. */
  readonly saved?: { readonly file: string; readonly text: string };
  /** A person's allowance past the deprovisioning breaker, recorded as an approval; needs `reason`. */
  readonly allowDeprovision?: number;
  readonly reason?: string;
  readonly concurrency?: number;
  readonly rate?: number;
  /** Plan and apply the changes of these identities only ("provision now"); not with a saved plan, which has its own. */
  readonly onlyIdentities?: readonly string[];
  /** Aborted by SIGINT/SIGTERM: no new operation starts, those in flight finish and are journalled. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** Things worth saying while it runs (resuming, waiting for another apply). */
  readonly onNote?: (text: string) => void;
}

export interface ApplyOutcome {
  readonly plan: Plan;
  readonly planId: string;
  /** Absent when there was nothing to apply. */
  readonly result?: ExecutionResult;
  /** The apply resumed this store's interrupted run of the saved plan. */
  readonly resumed: boolean;
  /** Approvals recorded from the flags and used by this apply. */
  readonly approvals: readonly number[];
  readonly warnings: readonly Diagnostic[];
}

/**
 * `tenure apply [FILE]`: takes the lease of every target first, then reads actual state and
 * computes the plan at its own time. A saved plan is applied only when its changes equal what
 * is computed now (or when it resumes this store's own interrupted run of it); guardrails are
 * always recomputed, never read from a file. Every operation is journalled under the leases'
 * fences with its audit record in the same transaction.
 */
export async function applyPlan(ws: Workspace, request: ApplyRequest): Promise<ApplyOutcome> {
  if (request.allowDeprovision !== undefined && !request.reason)
    throw new UserError(
      '--allow-deprovision is a person allowing access to go past the breaker: say why with --reason',
      EXIT.usage,
      [],
      'tenure apply --allow-deprovision N --reason "..." (recorded as an approval, like tenure approve deprovision)',
    );
  const saved = request.saved ? readSavedPlan(request.saved.file, request.saved.text) : undefined;
  if (saved && request.onlyIdentities)
    throw new UserError(
      'a saved plan is applied for the identities it was made for: --identity goes with tenure plan --out, or with apply and no file',
      EXIT.usage,
      [],
      'tenure plan --identity ID --out FILE, then tenure apply FILE; or tenure apply --identity ID',
    );
  const { loaded } = ws.policy();
  return ws.withStore('write', async (store) => {
    const leases = await takeTargetLeases(
      ws,
      store,
      loaded.policy.targets.map((t) => t.id),
    );
    // Targets are opened (a snapshot file read) only once their leases are held: what another
    // apply wrote before is seen, and nothing is written back over it.
    let connectors: Map<string, Connector> | undefined;
    // Links of targets that hold none: read from this store, and written with the marks of the operations that make them.
    const links = new StoredLinkBook(() => store.trustedAccountLinks());
    try {
      connectors = openTargets(loaded, links);
      const now = await computeOfKind(ws, saved, connectors, saved?.onlyIdentities ?? request.onlyIdentities);
      const chosen = await choosePlan(store, now.plan, saved, request);
      const plan = chosen.plan;
      const planId = planIdOf(plan);
      const approvals = chosen.resumed ? [] : await enforceGuardrails(ws, store, plan, request);
      const journal = store.journal(leases.fences);
      const landed = await auditLanded(ws, store, journal, planId, now.actual, links);
      if (landed > 0)
        request.onNote?.(
          `${landed} operation(s) of an interrupted apply had taken effect in the targets before it stopped: journalled as done and audited now`,
        );
      if (plan.summary.changes === 0 && !chosen.resumed)
        return {
          plan,
          planId,
          resumed: false,
          approvals,
          warnings: [...now.warnings, ...connectorWarningsOf(connectors)],
        };
      const attributesOf = accountAttributes(now, ws.asOf);
      const result = await executePlan(planId, plan, connectors, journal, {
        ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
        ...(request.rate !== undefined ? { ratePerSecond: request.rate } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        accountSpec: (c) => ({ name: c.account, identity: c.identity ?? c.account, attributes: attributesOf(c) }),
        effects: (op) => effectsOf(ws, planId, op, links),
        ...(request.onEvent ? { onEvent: request.onEvent } : {}),
      });
      const warnings = [...now.warnings, ...connectorWarningsOf(connectors)];
      return { plan, planId, result, resumed: chosen.resumed, approvals, warnings };
    } finally {
      for (const c of connectors?.values() ?? []) await c.close();
      await leases.release();
    }
  });
}

function readSavedPlan(file: string, text: string): SavedPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `${file} is not JSON: ${(e as Error).message}`,
      EXIT.invalid,
      [],
      'save a plan with tenure plan --out FILE',
    );
  }
  const { plan, problems } = parseSavedPlan(raw);
  if (!plan)
    throw new UserError(
      `${file} is not a Tenure plan this version can apply: ${problems.join('; ')}`,
      EXIT.invalid,
      [],
      'save it again with tenure plan --out FILE (or tenure drift --remediate --out FILE)',
    );
  // The digest a file claims must be the digest of the changes it holds: otherwise it was edited.
  if (changesDigest(plan.targets) !== plan.digest)
    throw new UserError(
      `the plan ${file} was edited after it was saved: its changes no longer match its digest`,
      EXIT.stopped,
      [],
      'never edit a saved plan; change the policy or the sources, then tenure plan --out again and review it',
      'plan.edited',
    );
  return plan;
}

/** The plan as Tenure computes it now, by the same function that made the saved one. */
async function computeOfKind(
  ws: Workspace,
  saved: SavedPlan | undefined,
  connectors: ReadonlyMap<string, Connector>,
  onlyIdentities: readonly string[] | undefined,
): Promise<PlannedState> {
  if (saved?.kind !== 'drift-remediation')
    return planNow(ws, { connectors, ...(onlyIdentities ? { onlyIdentities } : {}) });
  const drift = await driftNow(ws, { ...(saved.onlyTargets ? { onlyTargets: saved.onlyTargets } : {}), connectors });
  return { ...drift.planned, plan: remediationOf(drift, saved.onlyTargets) };
}

async function choosePlan(
  store: StateStore,
  now: Plan,
  saved: SavedPlan | undefined,
  request: ApplyRequest,
): Promise<{ plan: Plan; resumed: boolean }> {
  if (!saved) return { plan: now, resumed: false };
  const file = request.saved!.file;
  // A plan this store began applying resumes from its own journal: the operations that run are
  // the ones recorded then, not the file's.
  const journal = await store.planOperations(planIdOf(saved));
  if (journal.some((o) => o.state !== 'succeeded' && o.state !== 'superseded')) {
    request.onNote?.(`resuming an interrupted apply of ${file}`);
    const targets = [...new Set(journal.map((o) => o.change.target))].map((target) => ({
      target,
      changes: journal.filter((o) => o.change.target === target).map((o) => o.change),
    }));
    return {
      plan: {
        ...now,
        ...identityOf(saved),
        targets: targets.map((t) => ({ ...emptyTarget(t.target), changes: t.changes })),
      },
      resumed: true,
    };
  }
  if (saved.policyHash !== now.policyHash)
    throw new UserError(
      `the plan ${file} is stale: the policy changed since it was made`,
      EXIT.stopped,
      [],
      'run tenure plan --out again and review it',
      'plan.stale',
    );
  if (saved.kind !== now.kind || saved.digest !== now.digest)
    throw new UserError(
      `the plan ${file} is stale: its changes are not what the policy calls for now (identities, exceptions or the targets changed since it was made)`,
      EXIT.stopped,
      [],
      'run tenure plan --out again and review it',
      'plan.stale',
    );
  // The saved changes equal the computed ones; the computed plan (with its guardrails) is applied.
  return { plan: now, resumed: false };
}

function identityOf(saved: SavedPlan): Pick<Plan, 'policyHash' | 'stateHash' | 'digest' | 'kind'> {
  return { policyHash: saved.policyHash, stateHash: saved.stateHash, digest: saved.digest, kind: saved.kind };
}

function emptyTarget(target: string): Plan['targets'][number] {
  return {
    target,
    changes: [],
    counts: {} as Plan['targets'][number]['counts'],
    deferred: 0,
    deferredChanges: [],
    accountsBefore: 0,
    unlinkedAccounts: 0,
    adopted: [],
  };
}

/**
 * A blocked plan is applied only when a person allows it: separation-of-duties conflicts never
 * (fix the roles); the deprovisioning breaker with an approval — `tenure approve deprovision`, or
 * `--allow-deprovision N --reason` recorded as one, by the actor, exactly the same way. Each
 * approval is used once.
 */
async function enforceGuardrails(
  ws: Workspace,
  store: StateStore,
  plan: Plan,
  request: ApplyRequest,
): Promise<number[]> {
  if (!plan.guardrails.blocked) return [];
  const sod = plan.guardrails.sodConflicts;
  if (sod.length > 0) {
    const first = sod[0]!;
    throw new UserError(
      `the plan would create ${sod.length} separation-of-duties conflict(s), e.g. ${first.identity} holding ${first.entitlements.join(' and ')} (rule ${first.rule})`,
      EXIT.stopped,
      [],
      'fix the roles that grant both, or the policy; tenure plan lists every conflict',
      'guardrail.held',
    );
  }
  const blocked = plan.guardrails.deprovision.filter((d) => d.blocked);
  const used: number[] = [];
  for (const d of blocked) {
    const scope = `target:${d.target}`;
    const allowed = request.allowDeprovision;
    const id = await store.write(async (w) => {
      if (allowed !== undefined && allowed >= d.accounts) {
        const approval = await w.addApproval(
          {
            kind: 'deprovision',
            scope,
            amount: allowed,
            reason: request.reason!,
            approvedBy: ws.actor.id,
            createdAt: ws.asOf,
          },
          ws.auditContext(request.reason!, { given: '--allow-deprovision' }),
        );
        await w.useApproval(approval, 0, ws.auditContext(`apply: ${d.accounts} account(s) of ${d.target}`));
        return approval;
      }
      // Only approvals whose rows match their audit records count: an amount raised in the database does not.
      const stored = (await w.trustedApprovals('deprovision', scope)).approvals.find(
        (a) => a.usedByImport === undefined && a.amount >= d.accounts,
      );
      if (!stored) return undefined;
      await w.useApproval(stored.id, 0, ws.auditContext(`apply: ${d.accounts} account(s) of ${d.target}`));
      return stored.id;
    });
    if (id === undefined)
      throw new UserError(
        `the deprovisioning breaker holds the plan back: ${d.reason}`,
        EXIT.stopped,
        [],
        `review the plan, then: tenure apply --allow-deprovision ${d.accounts} --reason "..." (or tenure approve deprovision ${d.accounts} --target ${d.target} --reason "...")`,
        'guardrail.held',
      );
    used.push(id);
  }
  return used;
}

/** Target attributes of a new account, from the policy's expressions (targets[].attributes). */
function accountAttributes(now: PlannedState, asOf: Date): (c: Change) => Record<string, string> {
  const byId = new Map(now.identities.map((i) => [i.id, i]));
  return (c) => {
    const identity = c.identity === undefined ? undefined : byId.get(c.identity);
    const out: Record<string, string> = {};
    if (!identity) return out;
    for (const [name, rule] of now.loaded.accountAttributes.get(c.target) ?? []) {
      try {
        out[name] = String(rule.value(toCelIdentity(identity), asOf));
      } catch {
        // An attribute whose expression reads an absent value is left unset.
      }
    }
    return out;
  };
}

/**
 * An apply killed between a change landing in a target and its journal mark leaves that change
 * without an audit record, and the next plan no longer asks for it. Before a new plan supersedes
 * the interrupted operations, each whose effect the targets show now is marked done with its audit
 * record (saying it was found in effect), so every change Tenure made has one. Returns how many.
 */
async function auditLanded(
  ws: Workspace,
  store: StateStore,
  journal: Journal,
  planId: string,
  actual: ActualState,
  links: StoredLinkBook,
): Promise<number> {
  const { loaded } = ws.policy();
  const targets = loaded.policy.targets;
  const interrupted = (await store.interruptedOperations(targets.map((t) => t.id))).filter((o) => o.plan !== planId);
  if (interrupted.length === 0) return 0;
  const kindOf = (id: string) => targets.find((t) => t.id === id)?.kind;
  const landed = landedOperations(interrupted, actual, kindOf, CONNECTOR_KINDS);
  for (const op of landed) {
    const sentence = `${executedSentence(op.change, 'succeeded')} (found in effect after an interrupted apply)`;
    const r: OperationResult = { change: op.change, state: 'succeeded', attempts: op.attempts, sentence };
    await journal.mark(op.id, 'succeeded', op.attempts, undefined, effectsOf(ws, op.plan, r, links));
  }
  return landed.length;
}

/**
 * The audit record of an operation that landed (and the rotation it made, or the link Tenure keeps for an account it
 * created or adopted), written with its journal mark.
 */
function effectsOf(ws: Workspace, planId: string, op: OperationResult, links: StoredLinkBook): MarkEffects | undefined {
  if (op.state !== 'succeeded') return undefined;
  const c = op.change;
  const link =
    c.action === 'create_account' || c.action === 'link_account' ? links.take(c.target, c.account) : undefined;
  return {
    ...(link ? { links: [link] } : {}),
    audit: [
      ws.auditEntry({
        action: `operation.${c.action}`,
        subject: c.identity ?? c.account,
        reason: op.sentence,
        details: {
          plan: planId,
          target: c.target,
          account: c.account,
          entitlement: c.entitlement,
          ...(c.newName !== undefined ? { newName: c.newName } : {}),
        },
      }),
    ],
    ...(c.action === 'rotate_credential'
      ? {
          rotations: [
            {
              identity: c.identity ?? c.account,
              target: c.target,
              account: c.account,
              at: ws.asOf,
              purpose: c.purpose ?? 'rotation',
            },
          ],
        }
      : {}),
  };
}
