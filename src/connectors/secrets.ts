import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConnectorError } from './connector.js';

/**
 * Resolves a secret a policy references: `{ env: NAME }` or `{ file: PATH }` (relative to the
 * policy's folder). A plain string is accepted (the policy loader has warned about it).
 */
export function resolveSecret(
  target: string,
  field: string,
  value: unknown,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'env' in value && typeof value.env === 'string') {
    const v = env[value.env];
    if (v === undefined || v === '') {
      throw new ConnectorError(
        target,
        'invalid_input',
        `target "${target}": ${field} names environment variable ${value.env}, which is not set`,
        `export ${value.env}=...`,
      );
    }
    return v;
  }
  if (value && typeof value === 'object' && 'file' in value && typeof value.file === 'string') {
    try {
      return readFileSync(resolve(baseDir, value.file), 'utf8').trimEnd();
    } catch (e) {
      throw new ConnectorError(
        target,
        'invalid_input',
        `target "${target}": ${field} file ${value.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  throw new ConnectorError(
    target,
    'invalid_input',
    `target "${target}": ${field} must be { env: NAME } or { file: PATH }`,
  );
}

/** The options every connector factory receives besides its target definition. */
export interface ConnectorContext {
  /** The policy file's folder: relative paths in a connection resolve from here. */
  readonly baseDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The entitlements the policy declares for this target (`directory:group/engineers`): what a connector may take
   * away on its own (an LDAP `strip` disable). Absent outside a policy: then it takes away none.
   */
  readonly entitlements?: readonly string[];
}
