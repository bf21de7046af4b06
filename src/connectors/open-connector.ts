import { dirname } from 'node:path';
import type { TargetDefinition } from '../model/policy.js';
import type { Connector } from './connector.js';
import { checkSettings, openWithKind, type SettingsProblem } from './connector-kind.js';
import { CONNECTOR_KINDS } from './kinds.js';
import type { ConnectorContext } from './secrets.js';

/**
 * Everything wrong with a target's `connection` for its kind (unknown keys, missing settings, wrong
 * types, numbers out of range) and the warnings about it (a password in a URL): what `tenure
 * validate` reports and what opening the target would refuse.
 */
export function connectionProblems(target: TargetDefinition): readonly SettingsProblem[] {
  return checkSettings(CONNECTOR_KINDS[target.kind], target).problems;
}

/**
 * The rules each target's kind and settings put on account names (`PlanInput.nameRules`): targets whose kind has
 * none, or whose settings are invalid (the plan fails on those anyway), have no entry.
 */
export function accountNameRules(
  targets: readonly TargetDefinition[],
): ReadonlyMap<string, (name: string) => string | undefined> {
  const rules = new Map<string, (name: string) => string | undefined>();
  for (const t of targets) {
    const kind = CONNECTOR_KINDS[t.kind];
    if (kind.nameProblem === undefined) continue;
    const { settings } = checkSettings(kind, t);
    if (settings !== undefined) rules.set(t.id, (name) => kind.nameProblem!(settings, name));
  }
  return rules;
}

/**
 * The connector for a target of the policy, by its kind. Its settings are checked now (the first
 * problem is an `invalid_input` ConnectorError); nothing is read or connected before its first use.
 */
export function openConnector(
  target: TargetDefinition,
  policyFile: string,
  env: NodeJS.ProcessEnv = process.env,
  /** The entitlements the policy declares for this target. */
  entitlements?: readonly string[],
): Connector {
  const context: ConnectorContext = {
    baseDir: dirname(policyFile),
    env,
    ...(entitlements === undefined ? {} : { entitlements }),
  };
  return openWithKind(CONNECTOR_KINDS[target.kind], target, context);
}
