import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import { chain } from '../audit/audit-chain.js';
import { parseCanonicalJson } from '../audit/canonical-json.js';
import { legacyProblem } from '../audit/verify-governed.js';
import type { AuditRecord } from '../model/audit.js';
import { readGovernedRows, type GovernedTable, type RowRef } from './governed-rows.js';
import type { Database } from './schema.js';

/** The migration that gave governed rows their audit pointer; rows older than it were adopted by it. */
export const GOVERNED_ROWS_MIGRATION = '0007_governed_rows_audit';

export type Dialect = 'sqlite' | 'postgres';

/** The governed tables as 0007 found them: tables added later are created with their audit pointer. */
const GOVERNED_AT_0007 = [
  'exceptions',
  'approvals',
  'review_campaigns',
  'review_items',
  'denials',
  'nhi_custody',
  'credential_rotations',
] as const satisfies readonly GovernedTable[];

/**
 * Versioned migrations, in code so they ship with the program and run the same on SQLite and
 * PostgreSQL. Names sort in order; a store that has a migration this program does not know was
 * written by a newer Tenure and is refused (see open-store.ts).
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  // An ever-increasing key: SQLite's INTEGER PRIMARY KEY is the rowid; PostgreSQL needs an identity.
  const serial = (c: ColumnDefinitionBuilder) =>
    dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey();
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('tenure_meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('identities')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('identities_source').on('identities').column('source').execute();
        await db.schema
          .createTable('identity_versions')
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('data', 'text')
          .addColumn('recorded_at', 'text', (c) => c.notNull())
          .addColumn('import_seq', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('identity_versions_pk', ['id', 'version'])
          .execute();
        await db.schema
          .createTable('imports')
          .addColumn('seq', 'integer', serial)
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('as_of', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('rows', 'integer', (c) => c.notNull())
          .addColumn('events', 'integer', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('source_state')
          .addColumn('source', 'text', (c) => c.primaryKey())
          .addColumn('last_as_of', 'text', (c) => c.notNull())
          .addColumn('last_import', 'integer', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('events')
          .addColumn('seq', 'integer', serial)
          .addColumn('import_seq', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('effective', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('events_identity').on('events').columns(['identity', 'seq']).execute();
        await db.schema.createIndex('events_at').on('events').columns(['at', 'seq']).execute();
        await db.schema
          .createTable('audit_log')
          .addColumn('seq', 'integer', (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('previous_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_exceptions_approvals_links_journal': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('exceptions')
          .addColumn('id', 'integer', serial)
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('entitlement', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('approver', 'text', (c) => c.notNull())
          .addColumn('granted_by', 'text', (c) => c.notNull())
          .addColumn('valid_from', 'text', (c) => c.notNull())
          .addColumn('valid_until', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('revoked_by', 'text')
          .addColumn('revoke_reason', 'text')
          .execute();
        await db.schema.createIndex('exceptions_identity').on('exceptions').column('identity').execute();
        await db.schema
          .createTable('approvals')
          .addColumn('id', 'integer', serial)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('amount', 'integer', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('approved_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('used_by_import', 'integer')
          .execute();
        await db.schema
          .createTable('account_links')
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('account_name', 'text', (c) => c.notNull())
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('linked_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('account_links_pk', ['target', 'account_id'])
          .execute();
        await db.schema
          .createIndex('account_links_identity')
          .on('account_links')
          .columns(['identity', 'target'])
          .execute();
        await db.schema
          .createTable('operations')
          .addColumn('id', 'integer', serial)
          .addColumn('plan', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('change', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('identity', 'text')
          .addColumn('account', 'text', (c) => c.notNull())
          .addColumn('entitlement', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('operations_plan_state').on('operations').columns(['plan', 'state']).execute();
      },
    },
    '0003_reviews_denials': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('review_campaigns')
          .addColumn('id', 'integer', serial)
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('due', 'text')
          .addColumn('no_response', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('closed_at', 'text')
          .addColumn('closed_by', 'text')
          .execute();
        await db.schema
          .createTable('review_items')
          .addColumn('id', 'integer', serial)
          .addColumn('campaign', 'integer', (c) => c.notNull())
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('entitlement', 'text', (c) => c.notNull())
          .addColumn('reviewer', 'text')
          .addColumn('provenance', 'text', (c) => c.notNull())
          .addColumn('roles', 'text', (c) => c.notNull())
          .addColumn('last_used', 'text')
          .addColumn('decision', 'text')
          .addColumn('comment', 'text')
          .addColumn('decided_at', 'text')
          .addColumn('decided_by', 'text')
          .execute();
        await db.schema.createIndex('review_items_campaign').on('review_items').column('campaign').execute();
        await db.schema
          .createTable('denials')
          .addColumn('id', 'integer', serial)
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('entitlement', 'text', (c) => c.notNull())
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('decided_by', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('roles', 'text', (c) => c.notNull())
          .addColumn('lifted_at', 'text')
          .execute();
        await db.schema.createIndex('denials_identity').on('denials').column('identity').execute();
      },
    },
    '0004_nhi_custody_rotations': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('nhi_custody')
          .addColumn('id', 'integer', serial)
          .addColumn('nhi', 'text', (c) => c.notNull())
          .addColumn('previous_owner', 'text', (c) => c.notNull())
          .addColumn('proposed_owner', 'text')
          .addColumn('since', 'text', (c) => c.notNull())
          .addColumn('deadline', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('decided_by', 'text')
          .addColumn('decided_at', 'text')
          .execute();
        await db.schema.createIndex('nhi_custody_nhi').on('nhi_custody').column('nhi').execute();
        await db.schema
          .createTable('credential_rotations')
          .addColumn('id', 'integer', serial)
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('account', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('credential_rotations_identity')
          .on('credential_rotations')
          .column('identity')
          .execute();
      },
    },
    '0005_source_feed_hash': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('source_state').addColumn('feed_hash', 'text').execute();
      },
    },
    '0006_leases': {
      async up(db: Kysely<unknown>): Promise<void> {
        // One apply per target at a time, across processes and instances (DESIGN.md, trust rules).
        await db.schema
          .createTable('leases')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('holder', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('fence', 'integer', (c) => c.notNull())
          .addColumn('acquired_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        // A new plan supersedes the unfinished operations of older plans on its targets: found
        // through an index of unfinished rows only, so marking an operation done stays cheap.
        await db.schema
          .createIndex('operations_unfinished')
          .on('operations')
          .column('target')
          .where(sql.ref('state'), 'in', [sql.lit('pending'), sql.lit('running'), sql.lit('failed')])
          .execute();
      },
    },
    [GOVERNED_ROWS_MIGRATION]: {
      async up(db: Kysely<unknown>): Promise<void> {
        for (const table of GOVERNED_AT_0007)
          await db.schema.alterTable(table).addColumn('audit_seq', 'integer').execute();
        await db.schema.alterTable('audit_log').addColumn('key_id', 'text').execute();
        await adoptGovernedRows(db as unknown as Kysely<Database>);
      },
    },
    '0008_target_discoveries': {
      async up(db: Kysely<unknown>): Promise<void> {
        // What `tenure targets check` last found a target to support (a SCIM service's Groups), for validate.
        await db.schema
          .createTable('target_discoveries')
          .addColumn('target', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('checked_at', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0009_account_links': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Links Tenure keeps for targets that hold none (an AD target with link_attribute: none): the account's own
        // stable id (objectGUID) → the identity. Rows are only added: the latest trusted row of an account counts.
        // 0002 made a table of this name that nothing ever wrote: replaced by one with an id and an audit pointer.
        await db.schema.dropTable('account_links').ifExists().execute();
        await db.schema
          .createTable('account_links')
          .addColumn('id', 'integer', serial)
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('account', 'text', (c) => c.notNull())
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('linked_at', 'text', (c) => c.notNull())
          .addColumn('audit_seq', 'integer')
          .execute();
        await db.schema
          .createIndex('account_links_target')
          .on('account_links')
          .columns(['target', 'account_id'])
          .execute();
      },
    },
    '0010_api_tokens': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Tokens of the service's API: found by the SHA-256 of the secret; a name is unique among live ones.
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'integer', serial)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('identity', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('revoked_by', 'text')
          .addColumn('audit_seq', 'integer')
          .execute();
        await db.schema
          .createIndex('api_tokens_live_name')
          .on('api_tokens')
          .column('name')
          .unique()
          .where(sql.ref('revoked_at'), 'is', null)
          .execute();
      },
    },
    '0011_service_instances': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Each running service's loaded policy hash and heartbeat: instances on one store agree before they apply.
        await db.schema
          .createTable('service_instances')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('policy_hash', 'text', (c) => c.notNull())
          .addColumn('loaded_at', 'text', (c) => c.notNull())
          .addColumn('seen_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
  };
}

/**
 * Rows written before row digests existed have records that do not carry them. One record,
 * `audit.rows_adopted`, takes every such row as it is at the upgrade: from then on an edit is
 * found like any other, and `audit verify` reports these rows as adopted (and matches them to
 * their old records by the ids in those records' details where there are any).
 */
