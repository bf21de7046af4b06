import type { Diagnostic } from '../model/diagnostic.js';
import type { Entitlement } from '../model/entitlement.js';
import { expandGrant } from '../plan/explain.js';
import { declaredEntitlement } from './inputs.js';
import { planningIdentities } from './planning-identities.js';
import { storedGovernance } from './store-access.js';
import { watchedEngine } from './watched-engine.js';
import type { Workspace } from './workspace.js';

/** One identity that should hold the entitlement, with each path (role rule or exception) that grants it. */
export type Holder = ReturnType<typeof expandGrant>;

export interface Holders {
  readonly entitlement: Entitlement;
  /** By identity id. */
  readonly holders: readonly Holder[];
  /** Governed rows the store holds that do not match the audit log: left out of the holders. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * `tenure who-has ENTITLEMENT`: every identity the policy gives it to at `asOf`, and why. Works
 * from the feeds when nothing was imported; reads the store only when one exists.
 */
export async function whoHas(ws: Workspace, entitlement: string): Promise<Holders> {
  const { loaded } = ws.policy();
  // A mistyped entitlement fails before the sources are read.
  const declared = declaredEntitlement(loaded, entitlement);
  const { identities } = await planningIdentities(ws, loaded);
  const { exceptions, denials, tampered } = await storedGovernance(ws);
  const desired = watchedEngine(loaded).desiredState(identities, ws.asOf, 'indexed', exceptions, denials);
  const holders = desired.identities.flatMap((a) =>
    a.grants.filter((gr) => gr.entitlement === entitlement).map((gr) => expandGrant(a, gr)),
  );
  return { entitlement: declared, holders, diagnostics: tampered };
}
