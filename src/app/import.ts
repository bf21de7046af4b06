import type { AuditEntry } from '../audit/audit-chain.js';
import { performance } from 'node:perf_hooks';
import { countsAsLeaver, massLeaverVerdict } from '../lifecycle/mass-leaver-breaker.js';
import { diffSnapshot } from '../lifecycle/diff-snapshot.js';
import { admitStartDateMoves, startDateMovedToFuture, type StartDateHold } from '../lifecycle/start-date-hold.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import { EVENT_KINDS, type EventKind, type LifecycleEvent } from '../model/lifecycle.js';
import type { SourceRead } from '../sources/read-source.js';
import type { StoreWriter } from '../store/state-store.js';
import { EXIT, UserError } from './errors.js';
import { openIdentities } from './inputs.js';
import { watchedEngine } from './watched-engine.js';
import type { Workspace } from './workspace.js';

export interface ImportRequest {
  readonly skipInvalid?: boolean;
  /** A person's allowance past the mass-leaver breaker, recorded as an approval; needs `reason`. */
  readonly approveLeavers?: number;
  readonly reason?: string;
}

export interface SourceOutcome {
  source: string;
  rows: number;
  importSeq: number;
  outcome: 'applied' | 'stopped' | 'unchanged';
  events: LifecycleEvent[];
  counts: Partial<Record<EventKind, number>>;
  changed: number;
  removed: number;
  reason?: string;
  /** Identities whose rows were skipped (or unreadable): kept as last imported. */
  kept: string[];
  /** Active identities whose start date moved into the future: kept as stored until approved. */
  startHeld: StartDateHold[];
}

export interface ImportOutcome {
  readonly outcomes: readonly SourceOutcome[];
  readonly warnings: readonly Diagnostic[];
  readonly ms: number;
}

/**
 * Imports every source (`tenure import`): reads each feed, compares it with the stored snapshot and records the
 * lifecycle events, all in one transaction under the store's write lock. A source whose import
 * would make too many identities leave at once is held back whole (exit 3) until a person
 * approves that many leavers.
 */
