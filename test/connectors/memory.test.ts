import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConnectorError } from '../../src/connectors/connector.js';
import { MemoryConnector, parseSnapshot } from '../../src/connectors/memory/memory-connector.js';
import { connectorContract } from './connector-contract.js';

connectorContract('memory', () =>
  Promise.resolve({
    connector: new MemoryConnector('app', []),
    entitlements: ['app:group/a', 'app:group/b'] as const,
    cleanup: () => Promise.resolve(),
  }),
);

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
