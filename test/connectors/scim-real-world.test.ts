import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConnectorError } from '../../src/connectors/connector.js';
import { createScimConnector, type ScimConnector } from '../../src/connectors/scim/scim-connector.js';
import { executePlan } from '../../src/executor/execute-plan.js';
import { MemoryJournal } from '../../src/executor/journal.js';
import type { Change, Plan } from '../../src/model/plan.js';
import type { TargetDefinition } from '../../src/model/policy.js';
import { folder, tenure } from '../cli-harness.js';
import { startScimServer, type ScimServer } from '../support/scim-server.js';

// SCIM services as they really are: some have no Groups at all, some advertise filtering and then refuse it, and a
// create can find its account already made (by our own create that landed before the process died).

const TOKEN_ENV = 'TENURE_TEST_SCIM_TOKEN';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const definition = (url: string): TargetDefinition => ({
  id: 'apps',
  kind: 'scim',
  description: 'SCIM test target',
  accountName: 'identity.id',
  attributes: {},
  connection: { url, token: { env: TOKEN_ENV }, page_size: 10 },
  position: { file: 'policy.yaml', line: 1, column: 1 },
});

function connect(server: ScimServer): ScimConnector {
  return createScimConnector(definition(server.url), { baseDir: process.cwd(), env: { [TOKEN_ENV]: server.token } });
}

async function admin(
  server: ScimServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  const text = await response.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const userNames = async (server: ScimServer): Promise<string[]> =>
  ((await admin(server, 'GET', '/Users?count=1000')).Resources as { userName: string }[]).map((u) => u.userName).sort();

const spec = (name: string) => ({ name, identity: `id-${name}`, attributes: { displayName: name } });

const hr = `employee_id,status,department
E001,Active,Engineering
E002,Active,Finance
`;

/** A policy with one scim target; `groups` adds a role granting a group of it. */
function policy(server: ScimServer, groups: boolean): string {
  return `version: 1
name: Real-world SCIM
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    status: { field: status, values: { Active: active } }
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: apps
    kind: scim
    connection: { url: "${server.url}", token: { file: token.txt }, timeout_ms: 10000 }
entitlements:
  - id: apps:account
${groups ? '  - id: apps:group/staff\n' : ''}roles:
  - id: everyone
    when: identity.kind == "employee"
    grants: [${groups ? 'apps:group/staff' : 'apps:account'}]
`;
}

describe('a SCIM service without Groups', () => {
  let server: ScimServer;
  before(async () => {
    server = await startScimServer({ groups: false });
  });
  after(() => server.stop());

  it('the test server answers 404 on /Groups and Users carry no groups', async () => {
    const r = await fetch(`${server.url}/Groups`, { headers: { Authorization: `Bearer ${server.token}` } });
    assert.equal(r.status, 404);
  });

  it('lists and reads accounts without memberships; granting a group says the server has no Groups', async () => {
    const c = connect(server);
    await c.createAccount(spec('solo'));
    assert.deepEqual(
      (await c.listAccounts()).map((a) => [a.name, a.entitlements]),
      [['solo', []]],
    );
    assert.deepEqual((await c.readAccount('solo'))?.entitlements, []);
    await assert.rejects(c.addMembership('solo', 'apps:group/staff'), (e: unknown) => {
      assert.ok(e instanceof ConnectorError);
      assert.equal(e.code, 'invalid_input');
      assert.equal(e.retryable, false);
      assert.match(e.message, /has no Groups resource/);
      return true;
    });
    await c.deleteAccount('solo');
    await c.close();
  });

  it('a users-only policy plans and applies through the CLI; one granting groups is told at plan time', async () => {
    const dir = folder({ 'tenure.yaml': policy(server, false), 'hr.csv': hr, 'token.txt': server.token });
    const args = ['-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01'];
    const planned = await tenure(...args, '--json', 'plan');
    assert.equal(planned.code, 0, planned.stderr);
    const plan = JSON.parse(planned.stdout) as { plan: { summary: { changes: number } } };
    assert.equal(plan.plan.summary.changes, 2, 'an account for each of the two people');
    const applied = await tenure(...args, 'apply');
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    assert.deepEqual(await userNames(server), ['E001', 'E002']);
    const again = await tenure(...args, 'apply');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to apply/);

    // A policy granting groups is told at plan time, and the grants are held back rather than failed at apply.
    const withGroups = folder({ 'tenure.yaml': policy(server, true), 'hr.csv': hr, 'token.txt': server.token });
    const groupsArgs = ['-c', join(withGroups, 'tenure.yaml'), '--as-of', '2026-11-01'];
    const warned = await tenure(...groupsArgs, 'plan');
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /warning: target "apps" has no apps:group\/staff \(no Group "staff": the service has no Groups resource\); 2 grant\(s\) held back, not planned: E001, E002/,
    );
    assert.doesNotMatch(warned.stdout, /apps:group\/staff/);
    const applied2 = await tenure(...groupsArgs, 'apply');
    assert.equal(applied2.code, 0, applied2.stderr + applied2.stdout);
    assert.doesNotMatch(applied2.stdout, /NOT/);
  });
});

