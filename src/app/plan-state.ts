import { watchedEngine } from './watched-engine.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';
import { accountNameRules } from '../connectors/open-connector.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../audit/canonical-json.js';
import type { Connector } from '../connectors/connector.js';
import { hasErrors, type Diagnostic } from '../model/diagnostic.js';
import type { ActualState } from '../model/actual-state.js';
import type { Plan } from '../model/plan.js';
import { computePlan } from '../plan/compute-plan.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import type { Identity } from '../model/identity.js';
import { EXIT, UserError } from './errors.js';
import { didYouMean } from '../policy/suggest.js';
import { storedPlanInputs } from './store-access.js';
import { custodyLapsed, type CredentialRotation, type Custody } from '../model/custody.js';
import { planningIdentities } from './planning-identities.js';
import { changesDigest } from './plan-identity.js';
import { openActualState, openTargets } from './inputs.js';
import { storedLinks } from './kept-links.js';
import type { Workspace } from './workspace.js';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface PlannedState {
  readonly loaded: LoadedPolicy;
  readonly plan: Plan;
  readonly warnings: readonly Diagnostic[];
  readonly identities: readonly Identity[];
  /** Every identity id the store has imported, leavers included; empty without a store (`PlanInput.imported`). */
  readonly imported: ReadonlySet<string>;
  /** What the targets held when the plan was computed. */
  readonly actual: ActualState;
}

/**
 * Computes the plan as `tenure plan` and `tenure apply` both need it, stamped with the hash of
 * the policy file and of the state it was computed from (identities, exceptions, the targets'
 * accounts): a saved plan whose hashes no longer match is stale and is refused.
 */
export async function planNow(
  ws: Workspace,
  options: {
    actual?: string;
    skipInvalid?: boolean;
    connectors?: ReadonlyMap<string, Connector>;
    /** Plan the changes of these identities only (`--identity`, "provision now"). */
    onlyIdentities?: readonly string[];
  },
): Promise<PlannedState> {
  const { loaded, warnings } = ws.policy();
  // Snapshots, exceptions, denials, lifecycle events, custody and rotations: one opening of the store.
  const stored = await storedPlanInputs(ws, loaded);
  const { identities, diagnostics: sourceWarnings } = await planningIdentities(
    ws,
    loaded,
    options.skipInvalid,
    stored.snapshots,
  );
  const asOf = ws.asOf;
  const only = options.onlyIdentities && knownIdentities(options.onlyIdentities, identities, stored.imported);
  const { exceptions, denials } = stored;
  const desired = watchedEngine(loaded).desiredState(identities, asOf, 'indexed', exceptions, denials);
  // Connectors are opened here when the caller has none, so their capabilities (credential rotation) are known.
  const connectors =
    options.connectors ?? (options.actual === undefined ? openTargets(loaded, storedLinks(ws)) : undefined);
  let actual;
  // A caller that passes its connectors collects their warnings itself, after it has used them.
  const connectorWarnings: Diagnostic[] = [];
  try {
    actual = await openActualState(loaded, options.actual, connectors);
  } finally {
    if (!options.connectors) {
      connectorWarnings.push(...connectorWarningsOf(connectors));
      for (const c of connectors?.values() ?? []) await c.close();
    }
  }
  const { result, diagnostics } = computePlan({
    loaded,
    identities,
    desired,
    actual,
    asOf,
    // Without a store nothing was imported: only ids in the feeds are known, any other link is unknown.
    imported: stored.imported,
    kinds: CONNECTOR_KINDS,
    nameRules: accountNameRules(loaded.policy.targets),
    ...(only ? { only } : {}),
    ...(stored.lifecycle ? { lifecycle: stored.lifecycle } : {}),
    suspended: suspensions(stored.custody, asOf),
    credentials: {
      rotatable: new Set([...(connectors ?? [])].filter(([, c]) => c.capabilities.rotate).map(([t]) => t)),
      lastRotated: lastRotations(stored.rotations),
    },
  });
  if (hasErrors(diagnostics)) throw new UserError('the plan could not be computed', EXIT.invalid, diagnostics);
  const policyHash = sha256(readFileSync(loaded.policy.file, 'utf8'));
  const stateHash = sha256(
    canonicalJson({ identities: [...identities].sort((a, b) => (a.id < b.id ? -1 : 1)), exceptions, denials, actual }),
  );
  return {
    loaded,
    plan: { ...result, policyHash, stateHash, digest: changesDigest(result.targets) },
    warnings: [...stored.tampered, ...warnings, ...sourceWarnings, ...diagnostics, ...connectorWarnings],
    identities,
    imported: stored.imported,
    actual,
  };
}

/** The identities a scoped plan is for, each one a source has or Tenure imported; else a UserError naming the closest. */
function knownIdentities(
  ids: readonly string[],
  identities: readonly Identity[],
  imported: ReadonlySet<string>,
): ReadonlySet<string> {
  const present = new Set(identities.map((i) => i.id));
  for (const id of ids) {
    if (present.has(id) || imported.has(id)) continue;
    throw new UserError(
      `identity "${id}" is not known: no source has it and Tenure never imported it`,
      EXIT.invalid,
      [],
      didYouMean(id, [...present]) ?? "tenure import reads the sources; the ids are the sources' keys",
      'not_found',
    );
  }
  return new Set(ids);
}

/** What the connectors have to say about how they reached their targets (fallbacks taken), each once. */
export function connectorWarningsOf(connectors: ReadonlyMap<string, Connector> | undefined): Diagnostic[] {
  return [...(connectors?.values() ?? [])].flatMap((c) => c.warnings?.() ?? []);
}

/** Non-human identities whose owner left and whom nobody took over by the deadline. */
function suspensions(
  custody: readonly Custody[],
  asOf: Date,
): (identity: string) => { reason: string; since: Date } | undefined {
  const latest = new Map<string, Custody>();
  for (const c of custody) latest.set(c.nhi, c);
  return (identity) => {
    const c = latest.get(identity);
    if (!c || !custodyLapsed(c, asOf)) return undefined;
    const day = c.deadline.toISOString().slice(0, 10);
    return {
      reason: `${identity} is suspended: its owner ${c.previousOwner} left and nobody confirmed taking it over by ${day} (tenure nhi confirm ${identity} --as ID)`,
      since: c.deadline,
    };
  };
}

function lastRotations(
  rotations: readonly CredentialRotation[],
): (identity: string, target: string) => Date | undefined {
  const latest = new Map<string, Date>();
  for (const r of rotations) {
    const key = `${r.identity}\u0000${r.target}`;
    const seen = latest.get(key);
    if (!seen || seen.getTime() < r.at.getTime()) latest.set(key, r.at);
  }
  return (identity, target) => latest.get(`${identity}\u0000${target}`);
}
