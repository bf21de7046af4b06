import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ConnectorError } from '../../src/connectors/connector.js';
import { SCIM_GROUP, createScimConnector, type ScimConnector } from '../../src/connectors/scim/scim-connector.js';
import type { TargetDefinition } from '../../src/model/policy.js';
import { startBetterAuthScimServer, type BetterAuthScimServer } from '../support/better-auth-scim-server.js';
import { HOSTILE_NAMES, connectorContract } from './connector-contract.js';

// The connector against a second SCIM server this project did not write (Better Auth's SCIM plugin): the same
// contract as against scimmy, and what this one does differently (filters on some attributes only, no `groups` on
// Users, a scope per resource on its tokens).

let server: BetterAuthScimServer;
before(async () => {
  server = await startBetterAuthScimServer();
});
after(() => server.stop());

const TOKEN_ENV = 'TENURE_TEST_SCIM_TOKEN';

function connect(connection: Record<string, unknown> = {}, token = server.token): ScimConnector {
  const target: TargetDefinition = {
    id: 'apps',
    kind: 'scim',
    description: 'SCIM test target (Better Auth)',
    accountName: 'identity.id',
    attributes: {},
    connection: { url: server.url, token: { env: TOKEN_ENV }, page_size: 10, ...connection },
    position: { file: 'policy.yaml', line: 1, column: 1 },
  };
  return createScimConnector(target, { baseDir: process.cwd(), env: { [TOKEN_ENV]: token } });
}

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
  const response = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  const text = await response.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

const createGroup = async (name: string) =>
  String((await admin('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: name }))?.id);

async function deleteEverything(): Promise<void> {
  for (const path of ['/Users', '/Groups']) {
    for (;;) {
      const list = (await admin('GET', `${path}?count=100`)) as { Resources: { id: string }[] };
      if (list.Resources.length === 0) break;
      for (const r of list.Resources) await admin('DELETE', `${path}/${r.id}`);
    }
  }
}

const isCode =
  (code: string, check: (e: ConnectorError) => void = () => {}) =>
  (e: unknown) => {
    assert.ok(e instanceof ConnectorError, `expected a ConnectorError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check(e);
    return true;
  };

let run = 0;
// This service trims userName ("  padded name " is stored as "padded name"): that name cannot be kept there.
const hostileNames = HOSTILE_NAMES.filter((n) => n.trim() === n);
connectorContract(
  'SCIM (Better Auth)',
  async () => {
    run++;
    const a = `a-${run}`;
    const b = `b-${run}`;
    await createGroup(a);
    await createGroup(b);
    return {
      connector: connect(),
      entitlements: [`apps:group/${a}`, `apps:group/${b}`],
      cleanup: deleteEverything,
    };
  },
  { hostileNames },
);

describe('SCIM connector against Better Auth', () => {
  after(deleteEverything);

  it('discovers what the service offers from ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const c = connect();
    assert.deepEqual(await c.discover(), {
      groups: true,
      filter: true,
      patch: true,
      bulk: false,
      etag: false,
      sort: false,
      enterpriseUser: true,
      unanswered: [],
      served: { serviceProviderConfig: true, resourceTypes: true, schemas: true },
    });
  });

  it('says permission_denied with a hint for a token refused on /Groups, not "no groups"', async () => {
    await createGroup('scoped');
    const c = connect({}, server.usersOnlyToken);
    // This service wants an email address for a userName that is not one.
    await c.createAccount({ name: 'scoped.user', identity: 'id-scoped', attributes: { mail: 'scoped@example.com' } });
    await assert.rejects(
      c.addMembership('scoped.user', 'apps:group/scoped'),
      isCode('permission_denied', (e) => {
        assert.match(e.message, /GET \/Groups answered 403/);
        assert.match(e.hint ?? '', /Groups/);
      }),
    );
    await assert.rejects(c.listAccounts(), isCode('permission_denied'));
  });

  it('links by employeeNumber (enterprise extension) when link_attribute says so, and finds a renamed account by it', async () => {
    const c = connect({ link_attribute: 'employeeNumber' });
    await c.createAccount({
      name: 'emp',
      identity: 'E-100',
      attributes: { mail: 'emp@example.com', employeeNumber: 'x' },
    });
    const raw = (
      (await admin('GET', `/Users?filter=${encodeURIComponent('userName eq "emp"')}`)) as {
        Resources: Record<string, unknown>[];
      }
    ).Resources[0]!;
    assert.deepEqual(raw['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], { employeeNumber: 'E-100' });
    assert.equal(raw.externalId, undefined, 'externalId is left alone');
    assert.equal((await c.readAccount('emp'))?.identity, 'E-100');
    await c.renameAccount('emp', 'emp.renamed', 'E-100');
    await c.renameAccount('emp', 'emp.renamed', 'E-100');
    assert.equal((await c.readAccount('emp.renamed'))?.identity, 'E-100');
    await c.deleteAccount('emp.renamed');
  });
});

describe('what Better Auth filters (the table in docs/connectors.md)', () => {
  after(deleteEverything);

  it('filters userName, externalId and displayName; refuses members.value, id ... or ..., and the enterprise employeeNumber', async () => {
    const c = connect();
    await c.createAccount({ name: 'filtered', identity: 'id-filtered', attributes: { mail: 'f@example.com' } });
    const id = (await c.readAccount('filtered'))!.id;
    const groupId = await createGroup('filtered-group');
    await c.addMembership('filtered', 'apps:group/filtered-group');
    const ask = async (path: string, filter: string) => {
      const response = await fetch(`${server.url}${path}?filter=${encodeURIComponent(filter)}`, {
        headers: { Authorization: `Bearer ${server.token}` },
      });
      const body = (await response.json()) as { Resources?: { id: string }[] };
      return response.status === 200 ? (body.Resources ?? []).map((r) => r.id) : response.status;
    };
    assert.deepEqual(
      [
        await ask('/Users', 'userName eq "FILTERED"'),
        await ask('/Users', 'externalId eq "id-filtered"'),
        await ask('/Groups', 'displayName eq "filtered-group"'),
        await ask('/Groups', `members.value eq "${id}"`),
        await ask('/Users', `id eq "${id}" or id eq "x"`),
        await ask('/Users', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"'),
      ],
      [[id], [id], [groupId], 400, 400, 400],
    );
    // Users carry no `groups`: the connector reads memberships from the groups' members.
    const raw = (await admin('GET', `/Users/${id}`))!;
    assert.equal(raw.groups, undefined);
    assert.deepEqual((await c.readAccount('filtered'))?.entitlements, ['apps:group/filtered-group']);
  });
});
