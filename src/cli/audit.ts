import { writeFileSync } from 'node:fs';
import { headText, verifyChain, type ChainHead } from '../audit/audit-chain.js';
import { auditKeyFrom } from '../audit/audit-key.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { verifyGovernedRows } from '../audit/verify-governed.js';
import type { AuditRecord } from '../model/audit.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import { workspaceOf } from '../app/workspace.js';
import type { GlobalOptions } from './global-options.js';
import { dateText } from './flags.js';

/** How many adopted (pre-upgrade) rows are named one by one before a count. */
const SHOWN = 10;

/** `--expect-head SEQ:HASH`, parsed before anything is opened: a bad value is a usage error. */
function parseHead(text: string): ChainHead {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text);
  if (!m)
    throw new UserError(
      `--expect-head "${text}" is not SEQ:HASH`,
      EXIT.usage,
      [],
      'write the record number, a colon and its 64 hex digit hash, as audit verify and audit export print the head (e.g. 42:9f86d0…)',
    );
  return { seq: Number(m[1]), hash: m[2]! };
}

/** Compares the log with a head recorded earlier: it may have grown, never shrunk or changed. */
function headProblem(records: readonly AuditRecord[], expected: ChainHead): string | undefined {
  const last = records.at(-1);
  const found = last ? `${last.seq}:${last.hash}` : headText(undefined);
  if (expected.seq === 0) return undefined;
  const at = records.find((r) => r.seq === expected.seq);
  if (!last || last.seq < expected.seq)
    return `the audit log ENDS EARLY: expected head ${headText(expected)}, found ${found} (${expected.seq - (last?.seq ?? 0)} record(s) removed from the end?)`;
  if (!at || at.hash !== expected.hash)
    return `the audit log DIFFERS from the expected head: record ${expected.seq} has hash ${at?.hash ?? '(none)'}, expected ${expected.hash} (rewritten?)`;
  return undefined;
}

/**
 * `tenure audit verify [--expect-head SEQ:HASH]`: checks the hash chain (HMAC with
 * TENURE_AUDIT_KEY where keyed) and every governed row against its latest audit record, on a
 * store opened read-only; names each problem. Exit 1 on any, or when keyed records could not be
 * checked for want of the key.
 */
export async function auditVerifyCommand(io: Io, g: GlobalOptions, o: { expectHead?: string } = {}): Promise<number> {
  const expected = o.expectHead === undefined ? undefined : parseHead(o.expectHead);
  const key = auditKeyFrom(process.env.TENURE_AUDIT_KEY);
  return workspaceOf(g).withStore('read-only', async (store) => {
    const records = await store.auditRecords();
    const chainVerdict = verifyChain(records, key);
    const governed = verifyGovernedRows(records, await store.governedRows());
    const head = headProblem(records, expected ?? { seq: 0, hash: '' });
    const ok = chainVerdict.ok && governed.tampered.length === 0 && head === undefined;
    if (g.json) {
      io.out(
        toJson({
          ok,
          records: chainVerdict.records,
          head: headText(chainVerdict.head),
          chain: chainVerdict,
          governed,
          ...(expected ? { expectedHead: headText(expected), headProblem: head ?? null } : {}),
        }),
      );
      return ok ? EXIT.ok : EXIT.invalid;
    }
    const { keyed, firstBad } = chainVerdict;
    if (records.length === 0) io.out(`audit log is empty: 0 records, nothing to verify (head ${headText(undefined)})`);
    else if (firstBad) io.err(`audit log TAMPERED: record ${firstBad.seq}: ${firstBad.problem}`);
    else if (keyed && !keyed.checked)
      io.err(
        `audit log NOT VERIFIED: records ${keyed.from}–${chainVerdict.head!.seq} are keyed (key id ${keyed.keyId}) and cannot be checked without TENURE_AUDIT_KEY; their sequence and links are whole`,
      );
    else
      io.out(
        `audit log intact: ${chainVerdict.records} record(s), hash chain verified${keyed ? ` (keyed with key id ${keyed.keyId} from record ${keyed.from})` : ''}; head ${headText(chainVerdict.head)}`,
      );
    if (head) io.err(head);
    else if (expected && expected.seq > 0) io.out(`expected head ${headText(expected)} found`);
    for (const t of governed.tampered) io.err(`TAMPERED: ${t.table} #${t.id}: ${t.problem}`);
    for (const a of governed.adopted.slice(0, SHOWN)) io.err(`warning: ${a.table} #${a.id}: ${a.problem}`);
    if (governed.adopted.length > SHOWN)
      io.err(`warning: ... and ${governed.adopted.length - SHOWN} more row(s) written before row digests`);
    const summary = `governed rows: ${governed.checked} checked, ${governed.tampered.length} tampered, ${governed.adopted.length} written before row digests`;
    if (governed.tampered.length > 0) io.err(summary);
    else if (governed.checked > 0) io.out(summary);
    return ok ? EXIT.ok : EXIT.invalid;
  });
}

/** `tenure audit export [--since DATE] [--out FILE]`: JSON Lines for a SIEM; the head goes to stderr. */
export async function auditExportCommand(
  io: Io,
  g: GlobalOptions,
  options: { since?: string; out?: string },
): Promise<number> {
  return workspaceOf(g).withStore('read-only', async (store) => {
    const records = await store.auditRecords(
      options.since !== undefined ? dateText(options.since, '--since') : undefined,
    );
    const head = headText(await store.auditHead());
    const lines = records
      .map((r) => JSON.parse(canonicalJson({ ...r, at: r.at.toISOString() })) as unknown)
      .map((r) => JSON.stringify(r));
    const text = lines.join('\n') + (lines.length > 0 ? '\n' : '');
    if (options.out) {
      writeFileSync(options.out, text);
      io.err(`${records.length} record(s) written to ${options.out}; head ${head}`);
    } else {
      if (text) io.out(text.trimEnd());
      // stdout stays pure JSON Lines; keep the head to check later with audit verify --expect-head.
      io.err(`head ${head}`);
    }
    return EXIT.ok;
  });
}
