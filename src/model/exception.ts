/** A time-bound grant outside the role model, with justification, approver and expiry. */
export interface AccessException {
  readonly id: number;
  readonly identity: string;
  readonly entitlement: string;
  readonly reason: string;
  /** The identity id of the person who approved it; never the holder. */
  readonly approver: string;
  /** Who recorded it. */
  readonly grantedBy: string;
  readonly from: Date;
  /** Exclusive: the exception no longer applies at this instant. */
  readonly until: Date;
  readonly revokedAt?: Date;
  readonly revokedBy?: string;
  readonly revokeReason?: string;
}

/** Whether an exception grants access at `asOf`. */
export function exceptionActive(e: AccessException, asOf: Date): boolean {
  const t = asOf.getTime();
  return e.from.getTime() <= t && t < e.until.getTime() && (e.revokedAt === undefined || e.revokedAt.getTime() > t);
}
