import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { KyselyStateStore } from './kysely-state-store.js';
import { migrations, type Dialect } from './migrations.js';
import type { Database } from './schema.js';
import { StoreError, type StateStore } from './state-store.js';

/** The embedded default, relative to the working directory. */
export const DEFAULT_STATE = '.tenure/state.db';

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** A location fit for messages: the password of a URL is never shown. */
export function describeLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * Opens the state store at a SQLite path or a `postgres://` URL and brings its schema up to
 * date. A store written by a newer Tenure (it has migrations this program does not know) is
 * refused rather than touched.
 */
export async function openStore(
  location: string = DEFAULT_STATE,
  options: { readonly waitMs?: number } = {},
): Promise<StateStore> {
  const waitMs = options.waitMs ?? 10_000;
  const dialect: Dialect = isPostgresUrl(location) ? 'postgres' : 'sqlite';
  const shown = describeLocation(location);
  let db: Kysely<Database>;
  if (dialect === 'postgres') {
    const pool = new pg.Pool({ connectionString: location, max: 4, connectionTimeoutMillis: 5000 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      await db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    } catch (e) {
      await db.destroy().catch(() => undefined);
      const code = (e as { code?: string }).code;
      throw new StoreError(
        `cannot reach the PostgreSQL state store at ${shown}: ${code ?? ''} ${(e as Error).message}`
          .replace(/\s+/g, ' ')
          .trim(),
        'unreachable',
        'check that the server runs and the URL (host, port, database, user) is right; --state or TENURE_DATABASE_URL sets it',
      );
    }
  } else {
    const file = resolve(location);
    let database: BetterSqlite3.Database;
    try {
      mkdirSync(dirname(file), { recursive: true });
      database = new BetterSqlite3(file, { timeout: waitMs });
      database.pragma('journal_mode = WAL');
      database.pragma('foreign_keys = ON');
      // 64 MiB of page cache: an import of 100,000 identities touches a few hundred MiB.
      database.pragma('cache_size = -65536');
    } catch (e) {
      throw new StoreError(
        `cannot open the SQLite state store at ${shown}: ${(e as Error).message}`,
        'unreachable',
        'check the path and its permissions',
      );
    }
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  }
  await migrate(db, dialect, shown, waitMs);
  return new KyselyStateStore(db, dialect, shown, waitMs);
}

async function migrate(db: Kysely<Database>, dialect: Dialect, shown: string, waitMs: number): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'tenure_migrations',
    migrationLockTableName: 'tenure_migrations_lock',
  });
  const { error } = await migrator.migrateToLatest();
  if (!error) return;
  await db.destroy().catch(() => undefined);
  const message = (error as Error).message;
  if (/corrupted migrations|missing/i.test(message)) {
    throw new StoreError(
      `the state store at ${shown} was written by a newer version of Tenure (${message.replace(/^corrupted migrations: /i, '')})`,
      'too_new',
      'upgrade Tenure to the version that wrote this store; it is left untouched',
    );
  }
  if (/SQLITE_BUSY|database is locked/i.test(message)) {
    throw new StoreError(
      `another Tenure process is changing the state at ${shown}; waited ${Math.round(waitMs / 1000)} s for it to finish`,
      'busy',
      'run the command again when the other one has finished',
    );
  }
  throw new StoreError(`the state store at ${shown} could not be upgraded: ${message}`, 'corrupt');
}
