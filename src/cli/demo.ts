import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { verifyAudit } from '../app/audit.js';
import { demoWorkspace, generateDemo, runDemoWeek, setUpDemo, type DemoDay } from '../app/demo.js';
import { workspaceOf } from '../app/workspace.js';
import { auditKeyFrom } from '../audit/audit-key.js';
import { verificationJson } from './audit.js';
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

/** `tenure demo generate`: a synthetic organisation on disk, the same for the same seed. */
export function demoGenerateCommand(io: Io, g: GlobalOptions, o: DemoOptions): number {
  const { people, roles, seed } = o;
  const { folder, files, stats, ms } = generateDemo(workspaceOf(g), {
    people,
    roles,
    seed,
    folder: o.out ?? 'tenure-demo',
  });
  if (g.json) io.out(toJson({ folder, files, stats, ms }));
  else {
    io.out(`Wrote ${files.length} files to ${folder} in ${ms} ms:`);
    for (const f of files) io.out(`  ${f}`);
    io.out(`Try: tenure -c ${join(o.out ?? 'tenure-demo', 'tenure.yaml')} validate`);
  }
  return EXIT.ok;
}

/** A day as --json reports it. */
interface DayReport {
  day: number;
  date: string;
  title: string;
  story: readonly string[];
  import: DemoDay['import'];
  plan: { changes: number; byAction: Record<string, number> };
  guardrails: string[];
  applied: { operations: number; failed: number; ms: number };
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const n = (x: number): string => x.toLocaleString('en-GB');
const iso = (d: Date): string => d.toISOString().slice(0, 10);
const counted = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${n(v)} ${k.replace(/_/g, ' ')}`)
    .join(', ') || 'nothing';

/**
 * `tenure demo`: a week in the life of a generated organisation, on embedded defaults and CSV
 * targets (src/app/demo.ts runs it), told day by day as it happens. Everything it writes stays
 * in --dir.
 */
export async function demoCommand(io: Io, g: GlobalOptions, o: DemoOptions): Promise<number> {
  const started = performance.now();
  const people = within('people', o.people, 10, 100_000);
  const roles = within('roles', o.roles, 5, 10_000);
  const say = (t: string): void => {
    if (!g.json) io.out(t);
  };
  const setup = setUpDemo(workspaceOf(g), { people, roles, seed: o.seed, folder: o.dir ?? '.tenure/demo' });
  const { folder, config, state } = setup;
  say(
    `Tenure demo: a week at a generated company of ${n(people)} people, ${n(setup.stats.nonHumans)} non-human identities and ${n(roles)} roles, provisioned into 3 CSV targets.`,
  );
  say(`Everything is in ${folder}: tenure.yaml (the policy), hr.csv, nhi.json, targets/*/ and state.db.`);

  const days: DemoDay[] = [];
  for await (const day of runDemoWeek(setup)) {
    for (const line of dayText(day, roles)) say(line);
    days.push(day);
  }
  const reports = days.map(dayReport);
  const surprises = days.flatMap((d) => d.surprises);

  // The audit trail, checked as `tenure audit verify` checks it.
  const end = days[days.length - 1]!.date;
  const verified = await verifyAudit(demoWorkspace(setup, end), { key: auditKeyFrom(process.env.TENURE_AUDIT_KEY) });
  const ms = Math.round(performance.now() - started);
  if (g.json) {
    io.out(
      toJson({
        ok: surprises.length === 0 && verified.ok,
        folder,
        stats: setup.stats,
        days: reports,
        audit: verificationJson(verified),
        surprises,
        ms,
      }),
    );
    return surprises.length === 0 && verified.ok ? EXIT.ok : EXIT.invalid;
  }
  say(`\nThe week in numbers`);
  say('  day         events  changes  applied  guardrails');
  for (const r of reports) {
    const events = Object.values(r.import.events).reduce((a, b) => a + b, 0);
    say(
      `  ${r.date}  ${n(events).padStart(6)}  ${n(r.plan.changes).padStart(7)}  ${n(r.applied.operations).padStart(7)}  ${r.guardrails.join('; ') || '-'}`,
    );
  }
  say(
    `  audit log: ${n(verified.chain.records)} records, hash chain ${verified.ok ? 'verified' : 'BROKEN'} (tenure audit verify)`,
  );
  for (const s of surprises) say(`  ! ${s}`);
  const week = days.slice(1);
  const someone = week[0]?.subjects[0];
  const cli = `npx tenure -c ${config} --state ${state} --as-of ${iso(end)}`;
  say(`\nFinished in ${(ms / 1000).toFixed(1)} s. Explore it yourself:`);
  say(`  ${cli} status`);
  say(`  ${cli} events --since ${iso(week[0]!.date)}`);
  if (someone) say(`  ${cli} why ${someone}`);
  say(`  ${cli} plan`);
  return surprises.length === 0 && verified.ok ? EXIT.ok : EXIT.invalid;
}

/** What the guardrails did that day, in the words of the week's table. */
function guardrailMarks(day: DemoDay): string[] {
  const first = day.firstRun;
  if (!first) return day.import.outcome === 'stopped' ? ['mass-leaver breaker held the import back'] : [];
  return [
    ...(first.sod
      ? [`separation of duties: ${first.sod.conflicts.length} conflict(s), ${first.sod.fixes.length} role fix(es)`]
      : []),
    ...first.approvedDeprovision.map((d) => `deprovisioning breaker on ${d.target}: ${d.accounts} approved`),
  ];
}

function dayReport(day: DemoDay): DayReport {
  return {
    day: day.day,
    date: iso(day.date),
    title: day.title,
    story: day.story,
    import: day.import,
    plan: { changes: day.plan.changes, byAction: day.plan.byAction },
    guardrails: guardrailMarks(day),
    applied: day.applied
      ? { operations: day.applied.operations.length, failed: day.applied.failed, ms: day.applied.ms }
      : { operations: 0, failed: 0, ms: 0 },
  };
}

/** A day told as it happened: the feed, the import, the guardrails, the plan and the apply. */
function dayText(day: DemoDay, roles: number): string[] {
  const out: string[] = [`\n${WEEKDAYS[day.date.getUTCDay()]} ${iso(day.date)} — ${day.title}`];
  const first = day.firstRun;
  if (first) {
    out.push(`  ✔ validated tenure.yaml: ${n(roles)} role rules compiled against the typed identity attributes`);
    out.push(
      `  ✔ first import: ${day.sources.map((s) => `${n(s.rows)} identities from ${s.source}`).join(', ')} recorded as the baseline`,
    );
  }
  for (const line of day.story) out.push(`  HR: ${line}`);
  out.push(...importText(day));
  if (first) {
    const p = first.plan;
    out.push(
      `  ✔ plan: ${n(p.changes)} changes for ${n(p.identitiesAffected)} identities (${counted(p.byAction)}); the targets already held accounts, some drifted`,
    );
    if (first.sod) {
      const { conflicts, fixes } = first.sod;
      const c0 = conflicts[0]!;
      out.push(
        `  ✋ BLOCKED by separation of duties: ${conflicts.length} identit${conflicts.length === 1 ? 'y' : 'ies'} would hold both sides of a rule, e.g. ${c0.identity}: ${c0.entitlements.join(' + ')} (${c0.rule}, ${c0.severity})`,
      );
      for (const f of fixes)
        out.push(
          `    → the role owner fixes the role model: role "${f.role}" no longer grants ${f.entitlement} (${f.rule})`,
        );
    }
    for (const d of first.approvedDeprovision)
      out.push(
        `  ✋ BLOCKED by the deprovisioning breaker: ${d.reason}`,
        `    → a person reviews the drift and approves: tenure approve deprovision ${d.accounts} --target ${d.target}`,
      );
  }
  for (const w of day.warnings.filter((x) => x.code === 'source.not_imported')) out.push(`  ℹ ${w.message}`);
  if (!day.applied) {
    out.push('  ✔ plan: nothing to change — every target matches the policy');
    return out;
  }
  if (!first) out.push(`  ✔ plan: ${counted(day.plan.byAction)}`);
  const { operations: ops, failed, ms } = day.applied;
  const targets = new Set(ops.map((o) => o.target)).size;
  out.push(`  ✔ apply: ${n(ops.length)} operation(s) on ${targets} target(s) in ${n(ms)} ms, ${failed} failed`);
  // The day's own people first, when their operations are among them.
  const mine = ops.filter((o) => day.subjects.some((s) => o.sentence.includes(` ${s} `)));
  const shown = mine.length > 0 ? mine : ops;
  for (const o of shown.slice(0, 6)) out.push(`      ${o.sentence}`);
  if (shown.length > 6) out.push(`      ... and ${n(shown.length - 6)} more`);
  return out;
}

/** The import: what a guardrail held back, the events counted, those of the day's people. */
function importText(day: DemoDay): string[] {
  const out: string[] = [];
  for (const s of day.sources.filter((x) => x.outcome === 'stopped'))
    out.push(`  ✋ import of ${s.source} held back by the mass-leaver breaker, nothing recorded: ${s.reason}`);
  const recorded = day.sources.filter((s) => s.outcome !== 'stopped');
  const total = recorded.reduce((acc, s) => acc + s.events.length, 0);
  if (recorded.length > 0) out.push(`  ✔ import: ${total === 0 ? 'no lifecycle events' : counted(day.import.events)}`);
  const shown = recorded.flatMap((s) => s.events).filter((e) => day.subjects.includes(e.identity));
  for (const e of shown.slice(0, 8)) out.push(`      ${e.kind.padEnd(12)} ${e.summary}`);
  for (const e of shown.filter((x) => x.kind === 'owner_gone'))
    out.push(
      `      → ${e.identity} has no active owner now: the owner's manager is asked to take it over, and unconfirmed by the deadline it is suspended (tenure nhi list)`,
    );
  return out;
}
