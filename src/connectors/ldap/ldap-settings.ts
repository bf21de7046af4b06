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

/** An `ldap` target's `connection` (docs/connectors.md), with its defaults. */
export const ldapSettings = z
  .strictObject({
    url: text().regex(/^ldaps?:\/\/[^/]+\/?$/i, { error: 'must be an ldap:// or ldaps:// URL without a path' }),
    start_tls: flag().default(false),
    ca_file: text('a file path').optional(),
    bind_dn: dn,
    bind_password: secretRef,
    people_base: dn,
    groups_base: dn,
    link_attribute: attributeName().default('employeeNumber'),
    naming_attribute: attributeName().default('uid'),
    object_classes: z
      .array(objectClassName, { error: 'must be a list of object class names' })
      .min(1, { error: 'must name at least one object class' })
      .default(['top', 'person', 'organizationalPerson', 'inetOrgPerson']),
    account_scope: z.enum(['one', 'sub'], { error: 'must be one or sub' }).default('one'),
    group_kind: z
      .enum(['groupOfNames', 'groupOfUniqueNames', 'posixGroup'], {
        error: 'must be one of groupOfNames, groupOfUniqueNames, posixGroup',
      })
      .default('groupOfNames'),
    disable_method: z
      .enum(['move', 'attribute', 'strip'], { error: 'must be one of move, attribute, strip' })
      .default('move'),
    disabled_base: dn.optional(),
    disabled_attribute: attributeName().default('employeeType'),
    disabled_value: text().default('disabled'),
    page_size: wholeNumber(1, 'a positive integer').default(500),
    timeout_ms: wholeNumber(1, 'a positive integer (milliseconds)').default(30_000),
  })
  .superRefine(
    (s, ctx) => {
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
      const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
      if (same(s.link_attribute, s.naming_attribute))
        ctx.addIssue({
          code: 'custom',
          path: ['link_attribute'],
          message: `must differ from naming_attribute (both are ${s.naming_attribute}): the name and the identity id are two values`,
        });
      if (s.disable_method !== 'move' && same(s.disabled_attribute, s.link_attribute))
        ctx.addIssue({
          code: 'custom',
          path: ['disabled_attribute'],
          message: `must differ from link_attribute (both are ${s.link_attribute})`,
        });
    },
    whenValid(
      'url',
      'start_tls',
      'ca_file',
      'disable_method',
      'disabled_base',
      'link_attribute',
      'naming_attribute',
      'disabled_attribute',
    ),
  );
export type LdapSettings = z.infer<typeof ldapSettings>;
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
