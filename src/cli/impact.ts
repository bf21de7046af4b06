import { impactOf, type ImpactBase } from '../app/impact.js';
import { workspaceOf } from '../app/workspace.js';
import { statSync } from 'node:fs';
import type { Impact, RoleImpact } from '../governance/impact.js';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

export interface ImpactOptions {
  readonly base: string;
  readonly format?: string;
  readonly limit?: number;
}

/**
 * `tenure impact --base REF`: who gains and who loses what if the policy changes from REF (a
 * policy file, or a git ref whose copy of this policy file is the base) to the current file.
 * Exit 3 when the change would trip a deprovisioning breaker or break separation of duties.
 */
export async function impactCommand(io: Io, g: GlobalOptions, options: ImpactOptions): Promise<number> {
  const format = options.format ?? (g.json ? 'json' : 'text');
  if (!['text', 'json', 'markdown'].includes(format))
    throw new UserError(`--format ${format}: use text, json or markdown`, EXIT.usage);
  const limit = options.limit ?? 10;

  const { base, impact, diagnostics } = await impactOf(workspaceOf(g), baseOf(options.base));
  if (format === 'json') io.out(toJson({ base, impact, diagnostics }));
  else {
    printDiagnostics(io, diagnostics);
    io.out(format === 'markdown' ? renderImpactMarkdown(impact, base, limit) : renderImpactText(impact, base, limit));
  }
  return impact.blocked ? EXIT.stopped : EXIT.ok;
}

/** `--base`: a file when one exists at that path, else a git ref of this policy file. */
function baseOf(ref: string): ImpactBase {
  return isFile(ref) ? { file: ref } : { gitRef: ref };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function ids(list: readonly string[], limit: number): string {
  return list.length <= limit ? list.join(', ') : `${list.slice(0, limit).join(', ')} … (+${list.length - limit})`;
}

function roleChange(r: RoleImpact): string {
  if (r.changed.length === 0) return 'holders moved through inheritance';
  return r.changed.map((c) => c.replace('_', ' ')).join(', ');
}

/** Warnings first: what would stop the change, said plainly. */
function blockers(impact: Impact, limit: number): string[] {
  const out: string[] = [];
  for (const t of impact.targets)
    if (t.breaker?.blocked) out.push(`deprovisioning breaker on ${t.target}: ${t.breaker.reason}`);
  for (const c of impact.sodConflicts.slice(0, limit))
    out.push(
      `separation of duties: ${c.identity} would hold ${c.entitlements.join(' and ')} (rule ${c.rule}, ${c.severity})`,
    );
  if (impact.sodConflicts.length > limit)
    out.push(`separation of duties: ${impact.sodConflicts.length - limit} more conflict(s)`);
  return out;
}

function summaryLine(impact: Impact): string {
  const s = impact.summary;
  if (s.identitiesAffected === 0 && s.highRiskGrantsAdded === 0)
    return `Nobody gains or loses access (${plural(s.rolesChanged, 'role')} changed).`;
  return (
    `${plural(s.identitiesAffected, 'identity', 'identities')} affected: ${s.identitiesGaining} gain access, ${s.identitiesLosing} lose access; ` +
    `${plural(s.grantsAdded, 'grant')} added, ${s.grantsRemoved} removed; ${s.highRiskGrantsAdded} high or critical grant(s) added.`
  );
}

function recomputeLine(impact: Impact): string {
  const r = impact.recompute;
  return `Recomputed ${r.recomputed} of ${plural(r.identities, 'identity', 'identities')} (${r.mode}: ${r.reason}).`;
}

/** Entitlements with the most identities moving first: the ones a reviewer looks at. */
function byMovement<T extends { gainers: readonly string[]; losers: readonly string[] }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => b.gainers.length + b.losers.length - (a.gainers.length + a.losers.length));
}

