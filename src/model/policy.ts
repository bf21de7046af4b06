import type { AttributeType } from './identity.js';
import type { Entitlement, RiskLevel } from './entitlement.js';
import type { SourcePosition } from './diagnostic.js';
import type { ScheduledJob } from './schedule.js';

/** A secret is referenced, never needed inline: `{ env: NAME }` or `{ file: PATH }`. */
export type SecretRef = { readonly env: string } | { readonly file: string };

/** How one identity field is read from a raw record of a feed. */
export interface FieldMapping {
  /** The column (CSV) or property path (JSON, dotted) in the raw record. */
  readonly field: string;
  readonly type: AttributeType;
  /** For `date`: the expected format; ISO 8601 (`YYYY-MM-DD` or a full timestamp) by default. */
  readonly format?: string;
  /** For `list`: the separator inside a CSV cell (default `;`). */
  readonly separator?: string;
  /** A record without a value is refused when true. */
  readonly required: boolean;
}

/** A mapped value may be a constant or read from a field, optionally through a value map. */
export interface ValueMapping {
  readonly constant?: string;
  readonly field?: string;
  /** Raw value → Tenure value (`Active: active`). Unmapped raw values are errors. */
  readonly values?: Readonly<Record<string, string>>;
}

export type SourceFormat = 'csv' | 'json' | 'jsonl';

export interface SourceDefinition {
  readonly id: string;
  readonly format: SourceFormat;
  /** Relative to the policy file's folder. */
  readonly path: string;
  /** The field holding the stable identity key. */
  readonly key: string;
  /** CSV only: the field delimiter (`,` when absent). */
  readonly delimiter?: string;
  /** CSV only: the quote character (`"` when absent). */
  readonly quote?: string;
  readonly kind: ValueMapping;
  readonly status: ValueMapping;
  readonly attributes: Readonly<Record<string, FieldMapping>>;
  readonly manager?: string;
  readonly startDate?: string;
  readonly endDate?: string;
  /** Texts an end date (end_date, credential.expires) is written as when there is none, e.g. `9999-12-31`. */
  readonly noEnd?: readonly string[];
  readonly owner?: string;
  readonly credential?: {
    readonly created?: string;
    readonly expires?: string;
    readonly lastRotated?: string;
    readonly lastUsed?: string;
  };
  readonly position: SourcePosition;
}

export type TargetKind = 'memory' | 'csv' | 'scim' | 'ldap' | 'postgres';

/**
 * How a target kind compares account names. An LDAP `uid` (caseIgnoreMatch) and a SCIM `userName`
 * (caseExact false, RFC 7643) ignore case: `Ana` and `ana` are one account there.
 */
export type NameComparison = 'exact' | 'case-insensitive';

/**
 * What the pure layers know of each target kind. The connector registry (src/connectors/kinds.ts)
 * is the one value of this type; the app passes it in, so planning and drift never switch on a kind.
 */
export type TargetKindTraits = Readonly<
  Record<
    TargetKind,
    {
      readonly names: NameComparison;
      /** Whether its accounts can be renamed in place and linked (`rename_account`, `link_account`). */
      readonly capabilities: { readonly rename: boolean };
      /**
       * Whether an attribute's value held by an account is the one the policy computes, where the target compares
       * them otherwise than as equal strings (an LDAP `parent` is a DN: `OU=Eng, DC=corp` is `ou=eng,dc=corp`).
       */
      readonly sameValue?: (attribute: string, held: string, wanted: string) => boolean;
    }
  >
>;

export interface TargetDefinition {
  readonly id: string;
  readonly kind: TargetKind;
  readonly description: string;
  /** CEL expression giving the account name from the identity (default `identity.id`). */
  readonly accountName: string;
  /** Target attribute → CEL expression for its value (`mail: identity.email`). */
  readonly attributes: Readonly<Record<string, string>>;
  /** This target's deprovisioning breaker, when it differs from the policy's. */
  readonly deprovisionBreaker?: BreakerSettings;
  /** Kind-specific settings; secrets inside are SecretRefs. */
  readonly connection: Readonly<Record<string, unknown>>;
  readonly position: SourcePosition;
}

export interface Role {
  readonly id: string;
  readonly description: string;
  readonly businessOwner?: string;
  readonly technicalOwner?: string;
  /** CEL membership rule over `identity`; absent for a role that is only inherited. */
  readonly when?: string;
  readonly grants: readonly string[];
  readonly inherits: readonly string[];
  readonly risk: RiskLevel;
  readonly position: SourcePosition;
  /** Where the `when` text starts, so rule errors point inside it. */
  readonly whenPosition?: SourcePosition;
}

export interface SodRule {
  readonly id: string;
  readonly description: string;
  /** Holding any two of these entitlements (or roles, `role:ID`) at once is a conflict. */
  readonly conflicting: readonly string[];
  readonly severity: RiskLevel;
  readonly position: SourcePosition;
}

export interface BreakerSettings {
  /** Blocks when more than this share (percent) of the population would lose access ... */
  readonly maxPercent: number;
  /** ... unless fewer than this many are affected ... */
  readonly minCount: number;
  /** ... and always when more than this many are affected. */
  readonly maxCount: number;
}

export interface NonHumanRules {
  readonly ownerRequired: boolean;
  readonly maxCredentialAgeDays?: number;
  readonly unusedAfterDays?: number;
  /** When an owner leaves: who is asked to take each of their non-human identities, and how long they have. */
  readonly onOwnerLeaving: { readonly reassignTo: 'manager' | 'nobody'; readonly confirmDays: number };
}

/** Thresholds of `tenure lint`. */
export interface LintSettings {
  /** A role whose rule matches more than this share (0..1] of active people is a birthright role. */
  readonly birthrightShare: number;
  /** A role granting more entitlements than this (directly and inherited) is too broad. */
  readonly maxRoleEntitlements: number;
}

export interface LeaverRules {
  readonly disable: 'immediately' | 'at_end_date';
  readonly deleteAfterDays?: number;
  /**
   * The fewest days between Tenure recording a leave and deleting the leaver's accounts (never
   * more than the deletion rule's own days): a termination recorded late is disabled first.
   */
  readonly minDisabledDays: number;
  readonly moverGraceDays: number;
  readonly targets: Readonly<Record<string, { readonly deleteAfterDays?: number; readonly moverGraceDays?: number }>>;
}

export interface Policies {
  readonly separationOfDuties: readonly SodRule[];
  readonly guardrails: { readonly deprovision: BreakerSettings; readonly massLeaver: BreakerSettings };
  readonly nonHuman: NonHumanRules;
  readonly leaver: LeaverRules;
  readonly exceptions: { readonly maxDays: number };
  /** Access becomes due this many days before a start date (pre-hires, future-dated starts). */
  readonly joiner: { readonly accessDaysBeforeStart: number };
  readonly lint: LintSettings;
  /** Access reviews: what closing a campaign does with items nobody decided. */
  readonly reviews: { readonly noResponse: 'keep' | 'revoke' };
}

/** The loaded, validated policy file. Immutable data. */
export interface Policy {
  readonly version: 1;
  readonly name: string;
  /** The policy file's path and its folder, for resolving relative paths. */
  readonly file: string;
  readonly sources: readonly SourceDefinition[];
  readonly targets: readonly TargetDefinition[];
  readonly entitlements: readonly Entitlement[];
  readonly roles: readonly Role[];
  readonly policies: Policies;
  /** What `tenure serve` runs on its own, and when (`schedule:`); absent or empty runs nothing. */
  readonly schedule?: readonly ScheduledJob[];
}
