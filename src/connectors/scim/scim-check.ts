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
import { ScimTarget } from './scim-connector.js';
import type { ScimSettings } from './scim-settings.js';

/**
 * A SCIM service, asked read-only: that it answers and takes the credentials (GET /Users?count=1), what it
 * supports (the connector's discovery of /ServiceProviderConfig, /ResourceTypes and /Schemas, and whether /Groups
 * answers), and that each declared group exists (the connector's listing of Groups). SCIM cannot say what a token may write, so
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
  let existing: ReadonlySet<string>;
  try {
    await connector.checkGet('/Users?count=1');
    // What the connector itself goes by (its discovery, and whether GET /Groups answers), so the check and the
    // connector never disagree about the service.
    const d = await connector.discover();
    const listed = await connector.listEntitlements();
    const groups = d.groups && (await connector.checkGet('/Groups?count=1', [501])) !== undefined;
    discovery = { groups, filter: d.filter, patch: d.patch };
    existing = new Set(listed);
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
    if (!discovery.groups)
      items.push(
        found.missing('entitlement', `${e} cannot be granted: the service has no Groups resource`, {
          entitlement: e,
          hint: 'grant only the account on this target (a users-only policy), or use a service that offers Groups',
        }),
      );
    else if (existing.has(e)) {
      present.push(e);
      items.push(found.ok('entitlement', `group ${JSON.stringify(name)} exists`, { entitlement: e }));
    } else
      items.push(
        found.missing('entitlement', `${e} does not exist: no group with displayName ${JSON.stringify(name)}`, {
          entitlement: e,
          hint: 'create the group in the service (Tenure does not create groups), or fix the entitlement',
        }),
      );
  }
  if (needs.probe) items.push(...(await probeAccount(connector, needs, present)));
  else
    items.push(
      found.unknown('create', 'creating, changing, disabling and deleting users: unknown (SCIM cannot be asked)'),
    );
  return { items, discovery };
}
