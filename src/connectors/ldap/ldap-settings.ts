import { z } from 'zod';
import { flag, secretRef, text, urlPassword, wholeNumber, type SettingsProblem, whenValid } from '../connector-kind.js';
import { parseDn } from './ldap-escape.js';

/** A distinguished name (`ou=people,dc=example,dc=org`). */
const dn = text().superRefine((v, ctx) => {
  try {
    if (parseDn(v).length === 0) ctx.addIssue({ code: 'custom', message: 'must be a DN' });
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be a valid DN (got ${JSON.stringify(v)})` });
  }
});

const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

/** An attribute type name (`employeeNumber`, `cn`) or its numeric OID. */
const attributeName = () => {
  const error = 'must be an attribute name (letters, digits and hyphens, starting with a letter) or an OID';
  return z.string({ error }).regex(ATTRIBUTE_NAME, { error });
};

const objectClassName = (() => {
  const error = 'must be an object class name (letters, digits and hyphens, starting with a letter)';
  return z.string({ error }).regex(ATTRIBUTE_NAME, { error });
})();

/** `link_attribute: none`: the directory keeps no link, Tenure does (Active Directory, by objectGUID). */
export function isNoLink(linkAttribute: string): boolean {
  return linkAttribute.toLowerCase() === 'none';
}

/** Which directory: a standard LDAP server (OpenLDAP, 389-DS ...) or Active Directory, with its own object model. */
export const LDAP_FLAVORS = ['standard', 'active_directory'] as const;
export type LdapFlavor = (typeof LDAP_FLAVORS)[number];

/** The settings whose defaults depend on the flavor, as each flavor has them. */
const FLAVOR_DEFAULTS = {
  standard: {
    link_attribute: 'employeeNumber',
    naming_attribute: 'uid',
    object_classes: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    account_scope: 'one',
    group_kind: 'groupOfNames',
    disable_method: 'move',
  },
  active_directory: {
    // Not employeeID, which AD's schema holds to 16 characters: identity ids are often longer.
    link_attribute: 'employeeNumber',
    naming_attribute: 'sAMAccountName',
    object_classes: ['top', 'person', 'organizationalPerson', 'user'],
    account_scope: 'sub',
    group_kind: 'group',
    disable_method: 'account_control',
  },
} as const;

const GROUP_KIND_NAMES = ['groupOfNames', 'groupOfUniqueNames', 'posixGroup', 'group'] as const;
const DISABLE_METHODS = ['move', 'attribute', 'strip', 'account_control'] as const;

/** An `ldap` target's `connection` as written (docs/connectors.md); defaults that depend on the flavor are applied after. */
const written = z.strictObject({
  flavor: z.enum(LDAP_FLAVORS, { error: 'must be standard or active_directory' }).default('standard'),
  url: text().regex(/^ldaps?:\/\/[^/]+\/?$/i, { error: 'must be an ldap:// or ldaps:// URL without a path' }),
  start_tls: flag().default(false),
  ca_file: text('a file path').optional(),
  bind_dn: dn,
  bind_password: secretRef,
  people_base: dn,
  groups_base: dn,
  /** `none` (Active Directory only): the directory holds no link; Tenure keeps it, by objectGUID. */
  link_attribute: attributeName().optional(),
  naming_attribute: attributeName().optional(),
  object_classes: z
    .array(objectClassName, { error: 'must be a list of object class names' })
    .min(1, { error: 'must name at least one object class' })
    .optional(),
  account_scope: z.enum(['one', 'sub'], { error: 'must be one or sub' }).optional(),
  group_kind: z
    .enum(GROUP_KIND_NAMES, {
      error: 'must be one of groupOfNames, groupOfUniqueNames, posixGroup (or group, with flavor: active_directory)',
    })
    .optional(),
  disable_method: z
    .enum(DISABLE_METHODS, {
      error: 'must be one of move, attribute, strip (or account_control, with flavor: active_directory)',
    })
    .optional(),
  disabled_base: dn.optional(),
  disabled_attribute: attributeName().optional(),
  disabled_value: text().optional(),
  upn_suffix: text('a DNS domain name (corp.example.com)')
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/, {
      error: 'must be a DNS domain name (corp.example.com)',
    })
    .optional(),
  secret_sink: z.strictObject({ file: text('a file path') }, { error: 'must be { file: PATH }' }).optional(),
  page_size: wholeNumber(1, 'a positive integer').default(500),
  timeout_ms: wholeNumber(1, 'a positive integer (milliseconds)').default(30_000),
});
type Written = z.infer<typeof written>;

/** The DNS domain of a DN's domain components (`OU=Staff,DC=corp,DC=example,DC=com` → `corp.example.com`). */
export function domainOf(dnText: string): string | undefined {
  try {
    const dcs = parseDn(dnText)
      .filter((rdn) => rdn.length === 1 && rdn[0]!.type.toLowerCase() === 'dc')
      .map((rdn) => rdn[0]!.value);
    return dcs.length === 0 ? undefined : dcs.join('.');
  } catch {
    return undefined;
  }
}

/** The written settings with the flavor's defaults applied. */
function resolveFlavor(s: Written) {
  const d = FLAVOR_DEFAULTS[s.flavor];
  return {
    ...s,
    link_attribute: s.link_attribute ?? d.link_attribute,
    naming_attribute: s.naming_attribute ?? d.naming_attribute,
    object_classes: s.object_classes ?? [...d.object_classes],
    account_scope: s.account_scope ?? d.account_scope,
    group_kind: s.group_kind ?? d.group_kind,
    disable_method: s.disable_method ?? d.disable_method,
    disabled_attribute: s.disabled_attribute ?? 'employeeType',
    disabled_value: s.disabled_value ?? 'disabled',
    upn_suffix: s.upn_suffix ?? (s.flavor === 'active_directory' ? domainOf(s.people_base) : undefined),
  };
}

type Issue = { path: string; message: string; hint?: string };

/** Settings one flavor does not take, and what the other takes instead. */
function flavorIssues(s: Written): Issue[] {
  const issues: Issue[] = [];
  if (s.flavor === 'active_directory') {
    const only = (key: 'naming_attribute' | 'group_kind' | 'disable_method', value: string, why: string) => {
      const v = s[key];
      if (v !== undefined && v.toLowerCase() !== value.toLowerCase())
        issues.push({ path: key, message: `must be ${value} with flavor: active_directory (${why})` });
    };
    only('naming_attribute', 'sAMAccountName', 'Active Directory names accounts by sAMAccountName');
    only('group_kind', 'group', 'Active Directory groups are group objects with member values');
    only('disable_method', 'account_control', 'Active Directory disables an account through userAccountControl');
    for (const key of ['disabled_attribute', 'disabled_value'] as const)
      if (s[key] !== undefined)
        issues.push({
          path: key,
          message: 'is not used with flavor: active_directory, which disables through userAccountControl',
          hint: 'remove it; set disabled_base to also move disabled accounts to an OU',
        });
    if (
      s.link_attribute !== undefined &&
      /^(objectGUID|objectSid|sAMAccountName|userPrincipalName)$/i.test(s.link_attribute)
    )
      issues.push({
        path: 'link_attribute',
        message: `cannot be ${s.link_attribute}: AD sets it (or it is the account's name), so it cannot hold an identity id`,
        hint: 'use employeeNumber (the default), employeeID (at most 16 characters) or an extensionAttribute1 … 15',
      });
    if (!s.start_tls && !/^ldaps:/i.test(s.url))
      issues.push({
        path: 'url',
        message:
          'must be encrypted with flavor: active_directory: initial passwords and the bind password travel over it',
        hint: 'use the ldaps:// URL of the domain controller (port 636), or set start_tls: true',
      });
    if (s.upn_suffix === undefined && domainOf(s.people_base) === undefined)
      issues.push({
        path: 'upn_suffix',
        message: 'is required when people_base has no DC= components to take the domain from',
        hint: 'set upn_suffix to the domain of userPrincipalName (corp.example.com)',
      });
  } else {
    const adOnly = (key: keyof Written) => {
      if (s[key] !== undefined)
        issues.push({
          path: key,
          message: 'is for flavor: active_directory',
          hint: 'set flavor: active_directory for a domain controller, or remove it',
        });
    };
    adOnly('upn_suffix');
    if (s.link_attribute !== undefined && isNoLink(s.link_attribute))
      issues.push({
        path: 'link_attribute',
        message: 'none is for flavor: active_directory, where Tenure keeps the link by objectGUID',
        hint: 'name the attribute that holds the identity id (employeeNumber by default)',
      });
    adOnly('secret_sink');
    if (s.group_kind === 'group') issues.push({ path: 'group_kind', message: 'group is for flavor: active_directory' });
    if (s.disable_method === 'account_control')
      issues.push({ path: 'disable_method', message: 'account_control is for flavor: active_directory' });
  }
  return issues;
}

