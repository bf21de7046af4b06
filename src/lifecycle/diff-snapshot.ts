import type { AttributeValue, Identity } from '../model/identity.js';
import { isNonHuman } from '../model/identity.js';
import type { AttributeChange, EventKind, LifecycleEvent } from '../model/lifecycle.js';
import { EVENT_KINDS } from '../model/lifecycle.js';
import type { NonHumanRules } from '../model/policy.js';

export interface SnapshotDiffInput {
  readonly source: string;
  /** The stored snapshot of this source (identities as last imported), and when it was imported; undefined on a first import. */
  readonly previous: readonly Identity[];
  readonly previousAsOf?: Date;
  /** The new feed of the same source. */
  readonly current: readonly Identity[];
  readonly asOf: Date;
  /** Access becomes due this many days before a pre-hire's start date (default 0). */
  readonly preHireDays: number;
  /** Desired entitlement ids of an identity (the engine, injected; pure). Called for before and after. */
  readonly grantsOf: (identity: Identity, asOf: Date) => readonly string[];
  /** Every identity Tenure knows after this import (all sources), for owner checks of non-human identities. */
  readonly lookup: (id: string) => Identity | undefined;
  /**
   * Optional: every identity Tenure knew before this import (all sources). Lets `owner_gone` fire
   * when an owner held in another source was terminated since the previous import. Without it,
   * an owner's previous state comes from this source's previous snapshot, else from `lookup`.
   */
  readonly previousLookup?: (id: string) => Identity | undefined;
  readonly nonHuman: NonHumanRules;
  /** Credentials expiring within this many days raise credential_expiring (default 14). */
  readonly expiryWarningDays: number;
}

const DAY_MS = 86_400_000;
const KIND_RANK = new Map<EventKind, number>(EVENT_KINDS.map((k, i) => [k, i]));

/**
 * Compares a source's stored snapshot with its new feed and says which identities to look at
 * again, and why. Level-based: an event is a hint for people and for scheduling; the engine
 * recomputes desired state regardless. Pure: time is `asOf` (and `previousAsOf`).
 *
 * Every date-driven condition is evaluated twice, on the previous identity at `previousAsOf` and
 * on the current identity at `asOf`; the event fires only when the condition is true now and was
 * not then. So diffing a snapshot against itself at the same time yields nothing, and a date that
 * passes between two imports fires exactly once.
 */
export function diffSnapshot(input: SnapshotDiffInput): LifecycleEvent[] {
  const before = byId(input.previous, 'stored snapshot', input.source);
  const after = byId(input.current, 'current feed', input.source);
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort(compareStrings);
  const ctx = context(input, before, after);
  const events: LifecycleEvent[] = [];
  for (const id of ids) events.push(...eventsOf(ctx, id, before.get(id), after.get(id)));
  return events;
}

interface Context {
  readonly input: SnapshotDiffInput;
  readonly now: number;
  /** previousAsOf, or asOf when there is none (a first import has no previous identities anyway). */
  readonly then: number;
  readonly thenDate: Date;
  readonly preHireMs: number;
  readonly ownerNow: (id: string) => Identity | undefined;
  readonly ownerThen: (id: string) => Identity | undefined;
}

function context(
  input: SnapshotDiffInput,
  before: ReadonlyMap<string, Identity>,
  after: ReadonlyMap<string, Identity>,
): Context {
  const thenDate = input.previousAsOf ?? input.asOf;
  // The owner's state now: this feed first (an identity of this source that left the feed is
  // gone, whatever a stale lookup says), then every other source through `lookup`.
  const ownerNow = (id: string): Identity | undefined =>
    after.get(id) ?? (before.has(id) ? undefined : input.lookup(id));
  // The owner's state at the previous import: this source's previous snapshot, else the caller's
  // previous view of all sources, else (no history available) the current state, which means
  // "no change" and so no event: the conservative choice that keeps re-imports idempotent.
  const ownerThen = (id: string): Identity | undefined =>
    before.has(id) ? before.get(id) : input.previousLookup ? input.previousLookup(id) : ownerNow(id);
  return {
    input,
    now: input.asOf.getTime(),
    then: thenDate.getTime(),
    thenDate,
    preHireMs: Math.max(0, input.preHireDays) * DAY_MS,
    ownerNow,
    ownerThen,
  };
}

