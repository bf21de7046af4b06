import type { EventKind } from './lifecycle.js';
import type { ChangeAction } from './plan.js';

/**
 * Every action an audit record may name: one closed list, so a typo cannot invent an action that
 * reports and `audit verify` would not know. Governed rows (exceptions, approvals, denials, review
 * campaigns and items, custody, credential rotations) are written by the store together with
 * their record; the others are written by the command that did the thing.
 */
export const AUDIT_ACTIONS = [
  'import.completed',
  'import.stopped',
  'import.start_date_held',
  'import.pushed',
  'event.joiner',
  'event.mover',
  'event.leaver',
  'event.rehire',
  'event.leave_start',
  'event.leave_return',
  'event.pre_hire',
  'event.start_due',
  'event.termination_scheduled',
  'event.end_date_reached',
  'event.credential_expiring',
  'event.rotation_due',
  'event.owner_gone',
  'exception.granted',
  'exception.revoked',
  'approval.leavers',
  'approval.deprovision',
  'approval.start_date',
  'approval.used',
  'review.started',
  'review.keep',
  'review.revoke',
  'review.decision_refused',
  'review.closed',
  'denial.recorded',
  'nhi.custody_proposed',
  'nhi.custody_confirmed',
  'credential.rotated',
  'target.checked',
  'token.created',
  'token.revoked',
  'plan.saved',
  'policy.reloaded',
  'operation.create_account',
  'operation.rename_account',
  'operation.link_account',
  'operation.enable_account',
  'operation.update_account',
  'operation.add_membership',
  'operation.remove_membership',
  'operation.disable_account',
  'operation.delete_account',
  'operation.rotate_credential',
  'audit.rows_adopted',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

// Compile-time proof that every lifecycle event and plan action has its audit action.
type Listed<T extends AuditAction> = T;
export type EventAuditAction = Listed<`event.${EventKind}`>;
export type OperationAuditAction = Listed<`operation.${ChangeAction}`>;

export function isAuditAction(text: string): text is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(text);
}

/** One record of the append-only audit log; `hash` chains it to the record before. */
export interface AuditRecord {
  /** 1, 2, 3 ... with no gaps. */
  readonly seq: number;
  readonly at: Date;
  /** Who did it: a user name, `system`, or `tenure import`. */
  readonly actor: string;
  /** One of AUDIT_ACTIONS when Tenure wrote it; a string, because stored records are read back unchecked. */
  readonly action: string;
  /** What it concerns: an identity id, an entitlement, a plan hash ... */
  readonly subject: string;
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** Set when the record was chained with TENURE_AUDIT_KEY (HMAC): the first 8 hex of the key's SHA-256. */
  readonly keyId?: string;
  /** SHA-256 (or HMAC-SHA-256 when keyed, hex) of the previous record's hash and this record's canonical JSON. */
  readonly previousHash: string;
  readonly hash: string;
}
