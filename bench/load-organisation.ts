import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from '../src/model/identity.js';
import { loadPolicy, type LoadedPolicy } from '../src/policy/load-policy.js';
import { readSources } from '../src/sources/read-sources.js';

/** Loads a generated organisation through the real policy loader and source readers. */
export function loadOrganisation(dir: string): { loaded: LoadedPolicy; identities: readonly Identity[] } {
  const file = join(dir, 'tenure.yaml');
  const r = loadPolicy(readFileSync(file, 'utf8'), file);
  if (!r.result) throw new Error(`generated policy is invalid: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  const s = readSources(r.result.policy, { skipInvalid: false });
  if (s.diagnostics.some((d) => d.severity === 'error'))
    throw new Error(`generated sources are invalid: ${s.diagnostics[0]!.message}`);
  return { loaded: r.result, identities: s.result.identities };
}

export function emit(name: string, value: number, unit: string, target?: string): void {
  process.stdout.write(JSON.stringify({ name, value, unit, ...(target ? { target } : {}) }) + '\n');
}
