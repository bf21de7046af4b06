import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  type DialectAdapter,
  type MigrationProvider,
} from 'kysely';
import pg from 'pg';
import { auditKeyFrom, type AuditKey } from '../audit/audit-key.js';
import { KyselyStateStore } from './kysely-state-store.js';
import { migrations, type Dialect } from './migrations.js';
import type { Database } from './schema.js';
import { StoreError, type StateStore } from './state-store.js';

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

export interface OpenStoreOptions {
  readonly waitMs?: number;
  /**
   * Only read: nothing is created, migrated or written (a SQLite file must exist; its folder may
   * be read-only). A store whose schema is older or newer than this program's is refused.
   */
  readonly readOnly?: boolean;
  /** The audit key (HMAC); by default from TENURE_AUDIT_KEY; `null` for none. */
  readonly auditKey?: AuditKey | null;
}

/**
 * Opens the state store at a SQLite path or a `postgres://` URL and brings its schema up to
 * date. A store written by a newer Tenure (it has migrations this program does not know) is
 * refused rather than touched.
 */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<StateStore> {
  const waitMs = options.waitMs ?? 10_000;
  const readOnly = options.readOnly ?? false;
  const auditKey =
    options.auditKey === undefined ? auditKeyFrom(process.env.TENURE_AUDIT_KEY) : (options.auditKey ?? undefined);
  const dialect: Dialect = isPostgresUrl(location) ? 'postgres' : 'sqlite';
  const shown = describeLocation(location);
  let db: Kysely<Database>;
  if (dialect === 'postgres') {
    const pool = new pg.Pool({
      connectionString: location,
      max: 4,
      connectionTimeoutMillis: 5000,
      // A read-only open asks the server to refuse writes as well.
      ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
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
    if (readOnly && !existsSync(file))
      throw new StoreError(
        `there is no state store at ${shown}`,
        'unreachable',
        'run tenure import first, or point --state at the store',
      );
    try {
      if (readOnly) database = openSqliteReadOnly(file, waitMs);
      else {
        mkdirSync(dirname(file), { recursive: true });
        database = new BetterSqlite3(file, { timeout: waitMs });
        database.pragma('journal_mode = WAL');
        database.pragma('foreign_keys = ON');
        // 64 MiB of page cache: an import of 100,000 identities touches a few hundred MiB.
        database.pragma('cache_size = -65536');
      }
    } catch (e) {
      throw new StoreError(
        `cannot open the SQLite state store at ${shown}: ${(e as Error).message}`,
        'unreachable',
        'check the path and its permissions',
      );
    }
    db = new Kysely<Database>({ dialect: new TransactionalSqliteDialect({ database }) });
  }
  if (readOnly) await checkSchema(db, dialect, shown);
  else await migrate(db, dialect, shown, waitMs);
  return new KyselyStateStore(db, dialect, shown, waitMs, readOnly, auditKey);
}

/**
 * SQLite read-only. A WAL database wants its -shm file, which a read-only folder cannot hold
 * (and which root would leave behind, owned by root). When no write-ahead log is pending, the
 * file holds everything: it is read into memory and opened there, touching nothing on disk. When a
 * log is pending (a writer is running, or crashed), the file is opened read-only in place.
 */
function openSqliteReadOnly(file: string, waitMs: number): BetterSqlite3.Database {
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0)
    return new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: waitMs });
  const image = readFileSync(file);
  // Bytes 18 and 19 say "WAL" (2); an in-memory image must say "rollback journal" (1).
  if (image.length > 19 && image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
  return new BetterSqlite3(image, { readonly: true });
}

/** A read-only open cannot migrate: the store's schema must be exactly this program's. */
async function checkSchema(db: Kysely<Database>, dialect: Dialect, shown: string): Promise<void> {
  const known = Object.keys(migrations(dialect));
  let applied: string[];
  try {
    applied = (
      await (db as unknown as Kysely<{ tenure_migrations: { name: string } }>)
        .selectFrom('tenure_migrations')
        .select('name')
        .execute()
    ).map((r) => r.name);
  } catch {
    applied = [];
  }
  const unknown = applied.filter((n) => !known.includes(n));
  const missing = known.filter((n) => !applied.includes(n));
  if (unknown.length === 0 && missing.length === 0) return;
  await db.destroy().catch(() => undefined);
  if (unknown.length > 0)
    throw new StoreError(
      `the state store at ${shown} was written by a newer version of Tenure (it has ${unknown.join(', ')})`,
      'too_new',
      'upgrade Tenure to the version that wrote this store; it is left untouched',
    );
  throw new StoreError(
    applied.length === 0
      ? `${shown} is not a Tenure state store (it has no schema)`
      : `the state store at ${shown} was written by an older version of Tenure (schema ${applied.sort().at(-1)}; this one needs ${known.at(-1)}) and cannot be upgraded read-only`,
    'too_old',
    'open it once with write access (any command that writes, e.g. tenure import) to upgrade it; it is left untouched',
  );
}

async function migrate(db: Kysely<Database>, dialect: Dialect, shown: string, waitMs: number): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'tenure_migrations',
    migrationLockTableName: 'tenure_migrations_lock',
  });
  // Processes that open a new or older SQLite store at once race to upgrade it. Each attempt is one
  // transaction (TransactionalSqliteDialect below), so the loser rolls back whole and, tried again,
  // finds the winner's migrations recorded.
  const deadline = Date.now() + Math.max(waitMs, 1000);
  let { error } = await migrator.migrateToLatest();
  while (
    error &&
    dialect === 'sqlite' &&
    Date.now() < deadline &&
    /SQLITE_BUSY|database is locked|already exists|duplicate column/i.test((error as Error).message)
  ) {
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
    ({ error } = await migrator.migrateToLatest());
  }
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

/**
 * SQLite runs DDL inside transactions; Kysely's adapter says it does not, so its migrator would
 * apply migrations statement by statement and two processes upgrading one store at once could
 * interleave. Saying so makes each upgrade one transaction.
 */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalSqliteAdapter();
  }
}
