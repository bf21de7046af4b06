import { lintNow } from '../app/lint.js';
import { workspaceOf } from '../app/workspace.js';
import { formatPosition } from '../model/diagnostic.js';
import { FINDING_SEVERITIES, type Finding, type FindingSeverity } from '../model/finding.js';
import { failOnVerdict } from './finding-options.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

export interface LintOptions {
  readonly failOn?: FindingSeverity;
  readonly limit?: number;
}

/** Findings shown per severity in text output unless --limit says otherwise. */
const DEFAULT_LIMIT = 20;

/**
 * `tenure lint`: role-model, separation-of-duties, exception and non-human identity findings.
 * With `--fail-on SEVERITY` it exits 1 when any finding is at or above it, for CI.
 */
export async function lintCommand(io: Io, g: GlobalOptions, options: LintOptions): Promise<number> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  const r = await lintNow(workspaceOf(g), { failOn: options.failOn });
  const { findings, counts, failOn, failing } = r;
  const code = r.ok ? EXIT.ok : EXIT.invalid;

  if (g.json) {
    io.out(
      toJson({
        ok: r.ok,
        asOf: r.asOf,
        counts,
        total: findings.length,
        ...(failOn ? { failOn, failing } : {}),
        findings,
        diagnostics: r.diagnostics,
      }),
    );
    return code;
  }
  printDiagnostics(io, r.diagnostics);
  if (findings.length === 0) {
    io.out(`no findings in ${r.policy} as of ${r.asOf.toISOString().slice(0, 10)}.`);
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

/** `14 findings: 1 critical, 2 high, 5 medium, 3 low, 3 info` — most severe first. */
function summary(total: number, counts: Readonly<Record<FindingSeverity, number>>): string {
  const parts = [...FINDING_SEVERITIES].reverse().map((s) => `${counts[s]} ${s}`);
  return `${total} finding${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
