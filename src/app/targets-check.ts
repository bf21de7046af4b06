import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ConnectorError, type Connector } from '../connectors/connector.js';
import { checkSettings } from '../connectors/connector-kind.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';
import type { ConnectorContext } from '../connectors/secrets.js';
import {
  found,
  problemOf,
  type CheckItem,
  type CheckNeeds,
  type KindCheck,
  type ScimDiscovery,
} from '../connectors/target-check.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Policy, TargetDefinition, TargetKind } from '../model/policy.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, UserError } from './errors.js';
import type { Workspace } from './workspace.js';

/** One target's answer. */
export interface TargetCheck {
  readonly target: string;
  readonly kind: TargetKind;
  /** Nothing the policy needs is missing. */
  readonly ok: boolean;
  /** Whether a throwaway account was used (`--probe`). */
  readonly probed: boolean;
  readonly items: readonly CheckItem[];
  /** What a SCIM service said it supports; recorded in the store. */
  readonly discovery?: ScimDiscovery;
}

export interface TargetsCheck {
  /** No target misses anything the policy needs. */
  readonly ok: boolean;
  readonly checkedAt: Date;
  readonly targets: readonly TargetCheck[];
  /** Targets whose discovery was recorded in the store (what `validate` reads). */
  readonly recorded: readonly string[];
  /** The policy's own warnings. */
  readonly warnings: readonly Diagnostic[];
}

export interface TargetsCheckOptions {
  /** Only this target. */
  readonly target?: string;
  /** Create and remove a `tenure-check-*` account to prove the rights that cannot be asked. */
  readonly probe?: boolean;
}

/**
 * `tenure targets check`: connects to each target of the policy with the credentials given and finds out, per
 * target, what they allow (log in, read, create, change, disable, delete, rotate, write each declared group) and
 * which declared entitlements the target lacks. Read-only unless `probe`. Each kind asks its own questions
 * (`ConnectorKind.check`); targets are checked at once. What a SCIM service supports is recorded in the store.
 */
export async function checkTargets(ws: Workspace, options: TargetsCheckOptions = {}): Promise<TargetsCheck> {
  const { loaded, warnings } = ws.policy();
  const policy = loaded.policy;
  const ids = policy.targets.map((t) => t.id);
  if (options.target !== undefined && !ids.includes(options.target))
    throw new UserError(
      `the policy declares no target "${options.target}"`,
      EXIT.usage,
      [],
      didYouMean(options.target, ids) ?? `its targets are ${ids.join(', ')}`,
    );
  const chosen = policy.targets.filter((t) => options.target === undefined || t.id === options.target);
  const checkedAt = ws.clock();
  const targets = await Promise.all(chosen.map((t) => checkOne(policy, t, options.probe ?? false)));
  const discovered = targets.filter((t) => t.discovery !== undefined);
  if (discovered.length > 0)
    await ws.withStore('write', (store, waitMs) =>
      store.write(
        async (w) => {
          for (const t of discovered) {
            const features = { ...t.discovery! };
            await w.recordDiscovery({ target: t.target, kind: t.kind, checkedAt, features });
            await w.audit([
              ws.auditEntry({
                action: 'target.checked',
                subject: `target:${t.target}`,
                reason: 'tenure targets check',
                details: { kind: t.kind, features, ok: t.ok, probed: t.probed },
              }),
            ]);
          }
        },
        { waitMs },
      ),
    );
  return {
    ok: targets.every((t) => t.ok),
    checkedAt,
    targets,
    recorded: discovered.map((t) => t.target),
    warnings,
  };
}

async function checkOne(policy: Policy, t: TargetDefinition, probe: boolean): Promise<TargetCheck> {
  const kind = CONNECTOR_KINDS[t.kind];
  const { settings, problems } = checkSettings(kind, t);
  if (settings === undefined) {
    const first = problems.find((p) => p.severity === 'error')!;
    return result(t, probe, {
      items: [found.missing('settings', first.message, first.hint ? { hint: first.hint } : {})],
    });
  }
  const context: ConnectorContext = { baseDir: dirname(policy.file), env: process.env };
  let connector: Connector | undefined;
  try {
    connector = kind.create(t.id, settings, context);
    const needs = needsOf(policy, t, connector, probe);
    const answer = kind.check ? await kind.check(connector, settings, needs, context) : { items: [] };
    return result(t, probe, answer);
  } catch (e) {
    // A problem the kind did not turn into an item (a secret that cannot be read): the target cannot be used.
    if (!(e instanceof ConnectorError)) throw e;
    const p = problemOf(e);
    return result(t, probe, { items: [found.missing('login', p.message, p.hint ? { hint: p.hint } : {})] });
  } finally {
    await connector?.close().catch(() => undefined);
  }
}

/** What the policy needs of the target. */
function needsOf(policy: Policy, t: TargetDefinition, connector: Connector, probe: boolean): CheckNeeds {
  const leaver = policy.policies.leaver;
  return {
    entitlements: policy.entitlements
      .filter((e) => e.address.target === t.id && e.address.kind !== 'account')
      .map((e) => e.id),
    delete: (leaver.targets[t.id]?.deleteAfterDays ?? leaver.deleteAfterDays) !== undefined,
    rotate: policy.policies.nonHuman.maxCredentialAgeDays !== undefined && connector.capabilities.rotate,
    probe,
    // 19 characters: within Active Directory's 20 for sAMAccountName.
    probeName: `tenure-check-${randomBytes(3).toString('hex')}`,
  };
}

function result(t: TargetDefinition, probe: boolean, answer: KindCheck): TargetCheck {
  return {
    target: t.id,
    kind: t.kind,
    ok: !answer.items.some((i) => i.needed && i.status === 'missing'),
    probed: probe && answer.items.some((i) => i.how === 'probed'),
    items: answer.items,
    ...(answer.discovery ? { discovery: answer.discovery } : {}),
  };
}
