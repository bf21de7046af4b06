import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import { folder, tenure } from './cli-harness.js';
import { hr, policy } from './org-fixture.js';
import { startSlapd, type SlapdServer } from './support/slapd-server.js';

// A declared group that the directory does not have: `plan` says so before anything runs, naming the DN
// and where the policy declares it, and neither plan nor apply tries to grant it.
describe('plan against a directory that lacks a declared group', () => {
  let slapd: SlapdServer;
  let args: string[];
  const base = () => `ou=missing,${slapd.baseDn}`;
  before(async () => {
    slapd = await startSlapd();
    const client = new Client({ url: slapd.url, timeout: 10_000 });
    await client.bind(slapd.adminDn, slapd.adminPassword);
    await client.add(base(), { objectClass: ['top', 'organizationalUnit'], ou: 'missing' });
    for (const ou of ['people', 'groups', 'disabled'])
      await client.add(`ou=${ou},${base()}`, { objectClass: ['top', 'organizationalUnit'], ou });
    for (const cn of ['staff', 'engineering']) {
      const dn = `cn=${cn},ou=groups,${base()}`;
      await client.add(dn, { objectClass: ['top', 'groupOfNames'], cn, member: dn });
    }
    await client.unbind();
    const target = [
      '    kind: ldap',
      '    connection:',
      `      url: "${slapd.url}"`,
      `      bind_dn: "${slapd.adminDn}"`,
      '      bind_password: { file: ldap-password.txt }',
      `      people_base: "ou=people,${base()}"`,
      `      groups_base: "ou=groups,${base()}"`,
      `      disabled_base: "ou=disabled,${base()}"`,
      '',
    ].join('\n');
    const dir = folder({
      'tenure.yaml': policy.replace('    kind: memory\n', target),
      'hr.csv': hr([
        'E001,Employee,Active,Engineering,Developer,2024-01-01,',
        'E002,Employee,Active,Finance,Accountant,2024-01-01,',
      ]),
      'ldap-password.txt': slapd.adminPassword,
    });
    args = ['-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01'];
  });
  after(async () => {
    await slapd?.stop();
  });

  it('reports the missing group with its DN and policy position, and plans no grant of it', async () => {
    const text = await tenure(...args, 'plan');
    assert.equal(text.code, 0, text.stderr);
    const printed = `${text.stdout}\n${text.stderr}`;
    const groupDn = `cn=finance,ou=groups,${base()}`;
    assert.match(
      printed,
      new RegExp(
        `tenure\\.yaml:\\d+:\\d+: warning: target "directory" has no directory:group/finance \\(no groupOfNames ${groupDn}\\); 1 grant\\(s\\) held back, not planned: E002`,
      ),
    );
    const json = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
      plan: { targets: { changes: { action: string; entitlement?: string }[] }[] };
      diagnostics: { code: string; subject?: string; position?: { line?: number } }[];
    };
    const missing = json.diagnostics.filter((d) => d.code === 'target.missing_entitlement');
    assert.deepEqual(
      missing.map((d) => d.subject),
      ['directory:group/finance'],
    );
    assert.ok(missing[0]!.position?.line, 'the policy position of the entitlement');
    const changes = json.plan.targets.flatMap((t) => t.changes);
    assert.ok(!changes.some((c) => c.entitlement === 'directory:group/finance'), 'no grant of the missing group');
    assert.equal(changes.filter((c) => c.action === 'create_account').length, 2);
  });

  it('apply carries out the rest without a failure, and the next plan is empty but still warns', async () => {
    const applied = await tenure(...args, 'apply');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    assert.doesNotMatch(applied.stdout, /NOT /);
    const again = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
      plan: { summary: { changes: number } };
      diagnostics: { code: string }[];
    };
    assert.equal(again.plan.summary.changes, 0);
    assert.ok(again.diagnostics.some((d) => d.code === 'target.missing_entitlement'));
  });
});
