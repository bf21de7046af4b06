// The names AD logs people on with. sAMAccountName: at most 20 characters for a user (older clients' limit; AD
// refuses more with 00000523), none of " / \ [ ] : ; | = , + * ? < > nor a control character, not only periods and
// spaces, and no period at the end (the MS AD schema page for SAM-Account-Name; Samba checks the same). The
// sentences are meant to follow the name: `sAMAccountName "a/b" contains "/", which AD does not allow ...`.

/** The longest sAMAccountName of a user. */
export const SAM_ACCOUNT_NAME_MAX = 20;
/** The schema's limit of userPrincipalName (rangeUpper). */
export const UPN_MAX = 1024;

const SAM_FORBIDDEN = new Set('"/\\[]:;|=,+*?<>');
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why AD would refuse `name` as a user's sAMAccountName, or nobody could log on with it; undefined when it is fine. */
export function samAccountNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty; AD needs a sAMAccountName';
  // Length as AD counts it: UTF-16 code units.
  if (name.length > SAM_ACCOUNT_NAME_MAX)
    return `is ${name.length} characters; AD allows at most ${SAM_ACCOUNT_NAME_MAX} in sAMAccountName`;
  const control = CONTROL.exec(name)?.[0];
  if (control !== undefined)
    return `contains the control character ${codePoint(control)}, which AD does not allow in sAMAccountName`;
  const forbidden = [...name].find((c) => SAM_FORBIDDEN.has(c));
  if (forbidden !== undefined) return `contains "${forbidden}", which AD does not allow in sAMAccountName`;
  if (/^[. ]+$/.test(name)) return 'is only periods and spaces, which AD does not allow in sAMAccountName';
  if (name.endsWith('.')) return 'ends with a period, which AD does not allow in sAMAccountName';
  // AD stores it, but a logon with DOMAIN\name or name@domain cannot tell it from a UPN.
  if (name.includes('@'))
    return 'contains "@": AD stores it, but nobody can log on with such a sAMAccountName (only with the userPrincipalName)';
  return undefined;
}

// RFC 5322 dot-atom characters, letters and digits of any script (RFC 6531).
const LOCAL_CHARACTER = /^[\p{L}\p{N}!#$%&'*+\-/=?^_`{|}~]$/u;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Why `upn` is not a userPrincipalName of the form logons and mail-style tools expect (`local@dns.suffix`); undefined
 * when it is. AD itself stores any text up to 1024 characters here; this is the stricter form worth writing.
 */
export function upnProblem(upn: string): string | undefined {
  if (upn === '') return 'is empty';
  if (upn.length > UPN_MAX) return `is ${upn.length} characters; AD allows at most ${UPN_MAX} in userPrincipalName`;
  const ats = upn.split('@').length - 1;
  if (ats !== 1) return ats === 0 ? 'has no "@" between the name and the suffix' : `has ${ats} "@"; a UPN has one`;
  const [local = '', suffix = ''] = upn.split('@');
  if (local === '') return 'has nothing before "@"';
  if (suffix === '') return 'has nothing after "@"';
  const odd = [...local].find((c) => c !== '.' && !LOCAL_CHARACTER.test(c));
  if (odd !== undefined)
    return CONTROL.test(odd) || /\s/u.test(odd)
      ? `contains ${codePoint(odd)} before "@"; a UPN has no spaces or control characters`
      : `contains "${odd}" before "@", which does not belong in a UPN`;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..'))
    return 'has a period at the start or end of the name, or two in a row';
  const bad = suffix.split('.').find((label) => !DNS_LABEL.test(label));
  if (bad !== undefined)
    return `has the suffix "${suffix}", which is not a DNS name (letters, digits and hyphens between periods)`;
  return undefined;
}
