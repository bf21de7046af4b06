import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { chain, type AuditEntry, type ChainHead, type ChainedRecord } from '../audit/audit-chain.js';
import type { AuditKey } from '../audit/audit-key.js';
import {
  GOVERNED_TABLES,
  readGovernedRows,
  type GovernedRow,
  type GovernedTable,
  type RowRef,
} from './governed-rows.js';
import { checkGovernedRows } from './trusted-rows.js';
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
import { insertLinks, readLinks } from './link-store.js';
import type { AccountLink } from '../model/actual-state.js';
import { readDiscoveries, recordDiscovery, type TargetDiscovery } from './discovery-store.js';
import type { ApiToken } from '../model/api-token.js';
import { announceInstance, liveInstances, retireInstance, type ServiceInstance } from './instance-store.js';
import {
  insertToken,
  markTokenRevoked,
  readTokenByHash,
  readTokens,
  touchToken,
  type NewApiToken,
} from './token-store.js';
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
  type AuditContext,
  type TamperedRow,
  type TrustedGovernedState,
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
    readonly readOnly = false,
    /** Chains new audit records with HMAC and checks keyed ones (TENURE_AUDIT_KEY). */
    private readonly auditKey?: AuditKey,
  ) {}

  get auditKeyId(): string | undefined {
    return this.auditKey?.id;
  }

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

  async importedIdentityIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('identity_versions').select('id').distinct().execute();
    return new Set(rows.map((r) => r.id));
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

  async auditHead(): Promise<ChainHead | undefined> {
    const r = await this.db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r && { seq: Number(r.seq), hash: r.hash };
  }

  async governedRows(): Promise<GovernedRow[]> {
    const out: GovernedRow[] = [];
    for (const table of GOVERNED_TABLES) out.push(...(await readGovernedRows(this.db, table)));
    return out;
  }

  async trustedGovernedState(): Promise<TrustedGovernedState> {
    const tampered: TamperedRow[] = [];
    const check = async (table: GovernedTable) => {
      const r = await checkGovernedRows(this.db, table, this.auditKey);
      tampered.push(...r.tampered);
      return r.trusted;
    };
    const exceptions = await check('exceptions');
    const denials = await check('denials');
    const custody = await check('nhi_custody');
    const rotations = await check('credential_rotations');
    return {
      exceptions: (await readExceptions(this.db)).filter((e) => exceptions.has(e.id)),
      denials: (await readDenials(this.db)).filter((d) => denials.has(d.id)),
      custody: (await readCustody(this.db)).filter((c) => custody.has(c.id)),
      rotations: (await readRotations(this.db, rotations)).map((r) => r.rotation),
      tampered,
    };
  }

  trustedApprovals(kind: Approval['kind'], scope: string): Promise<{ approvals: Approval[]; tampered: TamperedRow[] }> {
    return readTrustedApprovals(this.db, kind, scope, this.auditKey);
  }

  async trustedAccountLinks(): Promise<{ links: AccountLink[]; tampered: TamperedRow[] }> {
    const { trusted, tampered } = await checkGovernedRows(this.db, 'account_links', this.auditKey);
    return { links: await readLinks(this.db, trusted), tampered };
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

  async rotations(): Promise<CredentialRotation[]> {
    return (await readRotations(this.db)).map((r) => r.rotation);
  }

  targetDiscoveries(): Promise<TargetDiscovery[]> {
    return readDiscoveries(this.db);
  }

  apiTokens(): Promise<ApiToken[]> {
    return readTokens(this.db);
  }

  async apiTokenByHash(
    hash: string,
  ): Promise<{ token: ApiToken; hash: string; trusted: boolean; problem?: string } | undefined> {
    const found = await readTokenByHash(this.db, hash);
    if (!found) return undefined;
    // A token is a governed row: one inserted or widened in the database grants nothing.
    const { tampered } = await checkGovernedRows(this.db, 'api_tokens', this.auditKey, [found.token.id]);
    return { ...found, trusted: tampered.length === 0, ...(tampered[0] ? { problem: tampered[0].problem } : {}) };
  }

  async touchApiToken(
    id: number,
    at: Date,
    notBefore: Date,
    options: { readonly waitMs?: number } = {},
  ): Promise<boolean> {
    try {
      await this.write((w) => touchToken((w as Writer).db, id, at, notBefore), { waitMs: options.waitMs ?? 0 });
      return true;
    } catch (e) {
      if (e instanceof StoreError && e.code === 'busy') return false;
      throw e;
    }
  }

  planOperations(plan: string): Promise<JournalOperation[]> {
    return new Writer(this.db, this.dialect, this.auditKey).operations(plan);
  }

  async interruptedOperations(targets: readonly string[]): Promise<(JournalOperation & { readonly plan: string })[]> {
    if (targets.length === 0) return [];
    const rows = await this.db
      .selectFrom('operations')
      .selectAll()
      .where('target', 'in', [...targets])
      // The first term is the partial index's own condition (operations_unfinished), so it is used.
      .where('state', 'in', ['pending', 'running', 'failed'])
      .where('state', 'in', ['running', 'failed'])
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ plan: r.plan, ...journalOperation(r) }));
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
          // Links kept by Tenure are named by the operation's own record: one record for the change and its link.
          const [first, ...rest] = effects?.audit ?? [];
          if (effects?.links && effects.links.length > 0 && first) {
            await w.linkAccounts(effects.links, first);
            if (rest.length > 0) await w.audit(rest);
          } else if (effects?.audit && effects.audit.length > 0) await w.audit(effects.audit);
          // A rotation is a governed row: its own record follows the operation's, by the same actor.
          const by = effects?.audit?.[0];
          if (effects?.rotations && effects.rotations.length > 0 && by)
            await w.addRotations(effects.rotations, {
              actor: by.actor,
              at: by.at,
              reason: by.reason,
              details: by.details,
            });
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

  liveInstances(now: Date): Promise<ServiceInstance[]> {
    return liveInstances(this.db, now);
  }

  announceInstance(i: ServiceInstance, options: { readonly waitMs?: number } = {}): Promise<void> {
    // On PostgreSQL an upsert of the instance's own row needs no store-wide lock: a heartbeat is
    // never held up by a long import. SQLite has one writer at a time whatever the row.
    if (this.dialect === 'postgres' && !this.readOnly) return announceInstance(this.db, i);
    return this.write((w) => w.announceInstance(i), { waitMs: options.waitMs ?? 0 });
  }

  retireInstance(id: string, staleBefore: Date): Promise<void> {
    return this.write((w) => retireInstance((w as Writer).db, id, staleBefore));
  }

  async write<T>(f: (w: StoreWriter) => Promise<T>, options: { readonly waitMs?: number } = {}): Promise<T> {
    if (this.readOnly)
      throw new StoreError(
        `the state store at ${this.location} was opened read-only`,
        'read_only',
        'this command only reads',
      );
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
        return f(new Writer(trx, 'postgres', this.auditKey));
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
        const result = await f(new Writer(conn, 'sqlite', this.auditKey));
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
    private readonly auditKey?: AuditKey,
  ) {}

  identities(source?: string, ids?: readonly string[]): Promise<Identity[]> {
    return ids !== undefined && ids.length === 0 ? Promise.resolve([]) : readIdentities(this.db, source, ids);
  }

  async identityCount(source: string): Promise<number> {
    const r = await this.db
      .selectFrom('identities')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('source', '=', source)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async operations(plan: string): Promise<JournalOperation[]> {
    const rows = await this.db.selectFrom('operations').selectAll().where('plan', '=', plan).orderBy('seq').execute();
    return rows.map(journalOperation);
  }

  sourceState(source: string): Promise<SourceState | undefined> {
    return readSourceState(this.db, source);
  }

  recordDiscovery(discovery: TargetDiscovery): Promise<void> {
    return recordDiscovery(this.db, discovery);
  }

  apiTokens(): Promise<ApiToken[]> {
    return readTokens(this.db);
  }

  async addApiToken(t: NewApiToken, audit: AuditContext): Promise<number> {
    const live = (await readTokens(this.db)).find((x) => x.name === t.name && !x.revokedAt);
    if (live)
      throw new StoreError(
        `a live API token is already named ${t.name} (#${live.id})`,
        'conflict',
        `choose another name, or revoke it first: tenure token revoke ${t.name}`,
      );
    const id = await insertToken(this.db, t);
    await this.recordRows([
      {
        entry: entryOf(audit, 'token.created', `token:${t.name}`, {
          token: id,
          scopes: t.scopes,
          identity: t.identity ?? null,
          expiresAt: t.expiresAt,
        }),
        rows: [{ table: 'api_tokens', id }],
      },
    ]);
    return id;
  }

  async revokeApiToken(id: number, audit: AuditContext): Promise<void> {
    await markTokenRevoked(this.db, id, audit.actor, audit.at);
    const t = (await readTokens(this.db)).find((x) => x.id === id);
    if (!t) return;
    await this.recordRows([
      { entry: entryOf(audit, 'token.revoked', `token:${t.name}`, { token: id }), rows: [{ table: 'api_tokens', id }] },
    ]);
  }

  announceInstance(i: ServiceInstance): Promise<void> {
    return announceInstance(this.db, i);
  }

  async replaceSnapshot(
    source: string,
    identities: readonly Identity[],
    importSeq: number,
    at: Date,
  ): Promise<{ changed: number; removed: number }> {
    return this.writeSnapshot(source, identities, importSeq, at, await this.storedVersions(source));
  }

  async patchSnapshot(
    source: string,
    upserts: readonly Identity[],
    removals: readonly string[],
    importSeq: number,
    at: Date,
  ): Promise<{ changed: number; removed: number }> {
    const ids = [...new Set([...upserts.map((i) => i.id), ...removals])];
    const existing = new Map<string, { version: number; data: string }>();
    for (let i = 0; i < ids.length; i += BATCH)
      for (const [id, v] of await this.storedVersions(source, ids.slice(i, i + BATCH))) existing.set(id, v);
    return this.writeSnapshot(source, upserts, importSeq, at, existing);
  }

  /** The current version (and its data) of the source's identities, of some of them when `ids` is given. */
  private async storedVersions(
    source: string,
    ids?: readonly string[],
  ): Promise<Map<string, { version: number; data: string }>> {
    const existing = new Map<string, { version: number; data: string }>();
    let q = this.db
      .selectFrom('identities as i')
      .innerJoin('identity_versions as v', (j) => j.onRef('v.id', '=', 'i.id').onRef('v.version', '=', 'i.version'))
      .select(['i.id', 'i.version', 'v.data'])
      .where('i.source', '=', source);
    if (ids !== undefined) q = q.where('i.id', 'in', [...ids]);
    for (const r of await q.execute()) existing.set(r.id, { version: Number(r.version), data: r.data ?? '' });
    return existing;
  }

  /**
   * Writes `identities` over what is stored (`existing`): a new version for each that changed, and a tombstone for
   * each stored one that is not among them.
   */
  private async writeSnapshot(
    source: string,
    identities: readonly Identity[],
    importSeq: number,
    at: Date,
    existing: Map<string, { version: number; data: string }>,
  ): Promise<{ changed: number; removed: number }> {
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

  async addException(e: NewException, audit: AuditContext): Promise<number> {
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
    const id = Number(r.id);
    await this.recordRows([
      {
        entry: entryOf(audit, 'exception.granted', e.identity, {
          exception: id,
          entitlement: e.entitlement,
          approver: e.approver,
          until: e.until,
        }),
        rows: [{ table: 'exceptions', id }],
      },
    ]);
    return id;
  }

  async revokeException(id: number, audit: AuditContext): Promise<void> {
    await this.db
      .updateTable('exceptions')
      .set({ revoked_at: audit.at.toISOString(), revoked_by: audit.actor, revoke_reason: audit.reason })
      .where('id', '=', id)
      .execute();
    const e = (await readExceptions(this.db)).find((x) => x.id === id);
    if (!e) return;
    await this.recordRows([
      {
        entry: entryOf(audit, 'exception.revoked', e.identity, { exception: id, entitlement: e.entitlement }),
        rows: [{ table: 'exceptions', id }],
      },
    ]);
  }

  approvals(kind: Approval['kind'], scope: string): Promise<Approval[]> {
    return readApprovals(this.db, kind, scope);
  }

  trustedApprovals(kind: Approval['kind'], scope: string): Promise<{ approvals: Approval[]; tampered: TamperedRow[] }> {
    return readTrustedApprovals(this.db, kind, scope, this.auditKey);
  }

  async addApproval(a: Omit<Approval, 'id' | 'usedByImport'>, audit: AuditContext): Promise<number> {
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
    const id = Number(r.id);
    await this.recordRows([
      {
        entry: entryOf(audit, `approval.${a.kind}`, a.scope, {
          approval: id,
          ...(a.kind === 'leavers' ? { leavers: a.amount } : { accounts: a.amount }),
        }),
        rows: [{ table: 'approvals', id }],
      },
    ]);
    return id;
  }

  async useApproval(id: number, importSeq: number, audit: AuditContext): Promise<void> {
    await this.db.updateTable('approvals').set({ used_by_import: importSeq }).where('id', '=', id).execute();
    const row = await this.db.selectFrom('approvals').select(['scope']).where('id', '=', id).executeTakeFirst();
    if (!row) return;
    await this.recordRows([
      {
        entry: entryOf(audit, 'approval.used', row.scope, { approval: id, usedByImport: importSeq }),
        rows: [{ table: 'approvals', id }],
      },
    ]);
  }

  campaigns(id?: number): Promise<ReviewCampaign[]> {
    return readCampaigns(this.db, id);
  }

  reviewItems(filter: { campaign?: number; id?: number }): Promise<ReviewItem[]> {
    return readReviewItems(this.db, filter);
  }

  async addCampaign(c: NewCampaign, items: readonly NewReviewItem[], audit: AuditContext): Promise<number> {
    const campaign = await insertCampaign(this.db, this.dialect, c, items);
    const ids = (await readReviewItems(this.db, { campaign })).map((i) => i.id);
    await this.recordRows([
      {
        entry: entryOf(audit, 'review.started', `review:${campaign}`, {
          items: ids.length,
          due: c.due ?? null,
          noResponse: c.noResponse,
        }),
        rows: [
          { table: 'review_campaigns', id: campaign },
          ...ids.map((id) => ({ table: 'review_items' as const, id })),
        ],
      },
    ]);
    return campaign;
  }

  async decideItems(
    decisions: readonly { item: number; decision: ReviewDecision; comment: string; at: Date; by: string }[],
    audit: AuditContext,
  ): Promise<void> {
    if (decisions.length === 0) return;
    await recordDecisions(this.db, decisions);
    const items = new Map<number, ReviewItem>();
    for (const d of decisions) for (const i of await readReviewItems(this.db, { id: d.item })) items.set(i.id, i);
    await this.recordRows(
      decisions
        .filter((d) => items.has(d.item))
        .map((d) => {
          const item = items.get(d.item)!;
          return {
            entry: {
              ...entryOf(audit, `review.${d.decision}`, item.identity, {
                campaign: item.campaign,
                item: item.id,
                entitlement: item.entitlement,
                reviewer: d.by,
              }),
              at: d.at,
              reason: d.comment || audit.reason,
            },
            rows: [{ table: 'review_items' as const, id: item.id }],
          };
        }),
    );
  }

  async closeCampaign(id: number, audit: AuditContext): Promise<void> {
    await markCampaignClosed(this.db, id, audit.at, audit.actor);
    await this.recordRows([
      { entry: entryOf(audit, 'review.closed', `review:${id}`, {}), rows: [{ table: 'review_campaigns', id }] },
    ]);
  }

  async addDenials(denials: readonly NewDenial[], audit: AuditContext): Promise<void> {
    if (denials.length === 0) return;
    const ids = await insertDenials(this.db, denials);
    await this.recordRows(
      denials.map((d, n) => ({
        entry: {
          ...entryOf(audit, 'denial.recorded', d.identity, {
            denial: ids[n]!,
            entitlement: d.entitlement,
            origin: d.origin,
          }),
          at: d.at,
          reason: d.reason,
        },
        rows: [{ table: 'denials' as const, id: ids[n]! }],
      })),
    );
  }

  custody(nhi?: string): Promise<Custody[]> {
    return readCustody(this.db, nhi);
  }

  async addCustody(c: NewCustody, audit: AuditContext): Promise<number> {
    const id = await insertCustody(this.db, c);
    await this.recordRows([
      {
        entry: entryOf(audit, 'nhi.custody_proposed', c.nhi, {
          custody: id,
          previousOwner: c.previousOwner,
          proposedOwner: c.proposedOwner ?? null,
          deadline: c.deadline,
        }),
        rows: [{ table: 'nhi_custody', id }],
      },
    ]);
    return id;
  }

  async confirmCustody(id: number, owner: string, audit: AuditContext): Promise<void> {
    await confirmCustody(this.db, id, owner, audit.at);
    const c = (await readCustody(this.db)).find((x) => x.id === id);
    if (!c) return;
    await this.recordRows([
      {
        entry: entryOf(audit, 'nhi.custody_confirmed', c.nhi, {
          custody: id,
          previousOwner: c.previousOwner,
          owner,
        }),
        rows: [{ table: 'nhi_custody', id }],
      },
    ]);
  }

  async linkAccounts(links: readonly AccountLink[], entry: AuditEntry): Promise<void> {
    const ids = await insertLinks(this.db, links, entry.at);
    await this.recordRows([{ entry, rows: ids.map((id) => ({ table: 'account_links' as const, id })) }]);
  }

  async addRotations(rotations: readonly CredentialRotation[], audit: AuditContext): Promise<void> {
    const ids = await insertRotations(this.db, rotations);
    await this.recordRows(
      rotations.map((r, n) => ({
        entry: {
          ...entryOf(audit, 'credential.rotated', r.identity, {
            rotation: ids[n]!,
            target: r.target,
            account: r.account,
            purpose: r.purpose,
          }),
          at: r.at,
        },
        rows: [{ table: 'credential_rotations' as const, id: ids[n]! }],
      })),
    );
  }

  /**
   * Appends records that each name the governed rows they wrote, with the rows' digests as they
   * are now in this transaction, and points each row at its record.
   */
  private async recordRows(
    entries: readonly { entry: AuditEntry; rows: readonly { table: GovernedTable; id: number }[] }[],
  ): Promise<void> {
    const withRefs: AuditEntry[] = [];
    for (const { entry, rows } of entries) {
      const refs: RowRef[] = [];
      for (const table of GOVERNED_TABLES) {
        const ids = rows.filter((r) => r.table === table).map((r) => r.id);
        if (ids.length === 0) continue;
        for (const r of await readGovernedRows(this.db, table, ids)) refs.push({ table, id: r.id, digest: r.digest });
      }
      withRefs.push({ ...entry, details: { ...entry.details, rows: refs } });
    }
    const records = await this.appendAudit(withRefs);
    for (let n = 0; n < records.length; n++) {
      for (const table of GOVERNED_TABLES) {
        const ids = entries[n]!.rows.filter((r) => r.table === table).map((r) => r.id);
        for (let i = 0; i < ids.length; i += BATCH)
          await (this.db as unknown as Kysely<Record<string, { id: number; audit_seq: number | null }>>)
            .updateTable(table)
            .set({ audit_seq: records[n]!.seq })
            .where('id', 'in', ids.slice(i, i + BATCH))
            .execute();
      }
    }
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
    await this.appendAudit(entries);
  }

  private async appendAudit(entries: readonly AuditEntry[]): Promise<ChainedRecord[]> {
    if (entries.length === 0) return [];
    const last = await this.db
      .selectFrom('audit_log')
      .select(['seq', 'hash', 'key_id'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    // Once the chain is keyed, only the same key may extend it: an unkeyed record after a keyed
    // one is what a rebuild without the key looks like, and verify would call it that.
    if (last?.key_id && !this.auditKey)
      throw new StoreError(
        `the audit log is keyed (key id ${last.key_id}) and TENURE_AUDIT_KEY is not set; nothing was changed`,
        'audit_key',
        'set TENURE_AUDIT_KEY to the key this store is chained with',
      );
    if (last?.key_id && this.auditKey && last.key_id !== this.auditKey.id)
      throw new StoreError(
        `TENURE_AUDIT_KEY (key id ${this.auditKey.id}) is not the key this audit log is chained with (key id ${last.key_id}); nothing was changed`,
        'audit_key',
        'set TENURE_AUDIT_KEY to the key this store is chained with',
      );
    const records = chain(last && { seq: Number(last.seq), hash: last.hash }, entries, this.auditKey);
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
      key_id: r.keyId ?? null,
    }));
    await bulkInsert(this.db, this.dialect, 'audit_log', rows);
    return records;
  }
}

