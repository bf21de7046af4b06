import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ConnectorError } from '../../src/connectors/connector.js';
import type { BetterAuthScimServer } from '../support/better-auth-scim-server.js';
import {
  adminOn,
  betterAuthServer,
  connect as connectTo,
  createGroupOn,
  deleteEverythingOn,
  stop,
} from './fixtures/scim.js';

// The connector against a second SCIM server this project did not write (Better Auth's SCIM plugin): the same
// contract as against scimmy, and what this one does differently (filters on some attributes only, no `groups` on
// Users, a scope per resource on its tokens).

// The Better Auth server of the SCIM fixtures (which run the contract on it); this file shares it and stops it.
let server: BetterAuthScimServer;
before(async () => {
  server = await betterAuthServer();
});
after(stop);

const connect = (connection: Record<string, unknown> = {}, token = server.token) =>
  connectTo(server, connection, token);
const admin = (method: string, path: string, body?: unknown) => adminOn(server, method, path, body);
const createGroup = (name: string) => createGroupOn(server, name);
const deleteEverything = () => deleteEverythingOn(server);

const isCode =
  (code: string, check: (e: ConnectorError) => void = () => {}) =>
  (e: unknown) => {
    assert.ok(e instanceof ConnectorError, `expected a ConnectorError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check(e);
    return true;
  };

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