describe('a SCIM service that refuses filters', () => {
  for (const refusal of [400, 501] as const) {
    it(`answering ${refusal}: lookups list and match locally, with one warning per target and run`, async () => {
      const server = await startScimServer({ refuseFilters: refusal });
      try {
        const groupId = String((await admin(server, 'POST', '/Groups', { schemas: [GROUP], displayName: 'staff' })).id);
        server.userGroups = false; // make the connector look groups up by filter too
        const c = connect(server);
        for (const n of ['ana', 'bo', 'cy']) await c.createAccount(spec(n));
        await assert.rejects(
          c.createAccount(spec('bo')),
          (e: unknown) => (e as ConnectorError).code === 'already_exists',
        );
        await c.addMembership('bo', 'apps:group/staff');
        await c.addMembership('bo', 'apps:group/staff');
        assert.deepEqual((await c.readAccount('bo'))?.entitlements, ['apps:group/staff']);
        assert.equal(await c.readAccount('nobody'), undefined);
        assert.deepEqual(await c.listMembers('apps:group/staff'), ['bo']);
        await c.disableAccount('cy');
        assert.equal((await c.readAccount('cy'))?.enabled, false);
        const members = (await admin(server, 'GET', `/Groups/${groupId}`)).members as { value: string }[];
        assert.equal(members.length, 1);
        const warnings = c.warnings?.() ?? [];
        assert.equal(warnings.length, 1, JSON.stringify(warnings));
        assert.equal(warnings[0]!.code, 'connector.filter_refused');
        assert.match(warnings[0]!.message, /refused a filter/);
        // 501: the service filters nothing, one refusal says so. 400 invalidFilter: a refusal for one attribute
        // (userName, displayName, members.value, id), as services that filter on some attributes only answer.
        const refused = server.refusedFilters;
        assert.equal(refused, refusal === 501 ? 1 : 4);
        await c.addMembership('bo', 'apps:group/staff');
        assert.deepEqual((await c.readAccount('bo'))?.entitlements, ['apps:group/staff']);
        assert.deepEqual(await c.listMembers('apps:group/staff'), ['bo']);
        assert.equal(server.refusedFilters, refused, 'each refusal is remembered: no refused filter is sent again');
        await c.close();
      } finally {
        await server.stop();
      }
    });
  }

  it('tenure apply against it succeeds and prints the warning once', async () => {
    const server = await startScimServer({ refuseFilters: 400 });
    try {
      await admin(server, 'POST', '/Groups', { schemas: [GROUP], displayName: 'staff' });
      const dir = folder({ 'tenure.yaml': policy(server, true), 'hr.csv': hr, 'token.txt': server.token });
      const applied = await tenure('-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01', 'apply');
      assert.equal(applied.code, 0, applied.stderr + applied.stdout);
      assert.equal(applied.stderr.match(/refused a filter/g)?.length, 1, applied.stderr);
      assert.deepEqual(await userNames(server), ['E001', 'E002']);
    } finally {
      await server.stop();
    }
  });
});

describe('the ServiceProviderConfig', () => {
  it('is read once per connector, and a service that does not advertise filtering is never sent one', async () => {
    const server = await startScimServer({ refuseFilters: 400 });
    server.advertise({ filter: false }); // process-wide in SCIMMY: restored below
    try {
      await admin(server, 'POST', '/Groups', { schemas: [GROUP], displayName: 'staff' });
      server.userGroups = false;
      const c = connect(server);
      await Promise.all(['ana', 'bo', 'cy'].map((n) => c.createAccount(spec(n))));
      await c.addMembership('bo', 'apps:group/staff');
      assert.deepEqual((await c.readAccount('bo'))?.entitlements, ['apps:group/staff']);
      assert.deepEqual(await c.listMembers('apps:group/staff'), ['bo']);
      await c.updateAccount('ana', { displayName: 'Ana' });
      assert.equal(server.requestsTo('/ServiceProviderConfig'), 1);
      assert.equal(server.refusedFilters, 0, 'no filter was sent');
      assert.deepEqual(c.warnings?.(), [], 'an advertised limit is no surprise: nothing to warn about');
      await c.close();
    } finally {
      server.advertise({ filter: true });
      await server.stop();
    }
  });
});

