// Setting an AD password: unicodePwd takes the password in double quotes, encoded UTF-16LE (MS-ADTS 3.1.1.3.1.5.1),
// replaced by an account with the Reset Password right, over an encrypted connection.
import { randomBytes } from 'node:crypto';

/** The value to replace unicodePwd with. */
export function unicodePwdValue(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

// Exactly 64 characters, so six random bits pick one without bias: no I, O, l, 0 or 1 (misread when copied by
// hand), and only symbols that neither a shell, a URL, CSV nor cmd.exe treats specially. AD's complexity rule
// counts each of the four groups (and all seven symbols as "special").
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '-_.+=@:';
const ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS;
const GROUPS = [UPPER, LOWER, DIGITS, SYMBOLS];

/** AD's complexity rule splits displayName into tokens at these and refuses a password that holds a 3+ letter token. */
const NAME_DELIMITERS = /[,.\-_#\s]+/;

function holdsName(password: string, names: readonly string[]): boolean {
  const lower = password.toLowerCase();
  return names.some(
    (name) =>
      (name.length >= 3 && lower.includes(name.toLowerCase())) ||
      name.split(NAME_DELIMITERS).some((token) => token.length >= 3 && lower.includes(token.toLowerCase())),
  );
}

/** The length of the passwords Tenure sets (`tenure targets check` compares it with the domain's policy). */
export const RANDOM_PASSWORD_LENGTH = 24;

export interface RandomPasswordOptions {
  /** 24 unless given; at least 16. */
  readonly length?: number;
  /** The account's sAMAccountName and displayName: AD's complexity rule refuses a password that contains them. */
  readonly avoid?: readonly string[];
  /** Where random bytes come from; crypto.randomBytes unless a test gives its own. */
  readonly random?: (size: number) => Buffer;
}

/**
 * A random password that meets AD's default complexity rule: upper-case and lower-case letters, digits and symbols,
 * each at least once (AD asks for three of the groups), 144 random bits in 24 characters.
 */
export function randomPassword(options: RandomPasswordOptions = {}): string {
  const length = options.length ?? RANDOM_PASSWORD_LENGTH;
  if (!Number.isInteger(length) || length < 16) throw new RangeError(`a password of ${length} characters is too weak`);
  const random = options.random ?? randomBytes;
  for (;;) {
    const password = [...random(length)].map((b) => ALPHABET[b & 63]!).join('');
    // Drawing again keeps every password that passes equally likely.
    if (!GROUPS.every((group) => [...password].some((c) => group.includes(c)))) continue;
    if (holdsName(password, options.avoid ?? [])) continue;
    return password;
  }
}
