import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../audit/canonical-json.js';
import type { Connector } from '../connectors/connector.js';
import { Engine } from '../engine/engine.js';
import { hasErrors, type Diagnostic } from '../model/diagnostic.js';
import type { Plan } from '../model/plan.js';
import { computePlan } from '../plan/compute-plan.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import type { Identity } from '../model/identity.js';
import { EXIT, UserError } from './output.js';
import { storedDenials, storedExceptions, storedLifecycle } from './store-access.js';
import { planningIdentities } from './planning-identities.js';
import { asOfDate, openActualState, openPolicy, type GlobalOptions } from './workspace.js';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface PlannedState {
  readonly loaded: LoadedPolicy;
  readonly plan: Plan;
  readonly warnings: readonly Diagnostic[];
  readonly identities: readonly Identity[];
}

/**
 * Computes the plan as `tenure plan` and `tenure apply` both need it, stamped with the hash of
 * the policy file and of the state it was computed from (identities, exceptions, the targets'
 * accounts): a saved plan whose hashes no longer match is stale and is refused.
 */
export async function planNow(
  g: GlobalOptions,
  options: { actual?: string; skipInvalid?: boolean; connectors?: ReadonlyMap<string, Connector> },
): Promise<PlannedState> {
  const { loaded, warnings } = openPolicy(g.config);
  const { identities, diagnostics: sourceWarnings } = await planningIdentities(g, loaded, options.skipInvalid);
  const asOf = asOfDate(g.asOf);
  const exceptions = await storedExceptions(g);
  const denials = await storedDenials(g);
  const desired = new Engine(loaded).desiredState(identities, asOf, 'indexed', exceptions, denials);
  const actual = await openActualState(loaded, options.actual, options.connectors);
  const lifecycle = await storedLifecycle(g);
  const { result, diagnostics } = computePlan({
    loaded,
    identities,
    desired,
    actual,
    asOf,
    ...(lifecycle ? { lifecycle } : {}),
  });
  if (hasErrors(diagnostics)) throw new UserError('the plan could not be computed', EXIT.invalid, diagnostics);
  const policyHash = sha256(readFileSync(loaded.policy.file, 'utf8'));
  const stateHash = sha256(
    canonicalJson({ identities: [...identities].sort((a, b) => (a.id < b.id ? -1 : 1)), exceptions, denials, actual }),
  );
  return {
    loaded,
    plan: { ...result, policyHash, stateHash },
    warnings: [...warnings, ...sourceWarnings, ...diagnostics],
    identities,
  };
}
