import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ConnectorError } from '../../src/connectors/connector.js';
import { createCsvConnector, csvText, type CsvConnector } from '../../src/connectors/csv/csv-connector.js';
import { HOSTILE_NAMES } from './connector-contract.js';
import { definition, tempFolder } from './fixtures/csv.js';

const isCode = (code: string) => (e: unknown) => e instanceof ConnectorError && e.code === code;

describe('CSV connector files', () => {
  let dir: string;
  let c: CsvConnector;
  const accountsFile = () => join(dir, 'out', 'accounts.csv');
  const membershipsFile = () => join(dir, 'out', 'memberships.csv');
  const records = (path: string) => parse(readFileSync(path), { relax_column_count: false });
  before(() => {
    dir = tempFolder();
    c = createCsvConnector(definition(), { baseDir: dir });
  });
  after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes valid RFC 4180 that keeps hostile names and attributes intact', async () => {
    const names = [...HOSTILE_NAMES, 'two\r\nlines', 'lf\nonly, "quoted"', ''.padEnd(3, '"')];
    for (const [i, name] of names.entries()) {
      await c.createAccount({
        name,
        identity: `E${i}`,
        attributes: { givenName: 'A,"b"', sn: 'x\ny', mail: 'm@x', displayName: name },
      });
      await c.addMembership(name, 'legacy:group/a,b "c"');
    }
    await c.disableAccount(names[0]!);
    const text = readFileSync(accountsFile(), 'utf8');
    assert.ok(text.endsWith('\r\n'), 'records end in CRLF');
    const rows = records(accountsFile());
    assert.deepEqual(rows[0], ['id', 'name', 'identity', 'enabled', 'givenName', 'sn', 'mail', 'displayName']);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[1], r[2], r[3], r[4], r[5], r[7]]),
      names.map((n, i) => [n, `E${i}`, i === 0 ? 'false' : 'true', 'A,"b"', 'x\ny', n]),
    );
    assert.deepEqual(records(membershipsFile()), [
      ['account', 'entitlement'],
      ...names.map((n) => [n, 'legacy:group/a,b "c"']),
    ]);
    // A fresh instance reads back exactly what was written.
    const fresh = createCsvConnector(definition(), { baseDir: dir });
    assert.deepEqual(await fresh.listAccounts(), await c.listAccounts());
  });

  it('leaves no temporary files behind', () => {
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['accounts.csv', 'memberships.csv']);
  });

  it('sees what another instance wrote to the same files', async () => {
    const other = createCsvConnector(definition(), { baseDir: dir });
    await c.readAccount('x'); // c has the files cached now
    await other.createAccount({ name: 'from-other', identity: 'E-o', attributes: {} });
    await other.addMembership('from-other', 'legacy:group/a');
    const seen = await c.readAccount('from-other');
    assert.deepEqual(seen && { identity: seen.identity, entitlements: seen.entitlements }, {
      identity: 'E-o',
      entitlements: ['legacy:group/a'],
    });
    // and c's next write keeps other's account instead of overwriting it with a stale cache
    await c.createAccount({ name: 'from-c', identity: 'E-c', attributes: {} });
    const names = (await other.listAccounts()).map((a) => a.name);
    assert.ok(names.includes('from-other') && names.includes('from-c'));
  });

  it('deletes an account with its memberships', async () => {
    await c.deleteAccount('from-other');
    assert.ok(!records(membershipsFile()).some((r) => r[0] === 'from-other'));
    assert.ok(!records(accountsFile()).some((r) => r[1] === 'from-other'));
  });

  it('settles a burst of concurrent operations one by one, each after its change is on disk', async () => {
    // Issued together, they share writes; each still succeeds or fails on its own.
    const names = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    const settled = await Promise.allSettled([
      ...names.map((name) => c.createAccount({ name, identity: name, attributes: {} })),
      ...names.map((name) => c.addMembership(name, 'legacy:group/b')),
      c.addMembership('nobody-by-this-name', 'legacy:group/b'),
      c.deleteAccount('burst-0'),
      ...names.slice(1).map((name) => c.disableAccount(name)),
    ]);
    const failures = settled.filter((s) => s.status === 'rejected');
    assert.equal(failures.length, 1, 'only the membership of a missing account fails');
    assert.ok(isCode('not_found')(failures[0]!.reason));
    const fresh = createCsvConnector(definition(), { baseDir: dir });
    const burst = (await fresh.listAccounts()).filter((a) => a.name.startsWith('burst-'));
    assert.deepEqual(
      burst.map((a) => [a.name, a.enabled, a.entitlements]),
      names.slice(1).map((n) => [n, false, ['legacy:group/b']]),
    );
    // A settled change is on disk already: a reader that was not part of the burst sees it at once.
    await c.enableAccount('burst-1');
    assert.equal((await createCsvConnector(definition(), { baseDir: dir }).readAccount('burst-1'))?.enabled, true);
  });

  it('refuses to rotate a credential', async () => {
    assert.equal(c.capabilities.rotate, false);
    await assert.rejects(c.rotateCredential('from-c'), isCode('invalid_input'));
  });
});

