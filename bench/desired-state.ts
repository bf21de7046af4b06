// Desired state for a whole organisation: wall time and this process's peak memory.
import { performance } from 'node:perf_hooks';
import { Engine, type Strategy } from '../src/engine/engine.js';
import { emit, loadOrganisation } from './load-organisation.js';

const [dir, strategy] = process.argv.slice(2) as [string, Strategy];
const asOf = new Date('2026-11-01T00:00:00Z');
const { loaded, identities } = loadOrganisation(dir);
globalThis.gc?.();
const started = performance.now();
const engine = new Engine(loaded);
const state = engine.desiredState(identities, asOf, strategy);
const ms = performance.now() - started;
const grants = state.identities.reduce((n, a) => n + a.grants.length, 0);
const matches = state.identities.reduce((n, a) => n + a.matches.length, 0);
const label = `desired_state_100k_x_1k_${strategy}`;
emit(label, Math.round(ms), 'ms', strategy === 'indexed' ? '<= 3000' : undefined);
if (strategy === 'indexed') {
  emit('desired_state_100k_peak_rss', Math.round(process.resourceUsage().maxRSS / 1024), 'MiB', '<= 1024');
  emit('desired_state_100k_grants', grants, 'grants');
  emit('desired_state_100k_role_matches', matches, 'matches');
  emit('desired_state_100k_identities', identities.length, 'identities');
}
