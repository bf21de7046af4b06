import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ldapts';
import { ConnectorError, type Connector } from '../../src/connectors/connector.js';
import { createLdapConnector } from '../../src/connectors/ldap/ldap-connector.js';
import { escapeFilterValue, normaliseDn } from '../../src/connectors/ldap/ldap-escape.js';
import type { Change, Plan } from '../../src/model/plan.js';
import { folder, tenure } from '../cli-harness.js';
import { startSlapd, type SlapdServer } from '../support/slapd-server.js';
import {
  asAdmin as asAdminOn,
  CN_LAYOUT,
  connectLayout as connect,
  freshTree,
  hrSlapd,
  ldapTarget,
  stop,
} from './fixtures/ldap.js';

// Directories laid out by someone else: accounts named by cn in sub-OUs with the HR id in an attribute of the
// organisation's own schema, groupOfUniqueNames, posixGroup, and a server whose referential-integrity overlay rewrites
// member DNs by itself.

// The HR slapd of the LDAP fixtures (which run the contract on these layouts); this file shares it and stops it.
let server: SlapdServer;
before(async () => {
  server = await hrSlapd();
});
after(stop);

function asAdmin<T>(use: (client: Client) => Promise<T>, on: SlapdServer = server): Promise<T> {
  return asAdminOn(use, on);
}

async function values(dn: string, attribute: string, on: SlapdServer = server): Promise<string[]> {
  return asAdmin(async (client) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: [attribute] });
    const v = searchEntries[0]?.[attribute];
    return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
  }, on);
}

const dns = (list: readonly string[]) => list.map((d) => normaliseDn(d)).sort();

const person = (cn: string | string[], sn: string, extra: Record<string, string | string[]> = {}) => ({
  objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'hrPerson'],
  cn,
  sn,
  ...extra,
});

// ---------------------------------------------------------------------------------------------------------------
// Planned and applied through the command line

const HR = `employee_id,status,full_name,family_name,department
E001,Active,Ana Lima,Lima,Engineering
E002,Active,Bo Chen,Chen,Finance
E003,Active,Cy Diaz,Diaz,Engineering
`;

function policy(connection: string): string {
  return `version: 1
name: Real-world LDAP
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    status: { field: status, values: { Active: active } }
    attributes:
      full_name: { field: full_name, type: string, required: true }
      family_name: { field: family_name, type: string, required: true }
      department: { field: department, type: string, required: true }
targets:
  - id: corp
    kind: ldap
    account_name: identity.full_name
    attributes:
      sn: identity.family_name
    connection:
      url: ${server.url}
      bind_dn: "${server.adminDn}"
      bind_password: { file: password.txt }
${connection}
entitlements:
  - id: corp:group/engineering
  - id: corp:group/finance
roles:
  - id: engineers
    when: identity.department == "Engineering"
    grants: [corp:group/engineering]
  - id: finance
    when: identity.department == "Finance"
    grants: [corp:group/finance]
`;
}

