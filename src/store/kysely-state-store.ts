import { sql, type Kysely, type Transaction } from 'kysely';
import { chain, type AuditEntry } from '../audit/audit-chain.js';
import { canonicalJson, parseCanonicalJson } from '../audit/canonical-json.js';
import type { Denial, ReviewCampaign, ReviewDecision, ReviewItem } from '../model/review.js';
import type { CredentialRotation, Custody } from '../model/custody.js';
import {
  confirmCustody,
  insertCustody,
  insertRotations,
  readCustody,
  readRotations,
  type NewCustody,
} from './nhi-store.js';
import {
  insertCampaign,
  insertDenials,
  markCampaignClosed,
  readCampaigns,
  readDenials,
  readReviewItems,
  recordDecisions,
  type NewCampaign,
  type NewDenial,
  type NewReviewItem,
} from './review-store.js';
import type { AuditRecord } from '../model/audit.js';
import type { Identity } from '../model/identity.js';
import type { LifecycleEvent } from '../model/lifecycle.js';
import { bulkInsert } from './bulk-insert.js';
import {
  acquireLease,
  lostLeases,
  releaseLease,
  renewLease,
  type Lease,
  type LeaseClaim,
  type LeaseOutcome,
} from './lease-store.js';
import type { Journal, JournalOperation, OperationState } from '../executor/journal.js';
import type { Change } from '../model/plan.js';
import type { Database } from './schema.js';
import type { AccessException } from '../model/exception.js';
import {
  StoreError,
  type Approval,
  type NewException,
  type EventFilter,
  type IdentityVersion,
  type ImportRecord,
  type SourceState,
  type StateStore,
  type StoreWriter,
  type StoredEvent,
} from './state-store.js';

/** Rows per INSERT: far below SQLite's and PostgreSQL's bound-parameter limits. */
const BATCH = 400;
/** The PostgreSQL advisory lock every Tenure writer takes (an arbitrary constant: "TENU"). */
const WRITE_LOCK = 0x54454e55;

type Db = Kysely<Database>;

/** The state store through Kysely: one code path for SQLite and PostgreSQL. */
export class KyselyStateStore implements StateStore {
  constructor(
    private readonly db: Db,
    readonly dialect: 'sqlite' | 'postgres',
    readonly location: string,
    /** How long a writer waits for another by default. */
    private readonly defaultWaitMs = 10_000,
  ) {}

  async schemaVersion(): Promise<string> {
    const rows = await sql<{ name: string }>`select name from tenure_migrations order by name`.execute(this.db);
    return rows.rows.at(-1)?.name ?? 'none';
  }

  identities(source?: string): Promise<Identity[]> {
    return readIdentities(this.db, source);
  }

