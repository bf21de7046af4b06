import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ConnectorError, type Connector } from '../../src/connectors/connector.js';

/** A fresh, empty target with two entitlements that exist in it, and how to tear it down. */
export interface ContractTarget {
  readonly connector: Connector;
  /** Two entitlement ids of this target that accounts can be made members of. */
  readonly entitlements: readonly [string, string];
  cleanup(): Promise<void>;
}

/** One way to open a kind's target for the contract: a name for the suite, a fresh target, and its options. */
export interface ContractFixture {
  readonly name: string;
  open(): Promise<ContractTarget>;
  readonly options?: { readonly hostileNames?: readonly string[] };
}

/** Names a real directory must survive: quotes, comma, parentheses, asterisk, backslash, non-ASCII. */
export const HOSTILE_NAMES = [
  "O'Brien, Zoë (admin)*\\",
  '*)(uid=*))(|(uid=*',
  'Robert"); DROP ROLE x;--',
  '  padded name ',
];

const isCode = (code: string) => (e: unknown) => e instanceof ConnectorError && e.code === code;

/**
 * The one contract suite every connector runs against its real server (DESIGN.md: one contract
 * per adapter, one suite looped over every implementation).
 */
export function connectorContract(
  name: string,
  open: () => Promise<ContractTarget>,
  options: { hostileNames?: readonly string[] } = {},
): void {
  // Its tests build on each other: in order, even under a suite that runs fixtures at the same time.
  describe(`connector contract: ${name}`, { concurrency: 1 }, () => {
    let t: ContractTarget;
    before(async () => {
      t = await open();
    });
    after(async () => {
      await t.connector.close();
      await t.cleanup();
    });
    const spec = (n: string, identity = `id-${n}`) => ({
      name: n,
      identity,
      attributes: {
        givenName: 'Ana',
        sn: 'Lima',
        mail: `${n.replace(/[^a-z0-9]/gi, '')}@example.com`,
        displayName: `Ana Lima ${n}`,
      },
    });

    it('starts empty and reads a missing account as undefined', async () => {
      assert.deepEqual(await t.connector.listAccounts(), []);
      assert.equal(await t.connector.readAccount('nobody'), undefined);
    });

    it('creates an account linked to its identity, enabled, without memberships', async () => {
      const created = await t.connector.createAccount(spec('ana'));
      assert.equal(created.name, 'ana');
      const read = await t.connector.readAccount('ana');
      assert.ok(read);
      assert.equal(read.identity, 'id-ana');
      assert.equal(read.enabled, true);
      assert.deepEqual(read.entitlements, []);
      assert.equal(read.id, created.id);
    });

    it('refuses to create the same account twice', async () => {
      await assert.rejects(t.connector.createAccount(spec('ana')), isCode('already_exists'));
    });

    it('adds and removes memberships, idempotently', async () => {
      const [a, b] = t.entitlements;
      await t.connector.addMembership('ana', a);
      await t.connector.addMembership('ana', a);
      await t.connector.addMembership('ana', b);
      assert.deepEqual([...(await t.connector.readAccount('ana'))!.entitlements].sort(), [a, b].sort());
      assert.deepEqual(await t.connector.listMembers(a), ['ana']);
      await t.connector.removeMembership('ana', a);
      await t.connector.removeMembership('ana', a);
      assert.deepEqual((await t.connector.readAccount('ana'))!.entitlements, [b]);
      assert.deepEqual(await t.connector.listMembers(a), []);
    });

    it('updates attributes of an account, and reads back what it reports', async () => {
      await t.connector.updateAccount('ana', { displayName: 'Ana Lima-Souza' });
      const ana = await t.connector.readAccount('ana');
      assert.ok(ana);
      // A connector that reads attributes back must show the new value: plans compare against it.
      if (ana.attributes && 'displayName' in ana.attributes) assert.equal(ana.attributes.displayName, 'Ana Lima-Souza');
      await t.connector.updateAccount('ana', { displayName: 'Ana' });
      const again = await t.connector.readAccount('ana');
      if (again?.attributes && 'displayName' in again.attributes) assert.equal(again.attributes.displayName, 'Ana');
    });

    it('disables and enables an account', async () => {
      if (!t.connector.capabilities.disable) return;
      await t.connector.disableAccount('ana');
      assert.equal((await t.connector.readAccount('ana'))!.enabled, false);
      await t.connector.enableAccount('ana');
      assert.equal((await t.connector.readAccount('ana'))!.enabled, true);
    });

    it("says not_found for a missing account and invalid_input for another target's entitlement", async () => {
      await assert.rejects(t.connector.addMembership('nobody', t.entitlements[0]), isCode('not_found'));
      await assert.rejects(t.connector.disableAccount('nobody'), isCode('not_found'));
      await assert.rejects(t.connector.addMembership('ana', 'elsewhere:group/x'), isCode('invalid_input'));
    });

    it('lists the entitlements the target has, held or not, when it can', async () => {
      if (!t.connector.listEntitlements) return;
      const listed = await t.connector.listEntitlements();
      for (const e of t.entitlements) assert.ok(listed.includes(e), `${e} is listed: ${JSON.stringify(listed)}`);
      const [a] = t.entitlements;
      assert.ok(!listed.includes(`${a}-does-not-exist`), 'only what exists');
      assert.deepEqual([...listed].sort(), listed, 'sorted');
    });

    it('lists every account, page after page', async () => {
      for (let i = 0; i < 25; i++) await t.connector.createAccount(spec(`user${String(i).padStart(2, '0')}`));
      const names = (await t.connector.listAccounts()).map((a) => a.name).sort();
      assert.equal(names.length, 26);
      assert.ok(names.includes('ana') && names.includes('user24'));
    });

    it('deletes an account', async () => {
      await t.connector.deleteAccount('user00');
      assert.equal(await t.connector.readAccount('user00'), undefined);
      await assert.rejects(t.connector.deleteAccount('user00'), isCode('not_found'));
    });

    it('renames an account in place, keeping its link and memberships, and a repeated rename is done', async (ctx) => {
      const c = t.connector;
      if (!c.capabilities.rename || !c.renameAccount) return ctx.skip('this kind does not rename accounts');
      const [a, b] = t.entitlements;
      await c.createAccount(spec('rena'));
      await c.addMembership('rena', a);
      await c.addMembership('rena', b);
      await c.renameAccount('rena', 'rena.new', 'id-rena');
      assert.equal(await c.readAccount('rena'), undefined, 'the old name is gone');
      const after = await c.readAccount('rena.new');
      assert.ok(after, 'the account reads under its new name');
      assert.equal(after.identity, 'id-rena');
      assert.deepEqual([...after.entitlements].sort(), [a, b].sort());
      assert.ok((await c.listMembers(a)).includes('rena.new'));
      assert.ok(!(await c.listMembers(a)).includes('rena'));
      // Resumed after a crash that came after the rename took effect.
      await c.renameAccount('rena', 'rena.new', 'id-rena');
      await assert.rejects(c.renameAccount('rena', 'rena.new', 'someone-else'), isCode('not_found'));
      await c.createAccount(spec('rena.other'));
      await assert.rejects(c.renameAccount('rena.new', 'rena.other', 'id-rena'), isCode('already_exists'));
      await c.deleteAccount('rena.other');
      await c.deleteAccount('rena.new');
    });

    it('links an account to an identity, idempotently', async (ctx) => {
      const c = t.connector;
      if (!c.capabilities.rename || !c.linkAccount) return ctx.skip('this kind does not link accounts');
      await c.createAccount(spec('linka', ''));
      assert.equal((await c.readAccount('linka'))!.identity, undefined, 'created without a link');
      await c.linkAccount('linka', 'id-linka');
      await c.linkAccount('linka', 'id-linka');
      assert.equal((await c.readAccount('linka'))!.identity, 'id-linka');
      await assert.rejects(c.linkAccount('nobody', 'id-x'), isCode('not_found'));
      await c.deleteAccount('linka');
    });

    for (const hostile of options.hostileNames ?? HOSTILE_NAMES) {
      it(`keeps a hostile name intact and harmless: ${JSON.stringify(hostile)}`, async () => {
        const before = (await t.connector.listAccounts()).length;
        await t.connector.createAccount(spec(hostile, `id-${hostile}`));
        await t.connector.addMembership(hostile, t.entitlements[1]);
        const read = await t.connector.readAccount(hostile);
        assert.ok(read, 'the account reads back under its own name');
        assert.equal(read.name, hostile);
        assert.equal(read.identity, `id-${hostile}`);
        assert.deepEqual(read.entitlements, [t.entitlements[1]]);
        assert.equal((await t.connector.listAccounts()).length, before + 1, 'nothing else was created or matched');
        await t.connector.deleteAccount(hostile);
        assert.equal(await t.connector.readAccount(hostile), undefined);
      });
    }
  });
}