async function adoptGovernedRows(db: Kysely<Database>): Promise<void> {
  // The old records that name governed rows by id; a row they contradict is not adopted.
  const old: AuditRecord[] = (
    await db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', 'in', [
        'exception.granted',
        'exception.revoked',
        'approval.leavers',
        'approval.deprovision',
        'nhi.custody_proposed',
        'review.keep',
        'review.revoke',
      ])
      .orderBy('seq')
      .execute()
  ).map((r) => ({
    seq: Number(r.seq),
    at: new Date(r.at),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    reason: r.reason,
    details: parseCanonicalJson<Record<string, unknown>>(r.details),
    previousHash: r.previous_hash,
    hash: r.hash,
  }));
  const refs: RowRef[] = [];
  for (const table of GOVERNED_AT_0007)
    for (const r of await readGovernedRows(db, table))
      if (legacyProblem(r, old) === undefined) refs.push({ table, id: r.id, digest: r.digest });
  if (refs.length === 0) return;
  const last = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const [record] = chain(last && { seq: Number(last.seq), hash: last.hash }, [
    {
      at: new Date(),
      actor: 'tenure upgrade',
      action: 'audit.rows_adopted',
      subject: `migration:${GOVERNED_ROWS_MIGRATION}`,
      reason: `${refs.length} governed row(s) written before their audit records carried row digests, taken as they are now`,
      details: { migration: GOVERNED_ROWS_MIGRATION, rows: refs },
    },
  ]);
  await db
    .insertInto('audit_log')
    .values({
      seq: record!.seq,
      at: record!.at.toISOString(),
      actor: record!.actor,
      action: record!.action,
      subject: record!.subject,
      reason: record!.reason,
      details: record!.detailsJson,
      previous_hash: record!.previousHash,
      hash: record!.hash,
      key_id: null,
    })
    .execute();
  for (const table of GOVERNED_AT_0007) {
    const ids = refs.filter((r) => r.table === table).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 400)
      await (db as unknown as Kysely<Record<string, { id: number; audit_seq: number | null }>>)
        .updateTable(table)
        .set({ audit_seq: record!.seq })
        .where('id', 'in', ids.slice(i, i + 400))
        .execute();
  }
}