export async function importSources(ws: Workspace, options: ImportRequest): Promise<ImportOutcome> {
  const started = performance.now();
  const { loaded, warnings } = ws.policy();
  const { identities, diagnostics, reads } = openIdentities(loaded, options.skipInvalid, ws.asOf);
  // What each feed was, byte for byte, as parsed here: plans tell when the file has changed since.
  const feedHashes = new Map(reads.map((r) => [r.source, r.sha256]));
  const asOf = ws.asOf;
  if (options.approveLeavers !== undefined && !options.reason)
    throw new UserError(
      '--approve-leavers is a person allowing identities to leave past the breaker: say why with --reason',
      EXIT.usage,
      [],
      'tenure import --approve-leavers N --reason "..." (recorded as an approval, like tenure approve leavers)',
    );
  const approved = options.approveLeavers ?? 0;
  const preHireDays = loaded.policy.policies.joiner.accessDaysBeforeStart;
  const engine = watchedEngine(loaded);
  // Grants of the identities being imported; computed for the whole feed at once (the indexed
  // engine) when most of it is new, as on a first import, else one identity at a time.
  let bulk: Map<Identity, string[]> | undefined;
  const grantsOf = (identity: Identity, at: Date): string[] =>
    (at.getTime() === asOf.getTime() ? bulk?.get(identity) : undefined) ??
    engine.identityAccess(identity, at).grants.map((gr) => gr.entitlement);
  const bySource = new Map<string, Identity[]>();
  // Sources that name owners come last, so owner checks see which other feeds were let in.
  const ordered = [...loaded.policy.sources].sort(
    (a, b) => Number(a.owner !== undefined) - Number(b.owner !== undefined),
  );
  for (const s of ordered) bySource.set(s.id, []);
  for (const i of identities) bySource.get(i.source)!.push(i);
  const known = new Map(identities.map((i) => [i.id, i]));

  const outcomes = await ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const results: SourceOutcome[] = [];
        // Everything Tenure knew before this import, across sources: an NHI owner who left through another feed.
        const before = new Map((await w.identities()).map((i) => [i.id, i]));
        for (const [source, feed] of bySource) {
          const previous = await w.identities(source);
          const state = await w.sourceState(source);
          // A skipped row is an identity unknown this run, not one that left: it keeps its stored
          // record. When a skipped row's key could not be read, nobody missing from the feed leaves.
          const read = reads.find((r) => r.source === source);
          const kept = keptBySkipping(previous, feed, read);
          const withKept = kept.length === 0 ? feed : [...feed, ...kept];
          // An active identity whose start date moves into the future keeps its stored record (and
          // its access) until a person approves the change, like a mass leaver.
          const moves = startDateMovedToFuture({
            previous,
            ...(state ? { previousAsOf: state.lastAsOf } : {}),
            current: withKept,
            asOf,
            grantsOf,
          });
          const approvedMoves = new Map<string, number>();
          for (const m of moves) {
            const a = (await w.trustedApprovals('start_date', `identity:${m.identity}`)).approvals.find(
              (x) => x.usedByImport === undefined,
            );
            if (a) approvedMoves.set(m.identity, a.id);
          }
          const { admitted: current, held: startHeld } = admitStartDateMoves(
            withKept,
            previous,
            moves,
            new Set(approvedMoves.keys()),
          );
          for (const i of current) known.set(i.id, i);
          bulk = undefined;
          if (previous.length < current.length / 2) {
            const state = engine.desiredState(current, asOf);
            const byId = new Map(state.identities.map((a) => [a.identity, a.grants.map((gr) => gr.entitlement)]));
            bulk = new Map(current.map((i) => [i, byId.get(i.id) ?? []]));
          }
          const events = diffSnapshot({
            source,
            previous,
            ...(state ? { previousAsOf: state.lastAsOf } : {}),
            current,
            asOf,
            preHireDays,
            grantsOf,
            lookup: (id) => known.get(id),
            previousLookup: (id) => before.get(id),
            nonHuman: loaded.policy.policies.nonHuman,
            expiryWarningDays: 14,
          });
          const importSeq = await w.beginImport(source, asOf, new Date(), feed.length);
          for (const [identity, approval] of approvedMoves)
            if (moves.some((m) => m.identity === identity))
              await w.useApproval(
                approval,
                importSeq,
                ws.auditContext(`import of ${source}: start date of ${identity}`),
              );
          if (startHeld.length > 0)
            await w.audit(
              startHeld.map((h) =>
                ws.auditEntry({
                  action: 'import.start_date_held',
                  subject: h.identity,
                  reason: h.summary,
                  details: { source, startBefore: h.startBefore ?? null, startAfter: h.startAfter, grants: h.grants },
                }),
              ),
            );
          const counts: Partial<Record<EventKind, number>> = {};
          for (const e of events) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
          // Only identities the store already held can leave: a first import deprovisions nobody.
          const held = new Set(previous.map((i) => i.id));
          const leavers = events.filter((e) => countsAsLeaver(e) && held.has(e.identity)).length;
          const verdict = massLeaverVerdict(leavers, previous.length, loaded.policy.policies.guardrails.massLeaver);
          // --approve-leavers is recorded as an approval by the actor, exactly like `tenure approve
          // leavers`; either is used once.
          if (verdict.tripped && approved >= leavers) {
            const scope = `source:${source}`;
            await w.addApproval(
              {
                kind: 'leavers',
                scope,
                amount: approved,
                reason: options.reason!,
                approvedBy: ws.actor.id,
                createdAt: asOf,
              },
              ws.auditContext(options.reason!, { given: '--approve-leavers' }),
            );
          }
          const approval = verdict.tripped
            ? (await w.approvals('leavers', `source:${source}`)).find(
                (a) => a.usedByImport === undefined && a.amount >= leavers,
              )
            : undefined;
          if (approval)
            await w.useApproval(approval.id, importSeq, ws.auditContext(`import of ${source}: ${leavers} leaver(s)`));
          if (verdict.tripped && !approval) {
            // Nothing of this source is recorded as changed: the snapshot, events and state stay as they were,
            // and owner checks of the sources after it see the identities as stored, not the held-back feed.
            for (const i of current) known.delete(i.id);
            for (const i of previous) known.set(i.id, i);
            const reason = `${verdict.reason} Approve with: tenure import --approve-leavers ${leavers}`;
            await w.finishImport(importSeq, 0, 'stopped', reason);
            await w.audit([
              ws.auditEntry({
                action: 'import.stopped',
                subject: `source:${source}`,
                reason,
                details: { leavers, population: previous.length, rows: current.length },
              }),
            ]);
            results.push({
              source,
              rows: feed.length,
              importSeq,
              outcome: 'stopped',
              kept: kept.map((i) => i.id),
              startHeld,
              events: [],
              counts,
              changed: 0,
              removed: 0,
              reason,
            });
            continue;
          }
          const { changed, removed } = await w.replaceSnapshot(source, current, importSeq, asOf);
          await w.appendEvents(events, importSeq);
          await proposeCustody(
            w,
            events,
            current,
            known,
            asOf,
            loaded.policy.policies.nonHuman.onOwnerLeaving,
            ws.actor.id,
          );
          // What was imported is not the feed as it stands while rows were kept or held back: plans keep saying so.
          const feedHash = kept.length === 0 && startHeld.length === 0 ? feedHashes.get(source) : undefined;
          await w.setSourceState({ source, lastAsOf: asOf, lastImport: importSeq, ...(feedHash ? { feedHash } : {}) });
          const detail =
            EVENT_KINDS.filter((k) => counts[k])
              .map((k) => `${counts[k]} ${k}`)
              .join(', ') || 'no events';
          await w.finishImport(importSeq, events.length, 'applied', detail);
          await w.audit([
            ws.auditEntry({
              action: 'import.completed',
              subject: `source:${source}`,
              reason: detail,
              details: {
                rows: current.length,
                changed,
                removed,
                events: events.length,
                ...(verdict.tripped
                  ? { approvedLeavers: approval ? approval.amount : approved, approval: approval?.id }
                  : {}),
              },
            }),
            ...eventRecords(ws, source, events),
          ]);
          results.push({
            source,
            rows: feed.length,
            importSeq,
            outcome: events.length === 0 && changed === 0 && removed === 0 ? 'unchanged' : 'applied',
            kept: kept.map((i) => i.id),
            startHeld,
            events,
            counts,
            changed,
            removed,
          });
        }
        return results;
      },
      { waitMs },
    ),
  );
  return { outcomes, warnings: [...warnings, ...diagnostics], ms: Math.round(performance.now() - started) };
}