type Phase = 'pre' | 'active' | 'leave' | 'terminated';

/** Where an identity stands at time t: an active identity whose start date is in the future is still a pre-hire. */
function phase(i: Identity, t: number): Phase {
  if (i.status === 'active') return i.startDate && i.startDate.getTime() > t ? 'pre' : 'active';
  return i.status === 'pre_hire' ? 'pre' : i.status;
}

/** In the organisation: not terminated. End dates apply to pre-hires, actives and people on leave. */
function present(i: Identity | undefined): i is Identity {
  return i !== undefined && i.status !== 'terminated';
}

/** When a pre-hire's access becomes due: start − preHireDays. */
function accessFrom(ctx: Context, i: Identity): Date | undefined {
  return i.startDate && new Date(i.startDate.getTime() - ctx.preHireMs);
}

/** Access is due: a pre-hire or active identity whose start − preHireDays has come (an active one without a start date always). */
function isDue(ctx: Context, i: Identity | undefined, t: number): boolean {
  if (!i || (i.status !== 'pre_hire' && i.status !== 'active')) return false;
  if (!i.startDate) return i.status === 'active';
  return i.startDate.getTime() - ctx.preHireMs <= t;
}

function endScheduled(i: Identity | undefined, t: number): boolean {
  return present(i) && i.endDate !== undefined && i.endDate.getTime() > t;
}

function endReached(i: Identity | undefined, t: number): boolean {
  return present(i) && i.endDate !== undefined && i.endDate.getTime() <= t;
}

function liveNonHuman(i: Identity | undefined): i is Identity {
  return present(i) && isNonHuman(i.kind);
}

function expiring(ctx: Context, i: Identity | undefined, t: number): boolean {
  const expires = liveNonHuman(i) ? i.credential?.expires : undefined;
  return expires !== undefined && expires.getTime() <= t + ctx.input.expiryWarningDays * DAY_MS;
}

/** The credential's age is measured from its last rotation, else its creation; without either it cannot be judged. */
function rotationBase(i: Identity): Date | undefined {
  return i.credential?.lastRotated ?? i.credential?.created;
}

function rotationDue(ctx: Context, i: Identity | undefined, t: number): boolean {
  const max = ctx.input.nonHuman.maxCredentialAgeDays;
  const base = liveNonHuman(i) ? rotationBase(i) : undefined;
  return max !== undefined && base !== undefined && t - base.getTime() > max * DAY_MS;
}

type OwnerProblem = 'none' | 'unknown' | 'terminated';

function ownerProblem(
  ctx: Context,
  i: Identity | undefined,
  view: (id: string) => Identity | undefined,
): OwnerProblem | undefined {
  if (!liveNonHuman(i)) return undefined;
  if (i.owner === undefined) return ctx.input.nonHuman.ownerRequired ? 'none' : undefined;
  const owner = view(i.owner);
  if (!owner) return 'unknown';
  return owner.status === 'terminated' ? 'terminated' : undefined;
}

