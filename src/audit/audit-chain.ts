import { createHash } from 'node:crypto';
import type { AuditRecord } from '../model/audit.js';
import { canonicalJson } from './canonical-json.js';

/** The hash before the first record. */
export const GENESIS = '0'.repeat(64);

export type AuditEntry = Pick<AuditRecord, 'actor' | 'action' | 'subject' | 'reason' | 'details'> & {
  readonly at: Date;
};

/** SHA-256 over the previous hash and the record's canonical JSON (everything but the hashes). */
export function hashRecord(
  previousHash: string,
  record: Omit<AuditRecord, 'hash' | 'previousHash'>,
  detailsJson: string = canonicalJson(record.details),
): string {
  // The same text canonicalJson gives for the record without its hashes, built around the
  // details' JSON so an import's many records are not serialised twice.
  const body =
    `{"action":${JSON.stringify(record.action)},"actor":${JSON.stringify(record.actor)},` +
    `"at":{"$date":"${record.at.toISOString()}"},"details":${detailsJson},"reason":${JSON.stringify(record.reason)},` +
    `"seq":${record.seq},"subject":${JSON.stringify(record.subject)}}`;
  return createHash('sha256').update(previousHash).update('\n').update(body).digest('hex');
}

/** A chained record with its details already in canonical JSON, ready to store. */
export type ChainedRecord = AuditRecord & { readonly detailsJson: string };

/** Chains new entries after the last record (or the genesis). */
export function chain(
  last: { seq: number; hash: string } | undefined,
  entries: readonly AuditEntry[],
): ChainedRecord[] {
  let seq = last?.seq ?? 0;
  let previousHash = last?.hash ?? GENESIS;
  return entries.map((e) => {
    seq += 1;
    const body = {
      seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      subject: e.subject,
      reason: e.reason,
      details: e.details,
    };
    const detailsJson = canonicalJson(e.details);
    const hash = hashRecord(previousHash, body, detailsJson);
    const record: ChainedRecord = { ...body, previousHash, hash, detailsJson };
    previousHash = hash;
    return record;
  });
}

export interface ChainVerdict {
  readonly ok: boolean;
  readonly records: number;
  /** The first record that does not fit, and why. */
  readonly firstBad?: { readonly seq: number; readonly problem: string };
}

/**
 * Checks records in storage order: sequence numbers 1, 2, 3 ... without gaps (a removed record),
 * each record's previous hash equal to the hash before it (an inserted or reordered record), and
 * each hash equal to the recomputed one (an altered record).
 */
export function verifyChain(records: Iterable<AuditRecord>): ChainVerdict {
  let expectedSeq = 1;
  let previousHash = GENESIS;
  let count = 0;
  for (const r of records) {
    count++;
    if (r.seq !== expectedSeq) {
      return {
        ok: false,
        records: count,
        firstBad: {
          seq: r.seq,
          problem:
            r.seq > expectedSeq
              ? `record ${expectedSeq} is missing (removed?)`
              : `record ${r.seq} is out of order or duplicated`,
        },
      };
    }
    if (r.previousHash !== previousHash) {
      return {
        ok: false,
        records: count,
        firstBad: { seq: r.seq, problem: 'its link to the record before does not match (inserted or reordered?)' },
      };
    }
    if (hashRecord(previousHash, r) !== r.hash) {
      return {
        ok: false,
        records: count,
        firstBad: { seq: r.seq, problem: 'its content does not match its hash (altered?)' },
      };
    }
    previousHash = r.hash;
    expectedSeq++;
  }
  return { ok: true, records: count };
}
