import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, Client, InvalidCredentialsError } from 'ldapts';
import { sambaTemplate, startSamba, type SambaServer } from './samba-server.js';

/** 'open' when something accepts TCP connections on host:port, else the error code (ECONNREFUSED). */
function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** AD's password format: the password in double quotes, UTF-16LE. */
function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

function replace(type: string, values: string[] | Buffer[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
}

async function timed<T>(start: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await start();
  return { value, ms: performance.now() - started };
}

describe('startSamba', () => {
  let server: SambaServer;
  let second: SambaServer;
  let admin: Client;
  let ca: Buffer;
  const timings: string[] = [];

  before(async () => {
    const template = await sambaTemplate();
    timings.push(
      template.provisionMs === undefined
        ? `template reused from ${template.dir}`
        : `template provisioned in ${Math.round(template.provisionMs)} ms`,
    );
    const [a, b] = await Promise.all([timed(startSamba), timed(startSamba)]);
    server = a.value;
    second = b.value;
    timings.push(`two instances started at once, ready in ${Math.round(a.ms)} ms and ${Math.round(b.ms)} ms`);
    admin = new Client({ url: server.url });
    await admin.bind(server.adminDn, server.adminPassword);
    ca = readFileSync(server.caFile);
  });

  after(async () => {
    await admin?.unbind();
    await Promise.all([server?.stop(), second?.stop()]);
  });

  test('an AD domain controller for CORP.EXAMPLE.TEST on a loopback address of its own', async (t) => {
    // How long things took is reported, not asserted: a loaded machine is slower, not wrong.
    for (const line of timings) t.diagnostic(line);
    assert.match(server.host, /^127\.0\.0\.\d{1,3}$/);
    assert.equal(server.url, `ldap://${server.host}`);
    assert.equal(server.ldapsUrl, `ldaps://${server.host}`);
    assert.equal(server.baseDn, 'DC=corp,DC=example,DC=test');
    assert.equal(server.adminDn, 'CN=Administrator,CN=Users,DC=corp,DC=example,DC=test');
    assert.equal(server.realm, 'CORP.EXAMPLE.TEST');
    assert.equal(server.upnSuffix, 'corp.example.test');
    const { searchEntries } = await admin.search('', {
      scope: 'base',
      attributes: ['defaultNamingContext', 'supportedCapabilities', 'dnsHostName'],
    });
    const root = searchEntries[0]!;
    assert.equal(root.defaultNamingContext, server.baseDn);
    assert.equal(root.dnsHostName, 'dc1.corp.example.test');
    // LDAP_CAP_ACTIVE_DIRECTORY_OID: what clients look for to know they talk to AD.
    assert.ok((root.supportedCapabilities as string[]).includes('1.2.840.113556.1.4.800'));
    const conf = readFileSync(join(server.dir, 'etc', 'smb.conf'), 'utf8');
    assert.match(conf, /^\s*server services = ldap$/m);
    assert.doesNotMatch(conf, /tenure-samba-template/, 'the copy names no path of the template');
  });

  test('the admin can bind; a wrong password cannot', async () => {
    const wrong = new Client({ url: server.url });
    await assert.rejects(wrong.bind(server.adminDn, 'wrong'), InvalidCredentialsError);
    await wrong.unbind();
  });

  test('the OUs Staff, Groups and Disabled exist', async () => {
    const { searchEntries } = await admin.search(server.baseDn, {
      scope: 'one',
      filter: '(objectClass=organizationalUnit)',
      attributes: ['ou'],
    });
    const dns = searchEntries.map((e) => e.dn).sort();
    assert.deepEqual(
      dns,
      [
        server.ous.disabled,
        'OU=Domain Controllers,DC=corp,DC=example,DC=test',
        server.ous.groups,
        server.ous.staff,
      ].sort(),
    );
  });

  test('objectGUID reads as 16 bytes with explicitBufferAttributes', async () => {
    const { searchEntries } = await admin.search(server.adminDn, {
      scope: 'base',
      attributes: ['objectGUID'],
      explicitBufferAttributes: ['objectGUID'],
    });
    const guid = searchEntries[0]!.objectGUID;
    assert.ok(Buffer.isBuffer(guid));
    assert.equal(guid.length, 16);
  });

  test('a user and a group with the user as member; a password set over ldaps lets the user bind', async () => {
    const userDn = `CN=Ana Lima,${server.ous.staff}`;
    const groupDn = `CN=Engineers,${server.ous.groups}`;
    const upn = `alima@${server.upnSuffix}`;
    await admin.add(userDn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: 'alima',
      userPrincipalName: upn,
      givenName: 'Ana',
      sn: 'Lima',
    });
    await admin.add(groupDn, { objectClass: ['top', 'group'], sAMAccountName: 'engineers', member: userDn });

    const user = (
      await admin.search(userDn, {
        scope: 'base',
        attributes: ['sAMAccountName', 'userPrincipalName', 'userAccountControl', 'objectGUID', 'memberOf'],
        explicitBufferAttributes: ['objectGUID'],
      })
    ).searchEntries[0]!;
    assert.equal(user.sAMAccountName, 'alima');
    assert.equal(user.userPrincipalName, upn);
    // 546 = ACCOUNTDISABLE (2) | PASSWD_NOTREQD (32) | NORMAL_ACCOUNT (512): AD's default without a password.
    assert.equal(user.userAccountControl, '546');
    assert.equal((user.objectGUID as Buffer).length, 16);
    // memberOf is computed by the server from the group's member.
    assert.equal(user.memberOf, groupDn);
    const group = (await admin.search(groupDn, { scope: 'base', attributes: ['member', 'groupType'] }))
      .searchEntries[0]!;
    assert.equal(group.member, userDn);
    assert.equal(group.groupType, '-2147483646'); // a global security group, the default

    const password = 'Zx9!tenure-Test';
    const secure = new Client({ url: server.ldapsUrl, tlsOptions: { ca: [ca] } });
    try {
      await secure.bind(server.adminDn, server.adminPassword);
      await secure.modify(userDn, replace('unicodePwd', [unicodePwd(password)]));
      // A disabled account cannot bind even with the right password (AD's "data 533").
      const disabled = new Client({ url: server.url });
      await assert.rejects(disabled.bind(userDn, password), /data 533/);
      await disabled.unbind();
      await secure.modify(userDn, replace('userAccountControl', ['512']));
    } finally {
      await secure.unbind();
    }
    for (const name of [userDn, upn]) {
      const asUser = new Client({ url: server.url });
      await asUser.bind(name, password);
      await asUser.unbind();
    }
    const wrong = new Client({ url: server.url });
    await assert.rejects(wrong.bind(userDn, 'not-the-password'), InvalidCredentialsError);
    await wrong.unbind();
  });

  test('the password policy refuses a short password', async () => {
    const dn = `CN=Short Pw,${server.ous.staff}`;
    await admin.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: 'shortpw' });
    const secure = new Client({ url: server.ldapsUrl, tlsOptions: { ca: [ca] } });
    try {
      await secure.bind(server.adminDn, server.adminPassword);
      await assert.rejects(secure.modify(dn, replace('unicodePwd', [unicodePwd('abc')])), /too short/);
    } finally {
      await secure.unbind();
    }
  });

  test('unlike Windows, this DC accepts unicodePwd over plain ldap://, so only the client can refuse it', async () => {
    // Windows answers unwillingToPerform; Samba with `ldap server require strong auth = no` stores it. A test that
    // a connector never sends a password in clear must check what the connector sends, not rely on this server.
    const dn = `CN=Clear Pw,${server.ous.staff}`;
    await admin.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: 'clearpw' });
    await admin.modify(dn, replace('unicodePwd', [unicodePwd('Zx9!clear-Text')]));
    await admin.modify(dn, replace('userAccountControl', ['512']));
    const asUser = new Client({ url: server.url });
    await asUser.bind(dn, 'Zx9!clear-Text');
    await asUser.unbind();
  });

  test('ldaps:// checks the certificate: its CA, and a name it was issued for', async () => {
    const good = new Client({ url: server.ldapsUrl, tlsOptions: { ca: [ca] } });
    await good.bind(server.adminDn, server.adminPassword);
    await good.unbind();
    // A name not in the certificate (it names 127.0.0.N, 127.0.0.1 and localhost).
    const wrongName = new Client({ url: server.ldapsUrl, tlsOptions: { ca: [ca], servername: 'dc.wrong.test' } });
    await assert.rejects(wrongName.bind(server.adminDn, server.adminPassword), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    await wrongName.unbind().catch(() => undefined);
    // Without our CA, nothing vouches for the certificate.
    const noCa = new Client({ url: server.ldapsUrl });
    await assert.rejects(noCa.bind(server.adminDn, server.adminPassword), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await noCa.unbind().catch(() => undefined);
    // Each instance has its own CA: the other's does not vouch for this one.
    const otherCa = new Client({ url: server.ldapsUrl, tlsOptions: { ca: [readFileSync(second.caFile)] } });
    await assert.rejects(otherCa.bind(server.adminDn, server.adminPassword), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    await otherCa.unbind().catch(() => undefined);
  });

  test('two instances run at once on different addresses, each with its own directory', async () => {
    assert.notEqual(second.host, server.host);
    assert.notEqual(second.dir, server.dir);
    const client = new Client({ url: second.url });
    await client.bind(second.adminDn, second.adminPassword);
    try {
      // What the other test added to the first instance is not here.
      const { searchEntries } = await client.search(second.ous.staff, { scope: 'one', attributes: ['cn'] });
      assert.deepEqual(searchEntries, []);
    } finally {
      await client.unbind();
    }
  });

  test('stop() ends the process, frees the address and removes the folder; a second stop() is harmless', async () => {
    assert.equal(await probe(second.host, 389), 'open');
    await second.stop();
    assert.throws(() => process.kill(second.pid, 0), { code: 'ESRCH' });
    assert.equal(await probe(second.host, 389), 'ECONNREFUSED');
    assert.equal(existsSync(second.dir), false);
    await second.stop();
  });
});
