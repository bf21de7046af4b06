import type { ConnectorErrorCode } from '../connector.js';

// Active Directory, and Samba acting as one, put a Win32 error code in an LDAP result's diagnostic text: a failed
// bind says `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563`, other
// operations start with the code (`0000052D: SvcErr: DSID-031A1248, problem 5003 (WILL_NOT_PERFORM), data 0`;
// Samba: `0000052D: Constraint violation - check_password_restrictions: the password is too short ...`). The LDAP
// result alone is too coarse: entryAlreadyExists is also "already a member", unwillingToPerform also "set passwords
// over TLS only". Codes and names are from MS-ERREF 2.2; Samba's texts from its ldap_server and dsdb modules.

/** What went wrong, in one word a connector can switch on (the Win32 codes differ between Windows and Samba). */
export type AdReason =
  | 'bind_refused'
  | 'password_policy'
  | 'wrong_old_password'
  | 'encryption_required'
  | 'signing_required'
  | 'not_bound'
  | 'entry_exists'
  | 'account_name_in_use'
  | 'upn_in_use'
  | 'member_exists'
  | 'not_member'
  | 'bad_account_name'
  | 'schema'
  | 'access_denied'
  | 'no_such_object'
  | 'referral';

export interface AdError {
  readonly reason: AdReason;
  /** The Win32 code the server sent, as 8 upper-case hex digits (`data 52e` → `0000052E`). */
  readonly win32?: string;
  readonly code: ConnectorErrorCode;
  /** A sentence to append to the LDAP result in a ConnectorError's message; it names the code as AD spells it. */
  readonly message: string;
  readonly hint: string;
}

interface Meaning {
  readonly reason: AdReason;
  readonly name: string;
  readonly code: ConnectorErrorCode;
  readonly message: string;
  readonly hint: string;
}

const m = (reason: AdReason, name: string, code: ConnectorErrorCode, message: string, hint: string): Meaning => ({
  reason,
  name,
  code,
  message,
  hint,
});

const SCHEMA_HINT = "check the target's attributes in the policy and the account's object classes";
const RIGHTS_HINT =
  'delegate to the bind account, on people_base and groups_base: create and delete user objects, write their ' +
  'attributes, Reset Password, and write the members of groups';

/** The `data` code of a failed bind (AcceptSecurityContext error): why the bind account could not log on. */
const BIND: Readonly<Record<string, Meaning>> = {
  '0000052E': m(
    'bind_refused',
    'ERROR_LOGON_FAILURE',
    'permission_denied',
    "the bind account's password is wrong",
    'check connection.bind_password (AD gives the same answer for a name it does not know: check connection.bind_dn too)',
  ),
  '00000525': m(
    'bind_refused',
    'ERROR_NO_SUCH_USER',
    'permission_denied',
    'the bind account does not exist',
    'check connection.bind_dn: a DN, or user@domain',
  ),
  '00000530': m(
    'bind_refused',
    'ERROR_INVALID_LOGON_HOURS',
    'permission_denied',
    'the bind account may not log on at this time',
    'allow the bind account to log on at all hours (its logonHours)',
  ),
  '00000531': m(
    'bind_refused',
    'ERROR_INVALID_WORKSTATION',
    'permission_denied',
    'the bind account may not log on from this computer',
    "clear the bind account's userWorkstations restriction, or add this host to it",
  ),
  '00000532': m(
    'bind_refused',
    'ERROR_PASSWORD_EXPIRED',
    'permission_denied',
    "the bind account's password has expired",
    'set a new password for the bind account in the directory, then in connection.bind_password',
  ),
  '00000533': m(
    'bind_refused',
    'ERROR_ACCOUNT_DISABLED',
    'permission_denied',
    'the bind account is disabled',
    'enable the bind account in the directory',
  ),
  '00000701': m(
    'bind_refused',
    'ERROR_ACCOUNT_EXPIRED',
    'permission_denied',
    'the bind account has expired',
    "extend the bind account's expiry date (accountExpires) in the directory",
  ),
  '00000773': m(
    'bind_refused',
    'ERROR_PASSWORD_MUST_CHANGE',
    'permission_denied',
    'the bind account must change its password before it logs on',
    'set a password for the bind account in the directory (one the user need not change), then in connection.bind_password',
  ),
  '00000775': m(
    'bind_refused',
    'ERROR_ACCOUNT_LOCKED_OUT',
    'permission_denied',
    'the bind account is locked out after too many failed logons',
    'unlock it in the directory, and check connection.bind_password: a wrong one locks it again',
  ),
};

