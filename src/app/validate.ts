import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectionProblems } from '../connectors/open-connector.js';
import { hasErrors, type Diagnostic } from '../model/diagnostic.js';
import type { Policy } from '../model/policy.js';
import { loadPolicy } from '../policy/load-policy.js';
import { locateConnections } from '../policy/locate-connection.js';
import { readSources } from '../sources/read-sources.js';
import type { TargetDiscovery } from '../store/discovery-store.js';
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
  return validated(ws, options).validation;
}

/**
 * `validatePolicy`, and what the store knows that the policy contradicts: a SCIM target whose last `tenure targets
 * check` found no Groups, while the policy grants groups on it (`target.no_groups`). Without a store, the same.
 */
export async function validateWithStore(
  ws: Workspace,
  options: { readonly skipInvalid?: boolean } = {},
): Promise<Validation> {
  const { validation, policy } = validated(ws, options);
  if (policy === undefined) return validation;
  const discoveries = await ws.ifStored([], (store) => store.targetDiscoveries());
  const extra = noGroupsWarnings(policy, discoveries);
  return extra.length === 0 ? validation : { ...validation, diagnostics: [...validation.diagnostics, ...extra] };
}

/** A group granted on a SCIM target that, when last checked, had no Groups resource: one warning per group. */
export function noGroupsWarnings(policy: Policy, discoveries: readonly TargetDiscovery[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of discoveries) {
    const target = policy.targets.find((t) => t.id === d.target);
    if (target?.kind !== 'scim' || d.features.groups !== false) continue;
    const when = d.checkedAt.toISOString().replace('T', ' ').slice(0, 16);
    for (const e of policy.entitlements) {
      if (e.address.target !== d.target || e.address.kind !== 'group') continue;
      const roles = policy.roles.filter((r) => r.grants.includes(e.id)).map((r) => r.id);
      if (roles.length === 0) continue;
      out.push({
        severity: 'warning',
        code: 'target.no_groups',
        message: `target "${d.target}" has no Groups (tenure targets check found none on ${when} UTC), but the policy grants ${e.id} (role ${roles.join(', role ')})`,
        hint: `grant only ${d.target}:account on this target, or run tenure targets check ${d.target} again if the service now offers Groups`,
        ...(e.position ? { position: e.position } : {}),
        subject: e.id,
      });
    }
  }
  return out;
}

function validated(
  ws: Workspace,
  options: { readonly skipInvalid?: boolean },
): { validation: Validation; policy?: Policy } {
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
  let policy: Policy | undefined;
  if (loaded.result) {
    // Feed paths are relative to the policy's folder, whatever the working directory.
    policy = { ...loaded.result.policy, file: resolve(config) };
    diagnostics.push(...connectionDiagnostics(policy, text, config));
    const r = readSources(policy, {
      skipInvalid: options.skipInvalid ?? false,
      now: ws.asOf,
      checkManagers: true,
    });
    diagnostics.push(...r.diagnostics);
    for (const read of r.result.reads)
      sources.push({ id: read.source, rows: read.rows, identities: read.identities.length, skipped: read.skipped });
  }
  const validation: Validation = {
    ok: !hasErrors(diagnostics),
    diagnostics,
    ...(loaded.result ? { policy: summary(loaded.result.policy) } : {}),
    sources,
  };
  return { validation, ...(policy ? { policy } : {}) };
}

/**
 * What opening each target would refuse about its `connection`, from its kind's settings schema
 * (unknown keys, missing settings, wrong types, numbers out of range), and the warnings about it,
 * each where it is in the policy file. An unknown key points at its target entry, a missing
 * setting at the `connection` (or the entry), anything else at the value.
 */
function connectionDiagnostics(policy: Policy, text: string, file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  let located: ReturnType<typeof locateConnections> | undefined;
  for (const t of policy.targets)
    for (const p of connectionProblems(t)) {
      located ??= locateConnections(text, file);
      const position = p.unknown ? t.position : (located.at(t.id, p.path) ?? t.position);
      out.push({
        severity: p.severity,
        code: p.code,
        message: p.message,
        ...(p.hint ? { hint: p.hint } : {}),
        position,
        subject: t.id,
      });
    }
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
