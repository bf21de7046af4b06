import { statusDocument, storeStatus } from '../app/status.js';
import { workspaceOf } from '../app/workspace.js';
import { EXIT, toJson, type Io } from './output.js';

import type { GlobalOptions } from './global-options.js';

/** Imports named one by one on a terminal; --json has all the status read. */
const SHOWN = 5;

/** `tenure status`: identities by kind and status, the last imports, and what is held back. */
export async function statusCommand(io: Io, g: GlobalOptions): Promise<number> {
  const s = await storeStatus(workspaceOf(g));
  if (g.json) {
    io.out(toJson(statusDocument(s)));
    return EXIT.ok;
  }
  io.out(`State: ${s.location} (${s.dialect}, schema ${s.schema})`);
  io.out(`Identities: ${s.identities}`);
  for (const [kind, m] of Object.entries(s.byKind))
    io.out(
      `  ${kind}: ${Object.entries(m)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ')}`,
    );
  if (s.lastImports.length === 0) io.out('No import yet: run tenure import.');
  else {
    io.out('Last imports:');
    for (const i of s.lastImports.slice(0, SHOWN))
      io.out(
        `  #${i.seq} ${i.source} as of ${i.asOf.toISOString().slice(0, 10)}: ${i.outcome}, ${i.rows} rows — ${i.detail}`,
      );
  }
  if (s.heldBack.length > 0)
    io.out(
      `Held back by a guardrail: ${s.heldBack.map((i) => `#${i.seq} ${i.source}`).join(', ')} (see above; approve with --approve-leavers N)`,
    );
  return EXIT.ok;
}
