import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConnectorError } from '../../src/connectors/connector.js';
import { MemoryConnector, parseSnapshot } from '../../src/connectors/memory/memory-connector.js';
import { openConnector } from '../../src/connectors/open-connector.js';
import type { TargetDefinition } from '../../src/model/policy.js';
import { HOSTILE_NAMES } from './connector-contract.js';
import { snapshotFolder } from './fixtures/memory.js';

const isCode = (code: string) => (e: unknown) => e instanceof ConnectorError && e.code === code;

describe('MemoryConnector', () => {
  it('round-trips its state through a snapshot, attributes included', async () => {
    const m = new MemoryConnector('app', [{ id: 'x-7', name: 'old', enabled: false, entitlements: ['app:role/r'] }]);
    const created = await m.createAccount({ name: 'ana', identity: 'E1', attributes: { mail: 'ana@example.com' } });
    assert.equal(created.id, 'mem-1');
    await m.addMembership('ana', 'app:group/admins');
    const snap = m.snapshot();
    assert.deepEqual(snap, {
      accounts: [
        { id: 'x-7', name: 'old', enabled: false, entitlements: ['app:role/r'] },
        {
          id: 'mem-1',
          name: 'ana',
          identity: 'E1',
          enabled: true,
          entitlements: ['app:group/admins'],
          attributes: { mail: 'ana@example.com' },
        },
      ],
    });
    const again = new MemoryConnector('app', parseSnapshot('app', 'snap.json', JSON.stringify(snap)));
    assert.deepEqual(again.snapshot(), snap);
    // Ids continue after the highest mem-N, and are never reused after a delete.
    await again.deleteAccount('ana');
    assert.equal((await again.createAccount({ name: 'bo', identity: 'E2', attributes: {} })).id, 'mem-2');
  });

  it('does not let callers change its state through returned objects', async () => {
    const m = new MemoryConnector('app');
    await m.createAccount({ name: 'ana', identity: 'E1', attributes: {} });
    const snap = m.snapshot();
    (snap.accounts[0]!.entitlements as string[]).push('app:group/x');
    assert.deepEqual((await m.readAccount('ana'))!.entitlements, []);
  });

  it('accepts exactly the snapshots its schema describes, with the same defaults', () => {
    const ok = { id: '1', name: 'ana', identity: 'E1', enabled: false, entitlements: ['app:role/r'] };
    const cases: [string, unknown, string | undefined][] = [
      ['a full account', { accounts: [ok] }, undefined],
      ['defaults', { accounts: [{ id: '1', name: 'ana' }] }, undefined],
      ['an unknown key on an account', { accounts: [{ ...ok, extra: 1 }] }, 'accounts[0]'],
      ['an unknown top-level key', { accounts: [], more: [] }, 'top level'],
      ['an empty id', { accounts: [{ ...ok, id: '' }] }, 'accounts[0].id'],
      ['an empty identity', { accounts: [{ ...ok, identity: '' }] }, 'accounts[0].identity'],
      ['enabled as text', { accounts: [{ ...ok, enabled: 'yes' }] }, 'accounts[0].enabled'],
      ['an entitlement that is a number', { accounts: [{ ...ok, entitlements: [1] }] }, 'accounts[0].entitlements[0]'],
      [
        'an attribute that is a number',
        { accounts: [{ ...ok, attributes: { mail: 1 } }] },
        'accounts[0].attributes.mail',
      ],
      ['attributes', { accounts: [{ ...ok, attributes: { mail: 'a@x' } }] }, undefined],
      ['accounts that are not a list', { accounts: {} }, 'accounts'],
    ];
    for (const [what, snapshot, where] of cases) {
      const read = () => parseSnapshot('app', 'apps.json', JSON.stringify(snapshot));
      if (where === undefined) assert.doesNotThrow(read, what);
      else
        assert.throws(read, (e: unknown) => isCode('invalid_input')(e) && (e as Error).message.includes(where), what);
    }
    assert.deepEqual(parseSnapshot('app', 'apps.json', JSON.stringify({ accounts: [{ id: '1', name: 'ana' }] })), [
      { id: '1', name: 'ana', enabled: true, entitlements: [] },
    ]);
  });

  it('loads a snapshot file, and names the file when it is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-mem-'));
    try {
      const file = join(dir, 'apps.json');
      writeFileSync(file, JSON.stringify({ accounts: [{ id: '1', name: 'ana', entitlements: ['app:role/r'] }] }));
      const m = MemoryConnector.fromSnapshotFile('app', file);
      assert.deepEqual(await m.listAccounts(), [{ id: '1', name: 'ana', enabled: true, entitlements: ['app:role/r'] }]);
      assert.deepEqual(await m.listMembers('app:role/r'), ['ana']);

      writeFileSync(file, JSON.stringify({ accounts: [{ id: '1' }] }));
      assert.throws(
        () => MemoryConnector.fromSnapshotFile('app', file),
        (e: unknown) => isCode('invalid_input')(e) && (e as Error).message.includes(file),
      );
      writeFileSync(
        file,
        JSON.stringify({
          accounts: [
            { id: '1', name: 'a' },
            { id: '2', name: 'a' },
          ],
        }),
      );
      assert.throws(
        () => MemoryConnector.fromSnapshotFile('app', file),
        (e: unknown) =>
          isCode('invalid_input')(e) && /apps\.json: .*two accounts are named "a"/.test((e as Error).message),
      );
      assert.throws(() => MemoryConnector.fromSnapshotFile('app', join(dir, 'missing.json')), isCode('not_found'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses credentials and entitlements that are not of this target', async () => {
    const m = new MemoryConnector('app');
    await m.createAccount({ name: 'ana', identity: 'E1', attributes: {} });
    assert.equal(m.capabilities.rotate, false);
    await assert.rejects(
      m.rotateCredential('ana'),
      (e: unknown) => isCode('invalid_input')(e) && /no credentials/.test((e as Error).message),
    );
    await assert.rejects(m.addMembership('ana', 'app:account'), isCode('invalid_input'));
    await assert.rejects(m.addMembership('ana', 'apps:group/a'), isCode('invalid_input'));
    await assert.rejects(m.listMembers('other:group/a'), isCode('invalid_input'));
  });

  it('keeps the attributes it was given', async () => {
    const m = new MemoryConnector('app');
    await m.createAccount({ name: 'ana', identity: 'E1', attributes: { mail: 'a@x', sn: 'Lima' } });
    await m.updateAccount('ana', { mail: 'b@x' });
    assert.deepEqual(m.attributesOf('ana'), { mail: 'b@x', sn: 'Lima' });
    await assert.rejects(m.updateAccount('nobody', {}), isCode('not_found'));
  });
});