const MEMBER_EXISTS = m(
  'member_exists',
  'ERROR_MEMBER_IN_ALIAS',
  'already_exists',
  'the account is already a member of the group',
  'nothing to do: the membership is there',
);
const NOT_MEMBER = m(
  'not_member',
  'ERROR_MEMBER_NOT_IN_ALIAS',
  'not_found',
  'the account is not a member of the group',
  'nothing to do: the membership is gone already',
);
const ACCESS_DENIED = m(
  'access_denied',
  'ERROR_DS_INSUFF_ACCESS_RIGHTS',
  'permission_denied',
  'the bind account lacks the right to do this',
  RIGHTS_HINT,
);
const NO_SUCH_OBJECT = m(
  'no_such_object',
  'ERROR_DS_OBJ_NOT_FOUND',
  'not_found',
  'the entry does not exist',
  'check the DN: connection.people_base, groups_base, or the entitlement name',
);

/** The code that starts the diagnostic text of other operations. */
const BY_CODE: Readonly<Record<string, Meaning>> = {
  '0000052D': m(
    'password_policy',
    'ERROR_PASSWORD_RESTRICTION',
    'invalid_input',
    "the password was refused by the domain's password policy (minimum length, complexity, history)",
    "check the password policy that applies to the account (the domain's, or a fine-grained one): its minimum length, complexity, history and minimum age",
  ),
  '00000056': m(
    'wrong_old_password',
    'ERROR_INVALID_PASSWORD',
    'invalid_input',
    'the old password given for the password change is wrong',
    'reset the password instead (a replace of unicodePwd), which needs the Reset Password right and no old password',
  ),
  '00002028': m(
    'signing_required',
    'ERROR_DS_STRONG_AUTH_REQUIRED',
    'permission_denied',
    'the domain controller requires signed LDAP or TLS for binds',
    'use an ldaps:// URL or start_tls: true (a simple bind cannot sign)',
  ),
  '000004DC': m(
    'not_bound',
    'ERROR_NOT_AUTHENTICATED',
    'permission_denied',
    'the operation ran without a successful bind',
    'set connection.bind_dn and connection.bind_password',
  ),
  '00002071': m(
    'entry_exists',
    'ERROR_DS_OBJ_STRING_NAME_EXISTS',
    'already_exists',
    'an entry with this DN exists already (the same cn in the same container)',
    'it may be another person of the same name: give the account another cn, or move or remove the other entry',
  ),
  '00000524': m(
    'account_name_in_use',
    'ERROR_USER_EXISTS',
    'already_exists',
    'another account in the domain has this sAMAccountName',
    'sAMAccountName is unique in the whole domain, not per OU: give the account another name (targets[].account_name), or adopt or remove the other account',
  ),
  '000021C8': m(
    'upn_in_use',
    'ERROR_DS_UPN_VALUE_NOT_UNIQUE_IN_FOREST',
    'conflict',
    'another account in the forest has this userPrincipalName',
    "a UPN is unique in the whole forest: give this account another userPrincipalName, or change the other account's",
  ),
  '00000562': MEMBER_EXISTS,
  '00000528': { ...MEMBER_EXISTS, name: 'ERROR_MEMBER_IN_GROUP' },
  '00000561': NOT_MEMBER,
  '00000529': { ...NOT_MEMBER, name: 'ERROR_MEMBER_NOT_IN_GROUP' },
  '00000523': m(
    'bad_account_name',
    'ERROR_INVALID_ACCOUNT_NAME',
    'invalid_input',
    'AD refused the sAMAccountName',
    'a sAMAccountName has at most 20 characters, none of " / \\ [ ] : ; | = , + * ? < > or control characters, and does not end with a period',
  ),
  '0000202F': m(
    'schema',
    'ERROR_DS_CONSTRAINT_VIOLATION',
    'invalid_input',
    'a value breaks a constraint of its attribute',
    SCHEMA_HINT,
  ),
  '00002037': m(
    'schema',
    'ERROR_DS_NAMING_VIOLATION',
    'invalid_input',
    "the entry's name does not fit where it goes: its RDN attribute is not its class's (cn for users and groups), or the parent cannot hold it",
    'check naming_attribute (cn in AD), people_base and groups_base',
  ),
  '00002014': m(
    'schema',
    'ERROR_DS_OBJ_CLASS_VIOLATION',
    'invalid_input',
    "the entry's object classes lack a required attribute or do not allow one it has",
    SCHEMA_HINT,
  ),
  '0000207D': m(
    'schema',
    'ERROR_DS_ATT_NOT_DEF_FOR_CLASS',
    'invalid_input',
    "an attribute is not allowed by the entry's object classes",
    SCHEMA_HINT,
  ),
  '00002082': m(
    'schema',
    'ERROR_DS_RANGE_CONSTRAINT',
    'invalid_input',
    "a value is outside its attribute's range or length (cn at most 64 characters)",
    SCHEMA_HINT,
  ),
  '00002081': m(
    'schema',
    'ERROR_DS_SINGLE_VALUE_CONSTRAINT',
    'invalid_input',
    'an attribute that holds one value was given several',
    SCHEMA_HINT,
  ),
  '0000200B': m(
    'schema',
    'ERROR_DS_INVALID_ATTRIBUTE_SYNTAX',
    'invalid_input',
    "a value does not fit its attribute's syntax",
    SCHEMA_HINT,
  ),
  '00000057': m(
    'schema',
    'ERROR_INVALID_PARAMETER',
    'invalid_input',
    'the domain controller cannot use a value as given (a DN that is not one, text where a number belongs)',
    SCHEMA_HINT,
  ),
  '00002077': m(
    'schema',
    'ERROR_DS_ILLEGAL_MOD_OPERATION',
    'invalid_input',
    'AD does not allow this change of the attribute (for example emptying a required one such as sAMAccountName)',
    SCHEMA_HINT,
  ),
  '00002098': ACCESS_DENIED,
  '00000005': { ...ACCESS_DENIED, name: 'ERROR_ACCESS_DENIED' },
  '000020E7': m(
    'access_denied',
    'ERROR_DS_SECURITY_ILLEGAL_MODIFY',
    'permission_denied',
    'AD refused the change for security reasons',
    'the account may be a protected one (adminCount, AdminSDHolder) or the attribute security-sensitive: manage it outside Tenure',
  ),
  '0000208D': NO_SUCH_OBJECT,
  '00002030': { ...NO_SUCH_OBJECT, name: 'ERROR_DS_NO_SUCH_OBJECT' },
  // Samba's answer to a move or an add into an OU that does not exist (Windows answers 0000208D).
  '00002095': m(
    'no_such_object',
    'ERROR_DS_NO_PARENT_OBJECT',
    'not_found',
    'the OU the entry is to go in does not exist',
    "create the OU in the domain (Tenure does not create OUs), or fix the account's parent (targets[].attributes.parent)",
  ),
  '0000202B': m(
    'referral',
    'ERROR_DS_REFERRAL',
    'not_found',
    "the DN is outside this domain controller's domain",
    "point connection.url at a domain controller of the domain that holds the DN, or fix the DN's DC= components",
  ),
};

