import { FINDING_SEVERITIES, type Finding } from '../model/finding.js';
import type {
  ComplianceReport,
  ControlResult,
  ControlStatus,
  Coverage,
  EvidenceState,
  FindingCounts,
} from './compliance.js';

const STATUS_WORDS: Record<ControlStatus, string> = {
  met: 'met',
  attention: 'needs attention',
  not_covered: 'not covered',
};

const COVERAGE_WORDS: Record<Coverage, string> = {
  full: 'full',
  partial: 'partial',
  none: 'none',
};

/** The heading of a control's "how" line. */
const HOW_WORDS: Record<Coverage, string> = {
  full: 'How Tenure addresses it',
  partial: 'How Tenure addresses it, in part',
  none: 'Why it is not covered',
};

const EVIDENCE_MARK: Record<EvidenceState, string> = { supports: 'yes', missing: 'none', failing: 'FAILING' };

/** `2 critical, 1 high, 3 medium`: most severe first, zero counts left out. */
function severities(c: FindingCounts): string {
  if (c.total === 0) return 'none';
  return [...FINDING_SEVERITIES]
    .reverse()
    .filter((s) => c.bySeverity[s] > 0)
    .map((s) => `${c.bySeverity[s]} ${s}`)
    .join(', ');
}

function byCode(c: FindingCounts): [string, number][] {
  return Object.entries(c.byCode).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function checkedWords(r: ComplianceReport): string {
  return [
    'lint',
    r.checked.drift ? 'drift (the targets were read)' : 'drift NOT checked',
    r.checked.store ? 'the state store' : 'no state store',
  ].join(', ');
}

function summaryWords(r: ComplianceReport): string {
  const s = r.summary;
  return `${s.met} met, ${s.attention} need attention, ${s.notCovered} not covered, of ${s.controls} controls`;
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

/** Finding text comes from feeds and targets: Markdown and inline HTML in it must stay text. */
function md(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/([\\`*_[\]<>|#&])/g, '\\$1');
}

/** The compliance report as Markdown: an overview table per framework, then each control with its evidence. */
export function renderComplianceMarkdown(r: ComplianceReport): string {
  const out: string[] = [
    `# Compliance report: ${md(r.policy)}`,
    '',
    `As of ${day(r.asOf)}. Checked: ${checkedWords(r)}.`,
    '',
    `**${summaryWords(r)}.** Findings: ${r.summary.findings.total} (${severities(r.summary.findings)}).`,
    '',
  ];
  for (const n of r.notes) out.push(`> ${md(n)}`, '');
  out.push(
    'A control is _met_ when Tenure enforces it, shows evidence for it and no finding at medium or above counts against it; ' +
      '_needs attention_ when findings, failing evidence or missing evidence say otherwise; _not covered_ when it is outside what Tenure does.',
    '',
  );

  for (const fw of r.frameworks) {
    const controls = r.controls.filter((c) => c.framework === fw.id);
    out.push(`## ${fw.name}`, '', `Scope: ${fw.scope}.`, '');
    out.push('| control | status | coverage | findings | evidence |', '| --- | --- | --- | --- | --- |');
    for (const c of controls) {
      const shown = c.evidence.filter((e) => e.state === 'supports').length;
      out.push(
        `| ${c.id} ${md(c.title)} | ${STATUS_WORDS[c.status]} | ${COVERAGE_WORDS[c.coverage]} | ${severities(c.findings)} | ${c.evidence.length === 0 ? '-' : `${shown} of ${c.evidence.length}`} |`,
      );
    }
    out.push('');
    for (const c of controls) out.push(...controlMarkdown(c));
  }

  if (r.unmapped.total > 0) {
    out.push('## Findings no control takes', '', `${r.unmapped.total} (${severities(r.unmapped)}):`, '');
    for (const [code, n] of byCode(r.unmapped)) out.push(`- \`${code}\`: ${n}`);
    out.push('');
  }
  return out.join('\n').trimEnd() + '\n';
}

function controlMarkdown(c: ControlResult): string[] {
  const out = [
    `### ${c.id}: ${md(c.title)}`,
    '',
    `**Status: ${STATUS_WORDS[c.status]}** (${md(c.reason)}).`,
    '',
    `- What it asks: ${md(c.asks)}`,
    `- ${HOW_WORDS[c.coverage]}: ${md(c.how)}`,
  ];
  if (c.limits) out.push(`- Left to other tools: ${md(c.limits)}`);
  for (const n of c.notes) out.push(`- Note: ${md(n)}`);
  out.push('');
  if (c.evidence.length > 0) {
    out.push('| evidence | shown | detail |', '| --- | --- | --- |');
    for (const e of c.evidence) out.push(`| ${md(e.label)} | ${EVIDENCE_MARK[e.state]} | ${md(e.detail)} |`);
    out.push('');
  }
  if (c.findings.total > 0) {
    const codes = byCode(c.findings)
      .map(([code, n]) => `\`${code}\` ${n}`)
      .join(', ');
    out.push(`Findings: ${c.findings.total} (${severities(c.findings)}); by code: ${codes}.`, '');
    for (const f of c.findings.examples) out.push(`- ${findingMarkdown(f)}`);
    if (c.findings.total > c.findings.examples.length)
      out.push(`- ... and ${c.findings.total - c.findings.examples.length} more (JSON format lists counts by code)`);
    out.push('');
  }
  return out;
}

function findingMarkdown(f: Finding): string {
  return `**${f.severity}** \`${f.code}\` ${md(f.subject)}: ${md(f.message)}`;
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

/** Everything that reaches the page goes through this: finding text comes from feeds and targets. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2125; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; } h3 { margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .75rem 0; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: 0 .25rem; }
.status { display: inline-block; border-radius: 1rem; padding: 0 .6rem; font-weight: 600; white-space: nowrap; }
.met { background: #dafbe1; color: #116329; } .attention { background: #fff1c2; color: #7d4e00; } .not_covered { background: #eaeef2; color: #57606a; }
.supports { color: #116329; } .missing { color: #57606a; } .failing { color: #a40e26; font-weight: 600; }
.note { border-left: 4px solid #d4a72c; background: #fff8e5; padding: .5rem .75rem; }
.sev-critical, .sev-high { color: #a40e26; font-weight: 600; } .sev-medium { color: #7d4e00; }
dl { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; } dt { font-weight: 600; } dd { margin: 0; }
@media print { body { margin: 0; max-width: none; } }
`.trim();

/** The compliance report as one self-contained HTML page: no scripts, no external resources. */
export function renderComplianceHtml(r: ComplianceReport): string {
  const h = escapeHtml;
  const title = `Compliance report: ${r.policy}`;
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${h(title)}</h1>`,
    `<p>As of ${h(day(r.asOf))}. Checked: ${h(checkedWords(r))}.</p>`,
    `<p><strong>${h(summaryWords(r))}.</strong> Findings: ${r.summary.findings.total} (${h(severities(r.summary.findings))}).</p>`,
  ];
  for (const n of r.notes) out.push(`<p class="note">${h(n)}</p>`);
  out.push(
    '<p>A control is <em>met</em> when Tenure enforces it, shows evidence for it and no finding at medium or above counts against it; ' +
      '<em>needs attention</em> when findings, failing evidence or missing evidence say otherwise; <em>not covered</em> when it is outside what Tenure does.</p>',
  );

  for (const fw of r.frameworks) {
    const controls = r.controls.filter((c) => c.framework === fw.id);
    out.push(`<h2>${h(fw.name)}</h2>`, `<p>Scope: ${h(fw.scope)}.</p>`);
    out.push(
      '<table><thead><tr><th>control</th><th>status</th><th>coverage</th><th>findings</th><th>evidence</th></tr></thead><tbody>',
    );
    for (const c of controls) {
      const shown = c.evidence.filter((e) => e.state === 'supports').length;
      out.push(
        `<tr><td><a href="#${anchor(c.id)}">${h(c.id)}</a> ${h(c.title)}</td><td>${badge(c.status)}</td><td>${h(COVERAGE_WORDS[c.coverage])}</td>` +
          `<td>${h(severities(c.findings))}</td><td>${c.evidence.length === 0 ? '-' : `${shown} of ${c.evidence.length}`}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
    for (const c of controls) out.push(...controlHtml(c));
  }

  if (r.unmapped.total > 0) {
    out.push('<h2>Findings no control takes</h2>', `<p>${r.unmapped.total} (${h(severities(r.unmapped))})</p>`, '<ul>');
    for (const [code, n] of byCode(r.unmapped)) out.push(`<li><code>${h(code)}</code>: ${n}</li>`);
    out.push('</ul>');
  }
  out.push('</body>', '</html>');
  return out.join('\n') + '\n';
}

function badge(s: ControlStatus): string {
  return `<span class="status ${s}">${escapeHtml(STATUS_WORDS[s])}</span>`;
}

function anchor(id: string): string {
  return `control-${id.replace(/[^A-Za-z0-9-]/g, '-')}`;
}

function controlHtml(c: ControlResult): string[] {
  const h = escapeHtml;
  const out = [
    `<h3 id="${anchor(c.id)}">${h(c.id)}: ${h(c.title)}</h3>`,
    `<p>${badge(c.status)} ${h(c.reason)}</p>`,
    '<dl>',
    `<dt>What it asks</dt><dd>${h(c.asks)}</dd>`,
    `<dt>${h(HOW_WORDS[c.coverage])}</dt><dd>${h(c.how)}</dd>`,
  ];
  if (c.limits) out.push(`<dt>Left to other tools</dt><dd>${h(c.limits)}</dd>`);
  for (const n of c.notes) out.push(`<dt>Note</dt><dd>${h(n)}</dd>`);
  out.push('</dl>');
  if (c.evidence.length > 0) {
    out.push('<table><thead><tr><th>evidence</th><th>shown</th><th>detail</th></tr></thead><tbody>');
    for (const e of c.evidence)
      out.push(
        `<tr><td>${h(e.label)}</td><td class="${e.state}">${h(EVIDENCE_MARK[e.state])}</td><td>${h(e.detail)}</td></tr>`,
      );
    out.push('</tbody></table>');
  }
  if (c.findings.total > 0) {
    const codes = byCode(c.findings)
      .map(([code, n]) => `<code>${h(code)}</code> ${n}`)
      .join(', ');
    out.push(`<p>Findings: ${c.findings.total} (${h(severities(c.findings))}); by code: ${codes}.</p>`, '<ul>');
    for (const f of c.findings.examples)
      out.push(
        `<li><span class="sev-${h(f.severity)}">${h(f.severity)}</span> <code>${h(f.code)}</code> ${h(f.subject)}: ${h(f.message)}</li>`,
      );
    if (c.findings.total > c.findings.examples.length)
      out.push(
        `<li>... and ${c.findings.total - c.findings.examples.length} more (JSON format lists counts by code)</li>`,
      );
    out.push('</ul>');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/** The report value as JSON, for scripts and evidence stores. */
export function renderComplianceJson(r: ComplianceReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
