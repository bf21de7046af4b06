import type { Connector } from '../connectors/connector.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';
import {
  buildComplianceReport,
  type ComplianceReport,
  type StoreEvidence,
  type TargetEvidence,
} from '../governance/compliance.js';
import { verifyChain } from '../audit/audit-chain.js';
import { computeDrift } from '../governance/drift.js';
import type { ActualState } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Finding } from '../model/finding.js';
import type { Identity } from '../model/identity.js';
import type { EventKind } from '../model/lifecycle.js';
import type { Policy } from '../model/policy.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import type { StateStore } from '../store/state-store.js';
import { UserError } from './errors.js';
import { listedOnce, openActualState, openTargets } from './inputs.js';
import { storedLinks } from './kept-links.js';
import type { LinkBook } from '../connectors/kept-links.js';
import { planNow } from './plan-state.js';
import { planningIdentities } from './planning-identities.js';
import { lintFindings } from './lint.js';
import type { Workspace } from './workspace.js';

export interface ComplianceRequest {
  /** Report without reading the targets (unreachable ones); the report says drift was not checked. */
  readonly skipDrift?: boolean;
}

export interface ComplianceOutcome {
  readonly report: ComplianceReport;
  /** The policy's, the sources' and the plan's warnings, for the caller to show. */
  readonly warnings: readonly Diagnostic[];
}

/**
 * `tenure report compliance`: lint and drift findings, and the evidence of the controls Tenure
 * enforces (audit chain, breakers, separation of duties, exceptions, reviews, NHI custody),
 * mapped to NIST CSF 2.0, NIST SP 800-207 and the OWASP NHI Top 10. Drift reads the targets;
 * `skipDrift` reports without them. Reading only: nothing is changed or audited.
 */
export async function complianceReport(ws: Workspace, request: ComplianceRequest = {}): Promise<ComplianceOutcome> {
  const asOf = ws.asOf;
  const { loaded, warnings: policyWarnings } = ws.policy();
  let warnings: readonly Diagnostic[];
  let identities: readonly Identity[];
  let driftFindings: readonly Finding[] = [];
  let targets: TargetEvidence | undefined;
  if (request.skipDrift) {
    const planning = await planningIdentities(ws, loaded);
    identities = planning.identities;
    warnings = [...policyWarnings, ...planning.diagnostics];
  } else {
    const connectors = openTargetsForReport(loaded, storedLinks(ws));
    try {
      const actual = await readTargets(loaded, connectors);
      // The plan reads the same listings: one read per target, so plan and drift see one state.
      const now = await planNow(ws, { connectors });
      // The plan's warnings include the policy's own.
      warnings = now.warnings;
      identities = now.identities;
      const drift = computeDrift({
        loaded: now.loaded,
        identities: now.identities,
        imported: now.imported,
        actual,
        plan: now.plan,
        asOf: new Date(now.plan.asOf),
        kinds: CONNECTOR_KINDS,
      });
      driftFindings = drift.findings;
      targets = {
        targets: actual.targets.length,
        accounts: actual.targets.reduce((n, t) => n + t.accounts.length, 0),
        driftFindings: drift.findings.length,
        sodConflicts: now.plan.guardrails.sodConflicts.length,
        deprovisionBlocked: now.plan.guardrails.deprovision.filter((d) => d.blocked).map((d) => d.target),
      };
    } finally {
      for (const c of connectors.values()) await c.close();
    }
  }

  const lint = await lintFindings(ws, identities);
  // A SQLite file is not created just to look: no store, no store evidence.
  const store = await ws.ifStored(undefined, (s) => storeEvidence(s, loaded.policy));

  const report = buildComplianceReport({
    policy: loaded.policy,
    identities,
    findings: [...lint.findings, ...driftFindings],
    ...(store ? { store } : {}),
    ...(targets ? { targets } : {}),
    asOf,
  });
  return { report, warnings: [...warnings, ...lint.tampered] };
}

/** More imports than any store holds (one a night for a thousand years is 365,000). */
const ALL_IMPORTS = 1_000_000_000;

const SKIP_HINT = 'fix the target, or run with --skip-drift to report without reading the targets';

/** Connectors whose problems (a missing secret, an unknown host) point at --skip-drift. */
function openTargetsForReport(loaded: LoadedPolicy, links: LinkBook): Map<string, Connector> {
  try {
    return new Map([...openTargets(loaded, links)].map(([id, c]) => [id, listedOnce(c)]));
  } catch (e) {
    throw withSkipHint(e);
  }
}

async function readTargets(loaded: LoadedPolicy, connectors: ReadonlyMap<string, Connector>): Promise<ActualState> {
  try {
    return await openActualState(loaded, undefined, connectors);
  } catch (e) {
    throw withSkipHint(e);
  }
}

function withSkipHint(e: unknown): unknown {
  if (!(e instanceof UserError)) return e;
  return new UserError(e.message, e.exitCode, e.diagnostics, e.hint ? `${e.hint}; or ${SKIP_HINT}` : SKIP_HINT);
}

/** Counts from the state store, as evidence of the controls it records. */
async function storeEvidence(store: StateStore, policy: Policy): Promise<StoreEvidence> {
  const verdict = verifyChain(await store.auditRecords());
  // Every import ever recorded, not the last few a status screen shows.
  const imports = await store.imports(ALL_IMPORTS);
  const events: Partial<Record<EventKind, number>> = {};
  for (const e of await store.events()) events[e.kind] = (events[e.kind] ?? 0) + 1;
  let leavers = 0;
  for (const s of policy.sources) leavers += (await store.approvals('leavers', `source:${s.id}`)).length;
  let deprovision = 0;
  for (const t of policy.targets) deprovision += (await store.approvals('deprovision', `target:${t.id}`)).length;
  return {
    audit: {
      records: verdict.records,
      intact: verdict.ok,
      ...(verdict.firstBad ? { problem: `record ${verdict.firstBad.seq}: ${verdict.firstBad.problem}` } : {}),
    },
    imports: {
      applied: imports.filter((i) => i.outcome === 'applied').length,
      stopped: imports.filter((i) => i.outcome === 'stopped').length,
    },
    approvals: { leavers, deprovision },
    events,
    exceptions: await store.exceptions(),
    campaigns: await store.campaigns(),
    reviewItems: await store.reviewItems({}),
    denials: await store.denials(),
    custody: await store.custody(),
    rotations: await store.rotations(),
  };
}
