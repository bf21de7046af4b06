import { workspaceOf } from '../app/workspace.js';
import { writeFileSync } from 'node:fs';
import { verifyChain } from '../audit/audit-chain.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { EXIT, toJson, type Io } from './output.js';

import type { GlobalOptions } from './global-options.js';
import { dateText } from './flags.js';

/** `tenure audit verify`: checks the hash chain and names the first bad record. */
export async function auditVerifyCommand(io: Io, g: GlobalOptions): Promise<number> {
  return workspaceOf(g).withStore('read', async (store) => {
    const verdict = verifyChain(await store.auditRecords());
    if (g.json) io.out(toJson(verdict));
    else if (verdict.ok) io.out(`audit log intact: ${verdict.records} record(s), hash chain verified`);
    else io.err(`audit log TAMPERED: record ${verdict.firstBad!.seq}: ${verdict.firstBad!.problem}`);
    return verdict.ok ? EXIT.ok : EXIT.invalid;
  });
}

/** `tenure audit export [--since DATE] [--out FILE]`: JSON Lines for a SIEM. */
export async function auditExportCommand(
  io: Io,
  g: GlobalOptions,
  options: { since?: string; out?: string },
): Promise<number> {
  return workspaceOf(g).withStore('read', async (store) => {
    const records = await store.auditRecords(
      options.since !== undefined ? dateText(options.since, '--since') : undefined,
    );
    const lines = records
      .map((r) => JSON.parse(canonicalJson({ ...r, at: r.at.toISOString() })) as unknown)
      .map((r) => JSON.stringify(r));
    const text = lines.join('\n') + (lines.length > 0 ? '\n' : '');
    if (options.out) {
      writeFileSync(options.out, text);
      io.err(`${records.length} record(s) written to ${options.out}`);
    } else if (text) io.out(text.trimEnd());
    return EXIT.ok;
  });
}
