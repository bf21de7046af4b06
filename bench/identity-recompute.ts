// One identity's desired state recomputed, as after a single HR change: median and p99.
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine.js';
import { emit, loadOrganisation } from './load-organisation.js';

const [dir] = process.argv.slice(2) as [string];
const asOf = new Date('2026-11-01T00:00:00Z');
const { loaded, identities } = loadOrganisation(dir);
const engine = new Engine(loaded);
const samples: number[] = [];
// Every 50th identity: 2,000 samples spread over departments, kinds and statuses.
for (let i = 0; i < identities.length; i += 50) {
  const t = performance.now();
  engine.identityAccess(identities[i]!, asOf);
  samples.push(performance.now() - t);
}
samples.sort((a, b) => a - b);
const at = (q: number): number =>
  Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]! * 1000) / 1000;
emit('identity_recompute_median', at(0.5), 'ms', '<= 1');
emit('identity_recompute_p99', at(0.99), 'ms');
