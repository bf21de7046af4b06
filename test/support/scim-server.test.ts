import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ENTERPRISE, startScimServer, type ScimServer } from './scim-server.js';

describe('scim test server (scimmy on express)', () => {
  let server: ScimServer;
  const call = (path: string, init: RequestInit = {}, token = server.token) =>
    fetch(server.url + path, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
    });

  before(async () => {
    server = await startScimServer({ token: 'test-token' });
  });
  after(() => server.stop());

  it('serves its ServiceProviderConfig on a loopback port', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    const response = await call('/ServiceProviderConfig');
    assert.equal(response.status, 200);
    const spc = (await response.json()) as { patch: { supported: boolean }; filter: { supported: boolean } };
    assert.equal(spc.patch.supported, true);
    assert.equal(spc.filter.supported, true);
  });

  it('refuses a request without the bearer token, or with another one', async () => {
    assert.equal((await fetch(`${server.url}/Users`)).status, 401);
    assert.equal((await call('/Users', {}, 'wrong')).status, 401);
  });

  it('creates a user with the enterprise extension, reads it back, and refuses its userName twice', async () => {
    const body = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
      userName: 'ana',
      externalId: 'id-ana',
      active: true,
      [ENTERPRISE]: { department: 'Finance' },
    };
    const created = await call('/Users', { method: 'POST', body: JSON.stringify(body) });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    const read = (await (await call(`/Users/${id}`)).json()) as Record<string, unknown>;
    assert.equal(read.userName, 'ana');
    assert.equal(read.externalId, 'id-ana');
    assert.deepEqual(read[ENTERPRISE], { department: 'Finance' });
    const again = await call('/Users', { method: 'POST', body: JSON.stringify({ ...body, userName: 'ANA' }) });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { scimType: string }).scimType, 'uniqueness');
    assert.equal((await call('/Users/no-such-id')).status, 404);
  });

  it('pages a listing with startIndex and count', async () => {
    for (const n of ['b1', 'b2', 'b3']) {
      await call('/Users', { method: 'POST', body: JSON.stringify({ schemas: [], userName: n }) });
    }
    const page = (await (await call('/Users?startIndex=2&count=2')).json()) as {
      totalResults: number;
      Resources: unknown[];
    };
    assert.equal(page.totalResults, 4);
    assert.equal(page.Resources.length, 2);
  });

  it('answers every Nth request with 429 and Retry-After when asked to', async () => {
    server.rateLimitEvery = 2;
    try {
      assert.equal((await call('/ServiceProviderConfig')).status, 200);
      const limited = await call('/ServiceProviderConfig');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '1');
    } finally {
      server.rateLimitEvery = undefined;
    }
    assert.equal((await call('/ServiceProviderConfig')).status, 200);
  });
});
