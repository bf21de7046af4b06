import type { ColumnDefinitionBuilder, Kysely, Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

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
  };
}
