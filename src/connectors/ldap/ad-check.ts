import type { Client } from 'ldapts';
import { probeAccount } from '../probe-account.js';
import {
  found,
  listedEntitlements,
  problemOf,
  type CheckItem,
  type CheckNeeds,
  type KindCheck,
} from '../target-check.js';
import type { ActiveDirectoryConnector } from './active-directory-connector.js';
import type { LdapSettings } from './ldap-settings.js';
import { RANDOM_PASSWORD_LENGTH } from './unicode-pwd.js';

/** DOMAIN_PASSWORD_COMPLEX in the domain's pwdProperties. */
const PASSWORD_COMPLEX = 0x1;

/**
 * An Active Directory target, asked read-only: the bind and its encryption, that each base can be read, the domain's
 * password policy against the passwords Tenure sets, and the bind account's effective rights as AD computes them for
 * it (`allowedChildClassesEffective` on each OU: may it create users there; `allowedAttributesEffective` on each
 * declared group: may it write `member`). Deleting cannot be asked this way: it is `unknown` until `--probe`.
 */
export async function checkActiveDirectory(
  connector: ActiveDirectoryConnector,
  settings: LdapSettings,
  needs: CheckNeeds,
): Promise<KindCheck> {
  const how = /^ldaps:/i.test(settings.url) ? 'LDAPS' : 'StartTLS';
  let domain: string;
  try {
    domain = await connector.inspect('bind', (client) => defaultNamingContext(client));
  } catch (e) {
    const p = problemOf(e);
    return { items: [found.missing('login', p.message, p.hint ? { hint: p.hint } : {})] };
  }
  const items: CheckItem[] = [
    found.ok('login', `bound as ${settings.bind_dn} over ${how}, the certificate checked (domain ${domain})`),
  ];
  const userClass = settings.object_classes[settings.object_classes.length - 1]!;
  const bases: [string, string][] = [
    ['people_base', settings.people_base],
    ['groups_base', settings.groups_base],
    ...(settings.disabled_base === undefined ? [] : [['disabled_base', settings.disabled_base] as [string, string]]),
  ];
  for (const [key, dn] of bases) {
    let classes: string[];
    try {
      classes = await connector.inspect(`read ${key}`, (client) => values(client, dn, 'allowedChildClassesEffective'));
      items.push(found.ok('read', `reads ${key} ${dn}`));
    } catch (e) {
      const p = problemOf(e);
      items.push(
        found.missing('read', `cannot read ${key} ${dn}: ${p.message}`, {
          hint: p.hint ?? `check connection.${key}, and that the bind account may read it`,
        }),
      );
      continue;
    }
    if (key === 'groups_base') continue;
    const may = classes.some((c) => c.toLowerCase() === userClass.toLowerCase());
    const check = key === 'people_base' ? 'create' : 'disable';
    const what = key === 'people_base' ? `create ${userClass} objects in` : `move disabled ${userClass} objects into`;
    items.push(
      may
        ? found.ok(check, `may ${what} ${dn} (effective rights)`)
        : found.missing(check, `may not ${what} ${dn} (effective rights)`, {
            hint: `delegate "Create ${userClass} objects" on ${dn} to ${settings.bind_dn}`,
          }),
    );
  }
  items.push(await passwordPolicy(connector, domain));
  const existing = await listedEntitlements(connector, items);
  const present: string[] = [];
  for (const e of needs.entitlements) {
    const where = connector.locateEntitlement(e) ?? e;
    if (existing === undefined) continue;
    if (!existing.has(e)) {
      items.push(
        found.missing('entitlement', `${e} does not exist: no ${where}`, {
          entitlement: e,
          hint: 'create the group in the domain (Tenure does not create groups), or fix the entitlement',
        }),
      );
      continue;
    }
    present.push(e);
    items.push(found.ok('entitlement', `${where} exists`, { entitlement: e }));
    const dn = where.replace(/^group /, '');
    try {
      const writable = await connector.inspect(`read the rights on ${dn}`, (client) =>
        values(client, dn, 'allowedAttributesEffective'),
      );
      const may = writable.some((a) => a.toLowerCase() === 'member');
      items.push(
        may
          ? found.ok('group', `may write the members of ${dn} (effective rights)`, { entitlement: e })
          : found.missing('group', `may not write the members of ${dn} (effective rights)`, {
              entitlement: e,
              hint: `delegate "Modify the membership of a group" on ${dn} to ${settings.bind_dn}`,
            }),
      );
    } catch (err) {
      const p = problemOf(err);
      items.push(found.missing('group', p.message, { entitlement: e, ...(p.hint ? { hint: p.hint } : {}) }));
    }
  }
  if (needs.probe && items.every((i) => i.check !== 'read' || i.status === 'ok')) {
    items.push(...(await probeAccount(connector, needs, present)));
    return { items };
  }
  items.push(
    found.unknown(
      'update',
      'changing, disabling and deleting users: unknown (AD does not show it before a user exists)',
    ),
  );
  return { items };
}

async function defaultNamingContext(client: Client): Promise<string> {
  const { searchEntries } = await client.search('', { scope: 'base', attributes: ['defaultNamingContext'] });
  const v = searchEntries[0]?.defaultNamingContext;
  return (Array.isArray(v) ? v[0] : v)?.toString() ?? 'unknown';
}

/** An attribute's values on one entry (noSuchObject when it does not exist). */
async function values(client: Client, dn: string, attribute: string): Promise<string[]> {
  const { searchEntries } = await client.search(dn, { scope: 'base', attributes: [attribute] });
  const e = searchEntries[0];
  if (e === undefined) return [];
  const key = Object.keys(e).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const v = key === undefined ? undefined : e[key];
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

/** The domain's password policy against the random passwords Tenure sets. */
async function passwordPolicy(connector: ActiveDirectoryConnector, domain: string): Promise<CheckItem> {
  try {
    const policy = await connector.inspect('read the password policy', async (client) => {
      const { searchEntries } = await client.search(domain, {
        scope: 'base',
        attributes: ['minPwdLength', 'pwdProperties'],
      });
      const e = searchEntries[0];
      return { min: Number(e?.minPwdLength ?? 0), properties: Number(e?.pwdProperties ?? 0) };
    });
    const complex = (policy.properties & PASSWORD_COMPLEX) !== 0;
    const text = `the domain's password policy: at least ${policy.min} characters, complexity ${complex ? 'on' : 'off'}`;
    return policy.min <= RANDOM_PASSWORD_LENGTH
      ? found.ok(
          'create',
          `${text}; Tenure's random passwords (${RANDOM_PASSWORD_LENGTH} characters, four kinds) meet it`,
        )
      : found.missing('create', `${text}; Tenure's random passwords have ${RANDOM_PASSWORD_LENGTH} characters`, {
          hint: 'a fine-grained password policy for the accounts Tenure creates can ask for fewer',
        });
  } catch (e) {
    const p = problemOf(e);
    return found.unknown('create', `the domain's password policy: ${p.message}`);
  }
}
