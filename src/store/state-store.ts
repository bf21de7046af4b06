import type { Denial, ReviewCampaign, ReviewDecision, ReviewItem } from '../model/review.js';
import type { NewCampaign, NewDenial, NewReviewItem } from './review-store.js';
import type { CredentialRotation, Custody } from '../model/custody.js';
import type { NewCustody } from './nhi-store.js';
import type { AuditRecord } from '../model/audit.js';
import type { AccessException } from '../model/exception.js';
import type { Identity } from '../model/identity.js';
import type { LifecycleEvent } from '../model/lifecycle.js';
import type { AuditEntry } from '../audit/audit-chain.js';
import type { Journal, JournalOperation } from '../executor/journal.js';
import type { Lease, LeaseClaim, LeaseOutcome } from './lease-store.js';

export interface StoredEvent extends LifecycleEvent {
  readonly seq: number;
  readonly importSeq: number;
}

export interface IdentityVersion {
  readonly id: string;
  readonly version: number;
  readonly source: string;
  /** Undefined when the identity left the feed at this version. */
  readonly identity?: Identity;
  readonly recordedAt: Date;
  readonly importSeq: number;
}

export interface ImportRecord {
  readonly seq: number;
  readonly source: string;
  readonly asOf: Date;
  readonly startedAt: Date;
  readonly rows: number;
  readonly events: number;
  /** `applied`, `stopped` (a guardrail held it back) ... */
  readonly outcome: string;
  readonly detail: string;
}

export interface SourceState {
  readonly source: string;
  readonly lastAsOf: Date;
  readonly lastImport: number;
  /** SHA-256 of the feed file as last imported: plans say when the file changed since. */
  readonly feedHash?: string;
}

export type NewException = Omit<AccessException, 'id' | 'revokedAt' | 'revokedBy' | 'revokeReason'>;

/** A person's approval of something a guardrail stopped: `leavers` for a source's import. */
export interface Approval {
  readonly id: number;
  readonly kind: 'leavers' | 'deprovision';
  /** What it applies to: `source:hr`, `target:directory`. */
  readonly scope: string;
  /** How many (leavers) it allows. */
  readonly amount: number;
  readonly reason: string;
  readonly approvedBy: string;
  readonly createdAt: Date;
  /** The import that used it; an approval is used once. */
  readonly usedByImport?: number;
}

export interface EventFilter {
  readonly since?: Date;
  readonly identity?: string;
  readonly limit?: number;
}

/** What a writer may do while it holds the store's write lock; everything commits together. */
export interface StoreWriter {
  /** Reads inside the lock see exactly what this writer will change. */
  identities(source?: string): Promise<Identity[]>;
  sourceState(source: string): Promise<SourceState | undefined>;
  /** Replaces a source's snapshot: new and changed identities get a new version, missing ones a tombstone. Returns how many changed. */
  replaceSnapshot(
    source: string,
    identities: readonly Identity[],
    importSeq: number,
    at: Date,
  ): Promise<{ changed: number; removed: number }>;
  beginImport(source: string, asOf: Date, startedAt: Date, rows: number): Promise<number>;
  finishImport(seq: number, events: number, outcome: string, detail: string): Promise<void>;
  setSourceState(state: SourceState): Promise<void>;
  appendEvents(events: readonly LifecycleEvent[], importSeq: number): Promise<void>;
  /** Appends to the hash-chained audit log, after its last record. */
  audit(entries: readonly AuditEntry[]): Promise<void>;
  exceptions(identity?: string): Promise<AccessException[]>;
  addException(e: NewException): Promise<number>;
  revokeException(id: number, at: Date, by: string, reason: string): Promise<void>;
  approvals(kind: Approval['kind'], scope: string): Promise<Approval[]>;
  addApproval(a: Omit<Approval, 'id' | 'usedByImport'>): Promise<number>;
  useApproval(id: number, importSeq: number): Promise<void>;
  campaigns(id?: number): Promise<ReviewCampaign[]>;
  reviewItems(filter: { campaign?: number; id?: number }): Promise<ReviewItem[]>;
  /** Creates an open campaign with its items; returns its number. */
  addCampaign(c: NewCampaign, items: readonly NewReviewItem[]): Promise<number>;
  decideItems(
    decisions: readonly { item: number; decision: ReviewDecision; comment: string; at: Date; by: string }[],
  ): Promise<void>;
  closeCampaign(id: number, at: Date, by: string): Promise<void>;
  addDenials(denials: readonly NewDenial[]): Promise<void>;
  custody(nhi?: string): Promise<Custody[]>;
  addCustody(c: NewCustody): Promise<number>;
  confirmCustody(id: number, by: string, at: Date): Promise<void>;
  addRotations(rotations: readonly CredentialRotation[]): Promise<void>;
}

/**
 * The state store contract: one implementation through Kysely, on SQLite (embedded default) and
 * PostgreSQL. Reads may run any time; writes run inside `write`, which holds the store's write
 * lock so two Tenure processes never interleave their changes.
 */
export interface StateStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where it is, with any password removed: for messages. */
  readonly location: string;
  schemaVersion(): Promise<string>;
  identities(source?: string): Promise<Identity[]>;
  identityHistory(id: string): Promise<IdentityVersion[]>;
  sourceState(source: string): Promise<SourceState | undefined>;
  imports(limit?: number): Promise<ImportRecord[]>;
  events(filter?: EventFilter): Promise<StoredEvent[]>;
  auditRecords(since?: Date): Promise<AuditRecord[]>;
  /** Every exception, active or not, oldest first; of one identity when given. */
  exceptions(identity?: string): Promise<AccessException[]>;
  /** Approvals of a kind and scope, unused ones included, oldest first. */
  approvals(kind: Approval['kind'], scope: string): Promise<Approval[]>;
  /** Access-review campaigns, oldest first (one when `id` is given). */
  campaigns(id?: number): Promise<ReviewCampaign[]>;
  reviewItems(filter: { campaign?: number; id?: number }): Promise<ReviewItem[]>;
  /** Every denial (revokes that stick), lifted ones included, oldest first; of one identity when given. */
  denials(identity?: string): Promise<Denial[]>;
  /** Custody records of non-human identities whose owner left, oldest first. */
  custody(nhi?: string): Promise<Custody[]>;
  /** Credentials Tenure rotated or revoked, oldest first. */
  rotations(): Promise<CredentialRotation[]>;
  /** A plan's journalled operations (none when it was never begun). */
  planOperations(plan: string): Promise<JournalOperation[]>;
  /**
   * The durable operation journal of the executor, each mark its own committed transaction with
   * its effects. Given the leases the writer holds, every mark first checks that they are still
   * held under their fences and fails with StoreError `lease_lost` when not.
   */
  journal(leases?: readonly { readonly name: string; readonly fence: number }[]): Journal;
  /** Takes a lease (see lease-store.ts) in its own transaction. */
  acquireLease(claim: LeaseClaim, takeOver: (current: Lease) => boolean): Promise<LeaseOutcome>;
  renewLease(name: string, fence: number, until: Date): Promise<boolean>;
  releaseLease(name: string, fence: number): Promise<void>;
  /**
   * Runs `f` holding the write lock, in one transaction. Waits up to `waitMs` for another writer
   * to finish, then fails with StoreBusyError.
   */
  write<T>(f: (w: StoreWriter) => Promise<T>, options?: { readonly waitMs?: number }): Promise<T>;
  close(): Promise<void>;
}

/** A problem with the store a user must act on (unreachable, locked, too new). */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: 'unreachable' | 'busy' | 'too_new' | 'invalid_location' | 'corrupt' | 'lease_lost',
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
