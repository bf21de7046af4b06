import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import pg from 'pg';
import { tenure } from './cli-harness.js';
import { hr } from './org-fixture.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { freePort } from './support/server-process.js';
import { startScimServer, type ScimServer } from './support/scim-server.js';
import { startSlapd, type SlapdServer } from './support/slapd-server.js';

const ACME = join(import.meta.dirname, '..', 'examples', 'acme');

interface Item {
  check: string;
  entitlement?: string;
  status: string;
  needed: boolean;
  how: string;
  message: string;
  hint?: string;
}
interface Checked {
  ok: boolean;
  checkedAt: string;
  recorded: string[];
  targets: { target: string; kind: string; ok: boolean; probed: boolean; items: Item[]; discovery?: object }[];
}

// The acme example's three targets (memory snapshots) plus a real directory, a real PostgreSQL and a real SCIM
// service, each with the groups the policy declares.
describe('tenure targets check', () => {
  let slapd: SlapdServer;
  let postgres: PostgresServer;
  let scim: ScimServer;
  let admin: pg.Client;
  let dbUrl: string;
  let dir: string;
  const run = (...args: string[]) => tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args);
  const json = async (...args: string[]) => {
    const r = await run('--json', 'targets', 'check', ...args);
    return { code: r.code, stderr: r.stderr, doc: JSON.parse(r.stdout) as Checked };
  };
  const ldap = async <T>(f: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ url: slapd.url, timeout: 10_000 });
    await c.bind(slapd.adminDn, slapd.adminPassword);
    try {
      return await f(c);
    } finally {
      await c.unbind();
    }
  };
  const scimGet = async (path: string) =>
    (await (await fetch(scim.url + path, { headers: { Authorization: `Bearer ${scim.token}` } })).json()) as {
      Resources?: { userName?: string }[];
    };

  before(async () => {
    [slapd, postgres, scim] = await Promise.all([startSlapd(), startPostgres(), startScimServer()]);
    dbUrl = await createDatabase(postgres);
    admin = new pg.Client({ connectionString: dbUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('CREATE ROLE staff_ro NOLOGIN');
    await ldap(async (c) => {
      for (const cn of ['staff', 'engineering']) {
        const dn = `cn=${cn},ou=groups,${slapd.baseDn}`;
        await c.add(dn, { objectClass: ['top', 'groupOfNames'], cn, member: dn });
      }
    });
    const created = await fetch(`${scim.url}/Groups`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${scim.token}`, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'crm-users' }),
    });
    assert.equal(created.status, 201);

    dir = mkdtempSync(join(tmpdir(), 'tenure-targets-check-'));
    cpSync(ACME, dir, { recursive: true });
    const targets = [
      '  - id: people',
      '    kind: ldap',
      '    connection:',
      `      url: "${slapd.url}"`,
      `      bind_dn: "${slapd.adminDn}"`,
      '      bind_password: { file: ldap-password.txt }',
      `      people_base: "ou=people,${slapd.baseDn}"`,
      `      groups_base: "ou=groups,${slapd.baseDn}"`,
      `      disabled_base: "ou=disabled,${slapd.baseDn}"`,
      '  - id: db',
      '    kind: postgres',
      `    connection: { url: ${JSON.stringify(dbUrl)}, terminate_sessions_on_disable: true }`,
      '  - id: crm',
      '    kind: scim',
      `    connection: { url: ${JSON.stringify(scim.url)}, token: { file: scim-token.txt } }`,
      '  - id: legacy',
      '    kind: csv',
      '    connection: { accounts: legacy/accounts.csv, memberships: legacy/memberships.csv }',
      '',
    ].join('\n');
    const entitlements = [
      '  - { id: people:group/staff }',
      '  - { id: people:group/engineering }',
      '  - { id: db:role/staff_ro }',
      '  - { id: crm:group/crm-users }',
      '  - { id: legacy:group/users }',
      '',
    ].join('\n');
    const roles = [
      '  - id: crm-users',
      '    when: identity.kind == "employee"',
      '    grants: [crm:group/crm-users]',
      '',
    ].join('\n');
    const policy = readFileSync(join(ACME, 'tenure.yaml'), 'utf8')
      .replace('\ntargets:\n', `\ntargets:\n${targets}`)
      .replace('\nentitlements:\n', `\nentitlements:\n${entitlements}`)
      .replace('\nroles:\n', `\nroles:\n${roles}`);
    writeFileSync(join(dir, 'tenure.yaml'), policy);
    writeFileSync(join(dir, 'ldap-password.txt'), slapd.adminPassword);
    writeFileSync(join(dir, 'scim-token.txt'), scim.token);
    mkdirSync(join(dir, 'legacy'));
    writeFileSync(join(dir, 'legacy', 'accounts.csv'), 'id,name,identity,enabled\nlegacy-1,ana,E000001,true\n');
    writeFileSync(join(dir, 'legacy', 'memberships.csv'), 'account,entitlement\nana,legacy:group/users\n');
  });
  after(async () => {
    await admin?.end();
    await Promise.all([slapd?.stop(), postgres?.stop(), scim?.stop()]);
  });

  it('finds every target of the acme example and the three servers able to do what the policy needs', async () => {
    const r = await run('targets', 'check');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [target, kind] of [
      ['directory', 'memory'],
      ['apps', 'memory'],
      ['warehouse', 'memory'],
      ['people', 'ldap'],
      ['db', 'postgres'],
      ['crm', 'scim'],
      ['legacy', 'csv'],
    ])
      assert.match(r.stdout, new RegExp(`^${target} \\(${kind}\\): ok`, 'm'));
    assert.match(r.stdout, /ok +read +read 199 account\(s\) from .*directory\.json/);
    assert.match(r.stdout, /ok +entitlement +groupOfNames cn=engineering,ou=groups,dc=example,dc=test exists/);
    assert.match(r.stdout, /ok +group +can grant and revoke "staff_ro" \(superuser\)/);
    assert.match(r.stdout, /ok +disable +can disable roles and end their sessions \(superuser\)/);
    assert.match(r.stdout, /ok +discovery +Groups: yes, filter: yes/);
    // What cannot be asked read-only is said, and does not fail the check.
    assert.match(r.stdout, /unknown +create +creating entries under ou=people,dc=example,dc=test: unknown/);
    assert.match(r.stdout, /ok +read +read 1 account\(s\) from .*accounts\.csv and .*memberships\.csv/);
    assert.match(r.stdout, /7 target\(s\) checked: each can do what the policy needs\./);
  });

  it('prints one JSON document with every item, and records what the SCIM service supports', async () => {
    const { code, doc } = await json();
    assert.equal(code, 0);
    assert.equal(doc.ok, true);
    assert.ok(!Number.isNaN(Date.parse(doc.checkedAt)));
    assert.deepEqual(
      doc.targets.map((t) => [t.target, t.kind, t.ok, t.probed]),
      [
        ['people', 'ldap', true, false],
        ['db', 'postgres', true, false],
        ['crm', 'scim', true, false],
        ['legacy', 'csv', true, false],
        ['directory', 'memory', true, false],
        ['apps', 'memory', true, false],
        ['warehouse', 'memory', true, false],
      ],
    );
    for (const t of doc.targets)
      for (const i of t.items) {
        assert.ok(['ok', 'missing', 'unknown'].includes(i.status), JSON.stringify(i));
        assert.equal(typeof i.needed, 'boolean');
        assert.equal(i.how, 'asked', 'nothing is written without --probe');
        assert.ok(i.message.length > 0);
      }
    const db = doc.targets.find((t) => t.target === 'db')!;
    assert.deepEqual(
      db.items.map((i) => [i.check, i.status]),
      [
        ['login', 'ok'],
        ['read', 'ok'],
        ['create', 'ok'],
        ['disable', 'ok'],
        ['delete', 'ok'],
        ['group', 'ok'],
      ],
    );
    const crm = doc.targets.find((t) => t.target === 'crm')!;
    assert.deepEqual(crm.discovery, { groups: true, filter: true, patch: true });
    assert.deepEqual(doc.recorded, ['crm']);
  });

  it('names an unknown TARGET and exits 2', async () => {
    const r = await run('targets', 'check', 'peple');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the policy declares no target "peple"/);
    assert.match(r.stderr, /did you mean "people"\?/);
  });

  it('exits 1 when a declared LDAP group is missing, naming its DN', async () => {
    const dn = `cn=engineering,ou=groups,${slapd.baseDn}`;
    await ldap((c) => c.del(dn));
    try {
      const r = await run('targets', 'check', 'people');
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^people \(ldap\): MISSING something the policy needs/m);
      assert.match(
        r.stdout,
        new RegExp(`MISSING +entitlement +people:group/engineering does not exist: no groupOfNames ${dn}`),
      );
      assert.doesNotMatch(r.stdout, /^directory/m, 'only the target asked for');
    } finally {
      await ldap((c) => c.add(dn, { objectClass: ['top', 'groupOfNames'], cn: 'engineering', member: dn }));
    }
  });

  it('--probe creates, changes, groups, disables and deletes a tenure-check account on each kind, leaving nothing behind', async () => {
    const snapshots = () =>
      Object.fromEntries(
        readdirSync(join(dir, 'actual')).map((f) => [f, JSON.parse(readFileSync(join(dir, 'actual', f), 'utf8'))]),
      ) as Record<string, unknown>;
    const before = snapshots();
    const legacy = () =>
      ['accounts.csv', 'memberships.csv'].map((f) => readFileSync(join(dir, 'legacy', f), 'utf8')).join('');
    const legacyBefore = legacy();
    const { code, doc } = await json('--probe');
    assert.equal(code, 0, JSON.stringify(doc, null, 2));
    for (const t of doc.targets) {
      assert.equal(t.probed, true, t.target);
      const probed = t.items.filter((i) => i.how === 'probed');
      // Each declared group of a server is written once; a file target's first one stands for all.
      const groups = { people: 2, db: 1, crm: 1 }[t.target] ?? 1;
      assert.deepEqual(
        probed.map((i) => [i.check, i.status, i.check !== 'group' || i.entitlement?.startsWith(`${t.target}:`)]),
        [
          ['create', 'ok', true],
          ['update', 'ok', true],
          ...Array.from({ length: groups }, () => ['group', 'ok', true]),
          ['disable', 'ok', true],
          ['delete', 'ok', true],
        ],
        t.target,
      );
      assert.match(probed[0]!.message, /created account tenure-check-[0-9a-f]{6}$/);
    }
    // Nothing left: no entry, role or user named tenure-check-*, no member added, the snapshots as they were.
    const entries = await ldap(async (c) => {
      const found = [];
      for (const ou of ['people', 'disabled'])
        found.push(
          ...(await c.search(`ou=${ou},${slapd.baseDn}`, { scope: 'one', filter: '(uid=tenure-check-*)' }))
            .searchEntries,
        );
      // Every group holds only its placeholder (its own DN) again.
      const groups = await c.search(`ou=groups,${slapd.baseDn}`, { scope: 'one', attributes: ['member'] });
      const added = groups.searchEntries.filter((g) => String(g.member) !== g.dn);
      return [...found, ...added];
    });
    assert.deepEqual(entries, []);
    const roles = await admin.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'tenure-check-%'");
    assert.deepEqual(roles.rows, []);
    const users = await scimGet('/Users?count=100');
    assert.deepEqual(users.Resources ?? [], []);
    assert.deepEqual(snapshots(), before);
    assert.doesNotMatch(legacy(), /tenure-check/);
    assert.match(legacy(), /legacy-1,ana,E000001,true/);
    assert.match(legacyBefore, /ana,legacy:group\/users/);
    assert.match(legacy(), /ana,legacy:group\/users/);
  });

  it('records a SCIM service without Groups, and validate then warns about the groups the policy grants there', async () => {
    scim.groups = false;
    try {
      const r = await json('crm');
      assert.equal(r.code, 1);
      const crm = r.doc.targets[0]!;
      assert.deepEqual(crm.discovery, { groups: false, filter: true, patch: true });
      assert.ok(
        crm.items.some(
          (i) => i.check === 'entitlement' && i.status === 'missing' && /no Groups resource/.test(i.message),
        ),
      );
      assert.deepEqual(r.doc.recorded, ['crm']);

      const v = await run('validate');
      assert.equal(v.code, 0, 'a warning, not an error');
      const when = r.doc.checkedAt.replace('T', ' ').slice(0, 16);
      assert.match(
        v.stderr,
        new RegExp(
          `tenure\\.yaml:\\d+:\\d+: warning: target "crm" has no Groups \\(tenure targets check found none on ${when} UTC\\), but the policy grants crm:group/crm-users \\(role crm-users\\)`,
        ),
      );
      const vj = JSON.parse((await run('--json', 'validate')).stdout) as {
        diagnostics: { code: string; subject?: string }[];
      };
      assert.deepEqual(
        vj.diagnostics.filter((d) => d.code === 'target.no_groups').map((d) => d.subject),
        ['crm:group/crm-users'],
      );
    } finally {
      scim.groups = true;
    }
    // Checked again with Groups back, the warning goes.
    assert.equal((await run('targets', 'check', 'crm')).code, 0);
    assert.doesNotMatch((await run('validate')).stderr, /target\.no_groups|has no Groups/);
  });
});

// A PostgreSQL target that ends sessions on disable, reached as a role with CREATEROLE only.
describe('tenure targets check: a PostgreSQL role without pg_signal_backend', () => {
  let postgres: PostgresServer;
  let admin: pg.Client;
  let dir: string;
  const run = (...args: string[]) => tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), ...args);

  before(async () => {
    postgres = await startPostgres();
    const dbUrl = await createDatabase(postgres);
    admin = new pg.Client({ connectionString: dbUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('CREATE ROLE tenure LOGIN CREATEROLE');
    await admin.query('CREATE ROLE staff NOLOGIN');
    const url = new URL(dbUrl);
    url.username = 'tenure';
    const policy = `version: 1
name: Sessions
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { field: worker_type, values: { Employee: employee } }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: warehouse
    kind: postgres
    connection: { url: ${JSON.stringify(url.toString())}, terminate_sessions_on_disable: true }
entitlements:
  - id: warehouse:role/staff
  - id: warehouse:role/finance
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [warehouse:role/staff]
`;
    dir = mkdtempSync(join(tmpdir(), 'tenure-targets-check-pg-'));
    writeFileSync(join(dir, 'tenure.yaml'), policy);
    writeFileSync(join(dir, 'hr.csv'), hr(['E001,Employee,Active,Engineering,Developer,2024-01-01,']));
  });
  after(async () => {
    await admin?.end();
    await postgres?.stop();
  });

  it('exits 1 naming the grant to run, and the missing group role; passes once both are there', async () => {
    const r = await run('targets', 'check');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /MISSING +disable +terminate_sessions_on_disable is set, but the connecting role "tenure" lacks the privileges of pg_signal_backend/,
    );
    assert.match(r.stdout, /hint: GRANT pg_signal_backend TO "tenure"/);
    assert.match(r.stdout, /MISSING +entitlement +group role "finance" does not exist/);
    assert.match(r.stdout, /ok +group +can grant and revoke "staff" \(CREATEROLE\)/);
    // The policy deletes nobody: what a delete would need is reported, not required.
    assert.match(
      r.stdout,
      /lacks +delete +DROP OWNED needs the privileges of each role deleted.*\(the policy does not need it\)/,
    );
    const doc = JSON.parse((await run('--json', 'targets', 'check')).stdout) as Checked;
    const del = doc.targets[0]!.items.find((i) => i.check === 'delete')!;
    assert.deepEqual([del.status, del.needed], ['missing', false]);

    await admin.query('GRANT pg_signal_backend TO tenure');
    await admin.query('CREATE ROLE finance NOLOGIN');
    const fixed = await run('targets', 'check');
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.match(
      fixed.stdout,
      /ok +disable +can disable roles and end their sessions \(CREATEROLE, pg_signal_backend\)/,
    );
  });

  it('reports a target it cannot reach as a missing login, exit 1, and asks nothing more of it', async () => {
    const policy = readFileSync(join(dir, 'tenure.yaml'), 'utf8');
    const closed = await freePort();
    const unreachable = mkdtempSync(join(tmpdir(), 'tenure-targets-check-down-'));
    writeFileSync(join(unreachable, 'tenure.yaml'), policy.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${closed}`));
    writeFileSync(join(unreachable, 'hr.csv'), readFileSync(join(dir, 'hr.csv')));
    const r = await tenure('-c', join(unreachable, 'tenure.yaml'), '--json', 'targets', 'check');
    assert.equal(r.code, 1);
    const items = (JSON.parse(r.stdout) as Checked).targets[0]!.items;
    assert.deepEqual(
      items.map((i) => [i.check, i.status]),
      [['login', 'missing']],
    );
    assert.match(items[0]!.message, /ECONNREFUSED/);
  });

  it('--probe on a CREATEROLE role: the delete is refused, and the throwaway role is still removed', async () => {
    const doc = JSON.parse((await run('--json', 'targets', 'check', '--probe')).stdout) as Checked;
    const probed = doc.targets[0]!.items.filter((i) => i.how === 'probed');
    assert.deepEqual(
      probed.map((i) => [i.check, i.status]),
      [
        ['create', 'ok'],
        ['update', 'ok'],
        ['group', 'ok'],
        ['group', 'ok'],
        ['disable', 'ok'],
        ['delete', 'missing'],
      ],
    );
    assert.match(
      probed.at(-1)!.message,
      /DROP OWNED needs the privileges .* \(the throwaway account was removed another way\)/,
    );
    const left = await admin.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'tenure-check-%'");
    assert.deepEqual(left.rows, []);
  });
});
