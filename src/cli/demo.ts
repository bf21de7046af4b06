import { workspaceOf } from '../app/workspace.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fixConflictingRoles } from '../demo/fix-conflicting-roles.js';
import { generateOrganisation } from '../demo/generate-organisation.js';
import { weekOfChanges } from '../demo/week-of-changes.js';
import { applyPlan } from '../app/apply.js';
import { recordApproval } from '../app/approve.js';
import { importSources, type SourceOutcome } from '../app/import.js';
import { auditVerifyCommand } from './audit.js';
import { planNow } from '../app/plan-state.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

export interface DemoOptions {
  readonly people: number;
  readonly roles: number;
  readonly seed: number;
  readonly dir?: string;
  readonly out?: string;
}

/** The demo runs a narrower range than `demo generate` writes. */
function within(name: string, n: number, min: number, max: number): number {
  if (n < min || n > max)
    throw new UserError(`--${name} ${n}: the demo takes a whole number from ${min} to ${max}`, EXIT.usage);
  return n;
}

function writeOrganisation(folder: string, files: Readonly<Record<string, string>>): void {
  for (const [path, text] of Object.entries(files)) {
    const file = join(folder, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

/** `tenure demo generate`: a synthetic organisation on disk, the same for the same seed. */
export function demoGenerateCommand(io: Io, g: GlobalOptions, o: DemoOptions): number {
  const { people, roles, seed } = o;
  const asOf = workspaceOf(g).asOf;
  const started = performance.now();
  const org = generateOrganisation({ people, roles, seed, asOf });
  const out = resolve(o.out ?? 'tenure-demo');
  writeOrganisation(out, org.files);
  const ms = Math.round(performance.now() - started);
  if (g.json) io.out(toJson({ folder: out, files: Object.keys(org.files).sort(), stats: org.stats, ms }));
  else {
    io.out(`Wrote ${Object.keys(org.files).length} files to ${out} in ${ms} ms:`);
    for (const f of Object.keys(org.files).sort()) io.out(`  ${f}`);
    io.out(`Try: tenure -c ${join(o.out ?? 'tenure-demo', 'tenure.yaml')} validate`);
  }
  return EXIT.ok;
}

/** A command's output captured for the demo to read (the commands run in --json mode). */
function capture(): { io: Io; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t), tty: false }, out, err };
}

interface ImportJson {
  readonly sources: readonly SourceOutcome[];
}

interface ApplyLine {
  readonly type: 'operation';
  readonly target: string;
  readonly state: string;
  readonly sentence: string;
}

