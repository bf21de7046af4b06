import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { ConnectorError, type Connector } from '../../src/connectors/connector.js';
import {
  createPostgresConnector,
  quoteIdent,
  quoteLiteral,
  scramVerifier,
} from '../../src/connectors/postgres/postgres-connector.js';
import { createDatabase, type PostgresServer } from '../support/postgres-server.js';
import { HOSTILE_NAMES } from './connector-contract.js';
import {
  connectionOf,
  definition,
  dropTestState,
  loginAs,
  postgres,
  roleExists,
  RUN,
  stop,
  TARGET,
  unique,
} from './fixtures/postgres.js';

// The shared PostgreSQL world of the fixtures; this file uses it too and stops it when done.
let server: PostgresServer;
let admin: pg.Client;
let dir: string;
let passwordAuth = false;

before(async () => {
  ({ server, admin, dir, passwordAuth } = await postgres());
});
after(stop);

const isCode = (code: string) => (e: unknown) => e instanceof ConnectorError && e.code === code;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL specifics

interface Fresh {
  readonly url: string;
  readonly connector: Connector;
  readonly group: string;
  readonly entitlement: string;
}

describe('PostgreSQL connector', () => {
  const databases: string[] = [];
  const roles: string[] = [];
  const connectors: Connector[] = [];

  async function fresh(connection: Record<string, unknown> = {}, url?: string): Promise<Fresh> {
    const dbUrl = url ?? (await createDatabase(server));
    if (url === undefined) databases.push(connectionOf(dbUrl).database);
    const group = unique('grp');
    await admin.query(`CREATE ROLE ${quoteIdent(group)} NOLOGIN`);
    roles.push(group);
    const connector = createPostgresConnector(definition({ url: dbUrl, ...connection }), { baseDir: dir, env: {} });
    connectors.push(connector);
    return { url: dbUrl, connector, group, entitlement: `${TARGET}:role/${group}` };
  }
  const spec = (name: string, label = name) => ({
    name,
    identity: `${RUN}-${label}`,
    attributes: { displayName: `Display ${label}`, mail: 'a@example.com', sn: 'ignored' },
  });

  after(async () => {
    for (const c of connectors) await c.close();
    await dropTestState({ databases, identity: (i) => i.startsWith(`${RUN}-`), roles });
  });

  it('quotes identifiers and literals so the server reads back exactly the input', async () => {
    const values = [
      ...HOSTILE_NAMES,
      "'); DROP ROLE x;--",
      '\\',
      "\\'",
      'Zoë\\n\\x41',
      '"',
      '$$ $tag$',
      'ü'.repeat(31),
    ];
    for (const conforming of ['on', 'off']) {
      await admin.query(`SET standard_conforming_strings = ${conforming}`);
      try {
        for (const v of values) {
          const r = await admin.query<{ v: string }>(`SELECT ${quoteLiteral(v)} AS v`);
          assert.equal(r.rows[0]!.v, v, `literal ${JSON.stringify(v)} with standard_conforming_strings=${conforming}`);
          const f = await admin.query(`SELECT 1 AS ${quoteIdent(v)}`);
          assert.equal(f.fields[0]!.name, v, `identifier ${JSON.stringify(v)}`);
        }
      } finally {
        await admin.query('RESET standard_conforming_strings');
      }
    }
  });

  it('never executes SQL hidden in a name, an identity or an attribute', async () => {
    if (!(await roleExists('x'))) await admin.query('CREATE ROLE x NOLOGIN');
    const sinkFile = `sink-${RUN}-hostile`;
    const { connector, entitlement } = await fresh({ secret_sink: { file: sinkFile } });
    const name = 'Robert"); DROP ROLE x;--';
    const identity = `${RUN}-'); DROP ROLE x;--\\`;
    await connector.createAccount({ name, identity, attributes: { displayName: "x'); DROP ROLE x;--\\" } });
    await connector.updateAccount(name, { displayName: "\\'); DROP ROLE x;--", mail: '"); DROP ROLE x;--' });
    await connector.addMembership(name, entitlement);
    await connector.disableAccount(name);
    await connector.enableAccount(name);
    await connector.rotateCredential(name);
    await assert.rejects(connector.addMembership(name, `${TARGET}:role/${name}x`), isCode('not_found'));
    const read = await connector.readAccount(name);
    assert.deepEqual(read, {
      id: name,
      name,
      identity,
      enabled: true,
      entitlements: [entitlement],
      attributes: { displayName: "\\'); DROP ROLE x;--", mail: '"); DROP ROLE x;--' },
    });
    assert.ok(await roleExists('x'), 'role x survived');
    await connector.deleteAccount(name);
    assert.ok(await roleExists('x'), 'role x survived the delete');
    assert.equal(await roleExists(name), false);
  });

  it('keeps displayName and mail in the role comment, next to the identity link', async () => {
    const { connector } = await fresh();
    const name = unique('attrs');
    await connector.createAccount(spec(name));
    await connector.updateAccount(name, { displayName: 'Ana Lima-Souza' });
    const r = await admin.query<{ d: string }>(
      "SELECT shobj_description(oid, 'pg_authid') AS d FROM pg_roles WHERE rolname = $1",
      [name],
    );
    assert.deepEqual(JSON.parse(r.rows[0]!.d), {
      tenure: { identity: `${RUN}-${name}`, displayName: 'Ana Lima-Souza', mail: 'a@example.com' },
    });
  });

  it('refuses names PostgreSQL would truncate, instead of letting two collide', async () => {
    const { connector, entitlement } = await fresh();
    const stem = unique('long');
    const exact = stem + 'a'.repeat(63 - stem.length);
    await connector.createAccount(spec(exact, 'long63'));
    assert.equal((await connector.readAccount(exact))?.name, exact);
    await assert.rejects(connector.createAccount(spec(`${exact}b`, 'long64')), isCode('invalid_input'));
    await assert.rejects(connector.createAccount(spec(`${stem}${'ü'.repeat(32)}`)), isCode('invalid_input'));
    await assert.rejects(connector.addMembership(exact, `${entitlement}${'z'.repeat(64)}`), isCode('invalid_input'));
    assert.equal(await connector.readAccount(`${exact}b`), undefined);
  });

  it("never lists or changes the server's own roles", async () => {
    const { connector, entitlement } = await fresh();
    const names = (await connector.listAccounts()).map((a) => a.name);
    assert.ok(!names.includes('postgres'));
    assert.equal(await connector.readAccount('postgres'), undefined);
    await assert.rejects(connector.createAccount(spec('postgres')), isCode('already_exists'));
    await assert.rejects(connector.disableAccount('postgres'), isCode('conflict'));
    await assert.rejects(connector.deleteAccount('postgres'), isCode('conflict'));
    await assert.rejects(connector.addMembership('postgres', entitlement), isCode('conflict'));
    const r = await admin.query<{ rolcanlogin: boolean }>("SELECT rolcanlogin FROM pg_roles WHERE rolname='postgres'");
    assert.equal(r.rows[0]!.rolcanlogin, true);
    assert.deepEqual(await connector.listMembers(entitlement), []);
  });

  it('says not_found when granting a group role that does not exist', async () => {
    const { connector } = await fresh();
    const name = unique('nogroup');
    await connector.createAccount(spec(name));
    await assert.rejects(connector.addMembership(name, `${TARGET}:role/${unique('missing')}`), isCode('not_found'));
    await assert.rejects(connector.listMembers(`${TARGET}:role/${unique('missing')}`), isCode('not_found'));
    await assert.rejects(connector.addMembership(name, `${TARGET}:group/x`), isCode('invalid_input'));
  });

  it('rotates a password into a 0600 sink file, and the new password logs in', async (t: TestContext) => {
    const sinkFile = `secrets-${RUN}.tsv`;
    const { url, connector } = await fresh({ secret_sink: { file: sinkFile } });
    const name = unique('rot');
    await connector.createAccount(spec(name));
    await connector.rotateCredential(name);
    const path = join(dir, sinkFile);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const first = (await readFile(path, 'utf8')).trimEnd().split('\n');
    assert.equal(first.length, 1);
    const [role, password] = first[0]!.split('\t');
    assert.equal(role, name);
    assert.match(password!, /^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    const r = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      name,
    ]);
    assert.match(r.rows[0]!.rolpassword, /^SCRAM-SHA-256\$4096:/);

    await connector.rotateCredential(name);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2);
    const second = lines[1]!.split('\t')[1]!;
    assert.notEqual(second, password);
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    if (!passwordAuth) return t.skip('the server does not ask for passwords (external server)');
    const client = await loginAs(url, name, second);
    try {
      assert.equal((await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u, name);
    } finally {
      await client.end();
    }
    await assert.rejects(loginAs(url, name, password!), { code: '28P01' });
  });

  it('refuses to rotate without a secret sink, and says it cannot, so plans do not ask', async () => {
    const { connector } = await fresh();
    assert.equal(connector.capabilities.rotate, false);
    const name = unique('nosink');
    await connector.createAccount(spec(name));
    await assert.rejects(connector.rotateCredential(name), isCode('invalid_input'));
    const sinkFile = `sink-${RUN}-cap`;
    assert.equal((await fresh({ secret_sink: { file: sinkFile } })).connector.capabilities.rotate, true);
  });

  it('takes connection.password over a password in the url', () => {
    const url = 'postgres://tenure:wrong@127.0.0.1:5/db';
    const c = createPostgresConnector(definition({ url, password: { env: 'PG_TEST_PASSWORD' } }), {
      baseDir: '.',
      env: { PG_TEST_PASSWORD: 'p@ss:word/1' },
    });
    const options = (c as unknown as { pool: { options: { connectionString: string } } }).pool.options;
    assert.equal(new URL(options.connectionString).password, encodeURIComponent('p@ss:word/1'));
    void c.close();
  });

  it('passes sslmode and sslrootcert to the driver, reading the CA from the policy folder', async () => {
    const policyDir = join(dir, `policy-${RUN}`);
    await mkdir(join(policyDir, 'certs'), { recursive: true });
    await writeFile(join(policyDir, 'certs', 'ca.pem'), 'THE CA');
    assert.notEqual(process.cwd(), policyDir);
    const ssl = (connection: Record<string, unknown>) => {
      const c = createPostgresConnector(definition({ host: '127.0.0.1', ...connection }), { baseDir: policyDir });
      const options = (c as unknown as { pool: { options: { ssl?: unknown } } }).pool.options;
      void c.close();
      return options.ssl as { ca?: string; rejectUnauthorized?: boolean; checkServerIdentity?: unknown } | boolean;
    };
    assert.equal(ssl({}), undefined);
    assert.equal(ssl({ sslmode: 'disable' }), false);
    assert.deepEqual(ssl({ sslmode: 'require' }), { rejectUnauthorized: false });
    const full = ssl({ sslrootcert: 'certs/ca.pem' }); // verify-full by default
    assert.deepEqual(full, { ca: 'THE CA' });
    assert.deepEqual(ssl({ sslmode: 'verify-full', sslrootcert: join(policyDir, 'certs', 'ca.pem') }), {
      ca: 'THE CA',
    });
    for (const sslmode of ['verify-ca', 'require']) {
      const caOnly = ssl({ sslmode, sslrootcert: 'certs/ca.pem' });
      assert.ok(
        typeof caOnly === 'object' && caOnly.ca === 'THE CA' && typeof caOnly.checkServerIdentity === 'function',
      );
      assert.equal(caOnly.rejectUnauthorized, undefined, sslmode); // verified against the CA
    }
    const missing = createPostgresConnector(definition({ url: server.url, sslrootcert: 'certs/none.pem' }), {
      baseDir: policyDir,
    });
    connectors.push(missing);
    await assert.rejects(
      missing.listAccounts(),
      (e) =>
        isCode('invalid_input')(e) &&
        (e as Error).message.includes(join(policyDir, 'certs', 'none.pem')) &&
        /ENOENT/.test((e as Error).message),
    );
  });

  it('connects over TLS with sslmode and a CA from the policy folder, and refuses a server it cannot trust', async (t) => {
    if (server.dataDir === '') return t.skip('an external server: its TLS cannot be set up here');
    const openssl = (args: string[], cwd: string) => {
      const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
      if (r.error !== undefined || r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
    };
    if (spawnSync('openssl', ['version']).status !== 0) return t.skip('openssl is not installed');
    const policyDir = join(dir, `tls-${RUN}`);
    await mkdir(join(policyDir, 'certs'), { recursive: true });
    const certs = join(policyDir, 'certs');
    for (const ca of ['ca', 'other-ca']) {
      openssl(
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${ca}.key`,
          '-out',
          `${ca}.pem`,
          '-days',
          '2',
          '-subj',
          `/CN=Tenure test ${ca}`,
        ],
        certs,
      );
    }
    await writeFile(join(certs, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'],
      certs,
    );
    openssl(
      [
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
        'server.crt',
        '-days',
        '2',
        '-extfile',
        'san.ext',
      ],
      certs,
    );
    // The server reads its certificate and key from its own folder, owned by the user it runs as.
    const owner = await stat(server.dataDir);
    for (const file of ['server.crt', 'server.key']) {
      const to = join(server.dataDir, `tenure-test-${file}`);
      await writeFile(to, await readFile(join(certs, file)), { mode: 0o600 });
      if (process.getuid?.() === 0) await chown(to, owner.uid, owner.gid);
    }
    await admin.query(
      `ALTER SYSTEM SET ssl_cert_file = ${quoteLiteral(join(server.dataDir, 'tenure-test-server.crt'))}`,
    );
    await admin.query(
      `ALTER SYSTEM SET ssl_key_file = ${quoteLiteral(join(server.dataDir, 'tenure-test-server.key'))}`,
    );
    await admin.query('ALTER SYSTEM SET ssl = on');
    await admin.query('SELECT pg_reload_conf()');
    const { host, port } = connectionOf(server.url);
    // The reload is asynchronous: wait (bounded) until the server speaks TLS.
    for (let tries = 0; ; tries++) {
      const probe = new pg.Client({
        host,
        port,
        user: 'postgres',
        database: 'postgres',
        ssl: { rejectUnauthorized: false },
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.end();
        break;
      } catch (e) {
        await probe.end().catch(() => undefined);
        if (tries > 300) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const open = (connection: Record<string, unknown>) => {
      const c = createPostgresConnector(
        definition({ host, port, database: 'postgres', user: 'postgres', ...connection }),
        {
          baseDir: policyDir,
        },
      );
      connectors.push(c);
      return c;
    };
    const tlsSessions = async () =>
      (
        await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE s.ssl AND a.application_name = 'tenure'`,
        )
      ).rows[0]!.n;
    const before = await tlsSessions();
    const trusted = open({ sslmode: 'verify-full', sslrootcert: 'certs/ca.pem' });
    assert.ok(Array.isArray(await trusted.listAccounts()));
    assert.ok((await tlsSessions()) > before, 'the connection is encrypted');
    assert.ok(Array.isArray(await open({ sslrootcert: 'certs/ca.pem', sslmode: 'verify-ca' }).listAccounts()));
    assert.ok(Array.isArray(await open({ sslmode: 'require' }).listAccounts()));
    const untrusted = (e: unknown) =>
      isCode('permission_denied')(e) &&
      !(e as ConnectorError).retryable &&
      /not trusted/.test((e as ConnectorError).hint ?? '');
    await assert.rejects(open({ sslmode: 'verify-full' }).listAccounts(), untrusted); // Node's CAs do not know ours
    await assert.rejects(open({ sslmode: 'verify-ca', sslrootcert: 'certs/other-ca.pem' }).listAccounts(), untrusted);
  });

  it('computes SCRAM verifiers as PostgreSQL does', () => {
    // RFC 7677's example: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const v = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    assert.equal(
      v,
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
    );
  });

  it('disables an account, ending its open sessions when terminate_sessions_on_disable is set', async (t) => {
    if (!passwordAuth) return t.skip('the server does not ask for passwords (external server)');
    const sinkFile = `term-${RUN}.tsv`;
    const keep = await fresh({ secret_sink: { file: sinkFile } });
    const end = await fresh({ secret_sink: { file: sinkFile }, terminate_sessions_on_disable: true }, keep.url);
    const names = [unique('keep'), unique('term')] as const;
    for (const n of names) {
      await keep.connector.createAccount(spec(n));
      await keep.connector.rotateCredential(n);
    }
    const passwords = new Map(
      (await readFile(join(dir, sinkFile), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t') as [string, string]),
    );
    const kept = await loginAs(keep.url, names[0], passwords.get(names[0])!);
    const ended = await loginAs(keep.url, names[1], passwords.get(names[1])!);
    try {
      await keep.connector.disableAccount(names[0]);
      await end.connector.disableAccount(names[1]);
      await kept.query('SELECT 1'); // without the option an open session goes on
      await assert.rejects(ended.query('SELECT 1'));
      await assert.rejects(loginAs(keep.url, names[0], passwords.get(names[0])!), { code: '28000' });
      assert.equal((await keep.connector.readAccount(names[1]))?.enabled, false);
    } finally {
      await kept.end();
      await ended.end().catch(() => undefined);
    }
  });

  /** A CREATEROLE-only login role for Tenure to connect as (no superuser, no pg_signal_backend), and its target. */
  async function tenureRole(label: string, connection: Record<string, unknown> = {}) {
    const user = unique(label);
    const password = randomBytes(12).toString('hex');
    await admin.query(`CREATE ROLE ${quoteIdent(user)} LOGIN CREATEROLE PASSWORD ${quoteLiteral(password)}`);
    roles.push(user);
    const url = await createDatabase(server);
    databases.push(connectionOf(url).database);
    const { host, port, database } = connectionOf(url);
    const connector = createPostgresConnector(
      definition({ host, port, database, user, password: { env: 'PG_TENURE_PASSWORD' }, ...connection }),
      { baseDir: dir, env: { PG_TENURE_PASSWORD: password } },
    );
    connectors.push(connector);
    return { user, password, url, connector };
  }

  /** Gives the role an MD5 password, as servers before PostgreSQL 14 stored them by default. */
  async function md5Password(name: string): Promise<void> {
    const hash = `md5${createHash('md5').update(`old-secret${name}`).digest('hex')}`;
    await admin.query(`ALTER ROLE ${quoteIdent(name)} PASSWORD ${quoteLiteral(hash)}`);
  }
  async function storedPassword(name: string): Promise<string | null | undefined> {
    const r = await admin.query<{ p: string | null }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [
      name,
    ]);
    return r.rows[0]?.p;
  }

  it('renames a role with an MD5 password: a fresh password goes to the secret sink and logs in', async (t) => {
    const sinkFile = `rename-${RUN}.tsv`;
    const { url, connector, entitlement } = await fresh({ secret_sink: { file: sinkFile } });
    const name = unique('md5');
    const renamed = `${name}_new`;
    await connector.createAccount(spec(name));
    await connector.addMembership(name, entitlement);
    await md5Password(name);
    await connector.renameAccount!(name, renamed, `${RUN}-${name}`);
    assert.match((await storedPassword(renamed)) ?? '', /^SCRAM-SHA-256\$/);
    const lines = (await readFile(join(dir, sinkFile), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 1);
    const [role, password] = lines[0]!.split('\t') as [string, string];
    assert.equal(role, renamed);
    assert.deepEqual(connector.warnings?.(), [], 'nothing to report: the sink has the new password');
    assert.deepEqual((await connector.readAccount(renamed))?.entitlements, [entitlement]);
    if (!passwordAuth) return t.skip('the server does not ask for passwords (external server)');
    const client = await loginAs(url, renamed, password);
    await client.end();
  });

  it('leaves the role as it was when the fresh password cannot reach the sink', async () => {
    const { connector } = await fresh({ secret_sink: { file: `missing-${RUN}/secrets.tsv` } });
    const name = unique('md5sink');
    await connector.createAccount(spec(name));
    await md5Password(name);
    const before = await storedPassword(name);
    await assert.rejects(connector.renameAccount!(name, `${name}_new`, `${RUN}-${name}`), isCode('internal'));
    assert.equal(await roleExists(`${name}_new`), false, 'the rename was undone');
    assert.equal(await storedPassword(name), before, 'the MD5 password is still in force');
    assert.deepEqual(connector.warnings?.(), []);
  });

  it('says when a rename cleared an MD5 password and there is no sink, as superuser and as a CREATEROLE role', async () => {
    const superuser = (await fresh()).connector;
    const createrole = (await tenureRole('renamer')).connector;
    for (const connector of [superuser, createrole]) {
      const name = unique('md5warn');
      const renamed = `${name}_new`;
      await connector.createAccount(spec(name));
      await md5Password(name);
      await connector.renameAccount!(name, renamed, `${RUN}-${name}`);
      assert.equal(await storedPassword(renamed), null, 'PostgreSQL cleared it');
      const warnings = connector.warnings?.() ?? [];
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.equal(warnings[0]!.code, 'connector.md5_cleared');
      assert.equal(warnings[0]!.severity, 'warning');
      assert.equal(warnings[0]!.subject, renamed);
      assert.ok(warnings[0]!.message.includes(JSON.stringify(renamed)), warnings[0]!.message);
      assert.match(warnings[0]!.hint ?? '', /ALTER ROLE .* PASSWORD/);
    }
  });

  it('keeps a SCRAM password through a rename, and reports nothing', async (t) => {
    const sinkFile = `scram-${RUN}.tsv`;
    const { url, connector } = await fresh({ secret_sink: { file: sinkFile } });
    const name = unique('scram');
    const renamed = `${name}_new`;
    await connector.createAccount(spec(name));
    await connector.rotateCredential(name);
    const before = await storedPassword(name);
    await connector.renameAccount!(name, renamed, `${RUN}-${name}`);
    assert.equal(await storedPassword(renamed), before);
    const lines = (await readFile(join(dir, sinkFile), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 1, 'no second password was made');
    assert.deepEqual(connector.warnings?.(), []);
    if (!passwordAuth) return t.skip('the server does not ask for passwords (external server)');
    const client = await loginAs(url, renamed, lines[0]!.split('\t')[1]!);
    await client.end();
  });

  it('never renames or links a role without a Tenure comment', async () => {
    const { connector } = await fresh();
    const name = unique('foreign');
    await admin.query(`CREATE ROLE ${quoteIdent(name)} LOGIN`);
    roles.push(name);
    await assert.rejects(connector.renameAccount!(name, `${name}_new`, `${RUN}-${name}`), isCode('conflict'));
    await assert.rejects(connector.linkAccount!(name, `${RUN}-${name}`), isCode('conflict'));
    assert.ok(await roleExists(name));
    assert.equal(await roleExists(`${name}_new`), false);
    const r = await admin.query<{ d: string | null }>(
      "SELECT shobj_description(oid, 'pg_authid') AS d FROM pg_roles WHERE rolname = $1",
      [name],
    );
    assert.equal(r.rows[0]!.d, null);
    // Renaming onto a role Tenure does not manage is refused too, and both stay as they were.
    const mine = unique('mine');
    await connector.createAccount(spec(mine));
    await assert.rejects(connector.renameAccount!(mine, name, `${RUN}-${mine}`), isCode('already_exists'));
    await assert.rejects(connector.renameAccount!(`${mine}_gone`, name, `${RUN}-${mine}`), isCode('not_found'));
    assert.ok(await connector.readAccount(mine));
  });

  it('renames to and from hostile names, keeping memberships, and runs no SQL hidden in them', async () => {
    if (!(await roleExists('x'))) await admin.query('CREATE ROLE x NOLOGIN');
    const { connector, entitlement } = await fresh();
    const plain = unique('plain');
    const identity = `${RUN}-${plain}`;
    await connector.createAccount({ name: plain, identity, attributes: {} });
    await connector.addMembership(plain, entitlement);
    let current = plain;
    for (const hostile of [...HOSTILE_NAMES, "x'; DROP ROLE x;--", 'Zoë "x"']) {
      await connector.renameAccount!(current, hostile, identity);
      const read = await connector.readAccount(hostile);
      assert.equal(read?.name, hostile);
      assert.equal(read?.identity, identity);
      assert.deepEqual(read?.entitlements, [entitlement]);
      assert.equal(await connector.readAccount(current), undefined);
      current = hostile;
    }
    await connector.renameAccount!(current, plain, identity);
    assert.deepEqual(await connector.listMembers(entitlement), [plain]);
    assert.ok(await roleExists('x'), 'role x survived');
  });

  it('links an account by rewriting the identity in its comment, keeping what else the comment holds', async () => {
    const { connector } = await fresh();
    const name = unique('relink');
    await connector.createAccount({ name, identity: '', attributes: { displayName: 'Ana', mail: 'a@example.com' } });
    await admin.query(
      `COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(
        JSON.stringify({
          tenure: { identity: '', displayName: 'Ana', mail: 'a@example.com', team: 'x' },
          note: 'kept',
        }),
      )}`,
    );
    await connector.linkAccount!(name, `${RUN}-${name}`);
    const r = await admin.query<{ d: string }>(
      "SELECT shobj_description(oid, 'pg_authid') AS d FROM pg_roles WHERE rolname = $1",
      [name],
    );
    assert.deepEqual(JSON.parse(r.rows[0]!.d), {
      tenure: { identity: `${RUN}-${name}`, displayName: 'Ana', mail: 'a@example.com', team: 'x' },
      note: 'kept',
    });
    assert.equal((await connector.readAccount(name))?.identity, `${RUN}-${name}`);
  });

  it('fails a disable whose sessions it may not end, and reads the account as enabled until they end', async () => {
    const sinkFile = `signal-${RUN}.tsv`;
    const tenure = await tenureRole('nosignal', {
      terminate_sessions_on_disable: true,
      secret_sink: { file: sinkFile },
    });
    const name = unique('stays');
    await tenure.connector.createAccount(spec(name));
    await tenure.connector.rotateCredential(name);
    const password = (await readFile(join(dir, sinkFile), 'utf8')).trimEnd().split('\t')[1]!;
    const session = await loginAs(tenure.url, name, password);
    try {
      await assert.rejects(tenure.connector.disableAccount(name), (e) => {
        assert.ok(e instanceof ConnectorError);
        assert.equal(e.code, 'permission_denied');
        assert.equal(e.retryable, false);
        assert.match(e.message, /lacks the privileges of pg_signal_backend/);
        assert.match(e.message, /its 1 open session\(s\) go on/);
        assert.equal(e.hint?.startsWith(`run GRANT pg_signal_backend TO "${tenure.user}" and apply again`), true);
        assert.doesNotMatch(e.message, /GRANT/, 'the grant is said once, in the hint');
        return true;
      });
      await session.query('SELECT 1'); // the session goes on
      if (passwordAuth) await assert.rejects(loginAs(tenure.url, name, password), { code: '28000' }); // NOLOGIN holds
      // What the next plan reads: still enabled, so it disables again instead of seeing nothing to do.
      assert.equal((await tenure.connector.readAccount(name))?.enabled, true);
      assert.equal((await tenure.connector.listAccounts()).find((a) => a.name === name)?.enabled, true);
      await assert.rejects(tenure.connector.disableAccount(name), isCode('permission_denied'));

      // With the grant the hint names, the same disable succeeds and the account reads as disabled.
      await admin.query(`GRANT pg_signal_backend TO ${quoteIdent(tenure.user)}`);
      await tenure.connector.disableAccount(name);
      await assert.rejects(session.query('SELECT 1'));
      assert.equal((await tenure.connector.readAccount(name))?.enabled, false);
    } finally {
      await session.end().catch(() => undefined);
    }
  });

  it('reads a NOLOGIN role with open sessions as disabled when sessions are not to be ended', async () => {
    const sinkFile = `keep-${RUN}.tsv`;
    const tenure = await tenureRole('keepsess', { secret_sink: { file: sinkFile } });
    const name = unique('kept');
    await tenure.connector.createAccount(spec(name));
    await tenure.connector.rotateCredential(name);
    const password = (await readFile(join(dir, sinkFile), 'utf8')).trimEnd().split('\t')[1]!;
    const session = await loginAs(tenure.url, name, password);
    try {
      await tenure.connector.disableAccount(name);
      await session.query('SELECT 1');
      assert.equal((await tenure.connector.readAccount(name))?.enabled, false);
    } finally {
      await session.end();
    }
  });

  it('says which membership a CREATEROLE-only role lacks to delete, and the grant it names makes the delete work', async () => {
    const keeper = unique('archive');
    await admin.query(`CREATE ROLE ${quoteIdent(keeper)} NOLOGIN`);
    roles.push(keeper);
    const drop = await tenureRole('createrole');
    const reassign = await tenureRole('createrole_r', { on_delete: 'reassign', reassign_to: keeper });
    const [a, b] = [unique('leaver_a'), unique('leaver_b')];
    await drop.connector.createAccount(spec(a));
    await reassign.connector.createAccount(spec(b));
    // Everything but the delete works with CREATEROLE alone (docs/connectors.md, Privileges).
    const group = unique('grp');
    await admin.query(`CREATE ROLE ${quoteIdent(group)} NOLOGIN`);
    roles.push(group);
    await drop.connector.updateAccount(a, { displayName: 'Leaver A' });
    await drop.connector.addMembership(a, `${TARGET}:role/${group}`);
    await drop.connector.disableAccount(a);
    await drop.connector.enableAccount(a);
    await drop.connector.removeMembership(a, `${TARGET}:role/${group}`);
    await drop.connector.addMembership(a, `${TARGET}:role/${group}`);
    assert.deepEqual(
      (await drop.connector.listAccounts()).find((x) => x.name === a),
      { ...(await drop.connector.readAccount(a))!, enabled: true, entitlements: [`${TARGET}:role/${group}`] },
    );
    const refusal = (statement: string, missing: readonly string[], me: string) => (e: unknown) => {
      assert.ok(e instanceof ConnectorError);
      assert.equal(e.code, 'permission_denied');
      assert.equal(e.retryable, false);
      const of = missing.map((r) => `role "${r}"`).join(' and of ');
      assert.match(
        e.message,
        new RegExp(
          `was not deleted: ${statement} needs the privileges of ${of}, which the connecting role "${me}" lacks`,
        ),
      );
      const grants = missing.map((r) => `GRANT "${r}" TO "${me}"`).join('; ');
      assert.ok(e.hint?.startsWith(`run ${grants} and apply again`), e.hint);
      assert.doesNotMatch(e.message, /GRANT/, 'the grant is said once, in the hint');
      return true;
    };
    await assert.rejects(drop.connector.deleteAccount(a), refusal('DROP OWNED', [a], drop.user));
    await assert.rejects(reassign.connector.deleteAccount(b), refusal('REASSIGN OWNED', [b, keeper], reassign.user));
    assert.ok(await drop.connector.readAccount(a), 'the account is still there');

    // The grants the messages name, run by the CREATEROLE-only roles themselves (PostgreSQL 15 lets them).
    for (const [who, grants] of [
      [drop, [a]],
      [reassign, [b]],
    ] as const) {
      const client = await loginAs(who.url, who.user, who.password);
      try {
        for (const r of grants) await client.query(`GRANT ${quoteIdent(r)} TO ${quoteIdent(who.user)}`);
      } finally {
        await client.end();
      }
    }
    await drop.connector.deleteAccount(a);
    assert.equal(await roleExists(a), false);
    // Still one missing for REASSIGN OWNED: only that one is named.
    await assert.rejects(reassign.connector.deleteAccount(b), refusal('REASSIGN OWNED', [keeper], reassign.user));
    await admin.query(`GRANT ${quoteIdent(keeper)} TO ${quoteIdent(reassign.user)}`);
    await reassign.connector.deleteAccount(b);
    assert.equal(await roleExists(b), false);
  });

  it("deletes with on_delete 'reassign': objects go to reassign_to; 'drop_owned' drops them", async () => {
    const keeper = unique('keeper');
    await admin.query(`CREATE ROLE ${quoteIdent(keeper)} NOLOGIN`);
    roles.push(keeper);
    const reassign = await fresh({ on_delete: 'reassign', reassign_to: keeper });
    const drop = await fresh({}, reassign.url);
    const db = new pg.Client({ connectionString: reassign.url });
    await db.connect();
    try {
      const [a, b] = [unique('owner_a'), unique('owner_b')];
      await reassign.connector.createAccount(spec(a));
      await drop.connector.createAccount(spec(b));
      await db.query(`CREATE TABLE kept_table (id int); ALTER TABLE kept_table OWNER TO ${quoteIdent(a)}`);
      await db.query(`CREATE TABLE dropped_table (id int); ALTER TABLE dropped_table OWNER TO ${quoteIdent(b)}`);
      await reassign.connector.deleteAccount(a);
      await drop.connector.deleteAccount(b);
      const owners = await db.query<{ tablename: string; tableowner: string }>(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      assert.deepEqual(owners.rows, [{ tablename: 'kept_table', tableowner: keeper }]);
    } finally {
      await db.end();
    }
  });

  it('says conflict, and keeps the role, when it owns objects in another database', async () => {
    const { connector } = await fresh();
    const name = unique('elsewhere');
    await connector.createAccount(spec(name));
    const otherUrl = await createDatabase(server);
    databases.push(connectionOf(otherUrl).database);
    const other = new pg.Client({ connectionString: otherUrl });
    await other.connect();
    try {
      await other.query(`CREATE TABLE t (id int); ALTER TABLE t OWNER TO ${quoteIdent(name)}`);
    } finally {
      await other.end();
    }
    await assert.rejects(
      connector.deleteAccount(name),
      (e) => isCode('conflict')(e) && !(e as ConnectorError).retryable,
    );
    assert.ok(await connector.readAccount(name));
  });

  it("refuses on_delete 'reassign' without reassign_to", () => {
    assert.throws(
      () => createPostgresConnector(definition({ url: server.url, on_delete: 'reassign' }), { baseDir: dir }),
      isCode('invalid_input'),
    );
  });

  it('says permission_denied for a wrong password (not retryable)', async (t) => {
    if (!passwordAuth) return t.skip('the server does not ask for passwords (external server)');
    const user = unique('admin');
    await admin.query(`CREATE ROLE ${quoteIdent(user)} LOGIN CREATEROLE PASSWORD ${quoteLiteral('right-one')}`);
    roles.push(user);
    const { host, port } = connectionOf(server.url);
    const open = (secret: string) =>
      createPostgresConnector(
        definition({ host, port, database: 'postgres', user, password: { env: 'PG_TEST_SECRET' } }),
        { baseDir: dir, env: { PG_TEST_SECRET: secret } },
      );
    const wrong = open('wrong-one');
    connectors.push(wrong);
    await assert.rejects(
      wrong.listAccounts(),
      (e) => isCode('permission_denied')(e) && !(e as ConnectorError).retryable,
    );
    const right = open('right-one');
    connectors.push(right);
    assert.ok(Array.isArray(await right.listAccounts()));
  });

  it('says unreachable for a closed port (retryable)', async () => {
    const port = await freePort();
    const connector = createPostgresConnector(definition({ url: `postgres://postgres@127.0.0.1:${port}/postgres` }), {
      baseDir: dir,
    });
    connectors.push(connector);
    await assert.rejects(connector.listAccounts(), (e) => isCode('unreachable')(e) && (e as ConnectorError).retryable);
    await assert.rejects(connector.createAccount(spec(unique('down'))), isCode('unreachable'));
  });
});
