import type { Denial, ReviewCampaign, ReviewDecision, ReviewItem } from '../model/review.js';
import type { NewCampaign, NewDenial, NewReviewItem } from './review-store.js';
import type { CredentialRotation, Custody } from '../model/custody.js';
import type { NewCustody } from './nhi-store.js';
import type { AuditRecord } from '../model/audit.js';
import type { AccessException } from '../model/exception.js';
import type { AccountLink } from '../model/actual-state.js';
import type { Identity } from '../model/identity.js';
import type { LifecycleEvent } from '../model/lifecycle.js';
import type { AuditEntry, ChainHead } from '../audit/audit-chain.js';
import type { GovernedRow, GovernedTable } from './governed-rows.js';
import type { Journal, JournalOperation } from '../executor/journal.js';
import type { Lease, LeaseClaim, LeaseOutcome } from './lease-store.js';
import type { TargetDiscovery } from './discovery-store.js';
import type { ApiToken } from '../model/api-token.js';
import type { NewApiToken } from './token-store.js';
import type { ServiceInstance } from './instance-store.js';

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
  readonly kind: 'leavers' | 'deprovision' | 'start_date';
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

/**
 * Who changes a governed row, when and why: the store writes the row's audit record from it, in
 * the same transaction, so no caller can forget the record. `details` adds to what the store
 * records of the row itself.
 */
