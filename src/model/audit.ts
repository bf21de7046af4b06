/** One record of the append-only audit log; `hash` chains it to the record before. */
export interface AuditRecord {
  /** 1, 2, 3 ... with no gaps. */
  readonly seq: number;
  readonly at: Date;
  /** Who did it: a user name, `system`, or `tenure import`. */
  readonly actor: string;
  /** Dotted verb: `import.completed`, `event.recorded`, `exception.granted`, `plan.created` ... */
  readonly action: string;
  /** What it concerns: an identity id, an entitlement, a plan hash ... */
  readonly subject: string;
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** SHA-256 (hex) of the previous record's hash and this record's canonical JSON. */
  readonly previousHash: string;
  readonly hash: string;
}