/** ERROR_GEN_FAILURE with unwillingToPerform: what Windows (and Samba) answer to a password set over plain LDAP. */
const PLAIN_PASSWORD = m(
  'encryption_required',
  'ERROR_GEN_FAILURE',
  'permission_denied',
  'AD sets passwords (unicodePwd) only over an encrypted connection',
  'use an ldaps:// URL or start_tls: true',
);

/** Generic codes Samba puts before a text that says more. */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  '0000001F': PLAIN_PASSWORD.name,
  '00002035': 'ERROR_DS_UNWILLING_TO_PERFORM',
};

const UNWILLING_TO_PERFORM = 53;

const BIND_DATA = /AcceptSecurityContext error, data ([0-9a-f]{1,8})\b/i;
const LEADING_CODE = /^([0-9a-f]{8}):/i;
// Samba's texts, which carry a generic code (0000202F, 00002071) where Windows has a precise one, or none: Samba
// keeps a text that starts with a hex digit as it is ("Attribute ...", "Entry ..."), taking it for a code.
const SAMBA_ENTRY_EXISTS = /^Entry .+ already exists/i;
const SAMBA_MEMBER_EXISTS = /Attribute member already exists for target GUID/i;
const SAMBA_NOT_MEMBER = /Attribute member doesn't exist for target GUID/i;
const SAMBA_IN_USE =
  /samldb: (sAMAccountName|userPrincipalName) '([^']*)' (?:is )?already in use(?: \(implied by (\w+)\))?/i;
