// `tenure lint` over a whole generated organisation: desired state plus lint, and lint alone.
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine.js';
import { lint } from '../src/governance/lint.js';
import { emit, loadOrganisation } from './load-organisation.js';

const [dir] = process.argv.slice(2) as [string];
const asOf = new Date('2026-11-01T00:00:00Z');
const { loaded, identities } = loadOrganisation(dir);
globalThis.gc?.();
const started = performance.now();
const engine = new Engine(loaded);
const desired = engine.desiredState(identities, asOf, 'indexed');
const linting = performance.now();
const findings = lint({ loaded, identities, exceptions: [], desired, asOf, closures: engine.closures });
const done = performance.now();
emit('lint_100k_x_1k_total', Math.round(done - started), 'ms', '<= 10000');
emit('lint_100k_x_1k_lint_only', Math.round(done - linting), 'ms');
emit('lint_100k_findings', findings.length, 'findings');
emit('lint_100k_peak_rss', Math.round(process.resourceUsage().maxRSS / 1024), 'MiB');