describe('MemoryConnector with a snapshot file', () => {
  let dir: string;
  let file: string;
  let m: MemoryConnector;
  /** What the file holds now, read by an instance of its own. */
  const onDisk = () => MemoryConnector.fromSnapshotFile('app', file).snapshot().accounts;
  before(() => {
    ({ dir, file } = snapshotFolder());
    m = MemoryConnector.fromSnapshotFile('app', file);
  });
  after(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has each change in the file by the time its promise settles', async () => {
    await m.createAccount({ name: 'ana', identity: 'E1', attributes: { mail: 'a@x' } });
    assert.deepEqual(onDisk(), [
      { id: 'mem-1', name: 'ana', identity: 'E1', enabled: true, entitlements: [], attributes: { mail: 'a@x' } },
    ]);
    await m.addMembership('ana', 'app:group/a');
    await m.addMembership('ana', 'app:group/b');
    assert.deepEqual(onDisk()[0]!.entitlements, ['app:group/a', 'app:group/b']);
    await m.removeMembership('ana', 'app:group/a');
    assert.deepEqual(onDisk()[0]!.entitlements, ['app:group/b']);
    await m.updateAccount('ana', { mail: 'b@x' });
    assert.deepEqual(onDisk()[0]!.attributes, { mail: 'b@x' });
    await m.disableAccount('ana');
    assert.equal(onDisk()[0]!.enabled, false);
    await m.enableAccount('ana');
    assert.equal(onDisk()[0]!.enabled, true);
    await m.deleteAccount('ana');
    assert.deepEqual(onDisk(), []);
    // Written as a snapshot is: the file reads back with the schema, pretty-printed.
    assert.equal(readFileSync(file, 'utf8'), '{\n  "accounts": []\n}\n');
  });

  it('writes nothing for a change that changes nothing, or that fails', async () => {
    await m.createAccount({ name: 'bo', identity: 'E2', attributes: {} });
    await m.addMembership('bo', 'app:group/a');
    const writes = m.snapshotWrites;
    await m.addMembership('bo', 'app:group/a');
    await m.removeMembership('bo', 'app:group/b');
    await m.enableAccount('bo');
    await assert.rejects(m.addMembership('nobody', 'app:group/a'), isCode('not_found'));
    await assert.rejects(m.createAccount({ name: 'bo', identity: 'E2', attributes: {} }), isCode('already_exists'));
    assert.equal(m.snapshotWrites, writes);
  });

  it('shares one write among operations issued together, and each lands', async (t) => {
    const names = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const writes = m.snapshotWrites;
    const settled = await Promise.allSettled([
      ...names.map((name) => m.createAccount({ name, identity: name, attributes: {} })),
      ...names.map((name) => m.addMembership(name, 'app:group/b')),
      m.addMembership('nobody-by-this-name', 'app:group/b'),
      m.deleteAccount('burst-0'),
      ...names.slice(1).map((name) => m.disableAccount(name)),
    ]);
    const failures = settled.filter((s) => s.status === 'rejected');
    assert.equal(failures.length, 1, 'only the membership of a missing account fails');
    assert.ok(isCode('not_found')(failures[0]!.reason));
    const changes = settled.length - failures.length;
    const written = m.snapshotWrites - writes;
    t.diagnostic(`${written} writes for ${changes} changes`);
    assert.ok(written < changes, `${written} writes for ${changes} changes`);
    const burst = onDisk().filter((a) => a.name.startsWith('burst-'));
    assert.deepEqual(
      burst.map((a) => [a.name, a.enabled, a.entitlements]),
      names.slice(1).map((n) => [n, false, ['app:group/b']]),
    );
  });

  it('reads its own changes, even those still being written', async () => {
    const created = m.createAccount({ name: 'cy', identity: 'E3', attributes: {} });
    const granted = m.addMembership('cy', 'app:group/a');
    const read = m.readAccount('cy');
    const members = m.listMembers('app:group/a');
    assert.deepEqual((await read)?.entitlements, ['app:group/a']);
    assert.ok((await members).includes('cy'));
    await Promise.all([created, granted]);
  });

  it('sees what another instance wrote to the file, and keeps it', async () => {
    const other = MemoryConnector.fromSnapshotFile('app', file);
    await m.readAccount('x'); // m has the file cached now
    await other.createAccount({ name: 'from-other', identity: 'E-o', attributes: {} });
    await other.addMembership('from-other', 'app:group/a');
    assert.deepEqual((await m.readAccount('from-other'))?.entitlements, ['app:group/a']);
    await m.createAccount({ name: 'from-m', identity: 'E-m', attributes: {} });
    const names = (await other.listAccounts()).map((a) => a.name);
    assert.ok(names.includes('from-other') && names.includes('from-m'), names.join(' '));
    await other.close();
  });

  it('finishes every change asked for before close() returns', async () => {
    const c = MemoryConnector.fromSnapshotFile('app', file);
    const done = [
      c.createAccount({ name: 'dee', identity: 'E4', attributes: {} }),
      c.addMembership('dee', 'app:group/b'),
    ];
    await c.close();
    assert.deepEqual(onDisk().find((a) => a.name === 'dee')?.entitlements, ['app:group/b']);
    await Promise.all(done);
  });

  it('says not_found when the file is gone, instead of writing a new one', async () => {
    const { dir: elsewhere, file: gone } = snapshotFolder();
    const c = MemoryConnector.fromSnapshotFile('app', gone);
    rmSync(gone);
    await assert.rejects(c.createAccount({ name: 'eve', identity: 'E5', attributes: {} }), isCode('not_found'));
    assert.deepEqual(readdirSync(elsewhere), []);
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('writes the file as JSON.stringify(snapshot, null, 2) does, whatever the names hold', async () => {
    for (const [i, name] of [...HOSTILE_NAMES, 'two\r\nlines', '\u2028 "quoted" \\ tab\t'].entries()) {
      await m.createAccount({ name, identity: `H${i}`, attributes: { displayName: `${name}\n`, mail: 'x@y' } });
      await m.addMembership(name, `app:group/${name}`);
    }
    await m.disableAccount(HOSTILE_NAMES[0]!);
    const text = readFileSync(file, 'utf8');
    assert.equal(text, JSON.stringify(MemoryConnector.fromSnapshotFile('app', file).snapshot(), null, 2) + '\n');
    assert.deepEqual(JSON.parse(text), m.snapshot());
  });

  it('leaves no temporary files behind', () => {
    assert.deepEqual(readdirSync(dir), ['apps.json']);
  });

  it('without a snapshot file, writes no file', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tenure-mem-'));
    try {
      const target: TargetDefinition = {
        id: 'app',
        kind: 'memory',
        description: 'an app',
        accountName: 'identity.id',
        attributes: {},
        connection: {},
        position: { file: 'tenure.yaml', line: 1 },
      };
      const c = openConnector(target, join(empty, 'tenure.yaml'));
      await c.createAccount({ name: 'fay', identity: 'E6', attributes: {} });
      await c.addMembership('fay', 'app:group/a');
      assert.deepEqual((await c.readAccount('fay'))?.entitlements, ['app:group/a']);
      await c.close();
      assert.deepEqual(readdirSync(empty), []);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
