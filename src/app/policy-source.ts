import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hasErrors, type Diagnostic } from '../model/diagnostic.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import { EXIT, UserError } from './errors.js';

/** A policy as the service serves it: validated, with the text it came from and that text's hash. */
export interface PolicySource {
  readonly loaded: LoadedPolicy;
  readonly warnings: readonly Diagnostic[];
  readonly text: string;
  /** SHA-256 of the file's text, hex: the `policyHash` of the plans computed under it. */
  readonly hash: string;
  readonly loadedAt: Date;
}

/**
 * Reads and validates the policy file once: the text that is hashed is the text that is loaded, so
 * the hash always names what is served. An invalid file is a UserError `policy.invalid` carrying
 * every diagnostic (file:line:col).
 */
export function readPolicySource(configPath: string, now: Date): PolicySource {
  const file = resolve(configPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(
      `policy file cannot be read: ${configPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      EXIT.invalid,
      [],
      undefined,
      'policy.invalid',
    );
  }
  // Named as the command line names it (openPolicy), so messages read the same in both.
  const shown = configPath.startsWith('/') ? configPath : configPath.replace(/^\.\//, '');
  const r = loadPolicy(text, shown);
  if (!r.result || hasErrors(r.diagnostics))
    throw new UserError(
      `the policy has ${r.diagnostics.filter((d) => d.severity === 'error').length} error(s)`,
      EXIT.invalid,
      r.diagnostics,
      'tenure validate shows the same problems',
      'policy.invalid',
    );
  return {
    loaded: { ...r.result, policy: { ...r.result.policy, file } },
    warnings: r.diagnostics,
    text,
    hash: createHash('sha256').update(text).digest('hex'),
    loadedAt: now,
  };
}
