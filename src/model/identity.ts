/** Identity kinds Tenure knows; a policy may declare more (the set is extensible). */
export const HUMAN_KINDS = ['employee', 'contractor'] as const;
export const NHI_KINDS = ['service_account', 'api_key', 'token', 'certificate', 'ai_agent'] as const;
export type IdentityKind = string;

export const IDENTITY_STATUSES = ['pre_hire', 'active', 'leave', 'terminated'] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];

/** Attribute types a source mapping may declare; each maps to a CEL type. */
export const ATTRIBUTE_TYPES = ['string', 'int', 'double', 'bool', 'date', 'list'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

/** Values as the engine holds them: dates as Date, ints as bigint (CEL's int), lists of strings. */
export type AttributeValue = string | bigint | number | boolean | Date | readonly string[];

/** Credential metadata of a non-human identity. */
export interface Credential {
  readonly created?: Date;
  readonly expires?: Date;
  readonly lastRotated?: Date;
  readonly lastUsed?: Date;
}

export interface Identity {
  /** Stable key from the source (employee number, service account name ...). */
  readonly id: string;
  readonly kind: IdentityKind;
  readonly status: IdentityStatus;
  /** Typed attributes by name, as declared by the source mapping; absent when the feed had no value. */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly manager?: string;
  readonly startDate?: Date;
  readonly endDate?: Date;
  /** For a non-human identity: the id of its human owner. */
  readonly owner?: string;
  readonly credential?: Credential;
  /** Which source this identity came from. */
  readonly source: string;
}

export function isNonHuman(kind: IdentityKind): boolean {
  return (NHI_KINDS as readonly string[]).includes(kind);
}
