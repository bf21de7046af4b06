import { complianceReport } from '../app/report.js';
import { workspaceOf } from '../app/workspace.js';
import type { ComplianceReport } from '../governance/compliance.js';
import {
  renderComplianceHtml,
  renderComplianceJson,
  renderComplianceMarkdown,
} from '../governance/render-compliance.js';
import { EXIT, printDiagnostics, UserError, writeOutput, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

export interface ReportOptions {
  readonly format?: string;
  readonly out?: string;
  readonly skipDrift?: boolean;
}

const FORMATS = ['markdown', 'html', 'json'] as const;
type Format = (typeof FORMATS)[number];

/**
 * `tenure report compliance [--format markdown|html|json] [--out FILE] [--skip-drift]`: the
 * compliance report (src/app/report.ts) in the format asked for, on stdout or in a file.
 */
export async function reportComplianceCommand(io: Io, g: GlobalOptions, o: ReportOptions): Promise<number> {
  // Before anything is read: a wrong format is a usage error that costs nothing.
  const format = parseFormat(o.format, g.json);
  const { report, warnings } = await complianceReport(workspaceOf(g), { skipDrift: o.skipDrift === true });
  printDiagnostics(io, warnings);
  const text = render(report, format);
  if (o.out !== undefined) {
    writeOutput(o.out, text);
    const s = report.summary;
    io.err(
      `compliance report (${format}) written to ${o.out}: ${s.met} met, ${s.attention} need attention, ${s.notCovered} not covered`,
    );
  } else io.out(text.trimEnd());
  return EXIT.ok;
}

function render(report: ComplianceReport, format: Format): string {
  if (format === 'html') return renderComplianceHtml(report);
  if (format === 'json') return renderComplianceJson(report);
  return renderComplianceMarkdown(report);
}

function parseFormat(text: string | undefined, json: boolean): Format {
  if (text === undefined) return json ? 'json' : 'markdown';
  const f = FORMATS.find((x) => x === text.toLowerCase());
  if (f === undefined)
    throw new UserError(`--format ${text} is not a report format`, EXIT.usage, [], `use one of ${FORMATS.join(', ')}`);
  if (json && f !== 'json')
    throw new UserError(`--json asks for JSON but --format asks for ${f}`, EXIT.usage, [], 'drop one of them');
  return f;
}