/** An `ldap` target's `connection` (docs/connectors.md), with its defaults. */
export const ldapSettings = written
  .superRefine(
    (w, ctx) => {
      const flavorProblems = flavorIssues(w);
      for (const i of flavorProblems)
        ctx.addIssue({
          code: 'custom',
          path: [i.path],
          message: i.message,
          ...(i.hint === undefined ? {} : { params: { hint: i.hint } }),
        });
      if (flavorProblems.length > 0) return;
      const s = resolveFlavor(w);
      const ldaps = /^ldaps:/i.test(s.url);
      if (s.start_tls && ldaps)
        ctx.addIssue({
          code: 'custom',
          path: ['start_tls'],
          message: 'is for ldap:// URLs; an ldaps:// connection is encrypted from the start',
          params: { hint: 'remove start_tls, or use an ldap:// URL (usually port 389)' },
        });
      if (s.ca_file !== undefined && !s.start_tls && !ldaps)
        ctx.addIssue({
          code: 'custom',
          path: ['ca_file'],
          message: 'is used only with TLS: an ldap:// URL without start_tls: true is not encrypted',
          params: { hint: 'set start_tls: true, or use an ldaps:// URL' },
        });
      if (s.disable_method === 'move' && s.disabled_base === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['disabled_base'],
          message: 'is required when disable_method is move (the default)',
          params: { hint: 'set connection.disabled_base, or choose disable_method: attribute or strip' },
        });
      const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() && !isNoLink(a);
      if (same(s.link_attribute, s.naming_attribute))
        ctx.addIssue({
          code: 'custom',
          path: ['link_attribute'],
          message: `must differ from naming_attribute (both are ${s.naming_attribute}): the name and the identity id are two values`,
        });
      if (s.flavor === 'standard' && s.disable_method !== 'move' && same(s.disabled_attribute, s.link_attribute))
        ctx.addIssue({
          code: 'custom',
          path: ['disabled_attribute'],
          message: `must differ from link_attribute (both are ${s.link_attribute})`,
        });
    },
    whenValid(
      'flavor',
      'url',
      'start_tls',
      'ca_file',
      'people_base',
      'group_kind',
      'disable_method',
      'disabled_base',
      'link_attribute',
      'naming_attribute',
      'disabled_attribute',
      'disabled_value',
      'upn_suffix',
      'secret_sink',
    ),
  )
  .transform(resolveFlavor);
export type LdapSettings = z.output<typeof ldapSettings>;
export type DisableMethod = LdapSettings['disable_method'];
export type GroupKind = LdapSettings['group_kind'];

/** A password in the URL is neither needed nor used: the bind uses bind_password. */
export function adviseLdap(s: LdapSettings): SettingsProblem[] {
  return urlPassword(s.url)
    ? [
        {
          severity: 'warning',
          code: 'policy.url_password',
          path: ['url'],
          message: 'connection.url holds a password',
          hint: 'take it out of the URL and reference it: bind_password: { env: NAME } or { file: PATH } (docs/connectors.md, Secrets)',
        },
      ]
    : [];
}