async function readIdentities(db: Db, source?: string, ids?: readonly string[]): Promise<Identity[]> {
  // The current version's data lives once, in identity_versions.
  const read = async (some?: readonly string[]) => {
    let q = db
      .selectFrom('identities as i')
      .innerJoin('identity_versions as v', (j) => j.onRef('v.id', '=', 'i.id').onRef('v.version', '=', 'i.version'))
      .select(['v.data'])
      .orderBy('i.id');
    if (source !== undefined) q = q.where('i.source', '=', source);
    if (some !== undefined) q = q.where('i.id', 'in', [...some]);
    return (await q.execute()).map((r) => parseCanonicalJson<Identity>(r.data!));
  };
  if (ids === undefined) return read();
  const out: Identity[] = [];
  for (let i = 0; i < ids.length; i += BATCH) out.push(...(await read(ids.slice(i, i + BATCH))));
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
    ...(r.key_id !== null && r.key_id !== undefined ? { keyId: r.key_id } : {}),
    previousHash: r.previous_hash,
    hash: r.hash,
  };
}

function entryOf(
  audit: AuditContext,
  action: AuditEntry['action'],
  subject: string,
  details: Record<string, unknown>,
): AuditEntry {
  return {
    at: audit.at,
    actor: audit.actor,
    action,
    subject,
    reason: audit.reason,
    details: { ...details, ...audit.details },
  };
}

async function readTrustedApprovals(
  db: Db,
  kind: Approval['kind'],
  scope: string,
  key: AuditKey | undefined,
): Promise<{ approvals: Approval[]; tampered: TamperedRow[] }> {
  const all = await readApprovals(db, kind, scope);
  if (all.length === 0) return { approvals: [], tampered: [] };
  const { trusted, tampered } = await checkGovernedRows(
    db,
    'approvals',
    key,
    all.map((a) => a.id),
  );
  return { approvals: all.filter((a) => trusted.has(a.id)), tampered };
}

/** A row of the operations table as the journal hands it out. */
function journalOperation(r: Selectable<Database['operations']>): JournalOperation {
  return {
    id: Number(r.id),
    seq: Number(r.seq),
    change: parseCanonicalJson<Change>(r.change),
    state: r.state as OperationState,
    attempts: Number(r.attempts),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  };
}
