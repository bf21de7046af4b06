import { workspaceOf } from '../app/workspace.js';
import { EXIT, toJson, type Io } from './output.js';

import type { GlobalOptions } from './global-options.js';

/** `tenure status`: identities by kind and status, the last imports, and what is held back. */
export async function statusCommand(io: Io, g: GlobalOptions): Promise<number> {
  return workspaceOf(g).withStore('read', async (store) => {
    const identities = await store.identities();
    const byKind = new Map<string, Map<string, number>>();
    for (const i of identities) {
      const m = byKind.get(i.kind) ?? new Map<string, number>();
      m.set(i.status, (m.get(i.status) ?? 0) + 1);
      byKind.set(i.kind, m);
    }
    const imports = await store.imports(10);
    const stopped = imports.filter((i) => i.outcome === 'stopped');
    const counts = Object.fromEntries([...byKind].sort().map(([k, m]) => [k, Object.fromEntries([...m].sort())]));
    if (g.json) {
      io.out(
        toJson({
          state: store.location,
          schema: await store.schemaVersion(),
          identities: identities.length,
          byKind: counts,
          lastImports: imports,
          heldBack: stopped,
        }),
      );
      return EXIT.ok;
    }
    io.out(
      `State: ${workspaceOf(g).storeLocation().location === store.location ? store.location : store.location} (${store.dialect}, schema ${await store.schemaVersion()})`,
    );
    io.out(`Identities: ${identities.length}`);
    for (const [kind, m] of Object.entries(counts))
      io.out(
        `  ${kind}: ${Object.entries(m)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ')}`,
      );
    if (imports.length === 0) io.out('No import yet: run tenure import.');
    else {
      io.out('Last imports:');
      for (const i of imports.slice(0, 5))
        io.out(
          `  #${i.seq} ${i.source} as of ${i.asOf.toISOString().slice(0, 10)}: ${i.outcome}, ${i.rows} rows — ${i.detail}`,
        );
    }
    if (stopped.length > 0)
      io.out(
        `Held back by a guardrail: ${stopped.map((i) => `#${i.seq} ${i.source}`).join(', ')} (see above; approve with --approve-leavers N)`,
      );
    return EXIT.ok;
  });
}
