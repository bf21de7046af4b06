import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Attribute, Change, Client, InvalidCredentialsError } from 'ldapts';
import { ConnectorError } from '../../src/connectors/connector.js';
import { settingsOrThrow } from '../../src/connectors/connector-kind.js';
import { activeDirectoryConnector } from '../../src/connectors/ldap/active-directory-connector.js';
import { ldapKind } from '../../src/connectors/ldap/index.js';
import { ldapSettings } from '../../src/connectors/ldap/ldap-settings.js';
import { adTarget, asAdmin, connectAd, deleteTree, freshAdRun, stop, type AdRun } from './fixtures/active-directory.js';

const isCode = (code: string, text?: RegExp) => (e: unknown) =>
  e instanceof ConnectorError && e.code === code && (text === undefined || text.test(`${e.message} ${e.hint ?? ''}`));

const spec = (name: string, identity = `E-${name}`) => ({
  name,
  identity,
  attributes: { givenName: 'Ana', sn: 'Lima', displayName: `Ana Lima ${name}`, mail: `${name}@corp.example.test` },
});

async function entry(dn: string, attributes: string[]): Promise<Record<string, unknown>> {
  return asAdmin(async (c) => {
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes });
    return searchEntries[0]!;
  });
}

async function dnOf(run: AdRun, name: string): Promise<string> {
  return asAdmin(async (c) => {
    const { searchEntries } = await c.search(run.base, {
      scope: 'sub',
      filter: `(sAMAccountName=${name})`,
      attributes: ['1.1'],
    });
    assert.equal(searchEntries.length, 1, `one ${name}`);
    return searchEntries[0]!.dn;
  });
}

