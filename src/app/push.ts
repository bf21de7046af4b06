import { diffSnapshot } from '../lifecycle/diff-snapshot.js';
import { countsAsLeaver, massLeaverVerdict } from '../lifecycle/mass-leaver-breaker.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { hasErrors } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import { EVENT_KINDS, type EventKind, type LifecycleEvent } from '../model/lifecycle.js';
import type { SourceDefinition } from '../model/policy.js';
import { didYouMean } from '../policy/suggest.js';
import { createRecordMapper } from '../sources/map-record.js';
import type { RawRecord } from '../sources/raw-record.js';
import { EXIT, UserError } from './errors.js';
import { eventRecords, proposeCustody } from './import.js';
import { watchedEngine } from './watched-engine.js';
import type { Workspace } from './workspace.js';

/** Records pushed to a source: each replaces its identity's whole record; `remove` keys leave. */
export interface PushRequest {
  readonly source: string;
  /** Records in the source's own field names, validated like a feed's rows. */
  readonly records?: readonly unknown[];
  /** Keys of identities that leave the source. */
  readonly remove?: readonly string[];
  /** Where the records came from, for messages (`POST /api/v1/sources/hr/records`, a file name). */
  readonly origin?: string;
}

export interface PushOutcome {
  readonly source: string;
  readonly importSeq: number;
  /** `stopped`: too many would leave at once (the mass-leaver breaker); nothing was recorded. */
  readonly outcome: 'applied' | 'stopped' | 'unchanged';
  /** The identities the push touched, in order: the ones to reconcile now. */
  readonly identities: readonly string[];
  readonly events: readonly LifecycleEvent[];
  readonly counts: Partial<Record<EventKind, number>>;
  readonly changed: number;
  readonly removed: number;
  readonly reason?: string;
}

/**
 * Records pushed to a source (the service's `POST .../records` and `DELETE .../records/{key}`, `tenure records`):
 * validated like a feed's rows, then, in one transaction, the touched identities' records replaced in the source's
 * snapshot, their lifecycle events recorded and audited — the same as an import of a feed that differs only in these
 * records. Every other identity of the source is left as it is. A push that would make too many identities leave at
 * once is held back whole by the mass-leaver breaker, like an import. The source must have been imported once:
 * pushed records overlay what it holds, and its next full import is authoritative again.
 */