  async identityHistory(id: string): Promise<IdentityVersion[]> {
    const rows = await this.db
      .selectFrom('identity_versions')
      .selectAll()
      .where('id', '=', id)
      .orderBy('version')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      version: Number(r.version),
      source: r.source,
      ...(r.data !== null ? { identity: parseCanonicalJson<Identity>(r.data) } : {}),
      recordedAt: new Date(r.recorded_at),
      importSeq: Number(r.import_seq),
    }));
  }

  sourceState(source: string): Promise<SourceState | undefined> {
    return readSourceState(this.db, source);
  }

  async imports(limit = 20): Promise<ImportRecord[]> {
    const rows = await this.db.selectFrom('imports').selectAll().orderBy('seq', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      source: r.source,
      asOf: new Date(r.as_of),
      startedAt: new Date(r.started_at),
      rows: Number(r.rows),
      events: Number(r.events),
      outcome: r.outcome,
      detail: r.detail,
    }));
  }

  async events(filter: EventFilter = {}): Promise<StoredEvent[]> {
    let q = this.db.selectFrom('events').selectAll().orderBy('seq');
    if (filter.since) q = q.where('at', '>=', filter.since.toISOString());
    if (filter.identity !== undefined) q = q.where('identity', '=', filter.identity);
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return (await q.execute()).map((r) => ({
      ...parseCanonicalJson<LifecycleEvent>(r.data),
      seq: Number(r.seq),
      importSeq: Number(r.import_seq),
    }));
  }

  async auditRecords(since?: Date): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('seq');
    if (since) q = q.where('at', '>=', since.toISOString());
    return (await q.execute()).map(toAuditRecord);
  }

  exceptions(identity?: string): Promise<AccessException[]> {
    return readExceptions(this.db, identity);
  }

  approvals(kind: Approval['kind'], scope: string): Promise<Approval[]> {
    return readApprovals(this.db, kind, scope);
  }

  campaigns(id?: number): Promise<ReviewCampaign[]> {
    return readCampaigns(this.db, id);
  }

  reviewItems(filter: { campaign?: number; id?: number }): Promise<ReviewItem[]> {
    return readReviewItems(this.db, filter);
  }

  denials(identity?: string): Promise<Denial[]> {
    return readDenials(this.db, identity);
  }

  custody(nhi?: string): Promise<Custody[]> {
    return readCustody(this.db, nhi);
  }

  rotations(): Promise<CredentialRotation[]> {
    return readRotations(this.db);
  }

  planOperations(plan: string): Promise<JournalOperation[]> {
    return new Writer(this.db, this.dialect).operations(plan);
  }

  journal(leases: readonly { readonly name: string; readonly fence: number }[] = []): Journal {
    // A writer that lost a lease must not write: checked inside each transaction that writes.
    const fenced = async (w: Writer): Promise<void> => {
      const lost = await lostLeases(w.db, leases);
      if (lost.length > 0)
        throw new StoreError(
          `this apply lost its lease on ${lost.join(', ')} to another process; it stops without writing`,
          'lease_lost',
          'the other process carries on; run tenure apply again once it has finished',
        );
    };
    return {
      begin: (plan, changes) =>
        this.write(async (writer) => {
          const w = writer as Writer;
          await fenced(w);
          const rows = await w.operations(plan);
          if (rows.length > 0) return rows;
          const now = new Date().toISOString();
          // Older plans' unfinished operations on these targets will never run as written: this plan replaces them.
          const targets = [...new Set(changes.map((c) => c.target))];
          if (targets.length > 0)
            await w.db
              .updateTable('operations')
              .set({ state: 'superseded', updated_at: now })
              .where('plan', '!=', plan)
              .where('target', 'in', targets)
              .where('state', 'in', ['pending', 'running', 'failed'])
              .execute();
          await bulkInsert(
            w.db,
            this.dialect,
            'operations',
            changes.map((c, seq) => ({
              plan,
              seq,
              change: canonicalJson(c),
              target: c.target,
              action: c.action,
              identity: c.identity ?? null,
              account: c.account,
              entitlement: c.entitlement ?? null,
              state: 'pending',
              attempts: 0,
              last_error: null,
              updated_at: now,
            })),
          );
          return w.operations(plan);
        }),
      mark: (id, state, attempts, error, effects) =>
        this.write(async (writer) => {
          const w = writer as Writer;
          await fenced(w);
          await w.db
            .updateTable('operations')
            .set({ state, attempts, last_error: error ?? null, updated_at: new Date().toISOString() })
            .where('id', '=', id)
            .execute();
          if (effects?.rotations && effects.rotations.length > 0) await w.addRotations(effects.rotations);
          if (effects?.audit && effects.audit.length > 0) await w.audit(effects.audit);
        }),
    };
  }

  acquireLease(claim: LeaseClaim, takeOver: (current: Lease) => boolean): Promise<LeaseOutcome> {
    return this.write((w) => acquireLease((w as Writer).db, claim, takeOver));
  }

  renewLease(name: string, fence: number, until: Date): Promise<boolean> {
    return this.write((w) => renewLease((w as Writer).db, name, fence, until));
  }

  releaseLease(name: string, fence: number): Promise<void> {
    return this.write((w) => releaseLease((w as Writer).db, name, fence));
  }

  async write<T>(f: (w: StoreWriter) => Promise<T>, options: { readonly waitMs?: number } = {}): Promise<T> {
    const waitMs = options.waitMs ?? this.defaultWaitMs;
    if (this.dialect === 'postgres') {
      return this.db.transaction().execute(async (trx) => {
        // lock_timeout bounds the wait for the advisory lock as for any other lock.
        await sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(waitMs))}`).execute(trx);
        try {
          await sql`select pg_advisory_xact_lock(${WRITE_LOCK})`.execute(trx);
        } catch (e) {
          if ((e as { code?: string }).code === '55P03') throw this.busy(waitMs);
          throw e;
        }
        return f(new Writer(trx, 'postgres'));
      });
    }
    // SQLite: BEGIN IMMEDIATE takes the database's write lock now, waiting up to the busy timeout.
    return this.db.connection().execute(async (conn) => {
      await sql.raw(`pragma busy_timeout = ${Math.max(0, Math.floor(waitMs))}`).execute(conn);
      try {
        await sql`begin immediate`.execute(conn);
      } catch (e) {
        if (/SQLITE_BUSY|database is locked/i.test(String((e as { code?: string }).code ?? (e as Error).message)))
          throw this.busy(waitMs);
        throw e;
      }
      try {
        const result = await f(new Writer(conn, 'sqlite'));
        await sql`commit`.execute(conn);
        return result;
      } catch (e) {
        await sql`rollback`.execute(conn);
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private busy(waitMs: number): StoreError {
    return new StoreError(
      `another Tenure process is changing the state at ${this.location}; waited ${Math.round(waitMs / 1000)} s for it to finish`,
      'busy',
      'run the command again when the other one has finished (tenure status shows the last import)',
    );
  }
}

/** Writes inside one transaction that holds the write lock. */
class Writer implements StoreWriter {
  constructor(
    readonly db: Db | Transaction<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  identities(source?: string): Promise<Identity[]> {
    return readIdentities(this.db, source);
  }

  async operations(plan: string): Promise<JournalOperation[]> {
    const rows = await this.db.selectFrom('operations').selectAll().where('plan', '=', plan).orderBy('seq').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      seq: Number(r.seq),
      change: parseCanonicalJson<Change>(r.change),
      state: r.state as OperationState,
      attempts: Number(r.attempts),
      ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    }));
  }

  sourceState(source: string): Promise<SourceState | undefined> {
    return readSourceState(this.db, source);
  }

  async replaceSnapshot(
    source: string,
    identities: readonly Identity[],
    importSeq: number,
    at: Date,
  ): Promise<{ changed: number; removed: number }> {
    const existing = new Map<string, { version: number; data: string }>();
    for (const r of await this.db
      .selectFrom('identities as i')
      .innerJoin('identity_versions as v', (j) => j.onRef('v.id', '=', 'i.id').onRef('v.version', '=', 'i.version'))
      .select(['i.id', 'i.version', 'v.data'])
      .where('i.source', '=', source)
      .execute()) {
      existing.set(r.id, { version: Number(r.version), data: r.data ?? '' });
    }
    const when = at.toISOString();
    const returning = await this.lastVersions(identities.filter((i) => !existing.has(i.id)).map((i) => i.id));
    const upserts: Database['identities'][] = [];
    const versions: Database['identity_versions'][] = [];
    for (const identity of identities) {
      const data = canonicalJson(identity);
      const before = existing.get(identity.id);
      existing.delete(identity.id);
      if (before?.data === data) continue;
      const version = (before?.version ?? returning.get(identity.id) ?? 0) + 1;
      upserts.push({ id: identity.id, source, version, status: identity.status, updated_at: when });
      versions.push({ id: identity.id, version, source, data, recorded_at: when, import_seq: importSeq });
    }
    // What is left was in the stored snapshot and is gone from the feed: a tombstone version.
    const removed = [...existing.entries()];
    for (const [id, before] of removed)
      versions.push({ id, version: before.version + 1, source, data: null, recorded_at: when, import_seq: importSeq });
    await bulkInsert(this.db, this.dialect, 'identities', upserts, 'id');
    for (let i = 0; i < removed.length; i += BATCH) {
      await this.db
        .deleteFrom('identities')
        .where(
          'id',
          'in',
          removed.slice(i, i + BATCH).map(([id]) => id),
        )
        .execute();
    }
    await bulkInsert(this.db, this.dialect, 'identity_versions', versions);
    return { changed: upserts.length, removed: removed.length };
  }

  /** Last versions of ids with a history but no current row: a returning identity continues its history. */
  private async lastVersions(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < ids.length; i += BATCH) {
      const rows = await this.db
        .selectFrom('identity_versions')
        .select((eb) => ['id', eb.fn.max('version').as('v')])
        .where('id', 'in', ids.slice(i, i + BATCH))
        .groupBy('id')
        .execute();
      for (const r of rows) out.set(r.id, Number(r.v));
    }
    return out;
  }

  exceptions(identity?: string): Promise<AccessException[]> {
    return readExceptions(this.db, identity);
  }

  async addException(e: NewException): Promise<number> {
    const r = await this.db
      .insertInto('exceptions')
      .values({
        identity: e.identity,
        entitlement: e.entitlement,
        reason: e.reason,
        approver: e.approver,
        granted_by: e.grantedBy,
        valid_from: e.from.toISOString(),
        valid_until: e.until.toISOString(),
        revoked_at: null,
        revoked_by: null,
        revoke_reason: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async revokeException(id: number, at: Date, by: string, reason: string): Promise<void> {
    await this.db
      .updateTable('exceptions')
      .set({ revoked_at: at.toISOString(), revoked_by: by, revoke_reason: reason })
      .where('id', '=', id)
      .execute();
  }

  approvals(kind: Approval['kind'], scope: string): Promise<Approval[]> {
    return readApprovals(this.db, kind, scope);
  }

  async addApproval(a: Omit<Approval, 'id' | 'usedByImport'>): Promise<number> {
    const r = await this.db
      .insertInto('approvals')
      .values({
        kind: a.kind,
        scope: a.scope,
        amount: a.amount,
        reason: a.reason,
        approved_by: a.approvedBy,
        created_at: a.createdAt.toISOString(),
        used_by_import: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async useApproval(id: number, importSeq: number): Promise<void> {
    await this.db.updateTable('approvals').set({ used_by_import: importSeq }).where('id', '=', id).execute();
  }

  campaigns(id?: number): Promise<ReviewCampaign[]> {
    return readCampaigns(this.db, id);
  }

  reviewItems(filter: { campaign?: number; id?: number }): Promise<ReviewItem[]> {
    return readReviewItems(this.db, filter);
  }

  addCampaign(c: NewCampaign, items: readonly NewReviewItem[]): Promise<number> {
    return insertCampaign(this.db, this.dialect, c, items);
  }

  decideItems(
    decisions: readonly { item: number; decision: ReviewDecision; comment: string; at: Date; by: string }[],
  ): Promise<void> {
    return recordDecisions(this.db, decisions);
  }

  closeCampaign(id: number, at: Date, by: string): Promise<void> {
    return markCampaignClosed(this.db, id, at, by);
  }

  addDenials(denials: readonly NewDenial[]): Promise<void> {
    return insertDenials(this.db, this.dialect, denials);
  }

  custody(nhi?: string): Promise<Custody[]> {
    return readCustody(this.db, nhi);
  }

  addCustody(c: NewCustody): Promise<number> {
    return insertCustody(this.db, c);
  }

  confirmCustody(id: number, by: string, at: Date): Promise<void> {
    return confirmCustody(this.db, id, by, at);
  }

  addRotations(rotations: readonly CredentialRotation[]): Promise<void> {
    return insertRotations(this.db, rotations);
  }

  async beginImport(source: string, asOf: Date, startedAt: Date, rows: number): Promise<number> {
    const r = await this.db
      .insertInto('imports')
      .values({
        source,
        as_of: asOf.toISOString(),
        started_at: startedAt.toISOString(),
        rows,
        events: 0,
        outcome: 'running',
        detail: '',
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(r.seq);
  }

  async finishImport(seq: number, events: number, outcome: string, detail: string): Promise<void> {
    await this.db.updateTable('imports').set({ events, outcome, detail }).where('seq', '=', seq).execute();
  }

  async setSourceState(state: SourceState): Promise<void> {
    await this.db
      .insertInto('source_state')
      .values({
        source: state.source,
        last_as_of: state.lastAsOf.toISOString(),
        last_import: state.lastImport,
        feed_hash: state.feedHash ?? null,
      })
      .onConflict((oc) =>
        oc.column('source').doUpdateSet((eb) => ({
          last_as_of: eb.ref('excluded.last_as_of'),
          last_import: eb.ref('excluded.last_import'),
          feed_hash: eb.ref('excluded.feed_hash'),
        })),
      )
      .execute();
  }

  async appendEvents(events: readonly LifecycleEvent[], importSeq: number): Promise<void> {
    const rows = events.map((e) => ({
      import_seq: importSeq,
      kind: e.kind,
      identity: e.identity,
      source: e.source,
      at: e.at.toISOString(),
      effective: e.effective?.toISOString() ?? null,
      data: canonicalJson(e),
    }));
    await bulkInsert(this.db, this.dialect, 'events', rows);
  }

  async audit(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const last = await this.db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const records = chain(last && { seq: Number(last.seq), hash: last.hash }, entries);
    const rows = records.map((r) => ({
      seq: r.seq,
      at: r.at.toISOString(),
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      reason: r.reason,
      details: r.detailsJson,
      previous_hash: r.previousHash,
      hash: r.hash,
    }));
    await bulkInsert(this.db, this.dialect, 'audit_log', rows);
  }
}

async function readIdentities(db: Db, source?: string): Promise<Identity[]> {
  // The current version's data lives once, in identity_versions.
  let q = db
    .selectFrom('identities as i')
    .innerJoin('identity_versions as v', (j) => j.onRef('v.id', '=', 'i.id').onRef('v.version', '=', 'i.version'))
    .select(['v.data'])
    .orderBy('i.id');
  if (source !== undefined) q = q.where('i.source', '=', source);
  return (await q.execute()).map((r) => parseCanonicalJson<Identity>(r.data!));
}

async function readSourceState(db: Db, source: string): Promise<SourceState | undefined> {
  const r = await db.selectFrom('source_state').selectAll().where('source', '=', source).executeTakeFirst();
  return (
    r && {
      source: r.source,
      lastAsOf: new Date(r.last_as_of),
      lastImport: Number(r.last_import),
      ...(r.feed_hash ? { feedHash: r.feed_hash } : {}),
    }
  );
}

async function readExceptions(db: Db, identity?: string): Promise<AccessException[]> {
  let q = db.selectFrom('exceptions').selectAll().orderBy('id');
  if (identity !== undefined) q = q.where('identity', '=', identity);
  return (await q.execute()).map((r) => ({
    id: Number(r.id),
    identity: r.identity,
    entitlement: r.entitlement,
    reason: r.reason,
    approver: r.approver,
    grantedBy: r.granted_by,
    from: new Date(r.valid_from),
    until: new Date(r.valid_until),
    ...(r.revoked_at !== null ? { revokedAt: new Date(r.revoked_at) } : {}),
    ...(r.revoked_by !== null ? { revokedBy: r.revoked_by } : {}),
    ...(r.revoke_reason !== null ? { revokeReason: r.revoke_reason } : {}),
  }));
}

async function readApprovals(db: Db, kind: Approval['kind'], scope: string): Promise<Approval[]> {
  const rows = await db
    .selectFrom('approvals')
    .selectAll()
    .where('kind', '=', kind)
    .where('scope', '=', scope)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind as Approval['kind'],
    scope: r.scope,
    amount: Number(r.amount),
    reason: r.reason,
    approvedBy: r.approved_by,
    createdAt: new Date(r.created_at),
    ...(r.used_by_import !== null ? { usedByImport: Number(r.used_by_import) } : {}),
  }));
}

function toAuditRecord(r: Database['audit_log']): AuditRecord {
  return {
    seq: Number(r.seq),
    at: new Date(r.at),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    reason: r.reason,
    details: parseCanonicalJson<Record<string, unknown>>(r.details),
    previousHash: r.previous_hash,
    hash: r.hash,
  };
}