describe('Active Directory (a Samba domain controller)', { concurrency: false }, () => {
  let run: AdRun;
  let dir: string;
  before(async () => {
    run = await freshAdRun();
    dir = mkdtempSync(join(tmpdir(), 'tenure-ad-'));
  });
  after(async () => {
    await asAdmin((c) => deleteTree(c, run.base)).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await stop();
  });

  it('creates an enabled user with its UPN and a password from the sink that must be changed at first logon', async () => {
    const sink = join(dir, 'secrets.tsv');
    const c = connectAd(run, { secret_sink: { file: sink } });
    try {
      const created = await c.createAccount(spec('ana'));
      assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'the objectGUID');
      const dn = await dnOf(run, 'ana');
      assert.equal(dn, `CN=ana,${run.people}`);
      const e = await entry(dn, ['userPrincipalName', 'userAccountControl', 'pwdLastSet', 'employeeNumber']);
      assert.equal(e.userPrincipalName, 'ana@corp.example.test');
      assert.equal(Number(e.userAccountControl), 0x200, 'NORMAL_ACCOUNT, enabled, a password required');
      assert.equal(e.pwdLastSet, '0', 'must change the password at first logon');
      assert.equal(e.employeeNumber, 'E-ana');
      const [line] = readFileSync(sink, 'utf8').trimEnd().split('\n');
      const [name, password] = line!.split('\t');
      assert.equal(name, 'ana');
      // The sink's password is the account's: AD answers "must change password" (773), not "wrong password" (52e).
      const user = new Client({ url: run.server.ldapsUrl, tlsOptions: { ca: readFileSync(run.server.caFile) } });
      await assert.rejects(user.bind('ana@corp.example.test', password), (e: unknown) => {
        assert.ok(e instanceof InvalidCredentialsError);
        assert.match(e.message, /data 773/);
        return true;
      });
      await assert.rejects(user.bind('ana@corp.example.test', `${password!}x`), /data 52e/);
    } finally {
      await c.close();
    }
  });

  it('disables and enables through ACCOUNTDISABLE, keeping the other bits of userAccountControl', async () => {
    const c = connectAd(run);
    try {
      await c.createAccount(spec('bea'));
      const dn = await dnOf(run, 'bea');
      // DONT_EXPIRE_PASSWORD, set by an administrator: not Tenure's to change.
      await asAdmin((a) =>
        a.modify(dn, [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userAccountControl', values: [String(0x10200)] }),
          }),
        ]),
      );
      await c.disableAccount('bea');
      assert.equal(Number((await entry(dn, ['userAccountControl'])).userAccountControl), 0x10202);
      assert.equal((await c.readAccount('bea'))!.enabled, false);
      await c.disableAccount('bea');
      await c.enableAccount('bea');
      assert.equal(Number((await entry(dn, ['userAccountControl'])).userAccountControl), 0x10200);
      assert.equal((await c.readAccount('bea'))!.enabled, true);
    } finally {
      await c.close();
    }
  });

  it('moves a disabled account to disabled_base and back, keeping its groups and objectGUID', async () => {
    const c = connectAd(run, { disabled_base: run.disabled });
    try {
      const created = await c.createAccount(spec('cid'));
      await c.addMembership('cid', 'directory:group/a');
      await c.disableAccount('cid');
      assert.equal(await dnOf(run, 'cid'), `CN=cid,${run.disabled}`);
      const off = (await c.readAccount('cid'))!;
      assert.deepEqual([off.enabled, off.id, off.entitlements], [false, created.id, ['directory:group/a']]);
      await c.enableAccount('cid');
      assert.equal(await dnOf(run, 'cid'), `CN=cid,${run.people}`);
      const on = (await c.readAccount('cid'))!;
      assert.deepEqual([on.enabled, on.id, on.entitlements], [true, created.id, ['directory:group/a']]);
    } finally {
      await c.close();
    }
  });

  it('renames sAMAccountName, userPrincipalName and CN together; the objectGUID and groups stay', async () => {
    const c = connectAd(run);
    try {
      const created = await c.createAccount(spec('dora', 'E-dora'));
      await c.addMembership('dora', 'directory:group/b');
      await c.renameAccount!('dora', 'dora.smith', 'E-dora');
      const dn = await dnOf(run, 'dora.smith');
      assert.equal(dn, `CN=dora.smith,${run.people}`);
      assert.equal((await entry(dn, ['userPrincipalName'])).userPrincipalName, 'dora.smith@corp.example.test');
      const read = (await c.readAccount('dora.smith'))!;
      assert.deepEqual([read.id, read.identity, read.entitlements], [created.id, 'E-dora', ['directory:group/b']]);
      assert.equal(await c.readAccount('dora'), undefined);
      await c.renameAccount!('dora', 'dora.smith', 'E-dora');
    } finally {
      await c.close();
    }
  });

  it('refuses names AD does not allow, saying which rule', async () => {
    const c = connectAd(run);
    try {
      await assert.rejects(c.createAccount(spec('a-name-of-twenty-one1')), isCode('invalid_input', /20/));
      await assert.rejects(c.createAccount(spec('ops/admin')), isCode('invalid_input', /"\/"/));
    } finally {
      await c.close();
    }
  });

  it('a sAMAccountName held outside the managed OUs is a conflict naming its holder, not an account to link to', async () => {
    await asAdmin((a) =>
      a.add(`CN=taken${run.n},CN=Users,${run.server.baseDn}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: `taken${run.n}`,
      }),
    );
    const c = connectAd(run);
    try {
      await assert.rejects(
        c.createAccount(spec(`taken${run.n}`)),
        isCode('conflict', new RegExp(`CN=taken${run.n},CN=Users`)),
      );
    } finally {
      await c.close();
      await asAdmin((a) => a.del(`CN=taken${run.n},CN=Users,${run.server.baseDn}`));
    }
  });

  it('reads the members of a group in ranges to the end', async () => {
    const s = settingsOrThrow({ kind: 'ldap', settings: ldapSettings }, adTarget(run));
    const c = activeDirectoryConnector(
      'directory',
      s,
      { baseDir: '.', env: { AD_TEST_PASSWORD: run.server.adminPassword } },
      {
        valueRangeStep: 7,
      },
    );
    try {
      const before = await c.listMembers('directory:group/a');
      const names = Array.from({ length: 30 }, (_, i) => `m${run.n}-${i}`);
      for (const n of names) await c.createAccount(spec(n));
      for (const n of names) await c.addMembership(n, 'directory:group/a');
      assert.deepEqual(await c.listMembers('directory:group/a'), [...before, ...names].sort());
      await c.removeMembership(names[0]!, 'directory:group/a');
      await c.removeMembership(names[0]!, 'directory:group/a');
      assert.equal((await c.listMembers('directory:group/a')).length, before.length + 29);
    } finally {
      await c.close();
    }
  });

  it("reads an account's groups (memberOf) in ranges to the end", async () => {
    const s = settingsOrThrow({ kind: 'ldap', settings: ldapSettings }, adTarget(run));
    const c = activeDirectoryConnector(
      'directory',
      s,
      { baseDir: '.', env: { AD_TEST_PASSWORD: run.server.adminPassword } },
      { valueRangeStep: 4 },
    );
    const groups = Array.from({ length: 11 }, (_, i) => `many${i}`);
    try {
      await asAdmin(async (a) => {
        for (const g of groups)
          await a.add(`CN=${g},${run.groups}`, { objectClass: ['top', 'group'], sAMAccountName: `run${run.n}-${g}` });
      });
      const name = `grp${run.n}`;
      await c.createAccount(spec(name));
      for (const g of groups) await c.addMembership(name, `directory:group/${g}`);
      const wanted = groups.map((g) => `directory:group/${g}`).sort();
      // Four values at a time: memberOf comes back as memberOf;range=0-3, 4-7, 8-* and is read to the end.
      assert.deepEqual((await c.readAccount(name))!.entitlements, wanted);
      assert.deepEqual((await c.listAccounts()).find((a) => a.name === name)!.entitlements, wanted);
      await c.deleteAccount(name);
    } finally {
      await c.close();
      await asAdmin(async (a) => {
        for (const g of groups) await a.del(`CN=${g},${run.groups}`);
      });
    }
  });

  it("says what is wrong in AD's words: a wrong bind password, a missing group", async () => {
    const wrong = connectAd(run, { bind_password: 'not-the-password' });
    await assert.rejects(wrong.listAccounts(), isCode('permission_denied', /52e|password/i));
    await wrong.close();
    const c = connectAd(run);
    try {
      await c.createAccount(spec('eli'));
      await assert.rejects(c.addMembership('eli', 'directory:group/nope'), isCode('not_found', /CN=nope/));
    } finally {
      await c.close();
    }
  });

  it('targets check: the bind over TLS, effective rights on the OUs and groups, the password policy, a missing group', async () => {
    const target = adTarget(run, { disabled_base: run.disabled });
    const settings = settingsOrThrow(ldapKind, target);
    const context = { baseDir: '.', env: { AD_TEST_PASSWORD: run.server.adminPassword } };
    const c = ldapKind.create('directory', settings, context);
    const needs = {
      entitlements: ['directory:group/a', 'directory:group/nope'],
      delete: true,
      rotate: false,
      probe: true,
      probeName: 'tenure-check-ab12cd',
    };
    try {
      const { items } = await ldapKind.check!(c, settings, needs, context);
      const line = (i: { check: string; status: string; how: string; message: string }) =>
        `${i.status} ${i.check} ${i.how}: ${i.message}`;
      const lines = items.map(line);
      const has = (re: RegExp) =>
        assert.ok(
          lines.some((l) => re.test(l)),
          `${re} in\n${lines.join('\n')}`,
        );
      has(/^ok login asked: bound as CN=Administrator.* over LDAPS, the certificate checked \(domain DC=corp/);
      has(new RegExp(`^ok create asked: may create user objects in ${run.people}`));
      has(new RegExp(`^ok disable asked: may move disabled user objects into ${run.disabled}`));
      has(
        /^ok create asked: the domain's password policy: at least \d+ characters, complexity on; Tenure's random passwords \(24 characters/,
      );
      has(new RegExp(`^ok group asked: may write the members of CN=a,${run.groups}`));
      has(/^missing entitlement asked: directory:group\/nope does not exist/);
      has(/^ok create probed: created account tenure-check-ab12cd/);
      assert.equal(await c.readAccount('tenure-check-ab12cd'), undefined, 'the probe account is gone');
    } finally {
      await c.close();
    }
  });

  it('places a new account in the OU its parent attribute gives, and moves it when that changes, groups and id kept', async () => {
    await asAdmin(async (a) => {
      for (const ou of ['eng', 'sales'])
        await a.add(`OU=${ou},${run.people}`, { objectClass: ['top', 'organizationalUnit'] });
    });
    const c = connectAd(run);
    try {
      const created = await c.createAccount({
        ...spec('fay'),
        attributes: { ...spec('fay').attributes, parent: `OU=eng,${run.people}` },
      });
      await c.addMembership('fay', 'directory:group/b');
      assert.equal(await dnOf(run, 'fay'), `CN=fay,OU=eng,${run.people}`);
      assert.equal((await c.readAccount('fay'))!.attributes!.parent, `OU=eng,${run.people}`);
      // The same OU written another way is no move; another OU is.
      await c.updateAccount('fay', { parent: `ou=ENG, ${run.people.toLowerCase()}` });
      assert.equal(await dnOf(run, 'fay'), `CN=fay,OU=eng,${run.people}`);
      await c.updateAccount('fay', { parent: `OU=sales,${run.people}`, title: 'Account manager' });
      assert.equal(await dnOf(run, 'fay'), `CN=fay,OU=sales,${run.people}`);
      const read = (await c.readAccount('fay'))!;
      assert.deepEqual(
        [read.id, read.entitlements, read.attributes!.title],
        [created.id, ['directory:group/b'], 'Account manager'],
      );
      await assert.rejects(
        c.updateAccount('fay', { parent: `CN=Users,${run.server.baseDn}` }),
        isCode('invalid_input', /outside people_base/),
      );
      await assert.rejects(c.updateAccount('fay', { parent: 'Engineering' }), isCode('invalid_input', /is not a DN/));
      assert.equal(await dnOf(run, 'fay'), `CN=fay,OU=sales,${run.people}`, 'a refused parent moves nothing');
      await assert.rejects(
        c.updateAccount('fay', { parent: `OU=nowhere,${run.people}` }),
        isCode('not_found', /OU=nowhere/),
      );
    } finally {
      await c.close();
    }
  });
});
