import type { AuditEntry } from '../audit/audit-chain.js';
import type { AccessException } from '../model/exception.js';
import type { Denial } from '../model/review.js';
import type { LifecycleEvent } from '../model/lifecycle.js';
import type { CredentialRotation, Custody } from '../model/custody.js';
import type { PlanLifecycle } from '../plan/compute-plan.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { importedSnapshots, type ImportedSnapshot } from './planning-identities.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { TamperedRow } from '../store/state-store.js';
import type { Workspace } from './workspace.js';

/** Governed rows that still match their audit records, and a critical diagnostic for each that does not. */
export interface StoredGovernance {
  readonly exceptions: AccessException[];
  readonly denials: Denial[];
  readonly custody: Custody[];
  readonly rotations: CredentialRotation[];
  readonly tampered: readonly Diagnostic[];
}

/**
 * Exceptions, denials, custody and rotations from one opening of the store (none without a
 * store). An edited row is left out and said, so no reading of the store honours it silently.
 */
export function storedGovernance(ws: Workspace): Promise<StoredGovernance> {
  const none: StoredGovernance = { exceptions: [], denials: [], custody: [], rotations: [], tampered: [] };
  return ws.ifStored(none, async (store) => {
    const trusted = await store.trustedGovernedState();
    return { ...trusted, tampered: tamperedDiagnostics(trusted.tampered) };
  });
}

export interface StoredPlanInputs {
  readonly exceptions: AccessException[];
  readonly denials: Denial[];
  /** Absent without a store: the planner then takes end dates for departures and applies no mover grace. */
  readonly lifecycle?: PlanLifecycle;
  readonly custody: Custody[];
  readonly rotations: CredentialRotation[];
  /** Each imported source's snapshot: what plans work from. */
  readonly snapshots: ReadonlyMap<string, ImportedSnapshot>;
  /**
   * Every identity id an import has let in, leavers included (the store's identity history).
   * Empty without a store: then only the identities in the feeds are known.
   */
  readonly imported: ReadonlySet<string>;
  /** Governed rows that do not match their audit records: left out, each a critical diagnostic. */
  readonly tampered: readonly Diagnostic[];
}

/** Everything recorded that a plan reads, from one opening of the store (nothing without one). */
export function storedPlanInputs(ws: Workspace, loaded: LoadedPolicy): Promise<StoredPlanInputs> {
  const none: StoredPlanInputs = {
    exceptions: [],
    denials: [],
    custody: [],
    rotations: [],
    snapshots: new Map(),
    imported: new Set(),
    tampered: [],
  };
  return ws.ifStored(none, async (store): Promise<StoredPlanInputs> => {
    // Only rows that match their audit records count: an exception edited in the database never grants.
    const trusted = await store.trustedGovernedState();
    return {
      exceptions: trusted.exceptions,
      denials: trusted.denials,
      lifecycle: lifecycleOf(await store.events()),
      custody: trusted.custody,
      rotations: trusted.rotations,
      snapshots: await importedSnapshots(store, loaded),
      imported: await store.importedIdentityIds(),
      tampered: tamperedDiagnostics(trusted.tampered),
    };
  });
}

/** Tampered governed rows as critical diagnostics: what plan, apply and why say about them. */
export function tamperedDiagnostics(rows: readonly TamperedRow[]): Diagnostic[] {
  return rows.map((r) => ({
    severity: 'error' as const,
    code: 'audit.tampered_row',
    message: `CRITICAL: ${r.table} #${r.id} does not match the audit log (${r.problem}); it is ignored`,
    hint: 'run tenure audit verify, find who changed the store, and restore the row or record the change through Tenure',
    subject: `${r.table}:${r.id}`,
  }));
}

/**
 * When each identity left and its latest move, from the recorded lifecycle events: what the
 * planner needs for the leaver rules (delete after N days, mover grace).
 */
export function lifecycleOf(events: readonly LifecycleEvent[]): PlanLifecycle {
  const left = new Map<string, Date>();
  const recorded = new Map<string, Date>();
  const moved = new Map<string, { at: Date; grantsRemoved: readonly string[] }>();
  for (const e of events) {
    // Events come oldest first: a later one replaces an earlier one; a rehire clears a departure.
    // The clock counts from the end date the source gave (the event's effective date), else the import.
    if (e.kind === 'leaver' || e.kind === 'end_date_reached') {
      left.set(e.identity, e.effective ?? e.at);
      recorded.set(e.identity, e.at);
    } else if (e.kind === 'rehire' || e.kind === 'joiner') {
      left.delete(e.identity);
      recorded.delete(e.identity);
    }
    if (e.kind === 'mover') moved.set(e.identity, { at: e.at, grantsRemoved: e.grantsRemoved });
  }
  return {
    leftAt: (id) => left.get(id),
    leaveRecordedAt: (id) => recorded.get(id),
    lastMove: (id) => moved.get(id),
  };
}

/** Appends an audit record when a store exists; commands that work without one stay store-free. */
export async function auditIfStored(ws: Workspace, entry: AuditEntry): Promise<void> {
  if (ws.hasStore()) await ws.withStore('write', (store, waitMs) => store.write((w) => w.audit([entry]), { waitMs }));
}
