import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine.js';
import { loadOrganisation } from './load-organisation.js';
const dir = process.argv[2]!;
const { loaded, identities } = loadOrganisation(dir);
const t = performance.now();
const state = new Engine(loaded).desiredState(identities, new Date('2026-11-01T00:00:00Z'));
console.log('ms', Math.round(performance.now() - t), state.identities.length);