export async function pushRecords(ws: Workspace, request: PushRequest): Promise<PushOutcome> {
  const { loaded } = ws.policy();
  const def = sourceOf(ws, request.source);
  const asOf = ws.asOf;
  const pushed = mapRecords(def, request.records ?? [], request.origin ?? `records pushed to ${def.id}`, asOf);
  const remove = [...new Set(request.remove ?? [])];
  const both = pushed.find((i) => remove.includes(i.id));
  if (both) throw new UserError(`identity ${both.id} is both pushed and removed: say one`, EXIT.invalid, [], undefined);
  if (pushed.length === 0 && remove.length === 0)
    throw new UserError('nothing to push: give records, or keys to remove', EXIT.invalid);
  const engine = watchedEngine(loaded);
  const grantsOf = (identity: Identity, at: Date) =>
    engine.identityAccess(identity, at).grants.map((g) => g.entitlement);
  return ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const state = await w.sourceState(def.id);
        if (!state)
          throw new UserError(
            `source "${def.id}" has never been imported: records pushed to it would stand in for its whole feed`,
            EXIT.invalid,
            [],
            'run tenure import once; pushed records then overlay what it holds until its next import',
          );
        const ids = [...pushed.map((i) => i.id), ...remove];
        const previous = await w.identities(def.id, ids);
        const missing = remove.filter((k) => !previous.some((i) => i.id === k));
        if (missing.length > 0)
          throw new UserError(
            `source "${def.id}" holds no identity ${missing.map((k) => JSON.stringify(k)).join(', ')}: nothing to remove`,
            EXIT.invalid,
            [],
            'tenure events --identity ID, or tenure why ID, shows which source holds an identity',
            'not_found',
          );
        // Owners named by pushed non-human identities, wherever they are held.
        const ownerIds = [...new Set(pushed.flatMap((i) => (i.owner ? [i.owner] : [])))].filter(
          (o) => !ids.includes(o),
        );
        const owners = new Map((await w.identities(undefined, ownerIds)).map((i) => [i.id, i]));
        const now = new Map(pushed.map((i) => [i.id, i]));
        const before = new Map(previous.map((i) => [i.id, i]));
        const events = diffSnapshot({
          source: def.id,
          previous,
          previousAsOf: state.lastAsOf,
          current: pushed,
          asOf,
          preHireDays: loaded.policy.policies.joiner.accessDaysBeforeStart,
          grantsOf,
          lookup: (id) => now.get(id) ?? owners.get(id),
          previousLookup: (id) => before.get(id) ?? owners.get(id),
          nonHuman: loaded.policy.policies.nonHuman,
          expiryWarningDays: 14,
        });
        const counts: Partial<Record<EventKind, number>> = {};
        for (const e of events) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
        const importSeq = await w.beginImport(def.id, asOf, new Date(), pushed.length + remove.length);
        const leavers = events.filter((e) => countsAsLeaver(e) && before.has(e.identity)).length;
        const population = await w.identityCount(def.id);
        const verdict = massLeaverVerdict(leavers, population, loaded.policy.policies.guardrails.massLeaver);
        const touched = [...new Set(ids)];
        // A person's approval of that many leavers (tenure approve leavers) lets it through, once, as for an import.
        const approval = verdict.tripped
          ? (await w.trustedApprovals('leavers', `source:${def.id}`)).approvals.find(
              (a) => a.usedByImport === undefined && a.amount >= leavers,
            )
          : undefined;
        if (approval)
          await w.useApproval(approval.id, importSeq, ws.auditContext(`push to ${def.id}: ${leavers} leaver(s)`));
        if (verdict.tripped && !approval) {
          const reason = `${verdict.reason} Approve with: tenure approve leavers ${leavers} --source ${def.id}, then push again`;
          await w.finishImport(importSeq, 0, 'stopped', reason);
          await w.audit([
            ws.auditEntry({
              action: 'import.stopped',
              subject: `source:${def.id}`,
              reason,
              details: { leavers, population, pushed: pushed.length, removed: remove.length },
            }),
          ]);
          return {
            source: def.id,
            importSeq,
            outcome: 'stopped' as const,
            identities: touched,
            events: [],
            counts,
            changed: 0,
            removed: 0,
            reason,
          };
        }
        const { changed, removed } = await w.patchSnapshot(def.id, pushed, remove, importSeq, asOf);
        await w.appendEvents(events, importSeq);
        await proposeCustody(
          w,
          events,
          pushed,
          new Map([...owners, ...now]),
          asOf,
          loaded.policy.policies.nonHuman.onOwnerLeaving,
          ws.actor.id,
        );
        const detail =
          EVENT_KINDS.filter((k) => counts[k])
            .map((k) => `${counts[k]} ${k}`)
            .join(', ') || 'no events';
        await w.finishImport(importSeq, events.length, 'applied', `pushed: ${detail}`);
        await w.audit([
          ws.auditEntry({
            action: 'import.pushed',
            subject: `source:${def.id}`,
            reason: `${pushed.length} record(s) pushed, ${remove.length} removed: ${detail}`,
            details: { origin: request.origin ?? null, pushed: pushed.length, removed, changed, events: events.length },
          }),
          ...eventRecords(ws, def.id, events),
        ]);
        return {
          source: def.id,
          importSeq,
          outcome:
            changed === 0 && removed === 0 && events.length === 0 ? ('unchanged' as const) : ('applied' as const),
          identities: touched,
          events,
          counts,
          changed,
          removed,
        };
      },
      { waitMs },
    ),
  );
}

function sourceOf(ws: Workspace, id: string): SourceDefinition {
  const sources = ws.policy().loaded.policy.sources;
  const def = sources.find((s) => s.id === id);
  if (def) return def;
  throw new UserError(
    `source "${id}" is not declared in the policy`,
    EXIT.invalid,
    [],
    didYouMean(
      id,
      sources.map((s) => s.id),
    ) ?? `sources: ${sources.map((s) => s.id).join(', ')}`,
    'not_found',
  );
}

/** Each record mapped as a feed row would be; any problem refuses the whole push, naming the record and field. */
function mapRecords(def: SourceDefinition, records: readonly unknown[], origin: string, now: Date): Identity[] {
  const mapper = createRecordMapper(def, { file: origin, format: 'json', now });
  if (hasErrors(mapper.diagnostics))
    throw new UserError(`source "${def.id}" cannot map records`, EXIT.invalid, mapper.diagnostics);
  const problems: Diagnostic[] = [];
  const out: Identity[] = [];
  const seen = new Map<string, number>();
  records.forEach((value, i) => {
    const row = i + 1;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({
        severity: 'error',
        code: 'source.not_an_object',
        message: `${origin}: record ${row} is not an object of fields`,
        subject: `record ${row}`,
      });
      return;
    }
    const raw: RawRecord = { row, line: 1, values: value as Record<string, unknown> };
    const mapped = mapper.result(raw);
    problems.push(...mapped.problems);
    if (mapped.key !== undefined) {
      const first = seen.get(mapped.key);
      if (first !== undefined) {
        problems.push({
          severity: 'error',
          code: 'source.duplicate_key',
          message: `${origin}: records ${first} and ${row} are both ${JSON.stringify(mapped.key)}`,
          subject: mapped.key,
        });
        return;
      }
      seen.set(mapped.key, row);
    }
    if (mapped.identity && mapped.problems.length === 0) out.push(mapped.identity);
  });
  if (problems.length > 0)
    throw new UserError(
      `${problems.length} problem(s) in the records; nothing was recorded`,
      EXIT.invalid,
      problems.slice(0, 100),
    );
  return out;
}
