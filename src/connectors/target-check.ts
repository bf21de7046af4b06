import type { ScimDiscovery as FullScimDiscovery } from './scim/scim-discovery.js';
import { ConnectorError } from './connector.js';

/**
 * What `tenure targets check` asks a target kind to find out: what the policy needs of the target, and whether it
 * may prove the rest by writing (`probe`). The kind answers with one CheckItem per thing it looked at.
 */
export interface CheckNeeds {
  /** The declared entitlements of this target (`directory:group/staff`), accounts left out. */
  readonly entitlements: readonly string[];
  /** Leavers are deleted after some days (policies.leaver.delete_after_days, overall or for this target). */
  readonly delete: boolean;
  /** Credentials are rotated here (a maximum credential age and a target that rotates). */
  readonly rotate: boolean;
  /** Create, change and remove one throwaway account (and a membership) to prove the rights. */
  readonly probe: boolean;
  /** The throwaway account's name: `tenure-check-<random>`. */
  readonly probeName: string;
}

/** One thing a check looked at. */
export type CheckSubject =
  | 'settings'
  | 'login'
  | 'read'
  | 'files'
  | 'discovery'
  | 'create'
  | 'update'
  | 'disable'
  | 'delete'
  | 'rotate'
  | 'group'
  | 'entitlement';

/**
 * `ok`: it can; `missing`: it cannot (or the thing is not there); `unknown`: no read-only way to tell (the message
 * says to use --probe). After a failed login nothing else is asked: the login item is the answer.
 */
export type CheckStatus = 'ok' | 'missing' | 'unknown';

export interface CheckItem {
  readonly check: CheckSubject;
  /** The entitlement a `group` or `entitlement` item is about. */
  readonly entitlement?: string;
  readonly status: CheckStatus;
  /** The policy needs it: a needed item that is missing fails the check. */
  readonly needed: boolean;
  /** `asked`: read from the server; `probed`: done and undone with the throwaway account. */
  readonly how: 'asked' | 'probed';
  readonly message: string;
  readonly hint?: string;
}

/** The part of a SCIM service's discovery (the connector's `discover()`) that `targets check` records in the store. */
export type ScimDiscovery = Pick<FullScimDiscovery, 'groups' | 'filter' | 'patch'>;

/** A kind's answer. */
export interface KindCheck {
  readonly items: readonly CheckItem[];
  readonly discovery?: ScimDiscovery;
}

/** Builds items with less noise: `found.ok('login', 'bound as ...')`. */
export const found = {
  ok: (check: CheckSubject, message: string, extra: Partial<CheckItem> = {}): CheckItem => ({
    check,
    status: 'ok',
    needed: true,
    how: 'asked',
    message,
    ...extra,
  }),
  missing: (check: CheckSubject, message: string, extra: Partial<CheckItem> = {}): CheckItem => ({
    check,
    status: 'missing',
    needed: true,
    how: 'asked',
    message,
    ...extra,
  }),
  unknown: (check: CheckSubject, message: string, extra: Partial<CheckItem> = {}): CheckItem => ({
    check,
    status: 'unknown',
    needed: true,
    how: 'asked',
    message,
    hint: 'run tenure targets check --probe to try it with a throwaway account',
    ...extra,
  }),
};

/** A ConnectorError's message and hint, or the text of anything else. */
export function problemOf(e: unknown): { message: string; hint?: string } {
  if (e instanceof ConnectorError) return { message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { message: e instanceof Error ? e.message : String(e) };
}

/**
 * Runs one probe step: ok when it succeeds, missing with the target's refusal when it does not. A step whose
 * refusal is not a permission problem is still missing: the check cannot say the right is there.
 */
export async function probeStep(
  check: CheckSubject,
  done: string,
  step: () => Promise<unknown>,
  extra: Partial<CheckItem> = {},
): Promise<CheckItem> {
  try {
    await step();
    return found.ok(check, done, { how: 'probed', ...extra });
  } catch (e) {
    return found.missing(check, problemOf(e).message, { how: 'probed', ...hintOf(e), ...extra });
  }
}

function hintOf(e: unknown): { hint?: string } {
  const { hint } = problemOf(e);
  return hint === undefined ? {} : { hint };
}

/**
 * The entitlements a connector says its target has, or undefined (with a `read` item saying why) when it cannot list
 * them.
 */
export async function listedEntitlements(
  connector: { listEntitlements(): Promise<readonly string[]> },
  items: CheckItem[],
): Promise<Set<string> | undefined> {
  try {
    return new Set(await connector.listEntitlements());
  } catch (e) {
    const p = problemOf(e);
    items.push(found.missing('read', `cannot list the groups: ${p.message}`, p.hint ? { hint: p.hint } : {}));
    return undefined;
  }
}