function eventsOf(ctx: Context, id: string, b: Identity | undefined, a: Identity | undefined): LifecycleEvent[] {
  const { now, then } = ctx;
  const found: Draft[] = [];
  const add = (kind: EventKind, summary: string, effective?: Date): void => {
    found.push({ kind, summary, effective });
  };

  // Entering: the key is new, or was terminated (then it is a rehire).
  const entering = !b || b.status === 'terminated';
  const phaseNow = a && phase(a, now);

  // Presence and status.
  if (!a) {
    if (present(b)) add('leaver', `${id} left: disappeared from the feed`);
  } else if (!b) {
    if (phaseNow === 'active' || phaseNow === 'leave') add('joiner', joinedSummary(a, phaseNow));
  } else if (b.status === 'terminated') {
    if (a.status !== 'terminated') {
      const pre = phaseNow === 'pre';
      add('rehire', rehireSummary(a, pre), pre ? accessFrom(ctx, a) : undefined);
    }
  } else if (a.status === 'terminated') {
    // An end date the feed gives (already passed) is when they left: the deletion clock counts from it.
    add('leaver', `${id} left: status ${b.status} → terminated`, endedBy(a, now));
  } else if (a.status === 'leave' && b.status !== 'leave') {
    add('leave_start', `${id} went on leave`);
  } else if (b.status === 'leave' && a.status !== 'leave') {
    add('leave_return', `${id} returned from leave`);
  }

  // Pre-hire: a new key (a rehire says it already), or a start date that moved while waiting.
  if (a && phaseNow === 'pre') {
    if (!b) add('pre_hire', preHireSummary(ctx, a), accessFrom(ctx, a));
    else if (!entering && !(phase(b, then) === 'pre' && sameTime(b.startDate, a.startDate)))
      add('pre_hire', `${id}: start date ${changeText(b.startDate, a.startDate)}`, accessFrom(ctx, a));
  }

  // Start due: the wait is over (start − preHireDays reached), or the feed turned a pre-hire active.
  if (a && isDue(ctx, a, now)) {
    const flipped = b?.status === 'pre_hire' && a.status === 'active';
    const fires = entering ? phaseNow === 'pre' : b.status !== 'leave' && (!isDue(ctx, b, then) || flipped);
    if (fires) add('start_due', startDueSummary(ctx, a, flipped && isDue(ctx, b, then)), accessFrom(ctx, a));
  }

  // End date: scheduled (new or moved), then reached.
  if (a?.endDate && endScheduled(a, now) && !(endScheduled(b, then) && sameTime(b?.endDate, a.endDate))) {
    const moved =
      present(b) && b.endDate && !sameTime(b.endDate, a.endDate)
        ? `moved ${changeText(b.endDate, a.endDate)}`
        : `set to ${date(a.endDate)}`;
    add('termination_scheduled', `${id}: end date ${moved}; access ends then`, a.endDate);
  }
  if (a?.endDate && endReached(a, now) && !endReached(b, then))
    add('end_date_reached', `${id}: end date ${date(a.endDate)} reached; access ends`, a.endDate);

  // Non-human identities: credential expiry, rotation, owner.
  const expires = a?.credential?.expires;
  if (expires && expiring(ctx, a, now) && !(expiring(ctx, b, then) && sameTime(b?.credential?.expires, expires)))
    add('credential_expiring', expirySummary(id, expires, now), expires);
  const base = a && rotationBase(a);
  const maxAge = ctx.input.nonHuman.maxCredentialAgeDays;
  if (base && maxAge !== undefined && rotationDue(ctx, a, now)) {
    if (!(rotationDue(ctx, b, then) && b && sameTime(rotationBase(b), base))) {
      const what = a?.credential?.lastRotated ? 'last rotated' : 'created';
      add(
        'rotation_due',
        `${id}: credential ${what} ${date(base)}, older than ${maxAge} days`,
        new Date(base.getTime() + maxAge * DAY_MS),
      );
    }
  }
  const problem = ownerProblem(ctx, a, ctx.ownerNow);
  // Fires when the owner is gone now and was not at the previous import, or when the owner field
  // itself changed to one that is gone (an NHI handed to a departed owner is news again).
  if (a && problem && (!ownerProblem(ctx, b, ctx.ownerThen) || b?.owner !== a.owner))
    add('owner_gone', problem === 'none' ? `${id}: has no owner` : `${id}: owner ${a.owner} is ${problem}`);

  // Mover: active before and after, with a data change that changes desired access. Compared at
  // the same time (asOf), so that passing time alone is never a move.
  const changes = diffFields(b, a);
  let moverGrants: { added: string[]; removed: string[] } | undefined;
  if (b?.status === 'active' && a?.status === 'active' && changes.length > 0) {
    const d = delta(grants(ctx, b, ctx.input.asOf), grants(ctx, a, ctx.input.asOf));
    if (d.added.length > 0 || d.removed.length > 0) {
      moverGrants = d;
      add('mover', moverSummary(id, changes, d));
    }
  }

  if (found.length === 0) return [];
  found.sort((x, y) => KIND_RANK.get(x.kind)! - KIND_RANK.get(y.kind)!);

  // Desired state before (at previousAsOf) and after (at asOf), computed only for identities with news.
  let cached: { before: string[]; after: string[] } | undefined;
  const both = (): { before: string[]; after: string[] } =>
    (cached ??= { before: b ? grants(ctx, b, ctx.thenDate) : [], after: a ? grants(ctx, a, ctx.input.asOf) : [] });

  return found.map((f): LifecycleEvent => {
    let g: { added: string[]; removed: string[] };
    switch (f.kind) {
      case 'mover':
        g = moverGrants!;
        break;
      case 'joiner':
      case 'rehire':
        g = { added: both().after, removed: [] };
        break;
      case 'leaver':
        g = { added: [], removed: both().before };
        break;
      case 'end_date_reached':
        // Access ends: everything it had goes (a new identity already past its end: what it would get).
        g = { added: [], removed: b ? both().before : both().after };
        break;
      default:
        g = delta(both().before, both().after);
    }
    return {
      kind: f.kind,
      identity: id,
      source: ctx.input.source,
      at: ctx.input.asOf,
      ...(f.effective ? { effective: f.effective } : {}),
      ...(b ? { statusBefore: b.status } : {}),
      ...(a ? { statusAfter: a.status } : {}),
      changes,
      grantsAdded: g.added,
      grantsRemoved: g.removed,
      summary: f.summary,
    };
  });
}

