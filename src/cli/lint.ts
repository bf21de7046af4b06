import { watchedEngine } from '../app/watched-engine.js';
import { workspaceOf } from '../app/workspace.js';
import { lint } from '../governance/lint.js';
import { formatPosition } from '../model/diagnostic.js';
import { FINDING_SEVERITIES, severityRank, type Finding, type FindingSeverity } from '../model/finding.js';
import { failOnVerdict } from './finding-options.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';
import { planningIdentities } from '../app/planning-identities.js';
import { storedDenials, storedExceptions } from '../app/store-access.js';
import type { GlobalOptions } from './global-options.js';

export interface LintOptions {
  readonly failOn?: FindingSeverity;
  readonly limit?: number;
}

/** Findings shown per severity in text output unless --limit says otherwise. */

/**
 * `tenure lint`: role-model, separation-of-duties, exception and non-human identity findings.
 * With `--fail-on SEVERITY` it exits 1 when any finding is at or above it, for CI.
 */
export async function lintCommand(io: Io, g: GlobalOptions, options: LintOptions): Promise<number> {
  // Arguments first: a typo in a CI script should fail fast, before the sources are read.
  const failOn = options.failOn;
  const limit = options.limit ?? 20;
  const asOf = workspaceOf(g).asOf;
  const { loaded, warnings } = workspaceOf(g).policy();
  const { identities, diagnostics } = await planningIdentities(workspaceOf(g), loaded);
  const exceptions = await storedExceptions(workspaceOf(g));
  const engine = watchedEngine(loaded);
  const denials = await storedDenials(workspaceOf(g));
  const desired = engine.desiredState(identities, asOf, 'indexed', exceptions, denials);
  const findings = lint({ loaded, identities, exceptions, desired, asOf, closures: engine.closures, denials });
  const counts = countBySeverity(findings);
  const failing =
    failOn === undefined ? 0 : findings.filter((f) => severityRank(f.severity) >= severityRank(failOn)).length;
  const code = failing > 0 ? EXIT.invalid : EXIT.ok;
  const notes = [...warnings, ...diagnostics];

  if (g.json) {
    io.out(
      toJson({
        ok: code === EXIT.ok,
        asOf,
        counts,
        total: findings.length,
        ...(failOn ? { failOn, failing } : {}),
        findings,
        diagnostics: notes,
      }),
    );
    return code;
  }
  printDiagnostics(io, notes);
  if (findings.length === 0) {
    io.out(`no findings in ${loaded.policy.name} as of ${asOf.toISOString().slice(0, 10)}.`);
    return code;
  }
  for (const severity of [...FINDING_SEVERITIES].reverse()) {
    const group = findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    io.out(`${severity.toUpperCase()} (${group.length})`);
    for (const f of group.slice(0, limit)) io.out(renderFinding(f));
    if (group.length > limit)
      io.out(`  ... and ${group.length - limit} more ${severity} (--limit N or --json for all)\n`);
  }
  io.out(`${summary(findings.length, counts)}.`);
  if (failOn !== undefined) {
    io.out(failOnVerdict(failOn, failing));
  }
  return code;
}

function renderFinding(f: Finding): string {
  const lines = [
    `  ${f.code}  ${f.subject}${f.position ? `  (${formatPosition(f.position)})` : ''}`,
    `    ${f.message}`,
  ];
  if (f.related && f.related.length > 0) lines.push(`    related: ${f.related.join(', ')}`);
  lines.push(`    why: ${f.why}`, `    fix: ${f.fix}`, '');
  return lines.join('\n');
}

function countBySeverity(findings: readonly Finding[]): Record<FindingSeverity, number> {
  const counts = Object.fromEntries(FINDING_SEVERITIES.map((s) => [s, 0])) as Record<FindingSeverity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** `14 findings: 1 critical, 2 high, 5 medium, 3 low, 3 info` — most severe first. */
function summary(total: number, counts: Record<FindingSeverity, number>): string {
  const parts = [...FINDING_SEVERITIES].reverse().map((s) => `${counts[s]} ${s}`);
  return `${total} finding${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
