// Drift over a whole organisation, as `tenure drift` computes it once policy and identities are
// loaded: actual state read through the targets' connectors, then desired state, the plan and the
// classification. The figure is the computation; reading the snapshots is reported beside it,
// since it depends on the connector (a memory snapshot here, a directory server elsewhere).
import { performance } from 'node:perf_hooks';
import { openActualState } from '../src/app/inputs.js';
import { Engine } from '../src/engine/engine.js';
import { computeDrift, remediationPlan } from '../src/governance/drift.js';
import { computePlan } from '../src/plan/compute-plan.js';
import { emit, loadOrganisation } from './load-organisation.js';
import { CONNECTOR_KINDS } from '../src/connectors/kinds.js';

const [dir] = process.argv.slice(2) as [string];
const asOf = new Date('2026-11-01T00:00:00Z');
const { loaded, identities } = loadOrganisation(dir);
globalThis.gc?.();

const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
};
const read = performance.now();
const actual = await openActualState(loaded);
const readMs = performance.now() - read;
globalThis.gc?.();
const started = performance.now();
const [desired, desiredMs] = time(() => new Engine(loaded).desiredState(identities, asOf));
// As if a store had imported every id the targets link to: a departed one is a leaver, as before.
const imported = new Set(actual.targets.flatMap((t) => t.accounts.flatMap((a) => (a.identity ? [a.identity] : []))));
const [plan, planMs] = time(
  () => computePlan({ loaded, identities, imported, desired, actual, asOf, kinds: CONNECTOR_KINDS }).result,
);
const [report, classifyMs] = time(() =>
  computeDrift({ loaded, identities, imported, actual, plan, asOf, kinds: CONNECTOR_KINDS }),
);
const totalMs = performance.now() - started;
const [fix, remediateMs] = time(() => remediationPlan(plan, report, loaded));

emit('drift_100k_x_1k', Math.round(totalMs), 'ms', '<= 10000');
emit('drift_100k_read_targets', Math.round(readMs), 'ms');
emit('drift_100k_with_read', Math.round(readMs + totalMs), 'ms');
emit('drift_100k_desired_state', Math.round(desiredMs), 'ms');
emit('drift_100k_plan', Math.round(planMs), 'ms');
emit('drift_100k_classify', Math.round(classifyMs), 'ms');
emit('drift_100k_remediation_plan', Math.round(remediateMs), 'ms');
emit('drift_100k_peak_rss', Math.round(process.resourceUsage().maxRSS / 1024), 'MiB');
emit(
  'drift_100k_accounts',
  actual.targets.reduce((n, t) => n + t.accounts.length, 0),
  'accounts',
);
emit('drift_100k_findings', report.summary.findings, 'findings');
emit('drift_100k_orphans', report.summary.byCode['drift.orphan_account'], 'findings');
emit('drift_100k_terminated_enabled', report.summary.byCode['drift.terminated_enabled'], 'findings');
emit('drift_100k_remediation_changes', fix.summary.changes, 'changes');