describe('a resumed create', () => {
  for (const [refuseFilters, userName] of [
    [undefined, 'E001'],
    [400, 'E001'],
    [undefined, 'e001'],
  ] as const) {
    it(`finds the account its earlier run created, links it, and adds the memberships${refuseFilters ? ' (filters refused)' : ''}${userName === 'E001' ? '' : ` (held as ${userName})`}`, async () => {
      const server = await startScimServer(refuseFilters ? { refuseFilters } : {});
      try {
        await admin(server, 'POST', '/Groups', { schemas: [GROUP], displayName: 'staff' });
        // The create landed, then the process died before the journal said so.
        await admin(server, 'POST', '/Users', { schemas: [USER], userName, externalId: 'E001', active: true });
        const changes: Change[] = [
          { action: 'create_account', target: 'apps', account: 'E001', identity: 'E001', reason: 'joiner' },
          {
            action: 'add_membership',
            target: 'apps',
            account: 'E001',
            identity: 'E001',
            entitlement: 'apps:group/staff',
            reason: 'role everyone',
          },
        ];
        const plan = { targets: [{ target: 'apps', changes }] } as unknown as Plan;
        const journal = new MemoryJournal();
        const [create] = await journal.begin('p1', changes);
        await journal.mark(create!.id, 'running', 1);
        const c = connect(server);
        const result = await executePlan('p1', plan, new Map([['apps', c]]), journal, {
          sleep: () => Promise.resolve(),
        });
        assert.deepEqual(
          result.operations.map((o) => o.sentence),
          ['account E001 in apps: created', 'account E001 in apps: added to apps:group/staff'],
        );
        assert.deepEqual(await userNames(server), [userName], 'no second account');
        assert.deepEqual((await c.readAccount('E001'))?.entitlements, ['apps:group/staff']);
        await c.close();
      } finally {
        await server.stop();
      }
    });
  }
});

