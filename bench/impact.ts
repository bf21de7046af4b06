// The impact of a policy change over a whole organisation, as `tenure impact` computes it. Timed:
// computeImpact from two loaded policies and the identities (feeds read and policies parsed
// before the clock starts; parsing both policies is reported on its own line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { computeImpact } from '../src/governance/impact.js';
import { loadPolicy, type LoadedPolicy } from '../src/policy/load-policy.js';
import { emit, loadOrganisation } from './load-organisation.js';

const [dir] = process.argv.slice(2) as [string];
const asOf = new Date('2026-11-01T00:00:00Z');
const file = join(dir, 'tenure.yaml');
const text = readFileSync(file, 'utf8');
const { identities } = loadOrganisation(dir);

function load(source: string): LoadedPolicy {
  const r = loadPolicy(source, file);
  if (!r.result) throw new Error(`policy is invalid: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.result;
}

function changed(from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the generated policy no longer holds ${from}`);
  return text.replace(from, to);
}

// One role's rule: senior engineers become senior and staff people of engineering and data.
const oneRule = changed(
  `when: 'identity.department == "Engineering" && identity.title.startsWith("Senior")'`,
  `when: 'identity.department in ["Engineering", "Data"] && (identity.title.startsWith("Senior") || identity.title.startsWith("Staff"))'`,
);
// The widest change there is: a grant added to the birthright role every employee holds.
const birthright = changed(
  'grants: [directory:group/all-employees, directory:group/vpn-users,',
  'grants: [directory:group/all-employees, directory:group/vpn-users, directory:group/leadership,',
);

globalThis.gc?.();
let t = performance.now();
const base = load(text);
const current = load(oneRule);
emit('impact_policy_load_both', Math.round(performance.now() - t), 'ms');

// The first run is the figure: a command runs once, before the JIT has warmed up.
globalThis.gc?.();
t = performance.now();
const impact = computeImpact({ base, current, identities, asOf });
emit('impact_one_rule_100k', Math.round(performance.now() - t), 'ms', '<= 2000');
const warm: number[] = [];
for (let i = 0; i < 5; i++) {
  globalThis.gc?.();
  t = performance.now();
  computeImpact({ base, current, identities, asOf });
  warm.push(performance.now() - t);
}
emit('impact_one_rule_100k_warm_median', Math.round(warm.sort((a, b) => a - b)[2]!), 'ms');
emit('impact_one_rule_100k_recomputed', impact.recompute.recomputed, 'identities');
emit('impact_one_rule_100k_affected', impact.summary.identitiesAffected, 'identities');

const wide = load(birthright);
globalThis.gc?.();
t = performance.now();
const everyone = computeImpact({ base, current: wide, identities, asOf });
emit('impact_birthright_grant_100k', Math.round(performance.now() - t), 'ms');
emit('impact_birthright_grant_100k_recomputed', everyone.recompute.recomputed, 'identities');

globalThis.gc?.();
t = performance.now();
computeImpact({ base, current, identities, asOf, full: true });
emit('impact_one_rule_100k_full_recompute', Math.round(performance.now() - t), 'ms');
