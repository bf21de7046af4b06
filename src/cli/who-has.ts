import { watchedEngine } from '../app/watched-engine.js';
import { workspaceOf } from '../app/workspace.js';
import { describeInputs, expandGrant, explainProvenance } from '../plan/explain.js';
import { storedDenials, storedExceptions } from '../app/store-access.js';
import { EXIT, toJson, type Io } from './output.js';
import { planningIdentities } from '../app/planning-identities.js';
import type { GlobalOptions } from './global-options.js';
import { declaredEntitlement } from '../app/inputs.js';

/** `tenure who-has ENTITLEMENT`: every identity that should hold it, and why. */
export async function whoHasCommand(
  io: Io,
  g: GlobalOptions,
  entitlement: string,
  options: { limit?: number },
): Promise<number> {
  const { loaded } = workspaceOf(g).policy();
  const ent = declaredEntitlement(loaded, entitlement);
  const { identities } = await planningIdentities(workspaceOf(g), loaded);
  const desired = watchedEngine(loaded).desiredState(
    identities,
    workspaceOf(g).asOf,
    'indexed',
    await storedExceptions(workspaceOf(g)),
    await storedDenials(workspaceOf(g)),
  );
  const holders = desired.identities.flatMap((a) =>
    a.grants.filter((gr) => gr.entitlement === entitlement).map((gr) => expandGrant(a, gr)),
  );
  if (g.json) {
    io.out(
      toJson({
        entitlement,
        risk: ent.risk,
        count: holders.length,
        holders: holders.map((h) => ({ identity: h.identity, provenance: h.provenance })),
      }),
    );
    return EXIT.ok;
  }
  const limit = options.limit ?? Infinity;
  io.out(
    `${entitlement} (${ent.risk} risk${ent.description ? `, ${ent.description}` : ''}): ${holders.length} identit${holders.length === 1 ? 'y' : 'ies'}`,
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
