import { strict as assert } from 'node:assert';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConnectorError, type Connector } from '../../src/connectors/connector.js';
import { createScimConnector, parseRetryAfter, scimString } from '../../src/connectors/scim/scim-connector.js';
import type { ScimServer } from '../support/scim-server.js';
import {
  admin,
  connect as connectTo,
  createGroup,
  definition,
  deleteEverything,
  scimServer,
  stop,
} from './fixtures/scim.js';

// The SCIM fixtures' server: this file shares it and stops it when done.
let server: ScimServer;
before(async () => {
  server = await scimServer();
});
after(stop);

function connect(connection: Record<string, unknown> = {}, token = server.token): Connector {
  return connectTo(server, connection, token);
}

const isCode =
  (code: string, check: (e: ConnectorError) => void = () => {}) =>
  (e: unknown) => {
    assert.ok(e instanceof ConnectorError, `expected a ConnectorError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check(e);
    return true;
  };

const spec = (name: string) => ({
  name,
  identity: `id-${name}`,
  attributes: { givenName: 'Ana', sn: 'Lima', mail: 'ana@example.com', displayName: 'Ana Lima' },
});

describe('SCIM connector', () => {
  let c: Connector;
  before(() => {
    c = connect();
  });
  after(async () => {
    await c.close();
    await deleteEverything();
  });

  it('escapes a filter string per RFC 7644 (JSON string rules)', () => {
    assert.equal(scimString('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(parseRetryAfter('1'), 1000);
    assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 5)).toUTCString(), Date.UTC(2030, 0, 1)), 5000);
    assert.equal(parseRetryAfter(null), undefined);
  });

  it('maps a wrong token to permission_denied and never shows the token', async () => {
    const wrong = connect({}, 'not-the-token-s3cr3t');
    await assert.rejects(
      wrong.listAccounts(),
      isCode('permission_denied', (e) => {
        assert.ok(!e.retryable);
        assert.ok(!e.message.includes('s3cr3t') && !(e.hint ?? '').includes('s3cr3t'));
      }),
    );
  });

  it('maps 429 with Retry-After to rate_limited, retryable, retryAfterMs 1000', async () => {
    server.rateLimitEvery = 1;
    try {
      await assert.rejects(
        connect().readAccount('ana'),
        isCode('rate_limited', (e) => {
          assert.equal(e.retryable, true);
          assert.equal(e.retryAfterMs, 1000);
        }),
      );
    } finally {
      server.rateLimitEvery = undefined;
    }
  });

  it('round-trips a userName with " and \\ and never matches another user by filter', async () => {
    await c.createAccount(spec('victim'));
    const hostile = 'x" or userName pr or userName eq "\\';
    assert.equal(await c.readAccount(hostile), undefined, 'the filter matched nobody else');
    await c.createAccount(spec(hostile));
    const read = await c.readAccount(hostile);
    assert.equal(read?.name, hostile);
    assert.equal(read?.identity, `id-${hostile}`);
    assert.equal((await c.readAccount('victim'))?.name, 'victim');
    await assert.rejects(c.createAccount(spec(hostile)), isCode('already_exists'));
    await c.deleteAccount(hostile);
    assert.equal((await c.readAccount('victim'))?.name, 'victim', 'deleting the hostile name left victim alone');
  });

  it('refuses a userName that differs only in case (userName is not caseExact)', async () => {
    await assert.rejects(c.createAccount(spec('VICTIM')), isCode('already_exists'));
  });

  it('reads memberships by filtering groups when Users do not carry `groups`', async () => {
    await createGroup('fallback');
    await c.addMembership('victim', 'apps:group/fallback');
    server.userGroups = false;
    try {
      const fresh = connect();
      assert.deepEqual((await fresh.readAccount('victim'))?.entitlements, ['apps:group/fallback']);
      assert.deepEqual(
        (await fresh.listAccounts()).map((a) => [a.name, a.entitlements]),
        [['victim', ['apps:group/fallback']]],
      );
      await fresh.addMembership('victim', 'apps:group/fallback');
      await fresh.removeMembership('victim', 'apps:group/fallback');
      await fresh.removeMembership('victim', 'apps:group/fallback');
      assert.deepEqual((await fresh.readAccount('victim'))?.entitlements, []);
    } finally {
      server.userGroups = true;
    }
  });

  it('falls back to PUT when the server does not advertise PATCH', async () => {
    server.advertise({ patch: false });
    try {
      const put = connect();
      await put.disableAccount('victim');
      assert.equal((await put.readAccount('victim'))?.enabled, false);
      await put.enableAccount('victim');
      await put.addMembership('victim', 'apps:group/fallback');
      await put.addMembership('victim', 'apps:group/fallback');
      assert.deepEqual(await put.listMembers('apps:group/fallback'), ['victim']);
      await put.updateAccount('victim', { givenName: 'Vic' });
      await put.removeMembership('victim', 'apps:group/fallback');
      const read = await put.readAccount('victim');
      assert.equal(read?.enabled, true);
      assert.deepEqual(read?.entitlements, []);
      const raw = (await admin('GET', `/Users/${read?.id}`)) as { name: { givenName: string; familyName: string } };
      assert.deepEqual(raw.name, { givenName: 'Vic', familyName: 'Lima' });
      // A rename and a link by PUT too: the same id, so the same memberships.
      await put.addMembership('victim', 'apps:group/fallback');
      await put.renameAccount!('victim', 'victim.renamed', 'id-victim');
      await put.linkAccount!('victim.renamed', 'id-victim-2');
      const renamed = await put.readAccount('victim.renamed');
      assert.deepEqual(
        [renamed?.id, renamed?.identity, renamed?.entitlements],
        [read?.id, 'id-victim-2', ['apps:group/fallback']],
      );
      await put.removeMembership('victim.renamed', 'apps:group/fallback');
      await put.renameAccount!('victim.renamed', 'victim', 'id-victim-2');
      await put.linkAccount!('victim', 'id-victim');
    } finally {
      server.advertise({ patch: true });
    }
  });

  it('gets a bearer token by OAuth2 client credentials, once, and refuses a wrong client secret', async () => {
    let calls = 0;
    const tokenServer = createHttpServer((req, res) => {
      calls++;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const ok =
          req.headers.authorization === `Basic ${Buffer.from('tenure:client-s3cr3t').toString('base64')}` &&
          new URLSearchParams(body).get('grant_type') === 'client_credentials';
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify(
            ok ? { access_token: server.token, token_type: 'Bearer', expires_in: 3600 } : { error: 'invalid_client' },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
    const { port } = tokenServer.address() as { port: number };
    try {
      const oauth = (secret: string) =>
        createScimConnector(
          definition({
            url: server.url,
            oauth: {
              token_url: `http://127.0.0.1:${port}/token`,
              client_id: 'tenure',
              client_secret: { env: 'SECRET' },
            },
          }),
          { baseDir: process.cwd(), env: { SECRET: secret } },
        );
      const good = oauth('client-s3cr3t');
      assert.equal((await good.readAccount('victim'))?.name, 'victim');
      assert.equal((await good.listAccounts()).length, 1);
      assert.equal(calls, 1, 'the token is cached until it expires');
      await assert.rejects(
        oauth('wrong-s3cr3t').listAccounts(),
        isCode('permission_denied', (e) => assert.ok(!e.message.includes('s3cr3t'))),
      );
    } finally {
      tokenServer.close();
    }
  });

  it('links by the enterprise employeeNumber when link_attribute says so; externalId is left to others', async () => {
    const emp = connect({ link_attribute: 'employeeNumber' });
    await emp.createAccount({
      name: 'emp',
      identity: 'E-7',
      attributes: { employeeNumber: 'ignored', department: 'Ops' },
    });
    const raw = (await admin('GET', `/Users/${(await emp.readAccount('emp'))?.id}`)) as Record<string, unknown>;
    assert.equal(raw.externalId, undefined);
    assert.deepEqual(raw['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], {
      employeeNumber: 'E-7',
      department: 'Ops',
    });
    const read = await emp.readAccount('emp');
    assert.equal(read?.identity, 'E-7');
    assert.equal(read?.attributes?.department, 'Ops');
    assert.ok(!('employeeNumber' in (read?.attributes ?? {})), 'the link is not also an attribute to compare');
    // A value another system wrote there reads as the link it is: the plan and drift judge it.
    await admin('PATCH', `/Users/${read?.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'replace',
          path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
          value: '0042',
        },
      ],
    });
    assert.equal((await emp.readAccount('emp'))?.identity, '0042');
    await emp.linkAccount!('emp', 'E-7');
    await emp.renameAccount!('emp', 'emp.new', 'E-7');
    await emp.renameAccount!('emp', 'emp.new', 'E-7');
    assert.equal((await emp.readAccount('emp.new'))?.identity, 'E-7');
    assert.equal((await connect().readAccount('emp.new'))?.identity, undefined, 'read by externalId: not linked');
    await emp.deleteAccount('emp.new');
  });

  it('says not_found for a group that does not exist, invalid_input for rotation', async () => {
    await assert.rejects(c.addMembership('victim', 'apps:group/no-such-group'), isCode('not_found'));
    await assert.rejects(c.rotateCredential('victim'), isCode('invalid_input'));
  });

  it('says unreachable when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const down = connect({ url: `http://127.0.0.1:${port}/scim/v2` });
    await assert.rejects(
      down.listAccounts(),
      isCode('unreachable', (e) => assert.ok(e.retryable)),
    );
  });

  it('says timeout when the server does not answer in time', async () => {
    const hang = createServer(() => {});
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const { port } = hang.address() as { port: number };
    try {
      const slow = connect({ url: `http://127.0.0.1:${port}/scim/v2`, timeout_ms: 200 });
      await assert.rejects(slow.listAccounts(), isCode('timeout'));
    } finally {
      hang.close();
    }
  });
});