/**
 * The audit record of each lifecycle event of an import or a push. They name the actor; how it was named and the real
 * time are on the import's own record just before them, once.
 */
export function eventRecords(ws: Workspace, source: string, events: readonly LifecycleEvent[]): AuditEntry[] {
  return events.map((e) => ({
    at: ws.asOf,
    actor: ws.actor.id,
    action: `event.${e.kind}` as const,
    subject: e.identity,
    reason: e.summary,
    details: { source, grantsAdded: e.grantsAdded.length, grantsRemoved: e.grantsRemoved.length },
  }));
}

/**
 * An owner left: each of their non-human identities is offered to the owner's manager (or to
 * nobody, by policy), who must confirm by the deadline; unconfirmed, the plan suspends it.
 */
export async function proposeCustody(
  w: StoreWriter,
  events: readonly LifecycleEvent[],
  current: readonly Identity[],
  known: ReadonlyMap<string, Identity>,
  asOf: Date,
  rule: { readonly reassignTo: 'manager' | 'nobody'; readonly confirmDays: number },
  by: string,
): Promise<void> {
  // Most imports have no owner_gone event: index the feed only when one needs it.
  let byId: Map<string, Identity> | undefined;
  for (const e of events) {
    if (e.kind !== 'owner_gone') continue;
    byId ??= new Map(current.map((i) => [i.id, i]));
    const nhi = byId.get(e.identity);
    if (!nhi?.owner) continue;
    const open = (await w.custody(nhi.id)).some((c) => c.previousOwner === nhi.owner && c.state === 'pending');
    if (open) continue;
    const manager = rule.reassignTo === 'manager' ? known.get(nhi.owner)?.manager : undefined;
    const candidate = manager === undefined ? undefined : known.get(manager);
    const proposed = candidate?.status === 'active' && candidate.id !== nhi.id ? candidate.id : undefined;
    const deadline = new Date(asOf.getTime() + rule.confirmDays * 86_400_000);
    await w.addCustody(
      {
        nhi: nhi.id,
        previousOwner: nhi.owner,
        ...(proposed ? { proposedOwner: proposed } : {}),
        since: asOf,
        deadline,
      },
      {
        actor: by,
        at: asOf,
        reason: proposed
          ? `owner ${nhi.owner} left; ${proposed} is asked to take it over by ${deadline.toISOString().slice(0, 10)}`
          : `owner ${nhi.owner} left and nobody can be asked to take it over; it is suspended on ${deadline.toISOString().slice(0, 10)} unless an owner confirms`,
      },
    );
  }
}

/**
 * Stored identities of a source that a feed read with --skip-invalid must not lose: those whose
 * rows were skipped, or — when a skipped row's key could not be read — everyone missing from it.
 */
function keptBySkipping(previous: readonly Identity[], feed: readonly Identity[], read?: SourceRead): Identity[] {
  if (!read || read.skipped === 0) return [];
  const present = new Set(feed.map((i) => i.id));
  const unknownKeys = read.skippedKeys.length < read.skipped;
  const skipped = new Set(read.skippedKeys);
  return previous.filter((i) => !present.has(i.id) && (unknownKeys || skipped.has(i.id)));
}
