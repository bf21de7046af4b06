// userAccountControl, the bit flags of an AD account (MS-ADTS 2.2.16, ADS_USER_FLAG_ENUM). The attribute has the
// Integer syntax, a signed 32-bit number, so a value with the top bit set arrives negative: these helpers work on the
// unsigned number and write the signed one back.

/** The flags by their AD names. */
export const UAC = {
  SCRIPT: 0x1,
  ACCOUNTDISABLE: 0x2,
  HOMEDIR_REQUIRED: 0x8,
  /** Not kept here since Windows Server 2003: read msDS-User-Account-Control-Computed for it. */
  LOCKOUT: 0x10,
  PASSWD_NOTREQD: 0x20,
  /** Not kept here: a deny ACE on the account says it. Setting it has no effect. */
  PASSWD_CANT_CHANGE: 0x40,
  ENCRYPTED_TEXT_PWD_ALLOWED: 0x80,
  TEMP_DUPLICATE_ACCOUNT: 0x100,
  NORMAL_ACCOUNT: 0x200,
  INTERDOMAIN_TRUST_ACCOUNT: 0x800,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
  SERVER_TRUST_ACCOUNT: 0x2000,
  DONT_EXPIRE_PASSWORD: 0x10000,
  MNS_LOGON_ACCOUNT: 0x20000,
  SMARTCARD_REQUIRED: 0x40000,
  TRUSTED_FOR_DELEGATION: 0x80000,
  NOT_DELEGATED: 0x100000,
  USE_DES_KEY_ONLY: 0x200000,
  DONT_REQ_PREAUTH: 0x400000,
  /** Not kept here since Windows Server 2003: read msDS-User-Account-Control-Computed for it. */
  PASSWORD_EXPIRED: 0x800000,
  TRUSTED_TO_AUTH_FOR_DELEGATION: 0x1000000,
  PARTIAL_SECRETS_ACCOUNT: 0x4000000,
} as const;

/** What AD gives a user created without userAccountControl: disabled, no password needed (0x222, 546). */
export const UAC_NEW_USER_DEFAULT = UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE | UAC.PASSWD_NOTREQD;

const INTEGER = /^-?\d{1,10}$/;

/**
 * The flags of a userAccountControl value as ldapts returns it (a decimal string, or a one-value array of one), as
 * an unsigned 32-bit number; undefined when it is absent or not a 32-bit integer.
 */
export function parseUac(value: unknown): number | undefined {
  const one = Array.isArray(value) ? (value.length === 1 ? (value[0] as unknown) : undefined) : value;
  const text = Buffer.isBuffer(one) ? one.toString('utf8') : one;
  if (typeof text !== 'string' || !INTEGER.test(text.trim())) return undefined;
  const n = Number(text.trim());
  if (n < -0x80000000 || n > 0xffffffff) return undefined;
  return n >>> 0;
}

/** The value to write: AD's Integer syntax is signed, so flags above 0x7fffffff are written negative. */
export function formatUac(uac: number): string {
  return String(uac | 0);
}

export function isDisabled(uac: number): boolean {
  return (uac & UAC.ACCOUNTDISABLE) !== 0;
}

/** The same flags with ACCOUNTDISABLE set or cleared; every other bit is kept as it was. */
export function withDisabled(uac: number, disabled: boolean): number {
  return (disabled ? uac | UAC.ACCOUNTDISABLE : uac & ~UAC.ACCOUNTDISABLE) >>> 0;
}
