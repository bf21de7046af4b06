import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { canonicalJson } from '../audit/canonical-json.js';
import type { Database } from './schema.js';

/**
 * Governed rows: state a person decided (an exception, an approval, a review decision ...) that
 * the engine and the guardrails honour. Each is written with an audit record that carries its
 * digest, so an edit in the database is found (DESIGN.md, trust rules).
 */
export const GOVERNED_COLUMNS = {
  exceptions: [
    'identity',
    'entitlement',
    'reason',
    'approver',
    'granted_by',
    'valid_from',
    'valid_until',
    'revoked_at',
    'revoked_by',
    'revoke_reason',
  ],
  approvals: ['kind', 'scope', 'amount', 'reason', 'approved_by', 'created_at', 'used_by_import'],
  review_campaigns: ['scope', 'created_at', 'created_by', 'due', 'no_response', 'state', 'closed_at', 'closed_by'],
  review_items: [
    'campaign',
    'identity',
    'entitlement',
    'reviewer',
    'provenance',
    'roles',
    'last_used',
    'decision',
    'comment',
    'decided_at',
    'decided_by',
  ],
  denials: ['identity', 'entitlement', 'origin', 'reason', 'decided_by', 'at', 'roles', 'lifted_at'],
  nhi_custody: ['nhi', 'previous_owner', 'proposed_owner', 'since', 'deadline', 'state', 'decided_by', 'decided_at'],
  credential_rotations: ['identity', 'target', 'account', 'at', 'purpose'],
  account_links: ['target', 'account_id', 'account', 'identity', 'linked_at'],
  // last_used_at is left out: it changes on use, and a use is no decision.
  api_tokens: [
    'name',
    'token_hash',
    'scopes',
    'identity',
    'created_at',
    'created_by',
    'expires_at',
    'revoked_at',
    'revoked_by',
  ],
} as const satisfies { [T in keyof Database]?: readonly (keyof Database[T])[] };

export type GovernedTable = keyof typeof GOVERNED_COLUMNS;
export const GOVERNED_TABLES = Object.keys(GOVERNED_COLUMNS) as GovernedTable[];

/** What an audit record says of a row it wrote: `details.rows` holds these. */
export interface RowRef {
  readonly table: GovernedTable;
  readonly id: number;
  /** SHA-256 of the canonical JSON of the table, the id and the governed columns. */
  readonly digest: string;
}

/** A governed row as stored, with its digest and the record it points at. */
export interface GovernedRow {
  readonly table: GovernedTable;
  readonly id: number;
  readonly auditSeq?: number;
  readonly digest: string;
  /** The governed columns, as stored (text, numbers, nulls). */
  readonly content: Readonly<Record<string, unknown>>;
}

export function governedContent(table: GovernedTable, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Numbers come back as numbers or bigints depending on the driver: one form for the digest.
  for (const c of GOVERNED_COLUMNS[table] as readonly string[]) {
    const v = row[c];
    out[c] = typeof v === 'bigint' ? Number(v) : (v ?? null);
  }
  return out;
}

export function rowDigest(table: GovernedTable, id: number, content: Readonly<Record<string, unknown>>): string {
  return createHash('sha256')
    .update(canonicalJson({ table, id, row: content }))
    .digest('hex');
}

/** Reads governed rows (all, or those with the given ids) with their digests. */
export async function readGovernedRows(
  db: Kysely<Database>,
  table: GovernedTable,
  ids?: readonly number[],
): Promise<GovernedRow[]> {
  const out: GovernedRow[] = [];
  const read = async (some?: readonly number[]) => {
    // The table name is one of GOVERNED_TABLES; the query is built loosely because it varies.
    let q = (db as unknown as Kysely<Record<string, { id: number }>>).selectFrom(table).selectAll().orderBy('id');
    if (some) q = q.where('id', 'in', [...some]);
    for (const r of (await q.execute()) as Record<string, unknown>[]) {
      const id = Number(r.id);
      const content = governedContent(table, r);
      out.push({
        table,
        id,
        ...(r.audit_seq !== null && r.audit_seq !== undefined ? { auditSeq: Number(r.audit_seq) } : {}),
        digest: rowDigest(table, id, content),
        content,
      });
    }
  };
  if (!ids) await read();
  else for (let i = 0; i < ids.length; i += 400) await read(ids.slice(i, i + 400));
  return out;
}

/** The row references of a record's details (none for records that wrote no governed row). */
export function rowRefsOf(details: Readonly<Record<string, unknown>>): RowRef[] {
  const rows = details.rows;
  if (!Array.isArray(rows)) return [];
  return rows.filter(
    (r): r is RowRef =>
      typeof r === 'object' &&
      r !== null &&
      typeof (r as RowRef).table === 'string' &&
      typeof (r as RowRef).id === 'number' &&
      typeof (r as RowRef).digest === 'string',
  );
}
