import { createHash } from 'node:crypto';

/** The secret that keys the audit chain (HMAC-SHA-256), and its id, which records carry. */
export interface AuditKey {
  /** The first 8 hex of the secret's SHA-256: names the key without revealing it. */
  readonly id: string;
  readonly secret: string;
}

/** The key from TENURE_AUDIT_KEY; none when it is unset or empty. */
export function auditKeyFrom(secret: string | undefined): AuditKey | undefined {
  if (secret === undefined || secret === '') return undefined;
  return { id: createHash('sha256').update(secret).digest('hex').slice(0, 8), secret };
}
