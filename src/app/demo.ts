import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fixConflictingRoles, type RoleFix } from '../demo/fix-conflicting-roles.js';
import { generateOrganisation, type GeneratedOrganisationStats } from '../demo/generate-organisation.js';
import { weekOfChanges } from '../demo/week-of-changes.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { DeprovisionVerdict, PlanSummary, SodConflict } from '../model/plan.js';
import { applyPlan } from './apply.js';
import { recordApproval } from './approve.js';
import { policySchemaText } from './schema.js';
import { EXIT } from './errors.js';
import { importSources, type SourceOutcome } from './import.js';
import { planNow, type PlannedState } from './plan-state.js';
import { Workspace } from './workspace.js';

/** The organisation to generate, and the folder it is written to. */
export interface DemoRequest {
  readonly people: number;
  readonly roles: number;
  readonly seed: number;
  readonly folder: string;
}

/** `tenure demo generate`: a synthetic organisation written to `folder`, the same for the same seed. */
export function generateDemo(
  ws: Workspace,
  request: DemoRequest,
): { folder: string; files: string[]; stats: GeneratedOrganisationStats; ms: number } {
  const started = performance.now();
  const { people, roles, seed } = request;
  const org = generateOrganisation({ people, roles, seed, asOf: ws.asOf });
  const folder = resolve(request.folder);
  writeFiles(folder, withSchema(org.files));
  return {
    folder,
    files: Object.keys(withSchema(org.files)).sort(),
    stats: org.stats,
    ms: Math.round(performance.now() - started),
  };
}

/** Where a demo runs: the organisation on disk, its policy and its store. */
export interface DemoSetup {
  readonly folder: string;
  readonly config: string;
  readonly state: string;
  readonly stats: GeneratedOrganisationStats;
  /** Midnight (UTC) of the workspace's day: the first run. */
  readonly start: Date;
  /** The feeds as generated: the week's changes are made from them. */
  readonly hr: string;
  readonly nhi: string;
  /** Who runs the demo (`--as`): its audit records name them, as every command's do. */
  readonly as?: string;
}

/**
 * Writes a generated organisation with CSV targets to `folder` for `runDemoWeek`. A fresh start:
 * the demo's own state and targets are replaced, nothing else in the folder is touched.
 */
export function setUpDemo(ws: Workspace, request: DemoRequest): DemoSetup {
  const folder = resolve(request.folder);
  const start = new Date(Math.floor(ws.asOf.getTime() / DAY_MS) * DAY_MS);
  for (const f of ['state.db', 'state.db-wal', 'state.db-shm', 'targets', 'actual'])
    rmSync(join(folder, f), { recursive: true, force: true });
  const { people, roles, seed } = request;
  const org = generateOrganisation({ people, roles, seed, asOf: start, targets: 'csv' });
  writeFiles(folder, withSchema(org.files));
  return {
    ...(ws.spec.as !== undefined ? { as: ws.spec.as } : {}),
    folder,
    config: join(folder, 'tenure.yaml'),
    state: join(folder, 'state.db'),
    stats: org.stats,
    start,
    hr: org.files['hr.csv']!,
    nhi: org.files['nhi.json']!,
  };
}

/**
 * The demo's own workspace on a given day: its policy, its store, that day as the evaluation time.
 * A new one each time, so the policy is read again after the role owner's fix.
 */
export function demoWorkspace(setup: DemoSetup, at: Date): Workspace {
  return new Workspace({
    config: setup.config,
    state: setup.state,
    asOf: at,
    ...(setup.as !== undefined ? { as: setup.as } : {}),
  });
}

/** The day's import, as the demo counts it. */
export interface DemoImport {
  readonly outcome: 'applied' | 'stopped' | 'unchanged';
  /** Events recorded, summed over the sources; a held-back source recorded none. */
  readonly events: Record<string, number>;
  /** Why a source was held back. */
  readonly reason?: string;
}

/** One operation the day's apply carried out (or failed to). */
export interface DemoOperation {
  readonly target: string;
  readonly state: string;
  readonly sentence: string;
}

/** The first run: the guardrails the first plan met, and what people did about them. */
export interface DemoFirstRun {
  /** The plan before any guardrail was dealt with. */
  readonly plan: PlanSummary;
  /** Separation-of-duties conflicts, and the role fixes that removed them. */
  readonly sod?: { readonly conflicts: readonly SodConflict[]; readonly fixes: readonly RoleFix[] };
  /** Targets the deprovisioning breaker stopped; each was approved for its accounts. */
  readonly approvedDeprovision: readonly DeprovisionVerdict[];
}

export interface DemoDay {
  /** 0 = the first run. */
  readonly day: number;
  readonly date: Date;
  readonly title: string;
  /** What HR changed, in words. */
  readonly story: readonly string[];
  /** Ids the day is about: their events and operations are the ones worth showing. */
  readonly subjects: readonly string[];
  readonly sources: readonly SourceOutcome[];
  readonly import: DemoImport;
  /** Day 0 only. */
  readonly firstRun?: DemoFirstRun;
  /** The plan applied that day (on day 0, after the guardrails were dealt with). */
  readonly plan: PlanSummary;
  readonly warnings: readonly Diagnostic[];
  /** Absent when there was nothing to change. */
  readonly applied?: { readonly operations: readonly DemoOperation[]; readonly failed: number; readonly ms: number };
  /** What went otherwise than the demo expected: each is a failure of the demo. */
  readonly surprises: readonly string[];
}

const DAY_MS = 86_400_000;

