import { createHash, createHmac } from 'node:crypto';
import type { AuditAction, AuditRecord } from '../model/audit.js';
import type { AuditKey } from './audit-key.js';
import { canonicalJson } from './canonical-json.js';

/** The hash before the first record. */
export const GENESIS = '0'.repeat(64);

export type AuditEntry = Pick<AuditRecord, 'actor' | 'subject' | 'reason' | 'details'> & {
  readonly action: AuditAction;
  readonly at: Date;
};

/**
 * SHA-256 over the previous hash and the record's canonical JSON (everything but the hashes); a
 * keyed record (it has a keyId) is an HMAC-SHA-256 with the key instead, so whoever can write the
 * database but lacks the key cannot chain a record that verifies.
 */
export function hashRecord(
  previousHash: string,
  record: Omit<AuditRecord, 'hash' | 'previousHash'>,
  detailsJson: string = canonicalJson(record.details),
  key?: AuditKey,
): string {
  // The same text canonicalJson gives for the record without its hashes, built around the
  // details' JSON so an import's many records are not serialised twice.
  const body =
    `{"action":${JSON.stringify(record.action)},"actor":${JSON.stringify(record.actor)},` +
    `"at":{"$date":"${record.at.toISOString()}"},"details":${detailsJson},` +
    (record.keyId !== undefined ? `"keyId":${JSON.stringify(record.keyId)},` : '') +
    `"reason":${JSON.stringify(record.reason)},` +
    `"seq":${record.seq},"subject":${JSON.stringify(record.subject)}}`;
  if (record.keyId !== undefined) {
    // Without the key a keyed record cannot be checked: the caller must not ask.
    if (!key || key.id !== record.keyId) throw new Error(`record ${record.seq} needs audit key ${record.keyId}`);
    return createHmac('sha256', key.secret).update(previousHash).update('\n').update(body).digest('hex');
  }
  return createHash('sha256').update(previousHash).update('\n').update(body).digest('hex');
}

/** A chained record with its details already in canonical JSON, ready to store. */
export type ChainedRecord = AuditRecord & { readonly detailsJson: string };

/** Chains new entries after the last record (or the genesis); with a key, as keyed records. */
export function chain(
  last: { seq: number; hash: string } | undefined,
  entries: readonly AuditEntry[],
  key?: AuditKey,
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
      ...(key ? { keyId: key.id } : {}),
    };
    const detailsJson = canonicalJson(e.details);
    const hash = hashRecord(previousHash, body, detailsJson, key);
    const record: ChainedRecord = { ...body, previousHash, hash, detailsJson };
    previousHash = hash;
    return record;
  });
}

/** The last record of the chain: `SEQ:HASH`, what `--expect-head` compares. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export function headText(head: ChainHead | undefined): string {
  return head ? `${head.seq}:${head.hash}` : '0:' + GENESIS;
}

export interface ChainVerdict {
  /** True when every record was checked and fits; false when one does not or keyed records could not be checked. */
  readonly ok: boolean;
  readonly records: number;
  /** The last record read (absent for an empty log). */
  readonly head?: ChainHead;
  /** The first record that does not fit, and why. */
  readonly firstBad?: { readonly seq: number; readonly problem: string };
  /** Keyed records (HMAC): from which record, with which key id, and whether they were checked (the key was given). */
  readonly keyed?: { readonly from: number; readonly keyId: string; readonly checked: boolean };
}

/**
 * Checks records in storage order: sequence numbers 1, 2, 3 ... without gaps (a removed record),
 * each record's previous hash equal to the hash before it (an inserted or reordered record), and
 * each hash equal to the recomputed one (an altered record). Keyed records need the key; without
 * it only their sequence and links are checked and the verdict is not ok. Once a record is keyed,
 * an unkeyed one after it is a record rebuilt without the key.
 */
export function verifyChain(records: Iterable<AuditRecord>, key?: AuditKey): ChainVerdict {
  let expectedSeq = 1;
  let previousHash = GENESIS;
  let count = 0;
  let head: ChainHead | undefined;
  let keyed: { from: number; keyId: string; checked: boolean } | undefined;
  const bad = (seq: number, problem: string): ChainVerdict => ({
    ok: false,
    records: count,
    ...(head ? { head } : {}),
    firstBad: { seq, problem },
    ...(keyed ? { keyed } : {}),
  });
  for (const r of records) {
    count++;
    if (r.seq !== expectedSeq)
      return bad(
        r.seq,
        r.seq > expectedSeq
          ? `record ${expectedSeq} is missing (removed?)`
          : `record ${r.seq} is out of order or duplicated`,
      );
    if (r.previousHash !== previousHash)
      return bad(r.seq, 'its link to the record before does not match (inserted or reordered?)');
    if (r.keyId !== undefined) {
      keyed ??= { from: r.seq, keyId: r.keyId, checked: key !== undefined };
      if (key && r.keyId !== key.id)
        return bad(
          r.seq,
          `it is chained with audit key ${r.keyId}, not with the TENURE_AUDIT_KEY given (key id ${key.id})`,
        );
      if (key && hashRecord(previousHash, r, undefined, key) !== r.hash)
        return bad(r.seq, 'its content does not match its keyed hash (altered?)');
    } else if (keyed) {
      return bad(
        r.seq,
        `it is not keyed, but the chain is keyed from record ${keyed.from} on (rebuilt without the key?)`,
      );
    } else if (hashRecord(previousHash, r) !== r.hash) {
      return bad(r.seq, 'its content does not match its hash (altered?)');
    }
    previousHash = r.hash;
    head = { seq: r.seq, hash: r.hash };
    expectedSeq++;
  }
  // With the key, a chain with no keyed record at all is what a rebuild without the key looks like.
  if (key && !keyed && count > 0)
    return {
      ok: false,
      records: count,
      ...(head ? { head } : {}),
      firstBad: {
        seq: head!.seq,
        problem: `no record is chained with TENURE_AUDIT_KEY (key id ${key.id}): the keyed records were removed or rebuilt without the key, or nothing was written since the key was set`,
      },
    };
  return {
    ok: !keyed || keyed.checked,
    records: count,
    ...(head ? { head } : {}),
    ...(keyed ? { keyed } : {}),
  };
}
