import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectorError, type Connector } from '../../src/connectors/connector.js';
import { createLdapConnector } from '../../src/connectors/ldap/ldap-connector.js';
import type { TargetDefinition } from '../../src/model/policy.js';
import { startSlapd, type SlapdServer } from '../support/slapd-server.js';

/** A throwaway authority and a server certificate for 127.0.0.1 that it signed, made with the openssl command. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Tenure test CA',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  // One more, signed by the same authority, that names another host only.
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other.csr',
    '-subj',
    '/CN=ldap.invalid',
  );
  writeFileSync(join(dir, 'other.ext'), 'subjectAltName = DNS:ldap.invalid\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'other.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'other.pem',
    '-days',
    '2',
    '-extfile',
    'other.ext',
  );
  // An authority of its own that signed nothing the servers show: trusting it alone is trusting the wrong one.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'wrong-ca.key',
    '-out',
    'wrong-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Another CA',
  );
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

describe('LDAP over StartTLS and ldaps:// against slapd', () => {
  let dir: string;
  let tlsServer: SlapdServer;
  let plainServer: SlapdServer;
  let otherNameServer: SlapdServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenure-ldap-tls-'));
    const files = makeCertificates(dir);
    tlsServer = await startSlapd({ tls: { certFile: files.cert, keyFile: files.key }, ldaps: true });
    plainServer = await startSlapd();
    otherNameServer = await startSlapd({
      tls: { certFile: join(dir, 'other.pem'), keyFile: join(dir, 'other.key') },
      ldaps: true,
    });
  });
  after(async () => {
    await tlsServer?.stop();
    await plainServer?.stop();
    await otherNameServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function connect(server: SlapdServer, connection: Record<string, unknown>): Connector {
    const target: TargetDefinition = {
      id: 'directory',
      kind: 'ldap',
      description: '',
      accountName: 'identity.id',
      attributes: {},
      position: { file: 'tenure.yaml' },
      connection: {
        url: server.url,
        bind_dn: server.adminDn,
        bind_password: { env: 'P' },
        people_base: `ou=people,${server.baseDn}`,
        groups_base: `ou=groups,${server.baseDn}`,
        disabled_base: `ou=disabled,${server.baseDn}`,
        ...connection,
      },
    };
    // ca_file is relative to the policy folder, not the working directory.
    return createLdapConnector(target, { baseDir: dir, env: { P: server.adminPassword } });
  }

  const failure = async (promise: Promise<unknown>): Promise<ConnectorError> => {
    try {
      await promise;
    } catch (e) {
      assert.ok(e instanceof ConnectorError, `a ConnectorError, got ${String(e)}`);
      return e;
    }
    assert.fail('expected a failure');
  };

  test('with the authority in ca_file: connects, binds and works', async () => {
    const c = connect(tlsServer, { start_tls: true, ca_file: 'ca.pem' });
    try {
      await c.createAccount({ name: 'tls-user', identity: 'id-tls', attributes: { sn: 'T' } });
      assert.equal((await c.readAccount('tls-user'))?.identity, 'id-tls');
    } finally {
      await c.close();
    }
  });

  test("without it, the server's certificate is refused, not retried, and nothing is bound", async () => {
    const c = connect(tlsServer, { start_tls: true });
    try {
      const e = await failure(c.listAccounts());
      assert.equal(e.code, 'invalid_input', e.message);
      assert.equal(e.retryable, false);
      assert.match(
        e.message,
        /cannot list accounts: the directory's TLS certificate was refused: .*\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/,
      );
      assert.match(e.hint ?? '', /connection.ca_file/);
    } finally {
      await c.close();
    }
  });

  test("a certificate from the trusted authority that does not name the URL's host is refused", async () => {
    const c = connect(otherNameServer, { start_tls: true, ca_file: 'ca.pem' });
    try {
      const e = await failure(c.listAccounts());
      assert.equal(e.code, 'invalid_input', e.message);
      assert.match(e.message, /TLS certificate was refused: .*\(ERR_TLS_CERT_ALTNAME_INVALID\)/);
      assert.match(e.hint ?? '', /does not name the URL's host/);
    } finally {
      await c.close();
    }
  });

  test('a directory that does not offer StartTLS: a clear refusal', async () => {
    const c = connect(plainServer, { start_tls: true });
    try {
      const e = await failure(c.listAccounts());
      assert.equal(e.code, 'invalid_input');
      assert.match(e.message, /cannot start TLS: /);
      assert.match(e.hint ?? '', /refused StartTLS/);
    } finally {
      await c.close();
    }
  });

  test('ldaps:// with the authority in ca_file: connects, binds and works', async () => {
    const c = connect(tlsServer, { url: tlsServer.ldapsUrl, ca_file: 'ca.pem' });
    try {
      await c.createAccount({ name: 'ldaps-user', identity: 'id-ldaps', attributes: { sn: 'T' } });
      assert.equal((await c.readAccount('ldaps-user'))?.identity, 'id-ldaps');
      assert.ok((await c.listAccounts()).some((a) => a.name === 'ldaps-user'));
    } finally {
      await c.close();
    }
  });

  test('ldaps:// trusting another authority: refused as a certificate problem, not retried', async () => {
    const c = connect(tlsServer, { url: tlsServer.ldapsUrl, ca_file: 'wrong-ca.pem' });
    try {
      const e = await failure(c.listAccounts());
      assert.equal(e.code, 'invalid_input', e.message);
      assert.equal(e.retryable, false);
      assert.match(
        e.message,
        /cannot list accounts: the directory's TLS certificate was refused: .*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)/,
      );
      assert.ok(e.message.includes(tlsServer.ldapsUrl!), 'the message names the URL');
      assert.match(e.hint ?? '', /connection.ca_file/);
    } finally {
      await c.close();
    }
  });

  test("ldaps:// without ca_file: Node's authorities do not know the test one", async () => {
    const c = connect(tlsServer, { url: tlsServer.ldapsUrl });
    try {
      const e = await failure(c.readAccount('ldaps-user'));
      assert.equal(e.code, 'invalid_input', e.message);
      assert.match(e.message, /TLS certificate was refused/);
    } finally {
      await c.close();
    }
  });

  test('ldaps:// to a certificate of the trusted authority for another name: refused, saying it is the name', async () => {
    const c = connect(otherNameServer, { url: otherNameServer.ldapsUrl, ca_file: 'ca.pem' });
    try {
      const e = await failure(c.listAccounts());
      assert.equal(e.code, 'invalid_input', e.message);
      assert.equal(e.retryable, false);
      assert.match(e.message, /TLS certificate was refused: .*\(ERR_TLS_CERT_ALTNAME_INVALID\)/);
      assert.match(e.hint ?? '', /does not name the URL's host/);
    } finally {
      await c.close();
    }
  });
});