/** The impact for a terminal. */
export function renderImpactText(impact: Impact, base: string, limit: number): string {
  const out: string[] = [`Impact of the policy change from ${base} to the current policy, as of ${impact.asOf}`];
  const stop = blockers(impact, limit);
  if (stop.length > 0)
    out.push('', 'BLOCKED: applying this change needs a person to allow it.', ...stop.map((l) => `  ${l}`));
  out.push('', summaryLine(impact), '', 'Targets:');
  for (const t of impact.targets)
    out.push(
      `  ${t.target}: ${t.holdersBefore} → ${t.holdersAfter} with access; +${t.grantsAdded} / -${t.grantsRemoved} grant(s) for ${plural(t.identitiesAffected, 'identity', 'identities')}` +
        (t.breaker && t.breaker.accounts > 0 && !t.breaker.blocked ? `; breaker: ${t.breaker.reason}` : ''),
    );
  if (impact.roles.length > 0) {
    out.push('', 'Roles:');
    for (const r of impact.roles.slice(0, limit)) {
      out.push(`  ${r.role} (${roleChange(r)}): +${r.gained.length} / -${r.lost.length}`);
      if (r.gained.length > 0) out.push(`    gain: ${ids(r.gained, limit)}`);
      if (r.lost.length > 0) out.push(`    lose: ${ids(r.lost, limit)}`);
    }
    if (impact.roles.length > limit)
      out.push(`  ... and ${impact.roles.length - limit} more (--limit, or --json for all)`);
  }
  const entitlements = byMovement(impact.entitlements);
  if (entitlements.length > 0) {
    out.push('', 'Entitlements:');
    for (const e of entitlements.slice(0, limit)) {
      const risk = e.previousRisk ? `${e.previousRisk} → ${e.risk}` : e.risk;
      out.push(`  ${e.entitlement} [${risk}]: +${e.gainers.length} / -${e.losers.length}`);
      if (e.gainers.length > 0) out.push(`    gain: ${ids(e.gainers, limit)}`);
      if (e.losers.length > 0) out.push(`    lose: ${ids(e.losers, limit)}`);
    }
    if (entitlements.length > limit)
      out.push(`  ... and ${entitlements.length - limit} more (--limit, or --json for all)`);
  }
  if (impact.highRiskGrants.length > 0) {
    out.push('', 'High or critical grants added:');
    for (const h of impact.highRiskGrants.slice(0, limit))
      out.push(`  ${h.identity}: ${h.entitlement} [${h.risk}]${h.why === 'risk_raised' ? ' (held; risk raised)' : ''}`);
    if (impact.highRiskGrants.length > limit) out.push(`  ... and ${impact.highRiskGrants.length - limit} more`);
  }
  out.push('', recomputeLine(impact));
  return out.join('\n');
}

function md(s: string): string {
  return s.replace(/([|*_`<>[\]\\])/g, '\\$1');
}

function code(s: string): string {
  return `\`${s.replace(/`/g, "'")}\``;
}

/** The impact as a compact pull-request comment: warnings first, then the table per target. */
export function renderImpactMarkdown(impact: Impact, base: string, limit: number): string {
  const out: string[] = [
    `### Tenure impact — ${md(impact.policy)}`,
    '',
    `Compared with ${code(base)} as of ${impact.asOf}.`,
    '',
  ];
  const stop = blockers(impact, limit);
  if (stop.length > 0) {
    out.push('> [!WARNING]', '> **Blocked**: applying this change needs a person to allow it.');
    for (const l of stop) out.push(`> - ${md(l)}`);
    out.push('');
  }
  out.push(
    summaryLine(impact),
    '',
    '| target | with access before | after | grants added | grants removed | identities | breaker |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...impact.targets.map(
      (t) =>
        `| ${md(t.target)} | ${t.holdersBefore} | ${t.holdersAfter} | ${t.grantsAdded} | ${t.grantsRemoved} | ${t.identitiesAffected} | ${
          t.breaker ? (t.breaker.blocked ? '**trips**' : `ok (${t.breaker.accounts} lose access)`) : 'not managed'
        } |`,
    ),
    '',
  );
  if (impact.roles.length > 0) {
    out.push('**Roles**', '', '| role | change | gain | lose |', '| --- | --- | --- | --- |');
    for (const r of impact.roles.slice(0, limit))
      out.push(`| ${code(r.role)} | ${roleChange(r)} | ${cell(r.gained, limit)} | ${cell(r.lost, limit)} |`);
    if (impact.roles.length > limit) out.push(`| … ${impact.roles.length - limit} more | | | |`);
    out.push('');
  }
  const entitlements = byMovement(impact.entitlements);
  if (entitlements.length > 0) {
    out.push('**Entitlements**', '', '| entitlement | risk | gain | lose |', '| --- | --- | --- | --- |');
    for (const e of entitlements.slice(0, limit))
      out.push(
        `| ${code(e.entitlement)} | ${e.previousRisk ? `${e.previousRisk} → **${e.risk}**` : e.risk} | ${cell(e.gainers, limit)} | ${cell(e.losers, limit)} |`,
      );
    if (entitlements.length > limit) out.push(`| … ${entitlements.length - limit} more | | | |`);
    out.push('');
  }
  if (impact.highRiskGrants.length > 0) {
    out.push(
      `<details><summary>${impact.highRiskGrants.length} high or critical grant(s) added</summary>`,
      '',
      ...impact.highRiskGrants
        .slice(0, limit)
        .map(
          (h) =>
            `- ${md(h.identity)}: ${code(h.entitlement)} (${h.risk}${h.why === 'risk_raised' ? ', held; risk raised' : ''})`,
        ),
      ...(impact.highRiskGrants.length > limit ? [`- … and ${impact.highRiskGrants.length - limit} more`] : []),
      '',
      '</details>',
      '',
    );
  }
  out.push(`<sub>${md(recomputeLine(impact))}</sub>`);
  return out.join('\n');
}

/** A count and the first identities, for a table cell. */
function cell(list: readonly string[], limit: number): string {
  if (list.length === 0) return '';
  return `${list.length}: ${md(ids(list, limit))}`;
}
