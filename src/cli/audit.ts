import { headText, type ChainHead } from '../audit/audit-chain.js';
import { auditKeyFrom } from '../audit/audit-key.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { exportAudit, verifyAudit, type AuditVerification } from '../app/audit.js';
import { workspaceOf } from '../app/workspace.js';
import { EXIT, toJson, type Io, UserError, writeOutput } from './output.js';
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

/** The `--json` document of a verification; the demo reports the same. */
export function verificationJson(v: AuditVerification): Record<string, unknown> {
  return {
    ok: v.ok,
    records: v.chain.records,
    head: headText(v.chain.head),
    chain: v.chain,
    governed: v.governed,
    ...(v.expectedHead ? { expectedHead: headText(v.expectedHead), headProblem: v.headProblem ?? null } : {}),
  };
}

/**
 * `tenure audit verify [--expect-head SEQ:HASH]`: checks the hash chain (HMAC with
 * TENURE_AUDIT_KEY where keyed) and every governed row against its latest audit record, on a
 * store opened read-only; names each problem. Exit 1 on any, or when keyed records could not be
 * checked for want of the key.
 */
export async function auditVerifyCommand(io: Io, g: GlobalOptions, o: { expectHead?: string } = {}): Promise<number> {
  const expectedHead = o.expectHead === undefined ? undefined : parseHead(o.expectHead);
  const v = await verifyAudit(workspaceOf(g), {
    key: auditKeyFrom(process.env.TENURE_AUDIT_KEY),
    ...(expectedHead ? { expectedHead } : {}),
  });
  const code = v.ok ? EXIT.ok : EXIT.invalid;
  if (g.json) {
    io.out(toJson(verificationJson(v)));
    return code;
  }
  const { chain, governed } = v;
  const { keyed, firstBad } = chain;
  if (chain.records === 0) io.out(`audit log is empty: 0 records, nothing to verify (head ${headText(undefined)})`);
  else if (firstBad) io.err(`audit log TAMPERED: record ${firstBad.seq}: ${firstBad.problem}`);
  else if (keyed && !keyed.checked)
    io.err(
      `audit log NOT VERIFIED: records ${keyed.from}–${chain.head!.seq} are keyed (key id ${keyed.keyId}) and cannot be checked without TENURE_AUDIT_KEY; their sequence and links are whole`,
    );
  else
    io.out(
      `audit log intact: ${chain.records} record(s), hash chain verified${keyed ? ` (keyed with key id ${keyed.keyId} from record ${keyed.from})` : ''}; head ${headText(chain.head)}`,
    );
  if (v.headProblem) io.err(v.headProblem);
  else if (v.expectedHead && v.expectedHead.seq > 0) io.out(`expected head ${headText(v.expectedHead)} found`);
  for (const t of governed.tampered) io.err(`TAMPERED: ${t.table} #${t.id}: ${t.problem}`);
  for (const a of governed.adopted.slice(0, SHOWN)) io.err(`warning: ${a.table} #${a.id}: ${a.problem}`);
  if (governed.adopted.length > SHOWN)
    io.err(`warning: ... and ${governed.adopted.length - SHOWN} more row(s) written before row digests`);
  const summary = `governed rows: ${governed.checked} checked, ${governed.tampered.length} tampered, ${governed.adopted.length} written before row digests`;
  if (governed.tampered.length > 0) io.err(summary);
  else if (governed.checked > 0) io.out(summary);
  return code;
}

/** `tenure audit export [--since DATE] [--out FILE]`: JSON Lines for a SIEM; the head goes to stderr. */
export async function auditExportCommand(
  io: Io,
  g: GlobalOptions,
  options: { since?: string; out?: string },
): Promise<number> {
  const since = options.since !== undefined ? dateText(options.since, '--since') : undefined;
  const exported = await exportAudit(workspaceOf(g), since !== undefined ? { since } : {});
  const head = headText(exported.head);
  const lines = exported.records
    .map((r) => JSON.parse(canonicalJson({ ...r, at: r.at.toISOString() })) as unknown)
    .map((r) => JSON.stringify(r));
  const text = lines.join('\n') + (lines.length > 0 ? '\n' : '');
  if (options.out) {
    writeOutput(options.out, text);
    io.err(`${exported.records.length} record(s) written to ${options.out}; head ${head}`);
  } else {
    if (text) io.out(text.trimEnd());
    // stdout stays pure JSON Lines; keep the head to check later with audit verify --expect-head.
    io.err(`head ${head}`);
  }
  return EXIT.ok;
}
