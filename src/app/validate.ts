import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { unknownConnectionKeys } from '../connectors/open-connector.js';
import { hasErrors, type Diagnostic } from '../model/diagnostic.js';
import type { Policy } from '../model/policy.js';
import { loadPolicy } from '../policy/load-policy.js';
import { didYouMean } from '../policy/suggest.js';
import { readSources } from '../sources/read-sources.js';
import { EXIT, UserError } from './errors.js';
import type { Workspace } from './workspace.js';

/** What a valid policy declares, counted. */
export interface PolicySummary {
  readonly roles: number;
  readonly entitlements: number;
  readonly targets: number;
  readonly sources: number;
  /** Roles with a rule of their own (the rest are only inherited). */
  readonly rules: number;
}

/** One source's feed as validation read it. */
export interface SourceSummary {
  readonly id: string;
  readonly rows: number;
  readonly identities: number;
  readonly skipped: number;
}

export interface Validation {
  /** No diagnostic is an error. */
  readonly ok: boolean;
  /** Every problem of the policy and the feeds at once, in the order found. */
  readonly diagnostics: readonly Diagnostic[];
  /** Absent when the policy itself does not load. */
  readonly policy?: PolicySummary;
  readonly sources: readonly SourceSummary[];
}

/**
 * `tenure validate`: the policy file and every source feed, all problems collected rather than
 * stopping at the first. Unlike `ws.policy()` it never throws for an invalid policy — the
 * diagnostics are the answer — and it reads the feeds, never the store.
 */
export function validatePolicy(ws: Workspace, options: { readonly skipInvalid?: boolean } = {}): Validation {
  const config = ws.spec.config;
  let text: string;
  try {
    text = readFileSync(resolve(config), 'utf8');
  } catch {
    throw new UserError(
      `policy file not found: ${config}`,
      EXIT.invalid,
      [],
      'pass -c PATH, or run in a folder with tenure.yaml',
    );
  }
  const loaded = loadPolicy(text, config);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics];
  const sources: SourceSummary[] = [];
  if (loaded.result) {
    // Feed paths are relative to the policy's folder, whatever the working directory.
    const policy = { ...loaded.result.policy, file: resolve(config) };
    diagnostics.push(...connectionKeyErrors(policy));
    const r = readSources(policy, {
      skipInvalid: options.skipInvalid ?? false,
      now: ws.asOf,
      checkManagers: true,
    });
    diagnostics.push(...r.diagnostics);
    for (const read of r.result.reads)
      sources.push({ id: read.source, rows: read.rows, identities: read.identities.length, skipped: read.skipped });
  }
  return {
    ok: !hasErrors(diagnostics),
    diagnostics,
    ...(loaded.result ? { policy: summary(loaded.result.policy) } : {}),
    sources,
  };
}

/** A connection key the target's kind does not read is a typo, reported here before any run. */
function connectionKeyErrors(policy: Policy): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const t of policy.targets)
    for (const { key, known } of unknownConnectionKeys(t))
      out.push({
        severity: 'error',
        code: 'policy.unknown_connection_key',
        message: `target "${t.id}": connection.${key} is not a setting of a ${t.kind} target`,
        hint: didYouMean(key, known) ?? `its settings are ${known.join(', ')} (docs/connectors.md)`,
        position: t.position,
        subject: t.id,
      });
  return out;
}

function summary(p: Policy): PolicySummary {
  return {
    roles: p.roles.length,
    entitlements: p.entitlements.length,
    targets: p.targets.length,
    sources: p.sources.length,
    rules: p.roles.filter((r) => r.when !== undefined).length,
  };
}
