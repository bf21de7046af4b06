import { whoHas } from '../app/who-has.js';
import { workspaceOf } from '../app/workspace.js';
import { describeInputs, explainProvenance } from '../plan/explain.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

/** `tenure who-has ENTITLEMENT`: every identity that should hold it, and why. */
export async function whoHasCommand(
  io: Io,
  g: GlobalOptions,
  entitlement: string,
  options: { limit?: number },
): Promise<number> {
  const { entitlement: ent, holders, diagnostics } = await whoHas(workspaceOf(g), entitlement);
  if (g.json) {
    io.out(
      toJson({
        entitlement: ent.id,
        risk: ent.risk,
        count: holders.length,
        holders: holders.map((h) => ({ identity: h.identity, provenance: h.provenance })),
        ...(diagnostics.length > 0 ? { diagnostics } : {}),
      }),
    );
    return EXIT.ok;
  }
  printDiagnostics(io, diagnostics);
  const limit = options.limit ?? Infinity;
  io.out(
    `${ent.id} (${ent.risk} risk${ent.description ? `, ${ent.description}` : ''}): ${holders.length} identit${holders.length === 1 ? 'y' : 'ies'}`,
  );
  for (const h of holders.slice(0, limit)) {
    const p = h.provenance[0]!;
    io.out(
      `  ${h.identity}: ${explainProvenance(p)}${p.exception ? '' : ` (${describeInputs(p.inputs ?? {})})`}${h.provenance.length > 1 ? ` +${h.provenance.length - 1} more path(s)` : ''}`,
    );
  }
  if (holders.length > limit) io.out(`  ... and ${holders.length - limit} more (--json for all)`);
  return EXIT.ok;
}
