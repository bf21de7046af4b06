import type { Connector } from '../connectors/connector.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';
import { computeDrift, remediationPlan, type DriftReport } from '../governance/drift.js';
import type { Plan } from '../model/plan.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, UserError } from './errors.js';
import { listedOnce, openActualState, openTargets } from './inputs.js';
import { changesDigest } from './plan-identity.js';
import { storedLinks } from './kept-links.js';
import { planNow, type PlannedState } from './plan-state.js';
import type { Workspace } from './workspace.js';

export interface DriftState {
  readonly planned: PlannedState;
  readonly report: DriftReport;
}

/**
 * Drift as `tenure drift` reports it: the current plan and the actual state, read through one
 * listing per target so both see one state, classified by governance/drift.
 */
export async function driftNow(
  ws: Workspace,
  options: { readonly onlyTargets?: readonly string[]; readonly connectors?: ReadonlyMap<string, Connector> } = {},
): Promise<DriftState> {
  const { loaded } = ws.policy();
  for (const t of options.onlyTargets ?? []) knownTarget(ws, t);
  const own = options.connectors === undefined;
  const connectors = new Map(
    [...(options.connectors ?? openTargets(loaded, storedLinks(ws)))].map(([id, c]) => [id, listedOnce(c)]),
  );
  try {
    const planned = await planNow(ws, { connectors });
    const actual = await openActualState(planned.loaded, undefined, connectors);
    const report = computeDrift({
      loaded: planned.loaded,
      identities: planned.identities,
      imported: planned.imported,
      actual,
      plan: planned.plan,
      asOf: ws.asOf,
      kinds: CONNECTOR_KINDS,
      ...(options.onlyTargets ? { targets: options.onlyTargets } : {}),
    });
    return { planned, report };
  } finally {
    if (own) for (const c of connectors.values()) await c.close();
  }
}

/** The plan that fixes drift: the current plan plus a disable of each enabled orphan, under the same guardrails. */
export function remediationOf(state: DriftState, onlyTargets?: readonly string[]): Plan {
  const plan = remediationPlan(state.planned.plan, state.report, state.planned.loaded, onlyTargets);
  return { ...plan, digest: changesDigest(plan.targets) };
}

function knownTarget(ws: Workspace, id: string): void {
  const ids = ws.policy().loaded.policy.targets.map((t) => t.id);
  if (ids.includes(id)) return;
  throw new UserError(
    `--target ${id}: the policy declares no such target`,
    EXIT.invalid,
    [],
    didYouMean(id, ids) ?? `targets: ${ids.join(', ')}`,
  );
}
