import type { AttributeValue, IdentityStatus } from './identity.js';

/** The lifecycle events Tenure finds by comparing a source's new snapshot with the stored one. */
export const EVENT_KINDS = [
  'joiner',
  'mover',
  'leaver',
  'rehire',
  'leave_start',
  'leave_return',
  'pre_hire',
  'start_due',
  'termination_scheduled',
  'end_date_reached',
  'credential_expiring',
  'rotation_due',
  'owner_gone',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One attribute (or core field) that changed: absent before or after is `undefined`. */
export interface AttributeChange {
  readonly field: string;
  readonly before?: AttributeValue;
  readonly after?: AttributeValue;
}

/**
 * A lifecycle event only says which identity to look at again and why (level-based: the engine
 * recomputes desired state). Grants added and removed are recorded for people, not for replay.
 */
export interface LifecycleEvent {
  readonly kind: EventKind;
  readonly identity: string;
  readonly source: string;
  /** When it was found (the import's as-of time). */
  readonly at: Date;
  /** When it takes effect, for future-dated events (start, termination, expiry). */
  readonly effective?: Date;
  readonly statusBefore?: IdentityStatus;
  readonly statusAfter?: IdentityStatus;
  readonly changes: readonly AttributeChange[];
  /** Entitlement ids the change adds and removes (desired state before vs after). */
  readonly grantsAdded: readonly string[];
  readonly grantsRemoved: readonly string[];
  /** For humans: "E1042 moved from Sales to Finance". */
  readonly summary: string;
}
