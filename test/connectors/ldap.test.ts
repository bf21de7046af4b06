import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, Client, InvalidCredentialsError } from 'ldapts';
import { ConnectorError, type Connector } from '../../src/connectors/connector.js';
import { createLdapConnector } from '../../src/connectors/ldap/ldap-connector.js';
import { escapeDnValue, escapeFilterValue, normaliseDn } from '../../src/connectors/ldap/ldap-escape.js';
import { startSlapd, type SlapdServer } from '../support/slapd-server.js';
import { asAdmin, connect, freshRun, slapd, stop, target, type Run } from './fixtures/ldap.js';

// The shared slapd of the LDAP fixtures; this file uses it too and stops it when done.
let server: SlapdServer;
before(async () => {
  server = await slapd();
});
after(stop);

const isCode = (code: string, retryable?: boolean) => (e: unknown) => {
  assert.ok(e instanceof ConnectorError, `a ConnectorError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (retryable !== undefined) assert.equal(e.retryable, retryable);
  return true;
};

test('strip: disabling takes the declared groups and locks the password; enabling gives the password back', async () => {
  const run = await freshRun();
  // Group c exists in the directory but the policy does not declare it: strip must leave it.
  await asAdmin((client) =>
    client.add(`cn=c,${run.groups}`, { objectClass: ['top', 'groupOfNames'], cn: 'c', member: `cn=c,${run.groups}` }),
  );
  const connector = connect(run, { disable_method: 'strip' });
  try {
    await connector.createAccount({ name: 'carol', identity: 'id-carol', attributes: {} });
    await connector.addMembership('carol', 'directory:group/a');
    await connector.addMembership('carol', 'directory:group/c');
    const dn = `uid=carol,${run.people}`;
    await asAdmin((client) =>
      client.modify(dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: ['s3cret'] }) }),
      ]),
    );
    const bindAsCarol = async () => {
      const client = new Client({ url: server.url });
      try {
        await client.bind(dn, 's3cret');
      } finally {
        await client.unbind();
      }
    };
    await bindAsCarol();
    await connector.disableAccount('carol');
    await assert.rejects(bindAsCarol(), InvalidCredentialsError);
    const stripped = await connector.readAccount('carol');
    assert.equal(stripped?.enabled, false);
    assert.deepEqual(stripped?.entitlements, ['directory:group/c'], 'the undeclared group keeps its member');
    await connector.disableAccount('carol'); // again: nothing changes, the password is not locked twice
    await connector.enableAccount('carol');
    const enabled = await connector.readAccount('carol');
    assert.equal(enabled?.enabled, true);
    assert.deepEqual(enabled?.entitlements, ['directory:group/c'], 'the declared ones come back with the next plan');
    await bindAsCarol(); // the same password works again
    await connector.enableAccount('carol');
    await bindAsCarol();
  } finally {
    await connector.close();
  }
});

test('strip: an account without a password is locked by a bare marker and left without one; outside a policy no group is taken', async () => {
  const run = await freshRun();
  const connector = connect(run, { disable_method: 'strip' }, []);
  const passwords = () =>
    asAdmin(async (client) => {
      const { searchEntries } = await client.search(`uid=dora,${run.people}`, {
        scope: 'base',
        attributes: ['userPassword'],
      });
      return [searchEntries[0]!.userPassword ?? []].flat().map(String);
    });
  try {
    await connector.createAccount({ name: 'dora', identity: 'id-dora', attributes: {} });
    await connector.addMembership('dora', 'directory:group/a');
    await connector.disableAccount('dora');
    const read = await connector.readAccount('dora');
    assert.equal(read?.enabled, false);
    assert.deepEqual(read?.entitlements, ['directory:group/a']);
    // A password the bind DN could not read would have been replaced: the marker is what stands in its place.
    assert.deepEqual(await passwords(), ['{CRYPT}!tenure-locked!']);
    await connector.enableAccount('dora');
    assert.deepEqual(await passwords(), [], 'no password was left behind');
  } finally {
    await connector.close();
  }
});

describe('LDAP connector specifics', () => {
  let run: Run;
  let connector: Connector;
  before(async () => {
    run = await freshRun();
    connector = connect(run);
  });
  after(async () => {
    await connector?.close();
  });

  const spec = (name: string) => ({ name, identity: `id-${name}`, attributes: { sn: 'Test' } });

  test('a name with , + = and a leading space lands as the right DN and reads back by an escaped filter', async () => {
    const name = ' a,b+c=d';
    await connector.createAccount(spec(name));
    const entries = await asAdmin(async (client) => {
      const { searchEntries } = await client.search(run.people, {
        scope: 'one',
        filter: `(uid=${escapeFilterValue(name)})`,
        attributes: ['uid', 'employeeNumber'],
      });
      return searchEntries;
    });
    assert.equal(entries.length, 1);
    assert.equal(normaliseDn(entries[0]!.dn), normaliseDn(`uid=${escapeDnValue(name)},${run.people}`));
    assert.equal(entries[0]!.uid, name);
    assert.equal(entries[0]!.employeeNumber, `id-${name}`);
    // The RDN is one AVA (the + did not split it), under people.
    const byDn = await asAdmin(async (client) => {
      const { searchEntries } = await client.search(`uid=${escapeDnValue(name)},${run.people}`, { scope: 'base' });
      return searchEntries;
    });
    assert.equal(byDn.length, 1);
    assert.equal((await connector.readAccount(name))?.name, name);
  });

  test('an injection-looking name never matches other entries', async () => {
    await connector.createAccount(spec('alice'));
    await connector.createAccount(spec('bob'));
    for (const evil of ['*', '*)(uid=*', '*)(|(uid=*))', 'a*', '\\2a']) {
      assert.equal(await connector.readAccount(evil), undefined, `readAccount(${JSON.stringify(evil)})`);
      await assert.rejects(connector.deleteAccount(evil), isCode('not_found'));
      await assert.rejects(connector.addMembership(evil, 'directory:group/a'), isCode('not_found'));
    }
    const names = (await connector.listAccounts()).map((a) => a.name);
    assert.ok(names.includes('alice') && names.includes('bob'), 'nothing was deleted');
    assert.deepEqual(await connector.listMembers('directory:group/a'), []);
  });

  test('a group name with DN metacharacters is addressed safely; a missing group is not_found', async () => {
    await assert.rejects(connector.addMembership('alice', 'directory:group/a,ou=people'), isCode('not_found'));
    await assert.rejects(connector.addMembership('alice', 'directory:group/zzz'), isCode('not_found'));
    await assert.rejects(connector.listMembers('directory:group/zzz'), isCode('not_found'));
    await assert.rejects(connector.addMembership('alice', 'directory:role/a'), isCode('invalid_input'));
  });

  test('removing the last member leaves the placeholder, which no reader reports', async () => {
    await connector.addMembership('alice', 'directory:group/b');
    await connector.removeMembership('alice', 'directory:group/b');
    const members = await asAdmin(async (client) => {
      const { searchEntries } = await client.search(`cn=b,${run.groups}`, { scope: 'base', attributes: ['member'] });
      return searchEntries[0]!.member;
    });
    assert.equal(normaliseDn(String(members)), normaliseDn(`cn=b,${run.groups}`));
    assert.deepEqual(await connector.listMembers('directory:group/b'), []);
  });

  test('moving to disabled keeps memberships; deleting removes them from the groups', async () => {
    await connector.addMembership('bob', 'directory:group/a');
    await connector.disableAccount('bob');
    const disabled = await connector.readAccount('bob');
    assert.equal(disabled?.enabled, false);
    assert.deepEqual(disabled?.entitlements, ['directory:group/a']);
    assert.deepEqual(await connector.listMembers('directory:group/a'), ['bob']);
    await connector.deleteAccount('bob');
    assert.deepEqual(await connector.listMembers('directory:group/a'), []);
    await connector.createAccount(spec('bob'));
    assert.deepEqual((await connector.readAccount('bob'))?.entitlements, [], 'a new bob inherits nothing');
  });

  test('disabling by move and enabling again works for a name ending in a backslash', async () => {
    const name = "O'Brien, Zoë (admin)*\\";
    await connector.createAccount(spec(name));
    await connector.addMembership(name, 'directory:group/b');
    await connector.disableAccount(name);
    const dnUnder = async (base: string) =>
      asAdmin(async (client) => {
        const { searchEntries } = await client.search(base, {
          scope: 'one',
          filter: `(uid=${escapeFilterValue(name)})`,
          attributes: ['uid'],
        });
        return searchEntries.map((e) => normaliseDn(e.dn));
      });
    assert.deepEqual(await dnUnder(run.disabled), [normaliseDn(`uid=${escapeDnValue(name)},${run.disabled}`)]);
    assert.deepEqual(await dnUnder(run.people), []);
    assert.deepEqual(await connector.listMembers('directory:group/b'), [name]);
    await connector.enableAccount(name);
    assert.deepEqual(await dnUnder(run.people), [normaliseDn(`uid=${escapeDnValue(name)},${run.people}`)]);
    const read = await connector.readAccount(name);
    assert.equal(read?.enabled, true);
    assert.deepEqual(read?.entitlements, ['directory:group/b']);
    await connector.deleteAccount(name);
  });

  test('a rename resumed after the modify-DN but before the groups: found by its link, the groups are rewritten', async () => {
    await connector.createAccount(spec('fern'));
    await connector.addMembership('fern', 'directory:group/a');
    // The process died right after the modify-DN: the group still names the old DN (no refint overlay here).
    await asAdmin((client) => client.modifyDN(`uid=fern,${run.people}`, 'uid=fern.new'));
    assert.deepEqual((await connector.readAccount('fern.new'))?.entitlements, [], 'the group names the old DN');
    await connector.renameAccount!('fern', 'fern.new', 'id-fern');
    assert.deepEqual(await connector.listMembers('directory:group/a'), ['fern.new']);
    const members = await asAdmin(async (client) => {
      const { searchEntries } = await client.search(`cn=a,${run.groups}`, { scope: 'base', attributes: ['member'] });
      return [searchEntries[0]!.member].flat().map((m) => normaliseDn(String(m)));
    });
    assert.ok(!members.includes(normaliseDn(`uid=fern,${run.people}`)), 'the stale DN is gone');
    await assert.rejects(connector.renameAccount!('fern.new', 'x', 'id-other'), isCode('conflict'));
    await assert.rejects(connector.linkAccount!('fern.new', 'id-other'), isCode('conflict'));
    await connector.deleteAccount('fern.new');
  });

  test('password rotation is not supported', async () => {
    assert.equal(connector.capabilities.rotate, false);
    await assert.rejects(connector.rotateCredential('alice'), isCode('invalid_input'));
  });

  test('a wrong bind password is permission_denied', async () => {
    const wrong = createLdapConnector(target(run, { bind_password: 'not-the-password' }), { baseDir: '.' });
    try {
      await assert.rejects(wrong.listAccounts(), isCode('permission_denied', false));
    } finally {
      await wrong.close();
    }
  });

  test('a URL with no server is unreachable and retryable', async () => {
    const stopped = await startSlapd();
    await stopped.stop(); // a port that just had a server and now has none
    const down = createLdapConnector(target(run, { url: stopped.url, bind_password: 'x' }), { baseDir: '.' });
    try {
      await assert.rejects(down.readAccount('alice'), isCode('unreachable', true));
    } finally {
      await down.close();
    }
  });

  test('bad connection settings are invalid_input', () => {
    assert.throws(() => connect(run, { url: 'http://x' }), isCode('invalid_input'));
    assert.throws(() => connect(run, { disable_method: 'hide' }), isCode('invalid_input'));
    assert.throws(() => connect(run, { disabled_base: undefined }), isCode('invalid_input'));
    assert.throws(() => connect(run, { people_base: 'not a dn' }), isCode('invalid_input'));
  });
});

describe('LDAP errors name the result, the server text and the DN', () => {
  let run: Run;
  let connector: Connector;
  const readerDn = () => `cn=reader,${run.base}`;
  before(async () => {
    run = await freshRun();
    connector = connect(run);
    await connector.createAccount({ name: 'dana', identity: 'id-dana', attributes: { sn: 'Test' } });
    // A bind user that can read everything and write nothing (slapd's default ACL: access to * by * read).
    await asAdmin((client) =>
      client.add(readerDn(), { objectClass: ['top', 'person'], cn: 'reader', sn: 'reader', userPassword: 'reader-pw' }),
    );
  });
  after(async () => {
    await connector?.close();
  });

  const failure = async (promise: Promise<unknown>): Promise<ConnectorError> => {
    try {
      await promise;
    } catch (e) {
      assert.ok(e instanceof ConnectorError, `a ConnectorError, got ${String(e)}`);
      return e;
    }
    assert.fail('expected a failure');
  };

  test('listEntitlements: the groupOfNames under groups_base, and nothing else there', async () => {
    await asAdmin((client) =>
      client.add(`ou=notagroup,${run.groups}`, { objectClass: ['top', 'organizationalUnit'], ou: 'notagroup' }),
    );
    assert.deepEqual(await connector.listEntitlements?.(), ['directory:group/a', 'directory:group/b']);
    assert.equal(connector.locateEntitlement?.('directory:group/x'), `groupOfNames cn=x,${run.groups}`);
    assert.equal(connector.locateEntitlement?.('directory:role/x'), undefined);
  });

  test('a group that does not exist: noSuchObject on its DN, with a hint about groups_base and the name', async () => {
    const e = await failure(connector.addMembership('dana', 'directory:group/nope'));
    assert.equal(e.code, 'not_found');
    assert.match(
      e.message,
      /cannot find group directory:group\/nope: noSuchObject \(LDAP result 32\) on cn=nope,ou=groups,/,
    );
    assert.doesNotMatch(e.message, /Code: 0x/);
    assert.match(e.hint ?? '', /groups_base/);
    assert.match(e.hint ?? '', /entitlement name/);
  });

  test('a groups_base that does not exist: noSuchObject on the base', async () => {
    const wrong = connect(run, { groups_base: `ou=nogroups,${run.base}` });
    try {
      const e = await failure(wrong.listAccounts());
      assert.equal(e.code, 'not_found');
      assert.match(e.message, /cannot list accounts: noSuchObject \(LDAP result 32\) on ou=nogroups,ou=run-/);
    } finally {
      await wrong.close();
    }
  });

  test('a wrong password: invalidCredentials on the bind DN, with a credentials hint', async () => {
    const wrong = createLdapConnector(target(run, { bind_password: 'not-the-password' }), { baseDir: '.' });
    try {
      const e = await failure(wrong.readAccount('dana'));
      assert.equal(e.code, 'permission_denied');
      assert.match(e.message, new RegExp(`invalidCredentials \\(LDAP result 49\\) on ${server.adminDn}`));
      assert.match(e.hint ?? '', /bad credentials: check connection.bind_dn and connection.bind_password/);
    } finally {
      await wrong.close();
    }
  });

  test('a write without rights: insufficientAccessRights on the entry, the server text when sent, a rights hint', async () => {
    const reader = createLdapConnector(target(run, { bind_dn: readerDn(), bind_password: 'reader-pw' }), {
      baseDir: '.',
    });
    try {
      assert.equal((await reader.readAccount('dana'))?.name, 'dana', 'the reader can read');
      const e = await failure(reader.addMembership('dana', 'directory:group/a'));
      assert.equal(e.code, 'permission_denied');
      assert.match(e.message, /insufficientAccessRights \(LDAP result 50\) on cn=a,ou=groups,ou=run-/);
      assert.doesNotMatch(e.message, /server said/, 'slapd sends no text here, and none is made up');
      assert.match(e.hint ?? '', /lacks rights on cn=a,ou=groups/);
      const created = await failure(reader.createAccount({ name: 'erin', identity: 'id-erin', attributes: {} }));
      assert.match(created.message, /insufficientAccessRights \(LDAP result 50\) on uid=erin,ou=people,ou=run-/);
      assert.match(created.message, /server said "no write access to parent"/);
    } finally {
      await reader.close();
    }
  });

  test('a value the schema refuses: the result name, the server text and a schema hint', async () => {
    const e = await failure(
      connector.createAccount({ name: 'zoe', identity: 'id-zoe', attributes: { sn: 'Z', mail: 'zoë@exämple.org' } }),
    );
    assert.equal(e.code, 'invalid_input');
    assert.match(
      e.message,
      /(invalidAttributeSyntax|constraintViolation) \(LDAP result (21|19)\) on uid=zoe,ou=people/,
    );
    assert.match(e.message, /server said ".*mail.*"/);
    assert.match(e.hint ?? '', /schema refused an attribute value/);
  });
});
