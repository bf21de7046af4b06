/**
 * A non-human identity whose owner left: the person asked to take it over, and the deadline.
 * Unconfirmed by the deadline, the identity is suspended: its accounts are disabled and its
 * credentials revoked where the target can.
 */
export interface Custody {
  readonly id: number;
  readonly nhi: string;
  readonly previousOwner: string;
  /** Absent when nobody could be asked (no manager, or `reassign_to: nobody`). */
  readonly proposedOwner?: string;
  readonly since: Date;
  readonly deadline: Date;
  readonly state: 'pending' | 'confirmed';
  readonly decidedBy?: string;
  readonly decidedAt?: Date;
}

/** Whether the custody's deadline passed without a confirmation, at `asOf`. */
export function custodyLapsed(c: Custody, asOf: Date): boolean {
  const confirmedInTime =
    c.state === 'confirmed' && c.decidedAt !== undefined && c.decidedAt.getTime() <= asOf.getTime();
  return !confirmedInTime && c.deadline.getTime() <= asOf.getTime();
}

export interface CredentialRotation {
  readonly identity: string;
  readonly target: string;
  readonly account: string;
  readonly at: Date;
  /** `rotation` (due by age) or `revocation` (a lapsed custody). */
  readonly purpose: 'rotation' | 'revocation';
}
