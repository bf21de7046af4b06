import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Attribute, Change, type Client } from 'ldapts';
import { asAdmin } from './connectors/fixtures/active-directory.js';
import { folder, tenure } from './cli-harness.js';
import { hr, policy } from './org-fixture.js';
import { startSamba, type SambaServer } from './support/samba-server.js';

interface PlanJson {
  plan: {
    summary: { changes: number };
    targets: { changes: { action: string; account: string; newName?: string }[] }[];
  };
  diagnostics: { code: string; message: string }[];
}

// A domain where Tenure may not write an identity id into the accounts (`link_attribute: none`): it keeps which
// account is whose itself, by objectGUID, in its store. An account already there is adopted by its name; one renamed
// by someone else is still found by its GUID; a link edited in the store is not believed.
describe('tenure against Active Directory, with the links kept by Tenure', () => {
  let dc: SambaServer;
  let dir: string;
  const base = () => `OU=kept,${dc.baseDn}`;
  const people = () => `OU=people,${base()}`;
  const run = (...args: string[]) =>
    tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-01', ...args);
  const writeHr = (rows: string[]) => writeFileSync(join(dir, 'hr.csv'), hr(rows));
  const plan = async (): Promise<PlanJson> => {
    const r = await run('--json', 'plan');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PlanJson;
  };
  const changes = (p: PlanJson) =>
    p.plan.targets
      .flatMap((t) => t.changes)
      .map((c) => `${c.action} ${c.account}${c.newName ? ` → ${c.newName}` : ''}`)
      .sort();

  const admin = <T>(use: (c: Client) => Promise<T>): Promise<T> => asAdmin(use, dc);

  /** Each account under people_base: its GUID, whether it is disabled, its groups, and any employeeNumber. */
  const held = () =>
    admin(async (c) => {
      const { searchEntries } = await c.search(people(), {
        scope: 'sub',
        filter: '(objectClass=user)',
        attributes: ['sAMAccountName', 'memberOf', 'userAccountControl', 'objectGUID', 'employeeNumber'],
        explicitBufferAttributes: ['objectGUID'],
      });
      return Object.fromEntries(
        searchEntries.map((e) => [
          String(e.sAMAccountName),
          {
            guid: (e.objectGUID as Buffer).toString('hex'),
            disabled: (Number(e.userAccountControl) & 2) !== 0,
            groups: [e.memberOf ?? []]
              .flat()
              .map((g) => String(g).slice(3, String(g).indexOf(',')))
              .sort(),
            employeeNumber: [e.employeeNumber ?? []].flat().map(String),
          },
        ]),
      );
    });

  before(async () => {
    dc = await startSamba();
    await admin(async (c) => {
      const ou = (dn: string) => c.add(dn, { objectClass: ['top', 'organizationalUnit'] });
      await ou(base());
      for (const o of ['people', 'groups']) await ou(`OU=${o},${base()}`);
      for (const g of ['staff', 'engineering', 'finance'])
        await c.add(`CN=${g},OU=groups,${base()}`, { objectClass: ['top', 'group'], sAMAccountName: `kept-${g}` });
      // E001's account was there before Tenure, made by hand: no identity id in it.
      await c.add(`CN=E001,${people()}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: 'E001',
        userAccountControl: '514',
      });
    });
    const target = [
      '    kind: ldap',
      '    connection:',
      '      flavor: active_directory',
      `      url: "${dc.ldapsUrl}"`,
      `      ca_file: "${dc.caFile}"`,
      `      bind_dn: "${dc.adminDn}"`,
      '      bind_password: { file: ad-password.txt }',
      `      people_base: "${people()}"`,
      `      groups_base: "OU=groups,${base()}"`,
      '      link_attribute: none',
      '      secret_sink: { file: initial-passwords.tsv }',
      '',
    ].join('\n');
    dir = folder({
      'tenure.yaml': policy.replace('    kind: memory\n', target),
      'ad-password.txt': dc.adminPassword,
    });
  });
  after(async () => {
    await dc?.stop();
  });

  it('adopts the account already there by its name, creates the others, and writes no identity id into AD', async () => {
    writeHr([
      'E001,Employee,Active,Engineering,Developer,2024-01-01,',
      'E002,Employee,Active,Finance,Accountant,2024-01-01,',
    ]);
    assert.equal((await run('import')).code, 0);
    const before = await held();
    assert.deepEqual(changes(await plan()), [
      'add_membership E001',
      'add_membership E001',
      'add_membership E002',
      'add_membership E002',
      'create_account E002',
      'enable_account E001',
      'link_account E001',
    ]);
    const applied = await run('apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    const now = await held();
    assert.equal(now.E001!.guid, before.E001!.guid, 'the same account, adopted');
    assert.deepEqual(now.E001!.groups, ['engineering', 'staff']);
    assert.deepEqual(now.E002!.groups, ['finance', 'staff']);
    assert.ok(!now.E001!.disabled && !now.E002!.disabled);
    assert.deepEqual([now.E001!.employeeNumber, now.E002!.employeeNumber], [[], []], 'nothing written as a link');
    assert.equal((await plan()).plan.summary.changes, 0, 'both found by their links kept in the store');
    const verified = await run('audit', 'verify');
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`);
  });

  it('finds an account someone renamed by its objectGUID, and renames it back with its groups', async () => {
    const guid = (await held()).E001!.guid;
    await admin((c) =>
      c.modify(`CN=E001,${people()}`, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'sAMAccountName', values: ['E001-by-hand'] }),
        }),
      ]),
    );
    assert.deepEqual(changes(await plan()), ['rename_account E001-by-hand → E001']);
    const applied = await run('apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    const now = await held();
    assert.deepEqual(Object.keys(now).sort(), ['E001', 'E002']);
    assert.equal(now.E001!.guid, guid);
    assert.deepEqual(now.E001!.groups, ['engineering', 'staff']);
    assert.equal((await plan()).plan.summary.changes, 0);
  });

  it('a leaver is disabled through the kept link', async () => {
    writeHr([
      'E001,Employee,Active,Engineering,Developer,2024-01-01,',
      'E002,Employee,Terminated,Finance,Accountant,2024-01-01,2026-10-30',
    ]);
    assert.equal((await run('import')).code, 0);
    const applied = await run('apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    const now = await held();
    assert.deepEqual([now.E002!.disabled, now.E002!.groups], [true, []]);
    assert.equal(now.E001!.disabled, false);
  });

  it('a link edited in the store is not believed: the plan says so and treats the account as unlinked', async () => {
    const db = new BetterSqlite3(join(dir, 'state.db'));
    try {
      // Someone points E001's account at the leaver, hoping it gets disabled — or that E001's access goes unnoticed.
      db.prepare(`update account_links set identity = 'E002' where account = 'E001'`).run();
    } finally {
      db.close();
    }
    const p = await plan();
    const tampered = p.diagnostics.filter((d) => d.code === 'audit.tampered_row');
    assert.equal(tampered.length, 1, JSON.stringify(p.diagnostics));
    assert.match(tampered[0]!.message, /^CRITICAL: account_links #\d+ does not match the audit log/);
    // Not taken as E002's: the account named E001 is unlinked again, and E001 adopts it by its name.
    assert.deepEqual(changes(p), ['link_account E001']);
    const verify = await run('audit', 'verify');
    assert.notEqual(verify.code, 0, 'audit verify finds the edited row');
  });
});
