import type { Connector } from '../connector.js';
import { probeAccount } from '../probe-account.js';
import type { ConnectorContext } from '../secrets.js';
import {
  found,
  problemOf,
  type CheckItem,
  type CheckNeeds,
  type KindCheck,
  type ScimDiscovery,
} from '../target-check.js';
import { scimString, ScimTarget } from './scim-connector.js';
import type { ScimSettings } from './scim-settings.js';

type Json = Record<string, unknown>;

/**
 * A SCIM service, asked read-only: that it answers and takes the credentials (GET /ServiceProviderConfig, then
 * GET /Users?count=1), what it supports (Groups, filter, PATCH: /ServiceProviderConfig and /ResourceTypes, and
 * whether /Groups answers), and that each declared group exists. SCIM cannot say what a token may write, so
 * creating and changing users are `unknown` until `--probe` creates and deletes one.
 */
export async function checkScim(
  connector: Connector,
  _settings: ScimSettings,
  needs: CheckNeeds,
  _context: ConnectorContext,
): Promise<KindCheck> {
  if (!(connector instanceof ScimTarget)) throw new Error('checkScim needs a SCIM connector');
  let discovery: ScimDiscovery;
  let resourceTypes: Json | undefined;
  try {
    const config = await connector.checkGet('/ServiceProviderConfig');
    await connector.checkGet('/Users?count=1');
    resourceTypes = await connector.checkGet('/ResourceTypes');
    discovery = await discover(connector, config, resourceTypes);
  } catch (e) {
    const p = problemOf(e);
    return { items: [found.missing('login', p.message, p.hint ? { hint: p.hint } : {})] };
  }
  const items: CheckItem[] = [
    found.ok('login', 'the service answers and accepts the credentials (GET /Users)'),
    found.ok(
      'discovery',
      `Groups: ${discovery.groups ? 'yes' : 'no'}, filter: ${discovery.filter ? 'yes' : 'no'}, PATCH: ${discovery.patch ? 'yes' : 'no'}`,
      { needed: false },
    ),
  ];
  const groups = needs.entitlements.filter((e) => /^[^:]+:group\/./.test(e));
  const present: string[] = [];
  for (const e of groups) {
    const name = e.slice(e.indexOf(':group/') + ':group/'.length);
    if (!discovery.groups) {
      items.push(
        found.missing('entitlement', `${e} cannot be granted: the service has no Groups resource`, {
          entitlement: e,
          hint: 'grant only the account on this target (a users-only policy), or use a service that offers Groups',
        }),
      );
      continue;
    }
    try {
      if (await groupExists(connector, name, discovery.filter)) {
        present.push(e);
        items.push(found.ok('entitlement', `group ${JSON.stringify(name)} exists`, { entitlement: e }));
      } else
        items.push(
          found.missing('entitlement', `${e} does not exist: no group with displayName ${JSON.stringify(name)}`, {
            entitlement: e,
            hint: 'create the group in the service (Tenure does not create groups), or fix the entitlement',
          }),
        );
    } catch (err) {
      const p = problemOf(err);
      items.push(found.missing('entitlement', p.message, { entitlement: e, ...(p.hint ? { hint: p.hint } : {}) }));
    }
  }
  if (needs.probe) items.push(...(await probeAccount(connector, needs, present)));
  else
    items.push(
      found.unknown('create', 'creating, changing, disabling and deleting users: unknown (SCIM cannot be asked)'),
    );
  return { items, discovery };
}

/**
 * What the service supports. Groups: listed in /ResourceTypes (when it answers) and GET /Groups not 404. Filter
 * and PATCH: /ServiceProviderConfig, with the connector's defaults when it is missing (filter yes, PATCH no).
 */
async function discover(
  connector: ScimTarget,
  config: Json | undefined,
  types: Json | undefined,
): Promise<ScimDiscovery> {
  const supported = (key: string, fallback: boolean): boolean => {
    const v = config?.[key] as Json | undefined;
    return typeof v?.supported === 'boolean' ? v.supported : fallback;
  };
  const listed = Array.isArray(types?.Resources)
    ? (types.Resources as Json[]).some((t) => t.name === 'Group' || t.endpoint === '/Groups')
    : true;
  // As the connector reads it: a service that answers /Groups with 404 or 501 has no Groups.
  const groups = listed && (await connector.checkGet('/Groups?count=1', [501])) !== undefined;
  return { groups, filter: supported('filter', true), patch: supported('patch', false) };
}

async function groupExists(connector: ScimTarget, name: string, filter: boolean): Promise<boolean> {
  if (filter) {
    const q = new URLSearchParams({ filter: `displayName eq ${scimString(name)}`, count: '10' });
    const page = await connector.checkGet(`/Groups?${q.toString()}`);
    return resources(page).some((g) => g.displayName === name);
  }
  for (let start = 1; ;) {
    const page = await connector.checkGet(`/Groups?startIndex=${start}&count=100`);
    const list = resources(page);
    if (list.some((g) => g.displayName === name)) return true;
    const total = typeof page?.totalResults === 'number' ? page.totalResults : 0;
    start += list.length;
    if (list.length === 0 || start > total) return false;
  }
}

function resources(page: Json | undefined): Json[] {
  return Array.isArray(page?.Resources) ? (page.Resources as Json[]) : [];
}