const SAMBA_BAD_NAME = /samldb: sAMAccountName (?:contains invalid|ends with '\.'|is empty)/i;
const SAMBA_PASSWORD_DETAIL = /check_password_restrictions: (.+)/i;
const BEST_MATCH = /best match of:\s*'([^']*)'/i;
const REFERRAL_TO = /ref 1: '([^']*)'/i;

function canonical(hex: string): string {
  return hex.toUpperCase().padStart(8, '0');
}

/** The Win32 name of a code, for the message: admins search for both. */
function nameOf(win32: string): string | undefined {
  return BIND[win32]?.name ?? BY_CODE[win32]?.name ?? OTHER_NAMES[win32];
}

function describe(meaning: Meaning, win32: string | undefined, detail?: string): AdError {
  let source = '';
  if (win32 !== undefined) {
    const name = nameOf(win32);
    const code = BIND[win32] === undefined ? win32 : `AD data ${win32.replace(/^0+/, '').toLowerCase()}`;
    source = ` (${code}${name === undefined ? '' : `, ${name}`})`;
  }
  return {
    reason: meaning.reason,
    ...(win32 === undefined ? {} : { win32 }),
    code: meaning.code,
    message: `${meaning.message}${detail === undefined ? '' : `: ${detail}`}${source}`,
    hint: meaning.hint,
  };
}

/** Samba's texts that mean more than the code in front of them. */
function sambaMeaning(text: string): { meaning: Meaning; detail?: string } | undefined {
  if (SAMBA_MEMBER_EXISTS.test(text)) return { meaning: MEMBER_EXISTS };
  if (SAMBA_ENTRY_EXISTS.test(text)) return { meaning: BY_CODE['00002071']! };
  if (SAMBA_NOT_MEMBER.test(text)) return { meaning: NOT_MEMBER };
  if (SAMBA_BAD_NAME.test(text)) return { meaning: BY_CODE['00000523']! };
  const inUse = SAMBA_IN_USE.exec(text);
  if (inUse !== null) {
    const [, attribute = '', value = '', impliedBy] = inUse;
    if (impliedBy !== undefined)
      return {
        meaning: {
          ...BY_CODE['000021C8']!,
          message: `"${value}" clashes with another account's ${impliedBy}: AD takes sAMAccountName NAME and userPrincipalName NAME@<its domain> for one logon name`,
          hint: "give this account another name, or change the other account's",
        },
      };
    return {
      meaning: BY_CODE[attribute.toLowerCase() === 'samaccountname' ? '00000524' : '000021C8']!,
      detail: `"${value}"`,
    };
  }
  return undefined;
}

function detailOf(meaning: Meaning, text: string): string | undefined {
  if (meaning.reason === 'password_policy') return SAMBA_PASSWORD_DETAIL.exec(text)?.[1]?.trim();
  if (meaning.reason === 'no_such_object') {
    const best = BEST_MATCH.exec(text)?.[1];
    return best === undefined ? undefined : `the nearest entry that exists is "${best}"`;
  }
  if (meaning.reason === 'referral') {
    const to = REFERRAL_TO.exec(text)?.[1];
    return to === undefined ? undefined : `it refers to ${to}`;
  }
  return undefined;
}

/**
 * What an Active Directory (or Samba AD) diagnostic means, from the LDAP result code and the server's text
 * (ldap-errors' serverDiagnostic); undefined when the text says nothing AD-specific that is known here.
 */
export function adError(result: number, diagnostic: string | undefined): AdError | undefined {
  if (diagnostic === undefined) return undefined;
  const text = diagnostic.trim();
  const bind = BIND_DATA.exec(text)?.[1];
  if (bind !== undefined) {
    const win32 = canonical(bind);
    const meaning = BIND[win32];
    return meaning === undefined ? undefined : describe(meaning, win32);
  }
  const leading = LEADING_CODE.exec(text)?.[1];
  const win32 = leading === undefined ? undefined : canonical(leading);
  const samba = sambaMeaning(text);
  if (samba !== undefined) return describe(samba.meaning, win32, samba.detail);
  if (win32 === undefined) return undefined;
  if (win32 === '0000001F') return result === UNWILLING_TO_PERFORM ? describe(PLAIN_PASSWORD, win32) : undefined;
  const meaning = BY_CODE[win32];
  return meaning === undefined ? undefined : describe(meaning, win32, detailOf(meaning, text));
}
