import type { SourcePosition } from './diagnostic.js';
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export function riskRank(r: RiskLevel): number {
  return RISK_LEVELS.indexOf(r);
}

/**
 * One grantable thing in a target, addressed `target:kind/name` (`directory:group/engineers`);
 * `target:account` is the account itself.
 */
export interface EntitlementAddress {
  readonly target: string;
  /** `account` for the account itself, else the kind of thing (`group`, `role`, ...). */
  readonly kind: string;
  /** Empty for the account itself. */
  readonly name: string;
}

export function formatEntitlement(e: EntitlementAddress): string {
  return e.kind === 'account' && e.name === '' ? `${e.target}:account` : `${e.target}:${e.kind}/${e.name}`;
}

/** Parses `target:kind/name` or `target:account`; undefined when malformed. */
export function parseEntitlement(text: string): EntitlementAddress | undefined {
  const m = /^([A-Za-z0-9_.-]+):(?:(account)|([A-Za-z0-9_.-]+)\/(.+))$/.exec(text);
  if (!m) return undefined;
  if (m[2]) return { target: m[1]!, kind: 'account', name: '' };
  return { target: m[1]!, kind: m[3]!, name: m[4]! };
}

export interface Entitlement {
  /** The address in text form; the key everywhere. */
  readonly id: string;
  readonly address: EntitlementAddress;
  readonly risk: RiskLevel;
  readonly description: string;
  /** Where the policy declares it; absent for entitlements built in code (tests, generators). */
  readonly position?: SourcePosition;
}
