import type { Kysely } from 'kysely';
import { hashRecord } from '../audit/audit-chain.js';
import type { AuditKey } from '../audit/audit-key.js';
import { parseCanonicalJson } from '../audit/canonical-json.js';
import { readGovernedRows, rowRefsOf, type GovernedRow, type GovernedTable } from './governed-rows.js';
import type { Database } from './schema.js';
import type { TamperedRow } from './state-store.js';

/**
 * The cheap check of governed rows (plan, apply, why): each row's digest against the audit record
 * its `audit_seq` points at, and that record's hash recomputed (HMAC with the key when keyed).
 * One record per row, read by its primary key: no walk of a log that may hold millions.
 */
export async function checkGovernedRows(
  db: Kysely<Database>,
  table: GovernedTable,
  key: AuditKey | undefined,
  ids?: readonly number[],
): Promise<{ trusted: Set<number>; tampered: TamperedRow[] }> {
  const rows = await readGovernedRows(db, table, ids);
  const seqs = [...new Set(rows.map((r) => r.auditSeq).filter((s): s is number => s !== undefined))];
  const records = new Map<number, Database['audit_log']>();
  for (let i = 0; i < seqs.length; i += 400) {
    for (const r of await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', 'in', seqs.slice(i, i + 400))
      .execute())
      records.set(Number(r.seq), r);
  }
  const trusted = new Set<number>();
  const tampered: TamperedRow[] = [];
  for (const row of rows) {
    const problem = rowProblem(row, row.auditSeq === undefined ? undefined : records.get(row.auditSeq), key);
    if (problem === undefined) trusted.add(row.id);
    else tampered.push({ table, id: row.id, problem });
  }
  return { trusted, tampered };
}

function rowProblem(
  row: GovernedRow,
  r: Database['audit_log'] | undefined,
  key: AuditKey | undefined,
): string | undefined {
  if (row.auditSeq === undefined) return 'it has no audit record (written outside Tenure?)';
  if (!r) return `its audit record ${row.auditSeq} is missing (removed?)`;
  const seq = Number(r.seq);
  const details = parseCanonicalJson<Record<string, unknown>>(r.details);
  const record = {
    seq,
    at: new Date(r.at),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    reason: r.reason,
    details,
    ...(r.key_id !== null ? { keyId: r.key_id } : {}),
  };
  if (r.key_id !== null && !key)
    return `its audit record ${seq} is keyed (key id ${r.key_id}) and cannot be checked without TENURE_AUDIT_KEY`;
  if (r.key_id !== null && key && key.id !== r.key_id)
    return `its audit record ${seq} is chained with audit key ${r.key_id}, not with the TENURE_AUDIT_KEY given (${key.id})`;
  if (hashRecord(r.previous_hash, record, r.details, key) !== r.hash)
    return `its audit record ${seq} was altered (its hash does not match)`;
  const ref = rowRefsOf(details).find((x) => x.table === row.table && x.id === row.id);
  if (!ref) return `audit record ${seq} (${r.action}) does not name it`;
  if (ref.digest !== row.digest) return `its content differs from audit record ${seq} (${r.action})`;
  return undefined;
}
