import type { AuditRecord } from '../model/audit.js';
import { rowRefsOf, type GovernedRow, type GovernedTable } from '../store/governed-rows.js';

export interface GovernedProblem {
  readonly table: GovernedTable;
  readonly id: number;
  readonly problem: string;
}

export interface GovernedVerdict {
  readonly checked: number;
  /** Rows that differ from their latest record, have none, or are gone while a record names them. */
  readonly tampered: GovernedProblem[];
  /** Rows written before records carried row digests: adopted at the upgrade, checked from then on. */
  readonly adopted: GovernedProblem[];
}

/**
 * Every governed row against the latest audit record that names it (`details.rows`): its digest
 * must match, and its `audit_seq` must point at that record. Rows adopted at the upgrade that gave
 * records row digests are also matched to their older records by the ids those carry (an
 * exception's grant, an approval, a custody proposal, a review decision), so an edit made before
 * the upgrade is found where the old records say enough.
 */
export function verifyGovernedRows(records: readonly AuditRecord[], rows: readonly GovernedRow[]): GovernedVerdict {
  const latest = new Map<string, { seq: number; action: string; digest: string }>();
  for (const r of records)
    for (const ref of rowRefsOf(r.details))
      latest.set(`${ref.table}#${ref.id}`, { seq: r.seq, action: r.action, digest: ref.digest });
  const tampered: GovernedProblem[] = [];
  const adopted: GovernedProblem[] = [];
  const present = new Set<string>();
  for (const row of rows) {
    const key = `${row.table}#${row.id}`;
    present.add(key);
    const last = latest.get(key);
    if (!last) {
      // A row left out of the upgrade's adoption because its old records contradict it says why.
      const old = legacyProblem(row, records);
      tampered.push({ ...at(row), problem: old ?? 'no audit record names it (inserted outside Tenure?)' });
      continue;
    }
    if (last.digest !== row.digest) {
      tampered.push({ ...at(row), problem: `its content differs from audit record ${last.seq} (${last.action})` });
      continue;
    }
    if (row.auditSeq !== last.seq) {
      tampered.push({
        ...at(row),
        problem: `it points at audit record ${row.auditSeq ?? 'none'}, but its latest record is ${last.seq}`,
      });
      continue;
    }
    if (last.action === 'audit.rows_adopted') {
      const old = legacyProblem(row, records);
      if (old) tampered.push({ ...at(row), problem: old });
      else
        adopted.push({
          ...at(row),
          problem: `written before records carried row digests; taken as it was at the upgrade (record ${last.seq})`,
        });
    }
  }
  for (const [key, last] of latest) {
    if (present.has(key)) continue;
    const [table, id] = key.split('#') as [GovernedTable, string];
    tampered.push({
      table,
      id: Number(id),
      problem: `audit record ${last.seq} (${last.action}) names it, but the row is gone`,
    });
  }
  return { checked: rows.length, tampered, adopted };
}

function at(row: GovernedRow): { table: GovernedTable; id: number } {
  return { table: row.table, id: row.id };
}

const day = (v: unknown): string | undefined =>
  v instanceof Date ? v.toISOString() : typeof v === 'string' ? new Date(v).toISOString() : undefined;

/** What the records written before row digests say of a row, where they say anything. */
export function legacyProblem(row: GovernedRow, records: readonly AuditRecord[]): string | undefined {
  const c = row.content;
  const named = (action: string | RegExp, idKey: string) =>
    records.filter(
      (r) => (typeof action === 'string' ? r.action === action : action.test(r.action)) && r.details[idKey] === row.id,
    );
  switch (row.table) {
    case 'exceptions': {
      const grant = named('exception.granted', 'exception')[0];
      if (!grant) return 'no exception.granted record names it (inserted outside Tenure?)';
      const differs: string[] = [];
      if (grant.subject !== c.identity) differs.push('identity');
      if (grant.details.entitlement !== c.entitlement) differs.push('entitlement');
      if (grant.details.approver !== c.approver) differs.push('approver');
      if (day(grant.details.until) !== day(c.valid_until)) differs.push('valid_until');
      if (c.revoked_at === null && named('exception.revoked', 'exception').length > 0) differs.push('revoked_at');
      return differs.length > 0
        ? `its ${differs.join(', ')} differ(s) from audit record ${grant.seq} (exception.granted)`
        : undefined;
    }
    case 'approvals': {
      const rec = named(/^approval\.(leavers|deprovision)$/, 'approval')[0];
      if (!rec) return 'no approval record names it (inserted outside Tenure?)';
      const amount = rec.details.leavers ?? rec.details.accounts;
      if (rec.subject !== c.scope || amount !== c.amount || rec.action !== `approval.${String(c.kind)}`)
        return `its kind, scope or amount differ(s) from audit record ${rec.seq} (${rec.action})`;
      return undefined;
    }
    case 'nhi_custody': {
      const rec = named('nhi.custody_proposed', 'custody')[0];
      if (!rec) return 'no nhi.custody_proposed record names it (inserted outside Tenure?)';
      if (rec.subject !== c.nhi || rec.details.previousOwner !== c.previous_owner)
        return `its identity or previous owner differ(s) from audit record ${rec.seq} (nhi.custody_proposed)`;
      return undefined;
    }
    case 'review_items': {
      if (typeof c.decision !== 'string') return undefined;
      const rec = named(`review.${c.decision}`, 'item')[0];
      if (!rec) return `no review.${c.decision} record names its decision (decided outside Tenure?)`;
      return undefined;
    }
    default:
      return undefined;
  }
}