describe('CSV connector on files it did not write', () => {
  const write = (dir: string, accounts?: string, memberships?: string) => {
    const out = join(dir, 'out');
    rmSync(out, { recursive: true, force: true });
    const fs = { accounts: join(out, 'accounts.csv'), memberships: join(out, 'memberships.csv') };
    if (accounts !== undefined || memberships !== undefined) mkdirSync(out);
    if (accounts !== undefined) writeFileSync(fs.accounts, accounts);
    if (memberships !== undefined) writeFileSync(fs.memberships, memberships);
    return createCsvConnector(definition(), { baseDir: dir });
  };
  let dir: string;
  before(() => {
    dir = tempFolder();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps unknown columns and their order, and adds missing known ones at the end', async () => {
    const c = write(
      dir,
      'name,id,badge,identity,enabled,mail\n' + 'ana,7,"B,1",E1,TRUE,ana@x\n\n' + 'bo,8,,,false,\n',
      'account,entitlement\nana,legacy:role/clerk\n',
    );
    const none = { givenName: '', sn: '', displayName: '' };
    assert.deepEqual(await c.listAccounts(), [
      {
        id: '7',
        name: 'ana',
        identity: 'E1',
        enabled: true,
        entitlements: ['legacy:role/clerk'],
        attributes: { badge: 'B,1', mail: 'ana@x', ...none },
      },
      { id: '8', name: 'bo', enabled: false, entitlements: [], attributes: { badge: '', mail: '', ...none } },
    ]);
    await c.updateAccount('bo', { displayName: 'Bo', badge: 'B2', unknownAttr: 'dropped' });
    assert.deepEqual((await c.readAccount('bo'))?.attributes, { badge: 'B2', mail: '', ...none, displayName: 'Bo' });
    assert.equal(
      readFileSync(join(dir, 'out', 'accounts.csv'), 'utf8'),
      'name,id,badge,identity,enabled,mail,givenName,sn,displayName\r\n' +
        'ana,7,"B,1",E1,true,ana@x,,,\r\n' +
        'bo,8,B2,,false,,,,Bo\r\n',
    );
    await assert.rejects(c.updateAccount('bo', { enabled: 'true' }), isCode('invalid_input'));
  });

  const corrupt: [string, string | undefined, string | undefined, RegExp][] = [
    [
      'a bad header',
      'id,name,enabled\n1,a,true\n',
      undefined,
      /accounts\.csv:1: the header lacks column\(s\) identity/,
    ],
    ['an unclosed quote', 'id,name,identity,enabled\n1,a,E,true\n2,"b,E,true\n', undefined, /accounts\.csv:\d+: /],
    ['a short row', 'id,name,identity,enabled\n1,a,E,true\n2,b\n', undefined, /accounts\.csv:3: /],
    [
      'a bad enabled value',
      'id,name,identity,enabled\n1,a,E,true\n\n2,b,E,yes\n',
      undefined,
      /accounts\.csv:4: enabled is "yes"/,
    ],
    [
      'a duplicate name',
      'id,name,identity,enabled\n1,a,E,true\n2,a,E,true\n',
      undefined,
      /accounts\.csv:3: a second account is named "a"/,
    ],
    [
      'a line inside a quoted name',
      'id,name,identity,enabled\n1,"a\nb",E,true\n2,c,E,maybe\n',
      undefined,
      /accounts\.csv:4: enabled/,
    ],
    [
      'a bad memberships header',
      'id,name,identity,enabled\n',
      'user,group\n',
      /memberships\.csv:1: the header is "user,group"/,
    ],
    [
      'a membership of an unknown account',
      'id,name,identity,enabled\n1,a,E,true\n',
      'account,entitlement\nzed,legacy:group/a\n',
      /memberships\.csv:2: account "zed"/,
    ],
    [
      'a membership of another target',
      'id,name,identity,enabled\n1,a,E,true\n',
      'account,entitlement\na,other:group/a\n',
      /memberships\.csv:2: "other:group\/a" is not an entitlement/,
    ],
  ];
  for (const [what, accounts, memberships, message] of corrupt) {
    it(`says invalid_input naming file and line for ${what}`, async () => {
      const c = write(dir, accounts, memberships);
      await assert.rejects(c.listAccounts(), (e: unknown) => {
        assert.ok(isCode('invalid_input')(e), String(e));
        assert.match((e as Error).message, message);
        return true;
      });
    });
  }

  it('reads missing files as an empty target and creates them on the first write', async () => {
    const c = write(dir);
    assert.deepEqual(await c.listAccounts(), []);
    await c.createAccount({ name: 'ana', identity: 'E1', attributes: { mail: 'a@x' } });
    const text = readFileSync(join(dir, 'out', 'accounts.csv'), 'utf8');
    assert.match(text, /^id,name,identity,enabled,givenName,sn,mail,displayName\r\n[^,]+,ana,E1,true,,,a@x,\r\n$/);
  });

  it('refuses a connection without both paths', () => {
    assert.throws(
      () => createCsvConnector({ ...definition(), connection: { accounts: 'a.csv' } }, { baseDir: dir }),
      isCode('invalid_input'),
    );
  });
});

describe('csvText', () => {
  it('quotes a field iff it holds a comma, quote, CR or LF', () => {
    assert.equal(csvText([['a', 'b c', 'd,e', 'f"g', 'h\ri', 'j\nk', '']]), 'a,b c,"d,e","f""g","h\ri","j\nk",\r\n');
  });
});
