import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Column types of the tables written in bulk (PostgreSQL's json_to_recordset needs them). */
const COLUMN_TYPES: { [T in keyof Database]?: Record<string, 'text' | 'integer'> } = {
  identities: { id: 'text', source: 'text', version: 'integer', status: 'text', updated_at: 'text' },
  identity_versions: {
    id: 'text',
    version: 'integer',
    source: 'text',
    data: 'text',
    recorded_at: 'text',
    import_seq: 'integer',
  },
  events: {
    import_seq: 'integer',
    kind: 'text',
    identity: 'text',
    source: 'text',
    at: 'text',
    effective: 'text',
    data: 'text',
  },
  operations: {
    plan: 'text',
    seq: 'integer',
    change: 'text',
    target: 'text',
    action: 'text',
    identity: 'text',
    account: 'text',
    entitlement: 'text',
    state: 'text',
    attempts: 'integer',
    last_error: 'text',
    updated_at: 'text',
  },
  review_items: {
    campaign: 'integer',
    identity: 'text',
    entitlement: 'text',
    reviewer: 'text',
    provenance: 'text',
    roles: 'text',
    last_used: 'text',
    decision: 'text',
    comment: 'text',
    decided_at: 'text',
    decided_by: 'text',
  },
  denials: {
    identity: 'text',
    entitlement: 'text',
    origin: 'text',
    reason: 'text',
    decided_by: 'text',
    at: 'text',
    roles: 'text',
    lifted_at: 'text',
  },
  audit_log: {
    seq: 'integer',
    at: 'text',
    actor: 'text',
    action: 'text',
    subject: 'text',
    reason: 'text',
    details: 'text',
    previous_hash: 'text',
    hash: 'text',
    key_id: 'text',
  },
};

/** Rows per statement: well below SQLite's (32,766) and PostgreSQL's (65,535) bound-parameter limits. */
const CHUNK = 400;
/** Rows per statement on PostgreSQL, where the chunk travels as one JSON parameter. */
const PG_CHUNK = 5000;

/**
 * Inserts many rows with one statement per chunk (multi-row VALUES on SQLite, one JSON
 * parameter on PostgreSQL), compiled here and run through
 * Kysely's connection. Building a query tree per value, as `insertInto().values()` does, costs
 * more than the database's own work when an import writes hundreds of thousands of rows.
 */
export async function bulkInsert<T extends keyof Database>(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  table: T,
  rows: readonly Insertable<Database[T]>[],
  upsertOn?: string,
): Promise<void> {
  const types = COLUMN_TYPES[table];
  if (!types) throw new Error(`bulkInsert: no column types for ${table}`);
  const columns = Object.keys(types);
  const marks = `(${columns.map(() => '?').join(', ')})`;
  const conflict = upsertOn
    ? ` on conflict ("${upsertOn}") do update set ${columns
        .filter((c) => c !== upsertOn)
        .map((c) => `"${c}" = excluded."${c}"`)
        .join(', ')}`
    : '';
  if (dialect === 'postgres') {
    // The chunk travels as one JSON parameter that json_to_recordset unpacks: native
    // JSON.stringify on our side, and one small statement for PostgreSQL to parse and plan.
    const shape = columns.map((c) => `"${c}" ${types[c]}`).join(', ');
    const list = columns.map((c) => `"${c}"`).join(', ');
    const text = `insert into "${table}" (${list}) select ${list} from json_to_recordset($1::json) as x(${shape})${conflict}`;
    for (let i = 0; i < rows.length; i += PG_CHUNK) {
      await db.executeQuery(CompiledQuery.raw(text, [JSON.stringify(rows.slice(i, i + PG_CHUNK))]));
    }
    return;
  }
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const parameters: unknown[] = [];
    const tuples: string[] = [];
    for (const row of chunk) {
      for (const c of columns) parameters.push((row as Record<string, unknown>)[c] ?? null);
      tuples.push(marks);
    }
    const text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}${conflict}`;
    await db.executeQuery(CompiledQuery.raw(text, parameters));
  }
}