describe('a directory with accounts named by cn in sub-OUs, an HR id attribute and groupOfUniqueNames', () => {
  let base: string;
  let dir: string;
  const staff = () => `ou=staff,${base}`;
  const roles = () => `ou=roles,${base}`;
  const ana = () => `cn=Ana Lima,ou=eng,${staff()}`;
  const cyrus = () => `cn=Cyrus Diaz,ou=eng,${staff()}`;
  /** Cyrus Diaz after the plan renames him to the name the policy computes (the HR full name), in his sub-OU. */
  const cy = () => `cn=Cy Diaz,ou=eng,${staff()}`;
  const old = () => `cn=Old Timer,ou=fin,${staff()}`;
  before(async () => {
    base = await freshTree(['ou=staff', 'ou=eng,ou=staff', 'ou=fin,ou=staff', 'ou=roles']);
    await asAdmin(async (client) => {
      // cn holds a second value, as it often does; the RDN's is the name.
      await client.add(ana(), person(['Ana Lima', 'Ana'], 'Lima', { hrEmployeeId: 'E001' }));
      // Named otherwise than the policy would name it, but linked by the HR id.
      await client.add(cyrus(), person('Cyrus Diaz', 'Diaz', { hrEmployeeId: 'E003' }));
      // Linked by another system to an id Tenure never imported.
      await client.add(old(), person('Old Timer', 'Timer', { hrEmployeeId: 'X-999' }));
      const group = (cn: string, members: string[]) =>
        client.add(`cn=${cn},${roles()}`, { objectClass: ['top', 'groupOfUniqueNames'], cn, uniqueMember: members });
      await group('engineering', [ana()]);
      await group('finance', [old()]);
      await group('wiki', [ana(), old()]); // not declared by the policy
    });
    dir = folder({
      'hr.csv': HR,
      'password.txt': server.adminPassword,
      'tenure.yaml': policy(`      people_base: "${staff()}"
      groups_base: "${roles()}"
      account_scope: sub
      naming_attribute: cn
      link_attribute: hrEmployeeId
      object_classes: [top, person, organizationalPerson, inetOrgPerson, hrPerson]
      group_kind: groupOfUniqueNames
      disable_method: attribute`),
    });
  });

  const args = () => ['-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01'];

  test('reads every account in the subtree, by its cn, with its link and groups', async () => {
    const c = connect(
      server,
      {
        people_base: staff(),
        groups_base: roles(),
        ...CN_LAYOUT,
        group_kind: 'groupOfUniqueNames',
        disable_method: 'attribute',
      },
      [],
    );
    try {
      const accounts = (await c.listAccounts()).map((a) => [a.name, a.identity, a.enabled, a.entitlements]);
      assert.deepEqual(
        accounts.sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
        [
          ['Ana Lima', 'E001', true, ['corp:group/engineering', 'corp:group/wiki']],
          ['Cyrus Diaz', 'E003', true, []],
          ['Old Timer', 'X-999', true, ['corp:group/finance', 'corp:group/wiki']],
        ],
      );
      assert.equal(await c.readAccount('Ana'), undefined, "a second cn value is not the account's name");
      assert.deepEqual(await c.listMembers('corp:group/wiki'), ['Ana Lima', 'Old Timer']);
    } finally {
      await c.close();
    }
  });

  test('the plan links by the HR id, renames to the computed name, leaves the unknown link alone, and creates only the new person', async () => {
    const planned = await tenure(...args(), '--json', 'plan');
    assert.equal(planned.code, 0, planned.stderr);
    const plan = (JSON.parse(planned.stdout) as { plan: Plan }).plan;
    const changes: Change[] = plan.targets.flatMap((t) => [...t.changes]);
    const about = (who: string) => changes.filter((c) => c.identity === who).map((c) => [c.action, c.entitlement]);
    assert.deepEqual(about('E001'), [], 'Ana holds what the policy gives her');
    assert.deepEqual(about('E002'), [
      ['create_account', undefined],
      ['add_membership', 'corp:group/finance'],
    ]);
    assert.ok(!about('E003').some(([action]) => action === 'create_account'), 'Cy is Cyrus Diaz, found by the HR id');
    // The policy names accounts by the HR full name: the account found by the link is renamed, not replaced.
    const rename = changes.find((c) => c.identity === 'E003' && c.action === 'rename_account');
    assert.deepEqual([rename?.account, rename?.newName], ['Cyrus Diaz', 'Cy Diaz']);
    assert.ok(
      changes.some(
        (c) => c.identity === 'E003' && c.entitlement === 'corp:group/engineering' && c.account === 'Cy Diaz',
      ),
    );
    assert.ok(!changes.some((c) => c.account === 'Old Timer'), 'the unknown link is not touched');
  });

  test('apply writes the new account where new accounts go, with the configured classes and link', async () => {
    const applied = await tenure(...args(), 'apply');
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const bo = `cn=Bo Chen,${staff()}`;
    assert.deepEqual(await values(bo, 'hrEmployeeId'), ['E002']);
    assert.deepEqual(await values(bo, 'sn'), ['Chen']);
    assert.ok((await values(bo, 'objectClass')).includes('hrPerson'));
    assert.deepEqual(await values(bo, 'employeeNumber'), [], 'the default link attribute is not written');
    assert.deepEqual(dns(await values(`cn=finance,${roles()}`, 'uniqueMember')), dns([old(), bo]));
    assert.deepEqual(dns(await values(`cn=engineering,${roles()}`, 'uniqueMember')), dns([ana(), cy()]));
    assert.deepEqual(await values(cy(), 'hrEmployeeId'), ['E003'], 'renamed in its sub-OU, link kept');
    assert.deepEqual(dns(await values(`cn=wiki,${roles()}`, 'uniqueMember')), dns([ana(), old()]), 'undeclared group');
    const again = await tenure(...args(), 'apply');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to apply/);
  });

  test('drift reports the account linked to an id Tenure never imported, and no orphan', async () => {
    const drift = await tenure(...args(), '--json', 'drift');
    assert.equal(drift.code, 0, drift.stderr);
    const findings = (JSON.parse(drift.stdout) as { drift: { findings: { code: string; subject: string }[] } }).drift
      .findings;
    const codes = (subject: string) => findings.filter((f) => f.subject === subject).map((f) => f.code);
    assert.deepEqual(codes('account:corp/Old Timer'), ['drift.unknown_link']);
    assert.deepEqual(codes('account:corp/Cy Diaz'), [], 'linked by the HR id, renamed, and holding what it should');
    assert.deepEqual(codes('account:corp/Bo Chen'), []);
    assert.deepEqual(codes('account:corp/Ana Lima'), ['drift.undeclared_entitlement'], 'wiki is not declared');
  });

  test('a rename stays in its sub-OU, keeps the link and rewrites uniqueMember in every group', async () => {
    const c = connect(
      server,
      {
        people_base: staff(),
        groups_base: roles(),
        ...CN_LAYOUT,
        group_kind: 'groupOfUniqueNames',
        disable_method: 'attribute',
      },
      ['corp:group/engineering', 'corp:group/finance'],
    );
    try {
      await c.renameAccount!('Ana Lima', 'Ana Souza', 'E001');
      const renamed = `cn=Ana Souza,ou=eng,${staff()}`;
      assert.deepEqual(await values(renamed, 'hrEmployeeId'), ['E001']);
      assert.deepEqual((await values(renamed, 'cn')).sort(), ['Ana', 'Ana Souza'], 'the other cn value stays');
      assert.deepEqual(dns(await values(`cn=engineering,${roles()}`, 'uniqueMember')), dns([renamed, cy()]));
      assert.deepEqual(dns(await values(`cn=wiki,${roles()}`, 'uniqueMember')), dns([renamed, old()]));
      const read = await c.readAccount('Ana Souza');
      assert.deepEqual(read?.entitlements, ['corp:group/engineering', 'corp:group/wiki']);
    } finally {
      await c.close();
    }
  });
});

