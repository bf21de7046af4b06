import { headText, verifyChain, type ChainHead, type ChainVerdict } from '../audit/audit-chain.js';
import type { AuditKey } from '../audit/audit-key.js';
import { verifyGovernedRows, type GovernedVerdict } from '../audit/verify-governed.js';
import type { AuditRecord } from '../model/audit.js';
import type { Workspace } from './workspace.js';

export interface AuditVerifyRequest {
  /**
   * The key keyed records are checked with (TENURE_AUDIT_KEY); required so that no caller forgets
   * it: without it keyed records cannot be checked and the log does not count as verified.
   */
  readonly key: AuditKey | undefined;
  /** A head recorded earlier (`SEQ:HASH` as verify and export print it): the log may have grown since, never shrunk or changed. */
  readonly expectedHead?: ChainHead;
}

export interface AuditVerification {
  /** The chain, every governed row and the expected head all check out. */
  readonly ok: boolean;
  readonly chain: ChainVerdict;
  readonly governed: GovernedVerdict;
  /** As asked; absent when no head was expected. */
  readonly expectedHead?: ChainHead;
  /** Why the log does not hold the expected head (cut off, rewritten); absent when it does or none was expected. */
  readonly headProblem?: string;
}

/**
 * `tenure audit verify`: checks the hash chain (HMAC where keyed) and every governed row against
 * its latest audit record, on a store opened read-only, so a copy handed to an auditor or a
 * read-only file can be checked and nothing is written.
 */
export function verifyAudit(ws: Workspace, request: AuditVerifyRequest): Promise<AuditVerification> {
  return ws.withStore('read-only', async (store) => {
    const records = await store.auditRecords();
    const chain = verifyChain(records, request.key);
    const governed = verifyGovernedRows(records, await store.governedRows());
    const expected = request.expectedHead;
    const headProblem = expected ? headProblemOf(records, expected) : undefined;
    return {
      ok: chain.ok && governed.tampered.length === 0 && headProblem === undefined,
      chain,
      governed,
      ...(expected ? { expectedHead: expected } : {}),
      ...(headProblem !== undefined ? { headProblem } : {}),
    };
  });
}

/** Compares the log with a head recorded earlier: it may have grown, never shrunk or changed. */
function headProblemOf(records: readonly AuditRecord[], expected: ChainHead): string | undefined {
  // 0:000… is the head of an empty log: every log has grown from it.
  if (expected.seq === 0) return undefined;
  const last = records.at(-1);
  const found = last ? `${last.seq}:${last.hash}` : headText(undefined);
  const at = records.find((r) => r.seq === expected.seq);
  if (!last || last.seq < expected.seq)
    return `the audit log ENDS EARLY: expected head ${headText(expected)}, found ${found} (${expected.seq - (last?.seq ?? 0)} record(s) removed from the end?)`;
  if (!at || at.hash !== expected.hash)
    return `the audit log DIFFERS from the expected head: record ${expected.seq} has hash ${at?.hash ?? '(none)'}, expected ${expected.hash} (rewritten?)`;
  return undefined;
}

export interface AuditExport {
  /** Oldest first, from `since` when given. */
  readonly records: readonly AuditRecord[];
  /** The head of the whole log (not of the records exported): what `audit verify --expect-head` compares later. */
  readonly head: ChainHead | undefined;
}

/** `tenure audit export`: the audit log's records for a SIEM, and its head, read without writing a byte. */
export function exportAudit(ws: Workspace, request: { readonly since?: Date } = {}): Promise<AuditExport> {
  return ws.withStore('read-only', async (store) => ({
    records: await store.auditRecords(request.since),
    head: await store.auditHead(),
  }));
}