describe('discovery (ServiceProviderConfig, ResourceTypes, Schemas)', () => {
  const connectWith = (server: ScimServer, connection: Record<string, unknown>): ScimConnector =>
    createScimConnector(
      { ...definition(server.url), connection: { url: server.url, token: { env: TOKEN_ENV }, ...connection } },
      { baseDir: process.cwd(), env: { [TOKEN_ENV]: server.token } },
    );

  it('reports what the service offers, for targets check', async () => {
    const server = await startScimServer();
    try {
      assert.deepEqual(await connect(server).discover(), {
        groups: true,
        filter: true,
        patch: true,
        bulk: true,
        etag: false,
        sort: true,
        enterpriseUser: true,
        unanswered: [],
        served: { serviceProviderConfig: true, resourceTypes: true, schemas: true },
      });
    } finally {
      await server.stop();
    }
  });

  it('no Group resource type: users only, /Groups never asked, a group grant says why', async () => {
    const server = await startScimServer({ groups: false });
    try {
      const c = connect(server);
      assert.equal((await c.discover()).groups, false);
      await c.createAccount(spec('ana'));
      assert.deepEqual(
        (await c.listAccounts()).map((a) => [a.name, a.entitlements]),
        [['ana', []]],
      );
      assert.deepEqual((await c.readAccount('ana'))?.entitlements, []);
      await assert.rejects(c.addMembership('ana', 'apps:group/staff'), (e: unknown) => {
        assert.ok(e instanceof ConnectorError && e.code === 'invalid_input', String(e));
        assert.match(e.message, /no Groups resource \(its \/ResourceTypes lists no Group\)/);
        return true;
      });
      assert.equal(server.requestsTo('/Groups'), 0, 'the resource types said so: nothing asked of /Groups');
    } finally {
      await server.stop();
    }
  });

  it('without /ResourceTypes and /Schemas: the defaults (Groups and the enterprise extension assumed)', async () => {
    const server = await startScimServer({ discovery: false });
    try {
      const c = connectWith(server, { link_attribute: 'employeeNumber' });
      const found = await c.discover();
      assert.deepEqual(
        [found.groups, found.enterpriseUser, found.served],
        [true, true, { serviceProviderConfig: true, resourceTypes: false, schemas: false }],
      );
      await c.createAccount(spec('ana'));
      assert.equal((await c.readAccount('ana'))?.identity, 'id-ana');
    } finally {
      await server.stop();
    }
  });

  it('link_attribute employeeNumber on a service without the enterprise extension is a clear invalid_input', async () => {
    const server = await startScimServer({ enterprise: false });
    try {
      const c = connectWith(server, { link_attribute: 'employeeNumber' });
      for (const attempt of [c.createAccount(spec('ana')), c.readAccount('ana'), c.listAccounts()]) {
        await assert.rejects(attempt, (e: unknown) => {
          assert.ok(e instanceof ConnectorError && e.code === 'invalid_input', String(e));
          assert.match(e.message, /connection\.link_attribute is employeeNumber/);
          assert.match(e.hint ?? '', /link_attribute: externalId/);
          return true;
        });
      }
      assert.deepEqual(await userNames(server), [], 'nothing was created');
      // The default link needs no extension.
      await connect(server).createAccount(spec('ana'));
      assert.deepEqual(await userNames(server), ['ana']);
    } finally {
      await server.stop();
    }
  });

  it('a passing failure of /ResourceTypes leaves the defaults for now and is asked again; of the config, it fails', async () => {
    // A service whose discovery answers are scripted: /ResourceTypes fails once with 500, /Schemas is missing.
    const asked = new Map<string, number>();
    let configFails = false;
    const service = createServer((req, res) => {
      const path = (req.url ?? '').replace(/^\/scim\/v2/, '').split('?')[0]!;
      const n = (asked.get(path) ?? 0) + 1;
      asked.set(path, n);
      const answer = (status: number, body?: unknown) =>
        res.writeHead(status, { 'Content-Type': 'application/scim+json' }).end(body ? JSON.stringify(body) : '');
      if (path === '/ServiceProviderConfig') return answer(configFails ? 503 : 200, { patch: { supported: true } });
      if (path === '/ResourceTypes' && n === 1) return answer(500, { detail: 'try later' });
      if (path === '/ResourceTypes')
        return answer(200, { Resources: [{ id: 'User', name: 'User', endpoint: '/Users' }] });
      answer(404, { detail: 'not here' });
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(service.address() as AddressInfo).port}/scim/v2`;
    try {
      const c = createScimConnector(definition(url), { baseDir: process.cwd(), env: { [TOKEN_ENV]: 't' } });
      const first = await c.discover();
      assert.deepEqual([first.patch, first.groups, first.unanswered], [true, true, ['/ResourceTypes']]);
      const second = await c.discover();
      assert.deepEqual([second.groups, second.unanswered, second.served.schemas], [false, [], false]);
      assert.deepEqual(
        [asked.get('/ServiceProviderConfig'), asked.get('/ResourceTypes'), asked.get('/Schemas')],
        [1, 2, 1],
        'what was answered is kept; only the failed document is asked again',
      );
      configFails = true;
      const fresh = createScimConnector(definition(url), { baseDir: process.cwd(), env: { [TOKEN_ENV]: 't' } });
      await assert.rejects(fresh.discover(), (e: unknown) => e instanceof ConnectorError && e.code === 'internal');
    } finally {
      service.close();
    }
  });

  it('is kept for discovery_ttl_seconds: a long-running connector sees the service change once it runs out', async () => {
    const server = await startScimServer();
    try {
      const kept = connect(server); // the default, an hour
      const fresh = connectWith(server, { discovery_ttl_seconds: 0 });
      assert.equal((await kept.discover()).groups, true);
      assert.equal((await fresh.discover()).groups, true);
      server.groups = false;
      assert.equal((await kept.discover()).groups, true, 'within its lifetime the discovery is not read again');
      assert.equal((await fresh.discover()).groups, false, 'past it, it is');
      assert.equal(server.requestsTo('/ResourceTypes'), 3);
    } finally {
      await server.stop();
    }
  });
});

describe('what scimmy filters (the table in docs/connectors.md)', () => {
  it('filters userName (with case), externalId, displayName, members.value, id ... or ...; an enterprise attribute matches nothing', async () => {
    const server = await startScimServer();
    try {
      const c = connect(server);
      await c.createAccount({ name: 'filtered', identity: 'id-filtered', attributes: { employeeNumber: '1' } });
      const id = (await c.readAccount('filtered'))!.id;
      const groupId = String((await admin(server, 'POST', '/Groups', { schemas: [GROUP], displayName: 'g' })).id);
      await c.addMembership('filtered', 'apps:group/g');
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
          await ask('/Groups', 'displayName eq "g"'),
          await ask('/Groups', `members.value eq "${id}"`),
          await ask('/Users', `id eq "${id}" or id eq "x"`),
          await ask('/Users', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"'),
        ],
        // userName is compared with case although RFC 7643 says it is not caseExact: a create that meets it in
        // another case is refused as a duplicate, and the connector finds it in the listing (see a resumed create).
        [[], [id], [groupId], [groupId], [id], []],
      );
    } finally {
      await server.stop();
    }
  });
});