interface Draft {
  readonly kind: EventKind;
  readonly summary: string;
  readonly effective: Date | undefined;
}

function byId(identities: readonly Identity[], what: string, source: string): Map<string, Identity> {
  const map = new Map<string, Identity>();
  for (const i of identities) {
    // Sources refuse duplicate keys (source.duplicate_key); one reaching here is a bug upstream.
    if (map.has(i.id)) throw new Error(`diffSnapshot: identity ${i.id} appears twice in the ${what} of ${source}`);
    map.set(i.id, i);
  }
  return map;
}

function grants(ctx: Context, i: Identity, t: Date): string[] {
  return [...new Set(ctx.input.grantsOf(i, t))].sort(compareStrings);
}

/** Both inputs sorted and unique. */
function delta(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((x) => !b.has(x)), removed: before.filter((x) => !a.has(x)) };
}

// ---------------------------------------------------------------------------------------------
// Field changes

const CORE_FIELDS: readonly { readonly field: string; readonly get: (i: Identity) => AttributeValue | undefined }[] = [
  { field: 'status', get: (i) => i.status },
  { field: 'kind', get: (i) => i.kind },
  { field: 'manager', get: (i) => i.manager },
  { field: 'owner', get: (i) => i.owner },
  { field: 'start_date', get: (i) => i.startDate },
  { field: 'end_date', get: (i) => i.endDate },
];

/** Every changed field: the core fields in a fixed order, then attributes by name. */
export function diffFields(b: Identity | undefined, a: Identity | undefined): AttributeChange[] {
  const changes: AttributeChange[] = [];
  const push = (field: string, before: AttributeValue | undefined, after: AttributeValue | undefined): void => {
    if (sameValue(before, after)) return;
    changes.push({
      field,
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
    });
  };
  for (const f of CORE_FIELDS) push(f.field, b && f.get(b), a && f.get(a));
  const names = [...new Set([...Object.keys(b?.attributes ?? {}), ...Object.keys(a?.attributes ?? {})])].sort(
    compareStrings,
  );
  for (const name of names) push(name, b?.attributes[name], a?.attributes[name]);
  return changes;
}

/**
 * Values are equal by type and content: dates by time value, lists as sets of strings (a feed
 * that reorders a list has not changed it), numbers with Object.is (NaN equals NaN).
 */
export function sameValue(x: AttributeValue | undefined, y: AttributeValue | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  if (x instanceof Date || y instanceof Date) return x instanceof Date && y instanceof Date && sameTime(x, y);
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y)) return false;
    const xs = [...new Set(x as readonly string[])].sort(compareStrings);
    const ys = [...new Set(y as readonly string[])].sort(compareStrings);
    return xs.length === ys.length && xs.every((v, i) => v === ys[i]);
  }
  return typeof x === typeof y && Object.is(x, y);
}