describe('strip through the command line: the declared groups reach the connector', () => {
  test('an orphan disabled by drift remediation loses its declared group, keeps the other, and cannot bind', async () => {
    const base = await freshTree(['ou=people', 'ou=groups']);
    const people = `ou=people,${base}`;
    const ghost = `uid=ghost,${people}`;
    const staff = `cn=staff,ou=groups,${base}`;
    const wiki = `cn=wiki,ou=groups,${base}`;
    await asAdmin(async (client) => {
      await client.add(ghost, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'ghost',
        cn: 'ghost',
        sn: 'ghost',
        userPassword: 'boo-123',
      });
      await client.add(staff, { objectClass: ['top', 'groupOfNames'], cn: 'staff', member: ghost });
      await client.add(wiki, { objectClass: ['top', 'groupOfNames'], cn: 'wiki', member: ghost });
    });
    const bind = async () => {
      const client = new Client({ url: server.url });
      try {
        await client.bind(ghost, 'boo-123');
      } finally {
        await client.unbind();
      }
    };
    await bind();
    const dir = folder({
      'hr.csv': 'employee_id,status,full_name,family_name,department\n',
      'password.txt': server.adminPassword,
      'tenure.yaml': policy(`      people_base: "${people}"
      groups_base: "ou=groups,${base}"
      disable_method: strip`).replace(/entitlements:[\s\S]*$/, 'entitlements:\n  - id: corp:group/staff\n'),
    });
    const args = ['-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01'];
    const remediation = join(dir, 'remediation.json');
    const drift = await tenure(...args, 'drift', '--remediate', '--out', remediation);
    assert.ok(drift.code === 0 || drift.code === 1, drift.stderr + drift.stdout);
    const applied = await tenure(...args, 'apply', remediation);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    assert.deepEqual(dns(await values(staff, 'member')), dns([staff]), 'declared: taken (the placeholder stays)');
    assert.deepEqual(dns(await values(wiki, 'member')), dns([ghost]), 'not declared: kept');
    await assert.rejects(bind(), /InvalidCredentials|49/);
  });
});

