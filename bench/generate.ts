// `tenure demo generate` at benchmark size: the synthetic organisation of 100,000 people and
// 1,000 roles, generated in memory (the unit test checks its shape; this is its time).
import { performance } from 'node:perf_hooks';
import { generateOrganisation } from '../src/demo/generate-organisation.js';
import { emit } from './load-organisation.js';

const asOf = new Date('2026-11-01T00:00:00Z');
globalThis.gc?.();
const started = performance.now();
const org = generateOrganisation({ people: 100_000, roles: 1_000, seed: 42, asOf });
const ms = performance.now() - started;
emit('generate_100k_x_1k', Math.round(ms), 'ms', '<= 20000');
emit('generate_100k_x_1k_roles_matched_per_person', Math.round(org.stats.averageRolesMatched * 100) / 100, 'roles');
emit('generate_100k_peak_rss', Math.round(process.resourceUsage().maxRSS / 1024), 'MiB');