export interface AuditContext {
  readonly actor: string;
  readonly at: Date;
  readonly reason: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A governed row that does not match its audit record (or has none): left out of what is trusted. */
export interface TamperedRow {
  readonly table: GovernedTable;
  readonly id: number;
  /** In words, e.g. `its content differs from audit record 12 (exception.granted)`. */
  readonly problem: string;
}

/** Governed state whose every row matched its audit record; the rows that did not are in `tampered`. */
export interface TrustedGovernedState {
  readonly exceptions: AccessException[];
  readonly denials: Denial[];
  readonly custody: Custody[];
  readonly rotations: CredentialRotation[];
  readonly tampered: TamperedRow[];
}

/** What a writer may do while it holds the store's write lock; everything commits together. */
export interface StoreWriter {
  /** Reads inside the lock see exactly what this writer will change. */
  /** The source's identities (every source's without one), only those with these ids when given. */
  identities(source?: string, ids?: readonly string[]): Promise<Identity[]>;
  /** How many identities the source's snapshot holds now. */
  identityCount(source: string): Promise<number>;
  sourceState(source: string): Promise<SourceState | undefined>;
  /** Replaces a source's snapshot: new and changed identities get a new version, missing ones a tombstone. Returns how many changed. */
  replaceSnapshot(
    source: string,
    identities: readonly Identity[],
    importSeq: number,
    at: Date,
  ): Promise<{ changed: number; removed: number }>;
  /**
   * Changes some identities of a source's snapshot and leaves the rest (records pushed to it): a new version for each
   * of `upserts` that changed, a tombstone for each of `removals` stored. Returns how many of each.
   */
  patchSnapshot(
    source: string,
    upserts: readonly Identity[],
    removals: readonly string[],
    importSeq: number,
    at: Date,
  ): Promise<{ changed: number; removed: number }>;
  beginImport(source: string, asOf: Date, startedAt: Date, rows: number): Promise<number>;
  finishImport(seq: number, events: number, outcome: string, detail: string): Promise<void>;
  setSourceState(state: SourceState): Promise<void>;
  appendEvents(events: readonly LifecycleEvent[], importSeq: number): Promise<void>;
  /**
   * Appends to the hash-chained audit log, after its last record (keyed when the store has an
   * audit key). Governed rows are recorded by the methods that write them, not through this.
   */
  audit(entries: readonly AuditEntry[]): Promise<void>;
  /** Records the links Tenure keeps, with `entry` (the operation that made them) naming their rows. */
  linkAccounts(links: readonly AccountLink[], entry: AuditEntry): Promise<void>;
  exceptions(identity?: string): Promise<AccessException[]>;
  /** Records `exception.granted` (subject: the holder). */
  addException(e: NewException, audit: AuditContext): Promise<number>;
  /** Revoked at `audit.at` by `audit.actor` for `audit.reason`; records `exception.revoked`. */
  revokeException(id: number, audit: AuditContext): Promise<void>;
  approvals(kind: Approval['kind'], scope: string): Promise<Approval[]>;
  /** Approvals of a kind and scope that match their audit records (see StateStore.trustedApprovals). */
  trustedApprovals(kind: Approval['kind'], scope: string): Promise<{ approvals: Approval[]; tampered: TamperedRow[] }>;
  /** Records `approval.leavers` or `approval.deprovision` (subject: the scope). */
  addApproval(a: Omit<Approval, 'id' | 'usedByImport'>, audit: AuditContext): Promise<number>;
  /** Marks an approval used (by an import, or 0 for an apply); records `approval.used`. */
  useApproval(id: number, importSeq: number, audit: AuditContext): Promise<void>;
  campaigns(id?: number): Promise<ReviewCampaign[]>;
  reviewItems(filter: { campaign?: number; id?: number }): Promise<ReviewItem[]>;
  /** Creates an open campaign with its items; returns its number. Records `review.started` naming them all. */
  addCampaign(c: NewCampaign, items: readonly NewReviewItem[], audit: AuditContext): Promise<number>;
  /** Records `review.keep` / `review.revoke` per item (reason: its comment, else `audit.reason`). */
  decideItems(
    decisions: readonly { item: number; decision: ReviewDecision; comment: string; at: Date; by: string }[],
    audit: AuditContext,
  ): Promise<void>;
  /** Closed at `audit.at` by `audit.actor`; records `review.closed`. */
  closeCampaign(id: number, audit: AuditContext): Promise<void>;
  /** Records `denial.recorded` per denial (reason: the denial's). */
  addDenials(denials: readonly NewDenial[], audit: AuditContext): Promise<void>;
  custody(nhi?: string): Promise<Custody[]>;
  /** Records `nhi.custody_proposed`. */
  addCustody(c: NewCustody, audit: AuditContext): Promise<number>;
  /** `owner` takes the identity over at `audit.at`; records `nhi.custody_confirmed`. */
  confirmCustody(id: number, owner: string, audit: AuditContext): Promise<void>;
  /** Records `credential.rotated` per rotation. */
  addRotations(rotations: readonly CredentialRotation[], audit: AuditContext): Promise<void>;
  /** Replaces what `tenure targets check` last discovered of the target (the caller audits the check). */
  recordDiscovery(discovery: TargetDiscovery): Promise<void>;
  apiTokens(): Promise<ApiToken[]>;
  /** Records `token.created` (subject: `token:NAME`). A live token of that name already is a StoreError `conflict`. */
  addApiToken(t: NewApiToken, audit: AuditContext): Promise<number>;
  /** Revoked at `audit.at` by `audit.actor`; records `token.revoked`. */
  revokeApiToken(id: number, audit: AuditContext): Promise<void>;
  /** Inserts or replaces a running service's row (its loaded policy hash and heartbeat). */
  announceInstance(i: ServiceInstance): Promise<void>;
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
  /** Opened with `readOnly`: every write is refused. */
  readonly readOnly: boolean;
  /** The id of the audit key records are chained with (TENURE_AUDIT_KEY), if any. */
  readonly auditKeyId?: string;
  schemaVersion(): Promise<string>;
  identities(source?: string): Promise<Identity[]>;
  identityHistory(id: string): Promise<IdentityVersion[]>;
  /**
   * Every identity id an import has ever let in, current or since left (those with a history):
   * what a plan counts as known. An account linked to any other id is not Tenure's to manage.
   */
  importedIdentityIds(): Promise<Set<string>>;
  sourceState(source: string): Promise<SourceState | undefined>;
  imports(limit?: number): Promise<ImportRecord[]>;
  events(filter?: EventFilter): Promise<StoredEvent[]>;
  auditRecords(since?: Date): Promise<AuditRecord[]>;
  /** The last audit record's sequence number and hash; none for an empty log. */
  auditHead(): Promise<ChainHead | undefined>;
  /** Every governed row with its digest and audit pointer, for `audit verify`. */
  governedRows(): Promise<GovernedRow[]>;
  /**
   * The governed state plans may honour: each row's digest is compared with the audit record it
   * points at, and that record's own hash (HMAC when keyed) is recomputed; rows that fail are left
   * out and listed in `tampered`. Cheap (one record per row, no walk of the log); a row set back to
   * an earlier audited state of itself is found only by `audit verify`.
   */
  trustedGovernedState(): Promise<TrustedGovernedState>;
  /**
   * The links Tenure keeps for targets that hold none, checked against their audit records like governed rows: the
   * latest trusted row of each account; rows that do not match are left out and listed in `tampered`.
   */
  trustedAccountLinks(): Promise<{ links: AccountLink[]; tampered: TamperedRow[] }>;
  /** Approvals of a kind and scope checked the same way; a raised amount does not count. */
  trustedApprovals(kind: Approval['kind'], scope: string): Promise<{ approvals: Approval[]; tampered: TamperedRow[] }>;
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
  /** What `tenure targets check` last discovered of each target, by target. */
  targetDiscoveries(): Promise<TargetDiscovery[]>;
  /** API tokens, oldest first, revoked and expired ones included. */
  apiTokens(): Promise<ApiToken[]>;
  /**
   * The token whose secret has this SHA-256, the hash as stored, and whether its row matches its
   * audit record (a token inserted or widened in the database is not trusted).
   */
  apiTokenByHash(
    hash: string,
  ): Promise<{ token: ApiToken; hash: string; trusted: boolean; problem?: string } | undefined>;
  /**
   * Records a use of a token at `at` unless one at or after `notBefore` is recorded. Waits at most
   * `waitMs` for the write lock (0 by default) and says false when it could not: a use is not
   * worth waiting for.
   */
  touchApiToken(id: number, at: Date, notBefore: Date, options?: { readonly waitMs?: number }): Promise<boolean>;
  /** A plan's journalled operations (none when it was never begun). */
  planOperations(plan: string): Promise<JournalOperation[]>;
  /**
   * Operations on these targets that an apply attempted and never finished — `running` when its
   * process died, `failed` when it died between retries — of any plan, oldest first. Their change
   * may have landed: `tenure apply` looks for it in the targets before a new plan supersedes them.
   */
  interruptedOperations(targets: readonly string[]): Promise<(JournalOperation & { readonly plan: string })[]>;
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
  /** Running services whose heartbeat holds at `now` (instance-store.ts). */
  liveInstances(now: Date): Promise<ServiceInstance[]>;
  /** A service's heartbeat, in its own transaction waiting at most `waitMs` (0 by default). */
  announceInstance(i: ServiceInstance, options?: { readonly waitMs?: number }): Promise<void>;
  /** A service stopping: its row goes, with those whose heartbeat ended before `staleBefore`. */
  retireInstance(id: string, staleBefore: Date): Promise<void>;
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
    readonly code:
      | 'unreachable'
      | 'busy'
      | 'too_new'
      | 'too_old'
      | 'invalid_location'
      | 'corrupt'
      | 'read_only'
      | 'audit_key'
      | 'lease_lost'
      | 'conflict',
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