describe('strip when the bind DN may write userPassword but not read it', () => {
  let guarded: SlapdServer;
  const writer = () => `cn=writer,${guarded.baseDn}`;
  before(async () => {
    guarded = await startSlapd({
      access: [
        'access to attrs=userPassword by dn.exact="cn=writer,dc=example,dc=test" =w by anonymous auth by * none',
        'access to * by dn.exact="cn=writer,dc=example,dc=test" write by * read',
      ],
    });
  });
  after(async () => {
    await guarded?.stop();
  });

  test('the unreadable password is replaced by the marker: locked, and after enable the account has none', async () => {
    const base = await freshTree(['ou=people', 'ou=groups'], guarded);
    const user = `uid=gil,ou=people,${base}`;
    await asAdmin(async (client) => {
      await client.add(writer(), { objectClass: ['top', 'person'], cn: 'writer', sn: 'w', userPassword: 'writer-pw' });
      await client.add(user, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'gil',
        cn: 'gil',
        sn: 'gil',
        employeeNumber: 'E007',
        userPassword: 'gil-pw',
      });
      await client.add(`cn=staff,ou=groups,${base}`, {
        objectClass: ['top', 'groupOfNames'],
        cn: 'staff',
        member: user,
      });
    }, guarded);
    const bind = async () => {
      const client = new Client({ url: guarded.url });
      try {
        await client.bind(user, 'gil-pw');
      } finally {
        await client.unbind();
      }
    };
    await bind();
    const c = createLdapConnector(
      ldapTarget(guarded, {
        bind_dn: writer(),
        bind_password: 'writer-pw',
        people_base: `ou=people,${base}`,
        groups_base: `ou=groups,${base}`,
        disable_method: 'strip',
      }),
      { baseDir: process.cwd(), entitlements: ['corp:group/staff'] },
    );
    try {
      await c.disableAccount('gil');
      await assert.rejects(bind(), /InvalidCredentials|49/);
      assert.deepEqual(await values(user, 'userPassword', guarded), ['{CRYPT}!tenure-locked!']);
      await c.enableAccount('gil');
      assert.equal((await c.readAccount('gil'))?.enabled, true);
      assert.deepEqual(await values(user, 'userPassword', guarded), [], 'the old password was lost: a reset is due');
      await assert.rejects(bind(), /InvalidCredentials|49|inappropriate|unwilling/i);
    } finally {
      await c.close();
    }
  });
});

