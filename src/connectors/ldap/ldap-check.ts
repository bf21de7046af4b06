import type { Client } from 'ldapts';
import type { Connector } from '../connector.js';
import { probeAccount } from '../probe-account.js';
import type { ConnectorContext } from '../secrets.js';
import {
  found,
  listedEntitlements,
  problemOf,
  type CheckItem,
  type CheckNeeds,
  type KindCheck,
} from '../target-check.js';
import { ActiveDirectoryConnector } from './active-directory-connector.js';
import { checkActiveDirectory } from './ad-check.js';
import { LdapConnector } from './ldap-connector.js';
import type { LdapSettings } from './ldap-settings.js';

/** The Get Effective Rights control (389-DS, Oracle DS); OpenLDAP does not offer it. */
const GET_EFFECTIVE_RIGHTS = '1.3.6.1.4.1.42.2.27.9.5.2';

/**
 * An LDAP target, asked read-only: the bind, that people_base, groups_base (and disabled_base) can be read, and that
 * each declared group exists. LDAP has no standard read-only way to ask what a bind may write: OpenLDAP answers no
 * such question, so create, change, disable, delete and group writes are `unknown` until `--probe` tries them with
 * a throwaway entry (a server that advertises Get Effective Rights is named, but not asked yet).
 */
export async function checkLdap(
  connector: Connector,
  settings: LdapSettings,
  needs: CheckNeeds,
  _context: ConnectorContext,
): Promise<KindCheck> {
  if (connector instanceof ActiveDirectoryConnector) return checkActiveDirectory(connector, settings, needs);
  if (!(connector instanceof LdapConnector)) throw new Error('checkLdap needs an LDAP connector');
  let controls: string[];
  try {
    controls = await connector.inspect('bind', (client) => supportedControls(client));
  } catch (e) {
    const p = problemOf(e);
    return { items: [found.missing('login', p.message, p.hint ? { hint: p.hint } : {})] };
  }
  const items: CheckItem[] = [found.ok('login', `bound as ${settings.bind_dn}`)];
  const bases: [string, string][] = [
    ['people_base', settings.people_base],
    ['groups_base', settings.groups_base],
    ...(settings.disable_method === 'move' && settings.disabled_base !== undefined
      ? [['disabled_base', settings.disabled_base] as [string, string]]
      : []),
  ];
  for (const [key, dn] of bases) {
    try {
      const n = await connector.inspect(`read ${key}`, (client) => countBelow(client, dn));
      items.push(found.ok('read', `reads ${key} ${dn} (${n} entr${n === 1 ? 'y' : 'ies'} below it)`));
    } catch (e) {
      const p = problemOf(e);
      items.push(
        found.missing('read', `cannot read ${key} ${dn}: ${p.message}`, {
          hint: p.hint ?? `check connection.${key}, and that the bind DN may read it`,
        }),
      );
    }
  }
  const existing = await listedEntitlements(connector, items);
  const present: string[] = [];
  for (const e of needs.entitlements) {
    const where = connector.locateEntitlement(e) ?? e;
    if (existing === undefined) continue;
    if (existing.has(e)) {
      present.push(e);
      items.push(found.ok('entitlement', `${where} exists`, { entitlement: e }));
    } else
      items.push(
        found.missing('entitlement', `${e} does not exist: no ${where}`, {
          entitlement: e,
          hint: 'create the group in the directory (Tenure does not create groups), or fix the entitlement',
        }),
      );
  }
  const readable = items.every((i) => i.check !== 'read' || i.status === 'ok');
  if (needs.probe && readable) {
    items.push(...(await probeAccount(connector, needs, present)));
    return { items };
  }
  const why = controls.includes(GET_EFFECTIVE_RIGHTS)
    ? `the server offers Get Effective Rights (${GET_EFFECTIVE_RIGHTS}), which Tenure does not ask yet`
    : 'the directory offers no read-only way to ask what this bind may write';
  items.push(found.unknown('create', `creating entries under ${settings.people_base}: unknown (${why})`));
  items.push(found.unknown('update', `changing, disabling and deleting entries: unknown (use --probe)`));
  for (const e of present)
    items.push(found.unknown('group', `writing members of ${e}: unknown (use --probe)`, { entitlement: e }));
  return { items };
}

async function supportedControls(client: Client): Promise<string[]> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['supportedControl'],
  });
  const v = searchEntries[0]?.supportedControl;
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

/** The base entry is read (noSuchObject otherwise) and the entries one level below are counted. */
async function countBelow(client: Client, dn: string): Promise<number> {
  await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
  const { searchEntries } = await client.search(dn, {
    scope: 'one',
    filter: '(objectClass=*)',
    attributes: ['1.1'],
    paged: { pageSize: 500 },
  });
  return searchEntries.length;
}
