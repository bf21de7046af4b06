// The names AD logs people on with. sAMAccountName: at most 20 characters for a user (older clients' limit; AD
// refuses more with 00000523), none of " / \ [ ] : ; | = , + * ? < > nor a control character, not only periods and
// spaces, and no period at the end (the MS AD schema page for SAM-Account-Name; Samba checks the same). The
// sentences are meant to follow the name: `sAMAccountName "a/b" contains "/", which AD does not allow ...`.

/** The longest sAMAccountName of a user. */
export const SAM_ACCOUNT_NAME_MAX = 20;

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
