import type { Identity } from '../model/identity.js';

export interface StartDateMoveInput {
  /** The stored snapshot of one source, as last imported, and when it was imported. */
  readonly previous: readonly Identity[];
  readonly previousAsOf?: Date;
  /** The new feed of the same source. */
  readonly current: readonly Identity[];
  readonly asOf: Date;
  /** Desired entitlement ids of an identity at a time (the engine, injected; pure). */
  readonly grantsOf: (identity: Identity, asOf: Date) => readonly string[];
}

/** An identity whose new start date would take away access it holds: kept as stored until approved. */
export interface StartDateHold {
  readonly identity: string;
  readonly source: string;
  /** Absent when the stored record had no start date. */
  readonly startBefore?: Date;
  readonly startAfter: Date;
  /** Entitlements it holds now and would lose with the new start date, sorted. */
  readonly grants: readonly string[];
  /** For people: "E1042: start date moved 2021-03-01 → 2031-03-01 while active; ...". */
  readonly summary: string;
}

/**
 * Active identities that hold access and whose start date the feed moves into the future. An
 * HR typo (2031 for 2021) would otherwise turn a working person back into a pre-hire and the next
 * plan would take their access away; like a mass leaver, such a change waits for a person.
 * Found when the stored identity is active with a start date (if any) that had come, and held
 * access at the previous import; the new record is active or pre-hire with another start date
 * after `asOf`; and with it the identity would lose at least one entitlement. Pure.
 */
export function startDateMovedToFuture(input: StartDateMoveInput): StartDateHold[] {
  const then = input.previousAsOf ?? input.asOf;
  const now = input.asOf.getTime();
  // Few identities start in the future: the previous records are indexed only when one does.
  let before: Map<string, Identity> | undefined;
  const holds: StartDateHold[] = [];
  for (const a of input.current) {
    const start = a.startDate;
    if (!start || start.getTime() <= now || (a.status !== 'active' && a.status !== 'pre_hire')) continue;
    const b = (before ??= new Map(input.previous.map((i) => [i.id, i]))).get(a.id);
    if (!b || b.status !== 'active' || start.getTime() === b.startDate?.getTime()) continue;
    if (b.startDate && b.startDate.getTime() > then.getTime()) continue; // it had not started either
    const after = new Set(input.grantsOf(a, input.asOf));
    const lost = input.grantsOf(b, then).filter((g) => !after.has(g));
    if (lost.length === 0) continue; // access due before the start date still covers it
    const sorted = [...lost].sort();
    holds.push({
      identity: a.id,
      source: a.source,
      ...(b.startDate ? { startBefore: b.startDate } : {}),
      startAfter: start,
      grants: sorted,
      summary:
        `${a.id}: start date ${b.startDate ? `moved ${day(b.startDate)} → ${day(start)}` : `set to ${day(start)}`} ` +
        `while active; ${sorted.length === 1 ? '1 entitlement is' : `${sorted.length} entitlements are`} kept until a person approves the change`,
    });
  }
  return holds.sort((x, y) => (x.identity < y.identity ? -1 : x.identity > y.identity ? 1 : 0));
}

/**
 * The feed to record when some holds are not approved: each held identity stays as stored, so
 * its access stays and the next import finds the same move again; every other record is the
 * feed's. `approved` names the identities a person has let through.
 */
export function admitStartDateMoves(
  current: readonly Identity[],
  previous: readonly Identity[],
  holds: readonly StartDateHold[],
  approved: ReadonlySet<string> = new Set(),
): { admitted: Identity[]; held: StartDateHold[] } {
  const held = holds.filter((h) => !approved.has(h.identity));
  if (held.length === 0) return { admitted: [...current], held };
  const keep = new Set(held.map((h) => h.identity));
  const stored = new Map(previous.filter((i) => keep.has(i.id)).map((i) => [i.id, i]));
  return { admitted: current.map((i) => stored.get(i.id) ?? i), held };
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
