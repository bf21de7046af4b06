import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, InvalidCredentialsError } from 'ldapts';
import { startSlapd, type SlapdServer } from './slapd-server.js';

/** 'open' when something accepts TCP connections on 127.0.0.1:port, else the error code (ECONNREFUSED). */
function probePort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('startSlapd', () => {
  let server: SlapdServer;
  let startMs = 0;

  before(async () => {
    const started = performance.now();
    server = await startSlapd();
    startMs = performance.now() - started;
  });

  after(async () => {
    await server?.stop();
  });

  test('runs on a loopback port from a generated slapd.conf in its temporary folder', (t) => {
    // How long a start took is reported, not asserted: a loaded machine is slower, not wrong.
    t.diagnostic(`start took ${Math.round(startMs)} ms`);
    assert.equal(server.url, `ldap://127.0.0.1:${server.port}`);
    assert.equal(server.baseDn, 'dc=example,dc=test');
    assert.equal(server.adminDn, 'cn=admin,dc=example,dc=test');
    const conf = readFileSync(join(server.dir, 'slapd.conf'), 'utf8');
    assert.match(conf, /^database mdb$/m);
    assert.match(conf, /^suffix "dc=example,dc=test"$/m);
    assert.ok(existsSync(join(server.dir, 'data.mdb')), 'the mdb database lives in the folder');
  });

  test('the admin can bind; a wrong password cannot', async () => {
    const client = new Client({ url: server.url });
    await client.bind(server.adminDn, server.adminPassword);
    await client.unbind();
    const wrong = new Client({ url: server.url });
    await assert.rejects(wrong.bind(server.adminDn, 'wrong'), InvalidCredentialsError);
    await wrong.unbind();
  });

  test('the base entries exist', async () => {
    const client = new Client({ url: server.url });
    await client.bind(server.adminDn, server.adminPassword);
    try {
      const { searchEntries } = await client.search(server.baseDn, {
        scope: 'sub',
        attributes: ['objectClass'],
      });
      const dns = searchEntries.map((e) => e.dn.toLowerCase()).sort();
      assert.deepEqual(dns, [
        'dc=example,dc=test',
        'ou=disabled,dc=example,dc=test',
        'ou=groups,dc=example,dc=test',
        'ou=people,dc=example,dc=test',
      ]);
      const root = searchEntries.find((e) => e.dn.toLowerCase() === 'dc=example,dc=test')!;
      assert.ok(
        (root.objectClass as string[]).includes('dcObject') && (root.objectClass as string[]).includes('organization'),
      );
    } finally {
      await client.unbind();
    }
  });

  test('paged searches work (RFC 2696)', async () => {
    const client = new Client({ url: server.url });
    await client.bind(server.adminDn, server.adminPassword);
    try {
      const pages: number[] = [];
      for await (const page of client.searchPaginated(server.baseDn, { scope: 'sub', paged: { pageSize: 1 } })) {
        pages.push(page.searchEntries.length);
      }
      assert.deepEqual(pages, [1, 1, 1, 1]);
    } finally {
      await client.unbind();
    }
  });

  test('stop() frees the port and removes the folder; a second stop() is harmless', async () => {
    const other = await startSlapd();
    assert.notEqual(other.port, server.port);
    assert.equal(await probePort(other.port), 'open');
    await other.stop();
    assert.equal(await probePort(other.port), 'ECONNREFUSED');
    assert.equal(existsSync(other.dir), false);
    await other.stop();
  });
});
