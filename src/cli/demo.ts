import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateOrganisation } from '../demo/generate-organisation.js';
import { Engine } from '../engine/engine.js';
import { riskRank } from '../model/entitlement.js';
import { computePlan } from '../plan/compute-plan.js';
import { explainProvenance, describeInputs } from '../plan/explain.js';
import { renderPlanText } from '../plan/render-plan.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import { asOfDate, openActualState, openIdentities, openPolicy, type GlobalOptions } from './workspace.js';

function count(name: string, text: string | undefined, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UserError(`--${name} ${text}: expected a whole number from ${min} to ${max}`, EXIT.usage);
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
export function demoGenerateCommand(io: Io, g: GlobalOptions, o: Record<string, string>): number {
  const people = count('people', o.people, 1, 1_000_000);
  const roles = count('roles', o.roles, 1, 100_000);
  const seed = count('seed', o.seed, 0, 2 ** 31);
  const asOf = asOfDate(g.asOf);
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

/**
 * `tenure demo`: generate an organisation, validate it, compute everyone's desired access, plan
 * against the targets' recorded state, and explain a few decisions — all on embedded defaults.
 */
export async function demoCommand(io: Io, g: GlobalOptions, o: Record<string, string>): Promise<number> {
  const people = count('people', o.people, 10, 1_000_000);
  const roles = count('roles', o.roles, 5, 100_000);
  const seed = count('seed', o.seed, 0, 2 ** 31);
  const asOf = asOfDate(g.asOf);
  const folder = resolve(o.dir ?? '.tenure/demo');
  const say = (s: string): void => {
    if (!g.json) io.out(s);
  };
  const step = <T>(label: string, f: () => T): { value: T; ms: number } => {
    const t = performance.now();
    const value = f();
    const ms = Math.round(performance.now() - t);
    say(`✔ ${label} (${ms} ms)`);
    return { value, ms };
  };

  say(
    `Tenure demo: a synthetic organisation of ${people} people and ${roles} roles, as of ${asOf.toISOString().slice(0, 10)}\n`,
  );
  const gen = step(`generated the organisation in ${folder}`, () => {
    const org = generateOrganisation({ people, roles, seed, asOf });
    writeOrganisation(folder, org.files);
    return org;
  });
  const config = join(folder, 'tenure.yaml');
  const policy = step(`validated ${config}: every rule compiled against the typed identity attributes`, () =>
    openPolicy(config),
  );
  const loaded = policy.value.loaded;
  const ids = step('read the HR feed and the non-human identity inventory', () => openIdentities(loaded));
  const identities = ids.value.identities;
  const engine = new Engine(loaded);
  const desired = step(
    `computed desired state for ${identities.length} identities x ${loaded.policy.roles.length} roles`,
    () => engine.desiredState(identities, asOf),
  );
  const grants = desired.value.identities.reduce((n, a) => n + a.grants.length, 0);
  const actual = await openActualState(loaded);
  const planned = step("planned the changes against the targets' recorded state", () =>
    computePlan({ loaded, identities, desired: desired.value, actual, asOf }),
  );
  const plan = planned.value.result;

  // A person with several roles makes the best `why` example.
  const example = [...desired.value.identities].sort(
    (a, b) => b.matches.length - a.matches.length || (a.identity < b.identity ? -1 : 1),
  )[0];
  const risky = loaded.policy.entitlements.filter((e) => riskRank(e.risk) >= riskRank('high'));
  const riskyHolders = new Map<string, number>();
  for (const a of desired.value.identities)
    for (const gr of a.grants)
      if (risky.some((e) => e.id === gr.entitlement))
        riskyHolders.set(gr.entitlement, (riskyHolders.get(gr.entitlement) ?? 0) + 1);

  if (g.json) {
    io.out(
      toJson({
        folder,
        stats: gen.value.stats,
        identities: identities.length,
        roles: loaded.policy.roles.length,
        grants,
        timingsMs: { generate: gen.ms, validate: policy.ms, read: ids.ms, desired: desired.ms, plan: planned.ms },
        plan: plan.summary,
        diagnostics: planned.value.diagnostics,
      }),
    );
    return EXIT.ok;
  }
  say(
    `\n${grants} grants in all; ${desired.value.identities.filter((a) => a.grants.length > 0).length} identities receive access.\n`,
  );
  say(renderPlanText(plan, { limit: 4 }));
  if (example && example.grants.length > 0) {
    say(`\nWhy does ${example.identity} have what they have? (npx tenure why ${example.identity})`);
    for (const m of example.matches.slice(0, 4)) say(`  ${m.role}: ${m.rule}\n    because ${describeInputs(m.inputs)}`);
    const gr = example.grants.find((x) => x.provenance[0]!.chain.length > 1) ?? example.grants[0]!;
    say(`  e.g. ${gr.entitlement} ← ${explainProvenance(gr.provenance[0]!)}`);
  }
  const topRisk = [...riskyHolders].sort((a, b) => b[1] - a[1])[0];
  if (topRisk)
    say(`\nHigh-risk access: ${topRisk[0]} is held by ${topRisk[1]} identities (npx tenure who-has ${topRisk[0]}).`);
  say(
    `\nExplore it yourself:\n  npx tenure -c ${config} validate\n  npx tenure -c ${config} plan\n  npx tenure -c ${config} why ${example?.identity ?? 'ID'}`,
  );
  return EXIT.ok;
}