interface DayReport {
  day: number;
  date: string;
  title: string;
  story: readonly string[];
  import: { outcome: 'applied' | 'stopped' | 'unchanged'; events: Record<string, number>; reason?: string };
  plan: { changes: number; byAction: Record<string, number> };
  guardrails: string[];
  applied: { operations: number; failed: number; ms: number };
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const n = (x: number): string => x.toLocaleString('en-GB');
const counted = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${n(v)} ${k.replace(/_/g, ' ')}`)
    .join(', ') || 'nothing';

/**
 * `tenure demo`: a week in the life of a generated organisation, on embedded defaults and CSV
 * targets. Day 0 imports everyone, plans, meets the guardrails (a role that breaks separation of
 * duties, the deprovisioning breaker) and applies; then each day HR sends a changed feed —
 * joiners, movers, leavers, an owner of non-human identities leaving, a truncated export — and
 * the demo imports, plans and applies it through the same code as the commands, saying what
 * happened. Everything it writes stays in --dir.
 */
export async function demoCommand(io: Io, g: GlobalOptions, o: DemoOptions): Promise<number> {
  const started = performance.now();
  const people = within('people', o.people, 10, 100_000);
  const roles = within('roles', o.roles, 5, 10_000);
  const seed = o.seed;
  const asOf = workspaceOf(g).asOf;
  const day0 = new Date(Math.floor(asOf.getTime() / 86_400_000) * 86_400_000);
  const folder = resolve(o.dir ?? '.tenure/demo');
  const config = join(folder, 'tenure.yaml');
  const state = join(folder, 'state.db');
  const on = (d: Date): GlobalOptions => ({ config, state, json: true, asOf: d });
  const say = (t: string): void => {
    if (!g.json) io.out(t);
  };
  const iso = (d: Date): string => d.toISOString().slice(0, 10);
  const heading = (d: Date, title: string): void => say(`\n${WEEKDAYS[d.getUTCDay()]} ${iso(d)} — ${title}`);
  const reports: DayReport[] = [];
  const surprises: string[] = [];

  // A fresh start: the demo's own state and targets are replaced, nothing else in the folder is touched.
  for (const f of ['state.db', 'state.db-wal', 'state.db-shm', 'targets', 'actual'])
    rmSync(join(folder, f), { recursive: true, force: true });
  const org = generateOrganisation({ people, roles, seed, asOf: day0, targets: 'csv' });
  writeOrganisation(folder, org.files);
  say(
    `Tenure demo: a week at a generated company of ${n(people)} people, ${n(org.stats.nonHumans)} non-human identities and ${n(roles)} roles, provisioned into 3 CSV targets.`,
  );
  say(`Everything is in ${folder}: tenure.yaml (the policy), hr.csv, nhi.json, targets/*/ and state.db.`);

  // The demo runs the same use cases as the commands, through the application layer.
  const runImport = async (d: Date): Promise<ImportJson> => ({
    sources: (await importSources(workspaceOf(on(d)), {})).outcomes,
  });
  const runApply = async (d: Date): Promise<{ lines: ApplyLine[]; ms: number; code: number }> => {
    const t = performance.now();
    const outcome = await applyPlan(workspaceOf(on(d)), {});
    const lines: ApplyLine[] = (outcome.result?.operations ?? []).map((op) => ({
      type: 'operation',
      target: op.change.target,
      state: op.state,
      sentence: op.sentence,
    }));
    const failed = (outcome.result?.targets ?? []).reduce((k, x) => k + x.dead + x.pending, 0);
    return { lines, ms: Math.round(performance.now() - t), code: failed === 0 ? EXIT.ok : EXIT.applyFailed };
  };
  const describeImport = (r: ImportJson, subjects: readonly string[]): DayReport['import'] => {
    const events: Record<string, number> = {};
    let reason: string | undefined;
    for (const s of r.sources) {
      // A held-back source recorded nothing: its would-be events are not the day's events.
      if (s.outcome !== 'stopped') for (const [k, v] of Object.entries(s.counts)) events[k] = (events[k] ?? 0) + v;
      if (s.outcome === 'stopped') {
        reason = s.reason;
        say(`  ✋ import of ${s.source} held back by the mass-leaver breaker, nothing recorded: ${s.reason}`);
      }
    }
    const stopped = r.sources.some((s) => s.outcome === 'stopped');
    const recorded = r.sources.filter((s) => s.outcome !== 'stopped');
    const total = recorded.reduce((acc, s) => acc + s.events.length, 0);
    if (recorded.length > 0)
      say(
        `  ✔ import: ${total === 0 ? 'no lifecycle events' : counted(Object.fromEntries(recorded.flatMap((s) => Object.entries(s.counts))))}`,
      );
    const shown = recorded.flatMap((s) => s.events).filter((e) => subjects.includes(e.identity));
    for (const e of shown.slice(0, 8)) say(`      ${e.kind.padEnd(12)} ${e.summary}`);
    for (const e of shown.filter((x) => x.kind === 'owner_gone'))
      say(
        `      → ${e.identity} has no active owner now: the owner's manager is asked to take it over, and unconfirmed by the deadline it is suspended (tenure nhi list)`,
      );
    return {
      outcome: stopped ? 'stopped' : total === 0 ? 'unchanged' : 'applied',
      events,
      ...(reason ? { reason } : {}),
    };
  };

  // --- Day 0: the first run --------------------------------------------------------------------
  heading(day0, 'the first run');
  say(`  ✔ validated tenure.yaml: ${n(roles)} role rules compiled against the typed identity attributes`);
  const imported = await runImport(day0);
  say(
    `  ✔ first import: ${imported.sources.map((s) => `${n(s.rows)} identities from ${s.source}`).join(', ')} recorded as the baseline`,
  );
  const first = describeImport(imported, []);
  let planned = await planNow(workspaceOf(on(day0)), {});
  const summary = planned.plan.summary;
  say(
    `  ✔ plan: ${n(summary.changes)} changes for ${n(summary.identitiesAffected)} identities (${counted(summary.byAction)}); the targets already held accounts, some drifted`,
  );
  const guardrails: string[] = [];
  const conflicts = planned.plan.guardrails.sodConflicts;
  if (conflicts.length > 0) {
    const c0 = conflicts[0]!;
    say(
      `  ✋ BLOCKED by separation of duties: ${conflicts.length} identit${conflicts.length === 1 ? 'y' : 'ies'} would hold both sides of a rule, e.g. ${c0.identity}: ${c0.entitlements.join(' + ')} (${c0.rule}, ${c0.severity})`,
    );
    const fixed = fixConflictingRoles(
      readFileSync(config, 'utf8'),
      planned.loaded,
      conflicts,
      planned.identities,
      day0,
    );
    writeFileSync(config, fixed.text);
    for (const f of fixed.fixes)
      say(`    → the role owner fixes the role model: role "${f.role}" no longer grants ${f.entitlement} (${f.rule})`);
    guardrails.push(`separation of duties: ${conflicts.length} conflict(s), ${fixed.fixes.length} role fix(es)`);
    planned = await planNow(workspaceOf(on(day0)), {});
    if (planned.plan.guardrails.sodConflicts.length > 0)
      surprises.push(
        `${planned.plan.guardrails.sodConflicts.length} separation-of-duties conflict(s) remain after the fix`,
      );
  }
  for (const d of planned.plan.guardrails.deprovision.filter((x) => x.blocked)) {
    say(`  ✋ BLOCKED by the deprovisioning breaker: ${d.reason}`);
    await recordApproval(
      workspaceOf(on(day0)),
      'deprovision',
      `target:${d.target}`,
      d.accounts,
      'first reconciliation: drift reviewed by the access team',
    );
    say(`    → a person reviews the drift and approves: tenure approve deprovision ${d.accounts} --target ${d.target}`);
    guardrails.push(`deprovisioning breaker on ${d.target}: ${d.accounts} approved`);
  }
  const dayReport = async (
    d: Date,
    number: number,
    title: string,
    story: readonly string[],
    imp: DayReport['import'],
    marks: string[],
    subjects: readonly string[],
  ): Promise<void> => {
    const p = number === 0 ? planned : await planNow(workspaceOf(on(d)), {});
    for (const w of p.warnings.filter((x) => x.code === 'source.not_imported')) say(`  ℹ ${w.message}`);
    let applied = { operations: 0, failed: 0, ms: 0 };
    if (p.plan.summary.changes === 0) {
      say('  ✔ plan: nothing to change — every target matches the policy');
    } else {
      if (number > 0) say(`  ✔ plan: ${counted(p.plan.summary.byAction)}`);
      const r = await runApply(d);
      const ops = r.lines.filter((l) => l.type === 'operation');
      const failed = ops.filter((l) => l.state !== 'succeeded').length;
      applied = { operations: ops.length, failed, ms: r.ms };
      const targets = new Set(ops.map((l) => l.target)).size;
      say(`  ✔ apply: ${n(ops.length)} operation(s) on ${targets} target(s) in ${n(r.ms)} ms, ${failed} failed`);
      const mine = ops.filter((l) => subjects.some((s) => l.sentence?.includes(` ${s} `)));
      for (const l of (mine.length > 0 ? mine : ops).slice(0, 6)) say(`      ${l.sentence}`);
      const rest = (mine.length > 0 ? mine : ops).length - 6;
      if (rest > 0) say(`      ... and ${n(rest)} more`);
      if (r.code !== EXIT.ok) surprises.push(`${iso(d)}: apply exited ${r.code}`);
    }
    reports.push({
      day: number,
      date: iso(d),
      title,
      story,
      import: imp,
      plan: { changes: p.plan.summary.changes, byAction: p.plan.summary.byAction },
      guardrails: marks,
      applied,
    });
  };
  await dayReport(day0, 0, 'the first run', [], first, guardrails, []);

  // --- Days 1 to 6: HR sends a changed feed each morning ----------------------------------------
  const grace = planned.loaded.policy.policies.leaver.moverGraceDays;
  const week = weekOfChanges(org.files['hr.csv']!, org.files['nhi.json']!, day0, grace);
  for (const d of week) {
    heading(d.date, d.title);
    for (const line of d.story) say(`  HR: ${line}`);
    writeFileSync(join(folder, 'hr.csv'), d.hr);
    const r = await runImport(d.date);
    const imp = describeImport(r, d.subjects);
    const marks: string[] = [];
    if (imp.outcome === 'stopped') marks.push('mass-leaver breaker held the import back');
    if ((imp.outcome === 'stopped') !== (d.expect === 'import_stopped'))
      surprises.push(`${iso(d.date)}: the import was ${imp.outcome}, the demo expected ${d.expect}`);
    await dayReport(d.date, d.day, d.title, d.story, imp, marks, d.subjects);
  }

  // --- The audit trail ---------------------------------------------------------------------------
  const end = week[week.length - 1]!.date;
  const verify = capture();
  await auditVerifyCommand(verify.io, on(end));
  const audit = JSON.parse(verify.out.join('\n')) as { ok: boolean; records: number };
  const ms = Math.round(performance.now() - started);
  if (g.json) {
    io.out(toJson({ ok: surprises.length === 0, folder, stats: org.stats, days: reports, audit, surprises, ms }));
    return surprises.length === 0 ? EXIT.ok : EXIT.invalid;
  }
  say(`\nThe week in numbers`);
  say('  day         events  changes  applied  guardrails');
  for (const r of reports) {
    const events = Object.values(r.import.events).reduce((a, b) => a + b, 0);
    say(
      `  ${r.date}  ${n(events).padStart(6)}  ${n(r.plan.changes).padStart(7)}  ${n(r.applied.operations).padStart(7)}  ${r.guardrails.join('; ') || '-'}`,
    );
  }
  say(`  audit log: ${n(audit.records)} records, hash chain ${audit.ok ? 'verified' : 'BROKEN'} (tenure audit verify)`);
  for (const s of surprises) say(`  ! ${s}`);
  const someone = week[0]?.subjects[0];
  const cli = `npx tenure -c ${config} --state ${state} --as-of ${iso(end)}`;
  say(`\nFinished in ${(ms / 1000).toFixed(1)} s. Explore it yourself:`);
  say(`  ${cli} status`);
  say(`  ${cli} events --since ${iso(week[0]!.date)}`);
  if (someone) say(`  ${cli} why ${someone}`);
  say(`  ${cli} plan`);
  return surprises.length === 0 && audit.ok ? EXIT.ok : EXIT.invalid;
}
