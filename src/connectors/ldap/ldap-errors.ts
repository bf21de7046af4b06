import { ResultCodeError } from 'ldapts';
import { ConnectorError, type ConnectorErrorCode } from '../connector.js';

/** RFC 4511 §4.1.9 result names, as directory administrators and server logs spell them. */
const RESULT_NAMES: Readonly<Record<number, string>> = {
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  10: 'referral',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  14: 'saslBindInProgress',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  18: 'inappropriateMatching',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  33: 'aliasProblem',
  34: 'invalidDNSyntax',
  36: 'aliasDereferencingProblem',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  54: 'loopDetect',
  64: 'namingViolation',
  65: 'objectClassViolation',
  66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN',
  68: 'entryAlreadyExists',
  69: 'objectClassModsProhibited',
  71: 'affectsMultipleDSAs',
  80: 'other',
  112: 'tlsNotSupported',
};

export function resultName(code: number): string {
  return RESULT_NAMES[code] ?? `result${code}`;
}

/** The closed connector code of an LDAP result; the executor retries by it. */
function codeOf(result: number): ConnectorErrorCode {
  if ([7, 8, 13, 48, 49, 50].includes(result)) return 'permission_denied';
  if (result === 68) return 'already_exists';
  if (result === 32) return 'not_found';
  if ([16, 17, 18, 19, 20, 21, 34, 53, 64, 65, 67, 69].includes(result)) return 'invalid_input';
  if (result === 51 || result === 52) return 'unreachable';
  if (result === 3) return 'timeout';
  if (result === 11) return 'rate_limited';
  if (result === 66) return 'conflict';
  return 'internal';
}

/** What to do about the common results; `dn` is the entry the operation touched. */
function hintOf(result: number, dn: string | undefined): string | undefined {
  const on = dn === undefined ? '' : ` ${dn}`;
  switch (result) {
    case 32:
      return `the base or group DN${on} does not exist: check connection.people_base / groups_base / disabled_base, or the entitlement name (Tenure does not create groups)`;
    case 50:
      return `the bind DN (connection.bind_dn) lacks rights on${on || ' that entry'}: grant it write access in the directory's ACLs`;
    case 49:
      return 'bad credentials: check connection.bind_dn and connection.bind_password';
    case 19:
    case 21:
      return `the directory's schema refused an attribute value${on ? ` of${on}` : ''}: check the target's attributes in the policy (syntax, length, single-valued attributes)`;
    case 17:
    case 65:
      return "the directory's schema does not allow these attributes or object classes (inetOrgPerson, groupOfNames)";
    case 8:
    case 13:
      return 'the directory wants an encrypted connection: use an ldaps:// URL';
    default:
      return undefined;
  }
}

const CODE_SUFFIX = / Code: 0x[0-9a-f]+$/i;

/**
 * The server's diagnostic text, or undefined when it sent none. ldapts puts the server's text in the message, or,
 * when it is empty, a canned sentence of the error class (and always appends " Code: 0xNN").
 */
export function serverDiagnostic(e: ResultCodeError): string | undefined {
  const text = e.message.replace(CODE_SUFFIX, '').trim();
  if (text === '') return undefined;
  let canned: string | undefined;
  try {
    const Class = e.constructor as new (message?: string) => Error;
    canned = new Class().message.replace(CODE_SUFFIX, '').trim();
  } catch {
    canned = undefined;
  }
  return text === canned || text === 'Unknown error.' ? undefined : text;
}

/**
 * A ConnectorError for an LDAP result: `<where>: cannot <what>: <resultName> (LDAP result N) on <dn>: "<server text>"`,
 * with a hint for the common results.
 */
export function ldapResultError(
  target: string,
  where: string,
  what: string,
  e: ResultCodeError,
  dn: string | undefined,
): ConnectorError {
  const diagnostic = serverDiagnostic(e);
  const message =
    `${where}: cannot ${what}: ${resultName(e.code)} (LDAP result ${e.code})` +
    (dn === undefined ? '' : ` on ${dn}`) +
    (diagnostic === undefined ? '' : `: server said ${JSON.stringify(diagnostic)}`);
  return new ConnectorError(target, codeOf(e.code), message, hintOf(e.code, dn));
}

const DNS = new WeakMap<object, string>();

/** Runs one LDAP call on `dn`, remembering the DN on the result error it throws (read back by dnOf). */
export async function onDn<T>(dn: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof ResultCodeError && !DNS.has(e)) DNS.set(e, dn);
    throw e;
  }
}

export function dnOf(e: ResultCodeError): string | undefined {
  return DNS.get(e);
}
