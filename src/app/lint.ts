import type { Identity } from '../model/identity.js';
import { lint } from '../governance/lint.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { FINDING_SEVERITIES, severityRank, type Finding, type FindingSeverity } from '../model/finding.js';
import { planningIdentities } from './planning-identities.js';
import { storedGovernance } from './store-access.js';
import { watchedEngine } from './watched-engine.js';
import type { Workspace } from './workspace.js';

/** The governance findings of a policy and its identities at one moment, with the verdict for CI. */
export interface LintReport {
  /** The policy's name. */
  readonly policy: string;
  readonly asOf: Date;
  readonly findings: readonly Finding[];
  readonly counts: Readonly<Record<FindingSeverity, number>>;
  /** The threshold asked for, when one was. */
  readonly failOn?: FindingSeverity;
  /** Findings at or above `failOn` (0 without one). */
  readonly failing: number;
  /** Nothing is at or above `failOn`: what a CI step passes on. */
  readonly ok: boolean;
  /** The policy's warnings, then the sources'. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * `tenure lint`: role-model, separation-of-duties, exception and non-human identity findings.
 * Works from the feeds when nothing was imported; reads the store only when one exists.
 */
export async function lintNow(ws: Workspace, options: { readonly failOn?: FindingSeverity } = {}): Promise<LintReport> {
  const { failOn } = options;
  const asOf = ws.asOf;
  const { loaded, warnings } = ws.policy();
  const { identities, diagnostics } = await planningIdentities(ws, loaded);
  const { findings, tampered } = await lintFindings(ws, identities);
  const failing =
    failOn === undefined ? 0 : findings.filter((f) => severityRank(f.severity) >= severityRank(failOn)).length;
  return {
    policy: loaded.policy.name,
    asOf,
    findings,
    counts: countBySeverity(findings),
    ...(failOn !== undefined ? { failOn } : {}),
    failing,
    ok: failing === 0,
    diagnostics: [...warnings, ...diagnostics, ...tampered],
  };
}

/**
 * The findings of `tenure lint` for these identities, with the stored exceptions and denials
 * that match the audit log (and a diagnostic for each that does not). The compliance report
 * calls it too, so the report and lint never disagree.
 */
export async function lintFindings(
  ws: Workspace,
  identities: readonly Identity[],
): Promise<{ findings: Finding[]; tampered: readonly Diagnostic[] }> {
  const { loaded } = ws.policy();
  const { exceptions, denials, tampered } = await storedGovernance(ws);
  const engine = watchedEngine(loaded);
  const desired = engine.desiredState(identities, ws.asOf, 'indexed', exceptions, denials);
  const findings = lint({ loaded, identities, exceptions, desired, asOf: ws.asOf, closures: engine.closures, denials });
  return { findings, tampered };
}

function countBySeverity(findings: readonly Finding[]): Record<FindingSeverity, number> {
  const counts = Object.fromEntries(FINDING_SEVERITIES.map((s) => [s, 0])) as Record<FindingSeverity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}
