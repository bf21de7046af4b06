import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import { folder, tenure } from './cli-harness.js';
import { hr, policy } from './org-fixture.js';
import { startSamba, type SambaServer } from './support/samba-server.js';

// Joiner, mover and leaver through the command line against a real Active Directory domain controller (Samba):
// accounts placed in their department's OU, moved with their groups when the department changes, disabled and
// moved to the disabled OU when the person leaves; a name AD refuses is not planned, and the plan says why.
describe('tenure against Active Directory', () => {
  let dc: SambaServer;
  let dir: string;
  let ca: Buffer;
  const base = () => `OU=cli,${dc.baseDn}`;
  const run = (...args: string[]) =>
    tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-01', ...args);
  const writeHr = (rows: string[]) => writeFileSync(join(dir, 'hr.csv'), hr(rows));

  async function admin<T>(use: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client({ url: dc.ldapsUrl, timeout: 10_000, tlsOptions: { ca } });
    await c.bind(dc.adminDn, dc.adminPassword);
    try {
      return await use(c);
    } finally {
      await c.unbind();
    }
  }

  /** The DN of each account Tenure manages here, and its groups' CNs, straight from the domain. */
  const held = () =>
    admin(async (c) => {
      const { searchEntries } = await c.search(base(), {
        scope: 'sub',
        filter: '(&(objectClass=user)(employeeNumber=*))',
        attributes: ['sAMAccountName', 'memberOf', 'userAccountControl'],
      });
      return Object.fromEntries(
        searchEntries.map((e) => [
          String(e.sAMAccountName),
          {
            dn: e.dn,
            disabled: (Number(e.userAccountControl) & 2) !== 0,
            groups: [e.memberOf ?? []]
              .flat()
              .map((g) => String(g).slice(3, String(g).indexOf(',')))
              .sort(),
          },
        ]),
      );
    });

  before(async () => {
    dc = await startSamba();
    ca = readFileSync(dc.caFile);
    await admin(async (c) => {
      const ou = (dn: string) => c.add(dn, { objectClass: ['top', 'organizationalUnit'] });
      await ou(base());
      for (const o of ['people', 'groups', 'disabled']) await ou(`OU=${o},${base()}`);
      for (const d of ['Engineering', 'Finance']) await ou(`OU=${d},OU=people,${base()}`);
      for (const g of ['staff', 'engineering', 'finance'])
        await c.add(`CN=${g},OU=groups,${base()}`, { objectClass: ['top', 'group'], sAMAccountName: `cli-${g}` });
    });
    const target = [
      '    kind: ldap',
      '    attributes:',
      `      parent: '"OU=" + identity.department + ",OU=people,${base()}"'`,
      '    connection:',
      '      flavor: active_directory',
      `      url: "${dc.ldapsUrl}"`,
      `      ca_file: "${dc.caFile}"`,
      `      bind_dn: "${dc.adminDn}"`,
      '      bind_password: { file: ad-password.txt }',
      `      people_base: "OU=people,${base()}"`,
      `      groups_base: "OU=groups,${base()}"`,
      `      disabled_base: "OU=disabled,${base()}"`,
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

  it('joiners: each account in its department OU with its groups; a name AD refuses is not planned', async () => {
    writeHr([
      'E001,Employee,Active,Engineering,Developer,2024-01-01,',
      'E002,Employee,Active,Finance,Accountant,2024-01-01,',
      'E-with-a-very-long-id,Employee,Active,Finance,Accountant,2024-01-01,',
    ]);
    assert.equal((await run('import')).code, 0);
    const planned = await run('--json', 'plan');
    assert.equal(planned.code, 0, planned.stderr);
    const json = JSON.parse(planned.stdout) as {
      plan: { targets: { changes: { action: string; identity: string }[] }[] };
      diagnostics: { code: string; message: string; hint?: string }[];
    };
    const invalid = json.diagnostics.filter((d) => d.code === 'plan.invalid_name');
    assert.deepEqual(
      invalid.map((d) => [d.message, d.hint]),
      [
        [
          'target "directory": E-with-a-very-long-id\'s account name "E-with-a-very-long-id" is 21 characters; AD allows at most 20 in sAMAccountName; it is not created',
          'the name comes from targets[].account_name: identity.id; make it give names the target accepts',
        ],
      ],
    );
    const changes = json.plan.targets.flatMap((t) => t.changes);
    assert.ok(!changes.some((c) => c.identity === 'E-with-a-very-long-id'));
    const applied = await run('apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    assert.deepEqual(await held(), {
      E001: {
        dn: `CN=E001,OU=Engineering,OU=people,${base()}`,
        disabled: false,
        groups: ['engineering', 'staff'],
      },
      E002: { dn: `CN=E002,OU=Finance,OU=people,${base()}`, disabled: false, groups: ['finance', 'staff'] },
    });
  });

  it('a mover: the plan says from which OU to which; apply moves the account and changes its groups', async () => {
    writeHr([
      'E001,Employee,Active,Finance,Controller,2024-01-01,',
      'E002,Employee,Active,Finance,Accountant,2024-01-01,',
    ]);
    assert.equal((await run('import')).code, 0);
    const text = await run('plan');
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `parent: "OU=Engineering,OU=people,${base()}" → "OU=Finance,OU=people,${base()}" \\(policy targets\\[\\]\\.attributes\\)`,
      ),
    );
    const applied = await run('apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    const now = await held();
    assert.deepEqual(now.E001, {
      dn: `CN=E001,OU=Finance,OU=people,${base()}`,
      disabled: false,
      groups: ['finance', 'staff'],
    });
    const again = JSON.parse((await run('--json', 'plan')).stdout) as { plan: { summary: { changes: number } } };
    assert.equal(again.plan.summary.changes, 0, 'nothing left to do: the OU read back is the one computed');
  });

  it('a leaver: disabled (userAccountControl) and moved to the disabled OU, keeping the account', async () => {
    writeHr([
      'E001,Employee,Active,Finance,Controller,2024-01-01,',
      'E002,Employee,Terminated,Finance,Accountant,2024-01-01,2026-10-30',
    ]);
    assert.equal((await run('import')).code, 0);
    const applied = await run('apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    assert.deepEqual(await held().then((h) => h.E002), {
      dn: `CN=E002,OU=disabled,${base()}`,
      disabled: true,
      groups: [],
    });
    const drift = JSON.parse((await run('--json', 'drift')).stdout) as { drift: { findings: unknown[] } };
    assert.deepEqual(drift.drift.findings, [], 'the domain is as the policy wants it');
  });
});