describe('a directory with posixGroup groups', () => {
  let base: string;
  let c: Connector;
  const people = () => `ou=people,${base}`;
  const devs = () => `cn=devs,ou=groups,${base}`;
  const ops = () => `cn=ops,ou=groups,${base}`;
  before(async () => {
    base = await freshTree(['ou=people', 'ou=groups']);
    await asAdmin(async (client) => {
      await client.add(`uid=ana,${people()}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: 'ana',
        cn: 'Ana',
        sn: 'Lima',
        employeeNumber: 'E001',
      });
      await client.add(devs(), { objectClass: ['top', 'posixGroup'], cn: 'devs', gidNumber: '5001', memberUid: 'ana' });
      await client.add(ops(), { objectClass: ['top', 'posixGroup'], cn: 'ops', gidNumber: '5002', memberUid: 'ana' });
    });
    c = connect(
      server,
      { people_base: people(), groups_base: `ou=groups,${base}`, group_kind: 'posixGroup', disable_method: 'strip' },
      ['corp:group/devs'],
    );
  });
  after(async () => {
    await c?.close();
  });

  test('memberships are read from memberUid', async () => {
    assert.deepEqual((await c.readAccount('ana'))?.entitlements, ['corp:group/devs', 'corp:group/ops']);
    assert.deepEqual(
      (await c.listAccounts()).map((a) => [a.name, a.entitlements]),
      [['ana', ['corp:group/devs', 'corp:group/ops']]],
    );
    assert.deepEqual(await c.listEntitlements!(), ['corp:group/devs', 'corp:group/ops']);
  });

  test('add and remove write the account name; the last member goes without a placeholder', async () => {
    await c.createAccount({ name: 'bo', identity: 'E002', attributes: { sn: 'Chen' } });
    await c.addMembership('bo', 'corp:group/devs');
    assert.deepEqual((await values(devs(), 'memberUid')).sort(), ['ana', 'bo']);
    assert.deepEqual(await c.listMembers('corp:group/devs'), ['ana', 'bo']);
    await c.removeMembership('bo', 'corp:group/devs');
    await c.removeMembership('ana', 'corp:group/devs');
    assert.deepEqual(await values(devs(), 'memberUid'), []);
    await c.addMembership('ana', 'corp:group/devs');
  });

  test('a rename rewrites memberUid in every group; strip takes only the declared group', async () => {
    await c.renameAccount!('ana', 'ana.lima', 'E001');
    assert.deepEqual(await values(devs(), 'memberUid'), ['ana.lima']);
    assert.deepEqual(await values(ops(), 'memberUid'), ['ana.lima']);
    await c.disableAccount('ana.lima');
    assert.deepEqual(await values(devs(), 'memberUid'), []);
    assert.deepEqual(await values(ops(), 'memberUid'), ['ana.lima'], 'ops is not declared');
  });

  test('a name that is not ASCII cannot be a memberUid: the directory refuses it, and says so', async () => {
    await c.createAccount({ name: 'zoë', identity: 'E009', attributes: { sn: 'Z' } });
    await assert.rejects(c.addMembership('zoë', 'corp:group/devs'), (e: unknown) => {
      assert.ok(e instanceof ConnectorError, String(e));
      assert.equal(e.code, 'invalid_input', e.message);
      assert.match(e.message, /invalidAttributeSyntax \(LDAP result 21\)/);
      return true;
    });
    await c.deleteAccount('zoë');
  });

  test('a delete leaves no memberUid behind for a later account of the same name', async () => {
    await c.deleteAccount('ana.lima');
    assert.deepEqual(await values(ops(), 'memberUid'), []);
  });
});

describe('a directory whose entries are named by cn while the account name is their uid', () => {
  test('the name is read from uid, a rename changes uid and keeps the DN, groups stay right', async () => {
    const base = await freshTree(['ou=people', 'ou=groups']);
    const dana = `cn=Dana Scott,ou=people,${base}`;
    const group = `cn=staff,ou=groups,${base}`;
    await asAdmin(async (client) => {
      await client.add(dana, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        cn: 'Dana Scott',
        sn: 'Scott',
        uid: 'dscott',
        employeeNumber: 'E004',
      });
      await client.add(group, { objectClass: ['top', 'groupOfNames'], cn: 'staff', member: dana });
    });
    const c = connect(
      server,
      { people_base: `ou=people,${base}`, groups_base: `ou=groups,${base}`, disable_method: 'attribute' },
      ['corp:group/staff'],
    );
    try {
      assert.deepEqual(
        (await c.listAccounts()).map((a) => [a.name, a.identity, a.entitlements]),
        [['dscott', 'E004', ['corp:group/staff']]],
      );
      assert.deepEqual(await c.listMembers('corp:group/staff'), ['dscott']);
      await c.renameAccount!('dscott', 'dana.scott', 'E004');
      assert.deepEqual(await values(dana, 'uid'), ['dana.scott'], 'same entry, same DN');
      assert.deepEqual(dns(await values(group, 'member')), dns([dana]));
      assert.deepEqual(await c.listMembers('corp:group/staff'), ['dana.scott']);
      assert.equal(await c.readAccount('dscott'), undefined);
      await c.renameAccount!('dscott', 'dana.scott', 'E004'); // resumed: done
    } finally {
      await c.close();
    }
  });
});

describe('a directory whose referential-integrity overlay rewrites member DNs', () => {
  let refint: SlapdServer;
  before(async () => {
    refint = await startSlapd({ refint: ['member'] });
  });
  after(async () => {
    await refint?.stop();
  });

  test('a rename and a move leave each group naming the new DN once', async () => {
    const base = await freshTree(['ou=people', 'ou=groups', 'ou=disabled'], refint);
    const group = `cn=staff,ou=groups,${base}`;
    await asAdmin(
      (client) => client.add(group, { objectClass: ['top', 'groupOfNames'], cn: 'staff', member: group }),
      refint,
    );
    const c = connect(
      refint,
      { people_base: `ou=people,${base}`, groups_base: `ou=groups,${base}`, disabled_base: `ou=disabled,${base}` },
      ['corp:group/staff'],
    );
    try {
      await c.createAccount({ name: 'eve', identity: 'E005', attributes: {} });
      await c.addMembership('eve', 'corp:group/staff');
      await c.renameAccount!('eve', 'eve.adams', 'E005');
      const renamed = `uid=eve.adams,ou=people,${base}`;
      assert.deepEqual(dns(await values(group, 'member', refint)), dns([group, renamed]));
      await c.disableAccount('eve.adams');
      const moved = `uid=eve.adams,ou=disabled,${base}`;
      assert.deepEqual(dns(await values(group, 'member', refint)), dns([group, moved]));
      assert.deepEqual(await c.listMembers('corp:group/staff'), ['eve.adams']);
      const filter = `(member=${escapeFilterValue(moved)})`;
      const holding = await asAdmin(async (client) => {
        const { searchEntries } = await client.search(`ou=groups,${base}`, {
          scope: 'one',
          filter,
          attributes: ['1.1'],
        });
        return searchEntries.length;
      }, refint);
      assert.equal(holding, 1);
    } finally {
      await c.close();
    }
  });
});

describe('placing accounts in department OUs (attributes.parent) in a standard directory', () => {
  test('a new account goes into its OU; a changed OU moves it with its groups; an OU outside people_base is refused', async () => {
    const base = await freshTree(['ou=staff', 'ou=eng,ou=staff', 'ou=fin,ou=staff', 'ou=roles']);
    await asAdmin(async (client) => {
      await client.add(`cn=a,ou=roles,${base}`, {
        objectClass: ['top', 'groupOfNames'],
        cn: 'a',
        member: `cn=a,ou=roles,${base}`,
      });
    });
    const c = connect(
      server,
      {
        people_base: `ou=staff,${base}`,
        groups_base: `ou=roles,${base}`,
        account_scope: 'sub',
        disable_method: 'attribute',
      },
      ['corp:group/a'],
    );
    try {
      await c.createAccount({ name: 'pia', identity: 'H1', attributes: { parent: `ou=eng,ou=staff,${base}` } });
      await c.addMembership('pia', 'corp:group/a');
      const before = (await c.readAccount('pia'))!;
      assert.equal(before.attributes!.parent, `ou=eng,ou=staff,${base}`);
      await c.updateAccount('pia', { parent: `OU=Fin, OU=Staff, ${base}`, mail: 'pia@example.com' });
      const after = (await c.readAccount('pia'))!;
      assert.equal(normaliseDn(after.attributes!.parent!), normaliseDn(`ou=fin,ou=staff,${base}`));
      assert.deepEqual(
        [after.id, after.entitlements, after.attributes!.mail],
        [before.id, ['corp:group/a'], 'pia@example.com'],
      );
      const members = (await values(`cn=a,ou=roles,${base}`, 'member')).map(normaliseDn);
      assert.ok(members.includes(normaliseDn(`uid=pia,ou=fin,ou=staff,${base}`)), 'the group names the new DN');
      assert.ok(!members.includes(normaliseDn(`uid=pia,ou=eng,ou=staff,${base}`)), 'and not the old one');
      await assert.rejects(
        c.updateAccount('pia', { parent: `ou=roles,${base}` }),
        (e: unknown) =>
          e instanceof ConnectorError && e.code === 'invalid_input' && /outside people_base/.test(e.message),
      );
    } finally {
      await c.close();
    }
  });
});