/**
 * A week in the life of the organisation `setUpDemo` wrote, one day at a time. Day 0 imports
 * everyone, plans, meets the guardrails (a role that breaks separation of duties, the
 * deprovisioning breaker), has people deal with them, and applies; then each day HR sends a changed
 * feed — joiners, movers, leavers, an owner of non-human identities leaving, a truncated export —
 * which is imported, planned and applied through the same use cases as the commands.
 */
export async function* runDemoWeek(setup: DemoSetup): AsyncGenerator<DemoDay> {
  const day0 = setup.start;
  const first = await runImport(setup, day0);
  let planned = await planNow(demoWorkspace(setup, day0), {});
  const firstPlan = planned.plan.summary;
  const surprises: string[] = [];
  const conflicts = planned.plan.guardrails.sodConflicts;
  let sod: DemoFirstRun['sod'];
  if (conflicts.length > 0) {
    // What a role owner would do: fix the role model, then plan again under the fixed policy.
    const fixed = fixConflictingRoles(
      readFileSync(setup.config, 'utf8'),
      planned.loaded,
      conflicts,
      planned.identities,
      day0,
    );
    writeFileSync(setup.config, fixed.text);
    sod = { conflicts, fixes: fixed.fixes };
    planned = await planNow(demoWorkspace(setup, day0), {});
    if (planned.plan.guardrails.sodConflicts.length > 0)
      surprises.push(
        `${planned.plan.guardrails.sodConflicts.length} separation-of-duties conflict(s) remain after the fix`,
      );
  }
  const approvedDeprovision = planned.plan.guardrails.deprovision.filter((x) => x.blocked);
  for (const d of approvedDeprovision)
    await recordApproval(
      demoWorkspace(setup, day0),
      'deprovision',
      `target:${d.target}`,
      d.accounts,
      'first reconciliation: drift reviewed by the access team',
    );
  yield {
    day: 0,
    date: day0,
    title: 'the first run',
    story: [],
    subjects: [],
    sources: first,
    import: countImport(first),
    firstRun: { plan: firstPlan, ...(sod ? { sod } : {}), approvedDeprovision },
    ...(await planAndApply(setup, day0, planned, surprises)),
  };

  const grace = planned.loaded.policy.policies.leaver.moverGraceDays;
  for (const d of weekOfChanges(setup.hr, setup.nhi, day0, grace)) {
    writeFileSync(join(setup.folder, 'hr.csv'), d.hr);
    const sources = await runImport(setup, d.date);
    const imported = countImport(sources);
    const daySurprises: string[] = [];
    if ((imported.outcome === 'stopped') !== (d.expect === 'import_stopped'))
      daySurprises.push(`${iso(d.date)}: the import was ${imported.outcome}, the demo expected ${d.expect}`);
    const today = await planNow(demoWorkspace(setup, d.date), {});
    yield {
      day: d.day,
      date: d.date,
      title: d.title,
      story: d.story,
      subjects: d.subjects,
      sources,
      import: imported,
      ...(await planAndApply(setup, d.date, today, daySurprises)),
    };
  }
}

async function runImport(setup: DemoSetup, at: Date): Promise<readonly SourceOutcome[]> {
  return (await importSources(demoWorkspace(setup, at), {})).outcomes;
}

function countImport(sources: readonly SourceOutcome[]): DemoImport {
  const events: Record<string, number> = {};
  let reason: string | undefined;
  for (const s of sources) {
    // A held-back source recorded nothing: its would-be events are not the day's events.
    if (s.outcome === 'stopped') reason = s.reason;
    else for (const [k, v] of Object.entries(s.counts)) events[k] = (events[k] ?? 0) + v;
  }
  const stopped = sources.some((s) => s.outcome === 'stopped');
  const total = sources.filter((s) => s.outcome !== 'stopped').reduce((n, s) => n + s.events.length, 0);
  return {
    outcome: stopped ? 'stopped' : total === 0 ? 'unchanged' : 'applied',
    events,
    ...(reason ? { reason } : {}),
  };
}

/** Applies the day's plan when it changes anything; `surprises` gains a failed apply. */
async function planAndApply(
  setup: DemoSetup,
  at: Date,
  planned: PlannedState,
  surprises: string[],
): Promise<Pick<DemoDay, 'plan' | 'warnings' | 'applied' | 'surprises'>> {
  const day = { plan: planned.plan.summary, warnings: planned.warnings };
  if (planned.plan.summary.changes === 0) return { ...day, surprises };
  const started = performance.now();
  const outcome = await applyPlan(demoWorkspace(setup, at), {});
  const ms = Math.round(performance.now() - started);
  const operations = (outcome.result?.operations ?? []).map((op) => ({
    target: op.change.target,
    state: op.state,
    sentence: op.sentence,
  }));
  // What `tenure apply` would exit with: operations given up on or left pending.
  const unfinished = (outcome.result?.targets ?? []).reduce((k, x) => k + x.dead + x.pending, 0);
  if (unfinished > 0) surprises.push(`${iso(at)}: apply exited ${EXIT.applyFailed}`);
  return {
    ...day,
    applied: { operations, failed: operations.filter((o) => o.state !== 'succeeded').length, ms },
    surprises,
  };
}

const iso = (d: Date): string => d.toISOString().slice(0, 10);

/** The policy's JSON Schema beside it: the generated tenure.yaml names it for editors. */
function withSchema(files: Readonly<Record<string, string>>): Record<string, string> {
  return { ...files, 'tenure.schema.json': policySchemaText() };
}

function writeFiles(folder: string, files: Readonly<Record<string, string>>): void {
  for (const [path, text] of Object.entries(files)) {
    const file = join(folder, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}