function sameTime(x: Date | undefined, y: Date | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return Object.is(x.getTime(), y.getTime());
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Summaries: one short sentence each, for people.

/** `2026-11-03` for a midnight-UTC date, `2026-11-03 14:30 UTC` otherwise. */
function date(d: Date): string {
  if (Number.isNaN(d.getTime())) return 'an invalid date';
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

function valueText(v: AttributeValue | undefined): string {
  if (v === undefined) return '(none)';
  if (v instanceof Date) return date(v);
  if (Array.isArray(v)) return `[${(v as readonly string[]).join(', ')}]`;
  if (v === '') return '""';
  return String(v);
}

function changeText(before: AttributeValue | undefined, after: AttributeValue | undefined): string {
  return `${valueText(before)} → ${valueText(after)}`;
}

/** A short description of who it is: the department, else a non-human identity's kind. */
function portrait(i: Identity): string | undefined {
  const dept = i.attributes['department'];
  if (typeof dept === 'string' && dept !== '') return dept;
  return isNonHuman(i.kind) ? i.kind.replace(/_/g, ' ') : undefined;
}

function parenthesised(parts: readonly (string | undefined)[]): string {
  const kept = parts.filter((p): p is string => p !== undefined);
  return kept.length > 0 ? ` (${kept.join(', ')})` : '';
}

function joinedSummary(a: Identity, p: Phase): string {
  return `${a.id} joined${parenthesised([
    portrait(a),
    a.startDate ? `started ${date(a.startDate)}` : undefined,
    p === 'leave' ? 'on leave' : undefined,
  ])}`;
}

function preHireSummary(ctx: Context, a: Identity): string {
  const from = accessFrom(ctx, a);
  return `${a.id} will join${parenthesised([
    portrait(a),
    a.startDate ? `starts ${date(a.startDate)}` : 'no start date yet',
    from && ctx.preHireMs > 0 ? `access from ${date(from)}` : undefined,
  ])}`;
}

function rehireSummary(a: Identity, pre: boolean): string {
  return `${a.id} was rehired${parenthesised([
    portrait(a),
    pre && a.startDate ? `starts ${date(a.startDate)}` : undefined,
    a.status === 'leave' ? 'on leave' : undefined,
  ])}`;
}

function startDueSummary(ctx: Context, a: Identity, onlyFlipped: boolean): string {
  if (onlyFlipped) return `${a.id} started: status pre_hire → active`;
  if (!a.startDate) return `${a.id} started: status is now active`;
  const early = ctx.preHireMs > 0 && a.startDate.getTime() > ctx.now ? `, ${ctx.input.preHireDays} days ahead` : '';
  return `${a.id}: access is due (starts ${date(a.startDate)}${early})`;
}

function expirySummary(id: string, expires: Date, now: number): string {
  const ms = expires.getTime() - now;
  if (ms <= 0) return `${id}: credential expired on ${date(expires)}`;
  const days = Math.ceil(ms / DAY_MS);
  return `${id}: credential expires ${date(expires)} (in ${days} ${days === 1 ? 'day' : 'days'})`;
}

function moverSummary(
  id: string,
  changes: readonly AttributeChange[],
  g: { added: string[]; removed: string[] },
): string {
  const shown = changes.slice(0, 3).map((c) => `${c.field} ${changeText(c.before, c.after)}`);
  if (changes.length > 3) shown.push(`and ${changes.length - 3} more`);
  const parts: string[] = [];
  if (g.added.length > 0) parts.push(`gains ${g.added.length}`);
  if (g.removed.length > 0) parts.push(`loses ${g.removed.length}`);
  const total = g.removed.length > 0 ? g.removed.length : g.added.length;
  return `${id} moved: ${shown.join(', ')}; ${parts.join(', ')} ${total === 1 ? 'entitlement' : 'entitlements'}`;
}

/** The identity's end date when it has passed by `now`: the day a termination took effect. */
function endedBy(i: Identity, now: number): Date | undefined {
  const end = i.endDate;
  return end !== undefined && !Number.isNaN(end.getTime()) && end.getTime() <= now ? end : undefined;
}
