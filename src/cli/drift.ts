import { workspaceOf } from '../app/workspace.js';
import { DRIFT_CODES, type DriftReport } from '../governance/drift.js';
import { FINDING_SEVERITIES, severityRank, type FindingSeverity } from '../model/finding.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { renderPlanText } from '../plan/render-plan.js';
import { failOnVerdict } from './finding-options.js';
import { savePlan } from './plan.js';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import { driftNow, remediationOf } from '../app/drift.js';
import type { GlobalOptions } from './global-options.js';

export interface DriftOptions {
  readonly target?: string;
  readonly limit?: number;
  readonly failOn?: FindingSeverity;
  readonly remediate?: boolean;
  readonly out?: string;
}

/** Findings shown per class in text output unless --limit says otherwise. */

/**
 * `tenure drift`: reads actual state through the connectors and reports every difference from
 * the policy as a finding with its reason. It only reports (exit 0, or 1 with `--fail-on` when a
 * finding is at or above that severity); `--remediate` turns the differences into a plan that
 * `tenure apply FILE` accepts under the same guardrails as any other.
 */
export async function driftCommand(io: Io, g: GlobalOptions, o: DriftOptions): Promise<number> {
  // Arguments first: a typo in a scheduled job should fail before any target is read.
  if (o.out !== undefined && !o.remediate)
    throw new UserError('--out saves the remediation plan', EXIT.usage, [], 'add --remediate');
  const failOn = o.failOn;
  const limit = o.limit ?? 20;
  const ws = workspaceOf(g);
  const { report, planned: now } = await driftNow(ws, o.target !== undefined ? { onlyTargets: [o.target] } : {});
  const remediation = o.remediate
    ? remediationOf({ report, planned: now }, o.target !== undefined ? [o.target] : undefined)
    : undefined;
  if (remediation && o.out) {
    await savePlan(
      g,
      remediation,
      o.out,
      `drift remediation: ${remediation.summary.changes} change(s) for ${report.summary.findings} finding(s)`,
      { drift: report.summary.byCode },
    );
  }
  const failing =
    failOn === undefined ? 0 : report.findings.filter((f) => severityRank(f.severity) >= severityRank(failOn)).length;
  const code = failing > 0 ? EXIT.invalid : EXIT.ok;

  if (g.json) {
    io.out(
      toJson({
        ok: code === EXIT.ok,
        drift: report,
        ...(failOn ? { failOn, failing } : {}),
        ...(remediation ? { remediation } : {}),
        diagnostics: now.warnings,
      }),
    );
    return code;
  }
  printDiagnostics(io, now.warnings);
  io.out(renderDriftText(report, now.loaded, limit));
  if (remediation) {
    io.out('');
    io.out(renderPlanText(remediation, { limit }));
    if (o.out) io.err(`remediation plan saved to ${o.out}; review it, then: tenure apply ${o.out}`);
  }
  if (failOn !== undefined) {
    io.out(failOnVerdict(failOn, failing));
  }
  return code;
}

/** Drift for a terminal: counts per class and target, then each class with its findings. */
export function renderDriftText(report: DriftReport, loaded: LoadedPolicy, limit: number): string {
  const out: string[] = [`Drift for ${report.policy} as of ${report.asOf}`, ''];
  const codes = DRIFT_CODES.filter((c) => report.summary.byCode[c] > 0);
  if (codes.length > 0) {
    const head = ['class', ...report.targets.map((t) => t.target), 'total'];
    const rows = codes.map((c) => [
      c.slice('drift.'.length),
      ...report.targets.map((t) => String(t.byCode[c])),
      String(report.summary.byCode[c]),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const row = (r: string[]) =>
      r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
    out.push(row(head), ...rows.map(row), '');
    for (const c of codes) {
      const group = report.findings.filter((f) => f.code === c);
      out.push(`${c} (${group.length}): ${group[0]!.why}`);
      for (const f of group.slice(0, limit)) out.push(`  ${f.severity.padEnd(8)} ${f.subject}  ${f.message}`);
      if (group.length > limit) out.push(`  ... and ${group.length - limit} more (--limit N or --json for all)`);
      out.push(`  fix: ${group[0]!.fix}`, '');
    }
  }
  const expected = expectedLines(report, loaded);
  if (expected.length > 0) out.push('Not drift (the policy expects these):', ...expected.map((l) => `  ${l}`), '');
  const s = report.summary;
  out.push(
    s.findings === 0
      ? 'No drift: every account is explained and matches the policy.'
      : `${s.findings} finding(s): ${[...FINDING_SEVERITIES]
          .reverse()
          .filter((x) => s.bySeverity[x] > 0)
          .map((x) => `${s.bySeverity[x]} ${x}`)
          .join(', ')}. tenure drift --remediate --out FILE makes the plan that fixes what the policy can fix.`,
  );
  return out.join('\n');
}

function expectedLines(report: DriftReport, loaded: LoadedPolicy): string[] {
  const leaver = loaded.policy.policies.leaver;
  const lines: string[] = [];
  for (const t of report.targets) {
    const e = t.expected;
    const days = leaver.targets[t.target]?.deleteAfterDays ?? leaver.deleteAfterDays;
    if (e.moverGrace > 0) lines.push(`${t.target}: ${e.moverGrace} removal(s) held back by the mover grace period`);
    if (e.disabledLeavers > 0)
      lines.push(
        `${t.target}: ${e.disabledLeavers} disabled account(s) of leavers, ${days === undefined ? 'kept (the policy deletes none)' : `deleted ${days} days after leaving`}`,
      );
    if (e.disabledOrphans > 0)
      lines.push(
        `${t.target}: ${e.disabledOrphans} disabled account(s) no identity explains: no access; review and delete them by hand`,
      );
  }
  return lines;
}
