import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'ldapts';
import pg from 'pg';
import { quoteIdent } from '../src/connectors/postgres/quote.js';
import { folder, tenure } from './cli-harness.js';
import { hr, policy } from './org-fixture.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { startScimServer, type ScimServer } from './support/scim-server.js';
import { startSlapd, type SlapdServer } from './support/slapd-server.js';
import { startSamba, type SambaServer } from './support/samba-server.js';
import { asAdmin } from './connectors/fixtures/active-directory.js';

// Three applies started at once against each real server kind: the target leases let one run at a
// time, the others wait, then find the work done. Afterwards the plan is empty, drift finds no
// duplicate or unexplained account, and every change was applied (and audited) exactly once.
const PEOPLE = 30;
const GROUPS = ['engineering', 'finance', 'staff'] as const;
const RUN = `c${randomBytes(3).toString('hex')}`;
const closing: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
});

const rows = (prefix: string): string[] =>
  Array.from(
    { length: PEOPLE },
    (_, i) =>
      `${prefix}${String(i + 1).padStart(3, '0')},Employee,Active,${i % 2 ? 'Engineering' : 'Finance'},Developer,2024-01-01,`,
  );

function spawned(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TENURE_LOCK_WAIT_MS: '300000' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

interface Kind {
  readonly name: string;
  /** The policy's target block, the entitlement prefix, files beside the policy, and the id prefix. */
  prepare(): Promise<{ target: string; entitlements: string; files: Record<string, string>; prefix: string }>;
}

const scimKind: Kind = {
  name: 'a SCIM server',
  async prepare() {
    const server: ScimServer = await startScimServer();
    closing.push(() => server.stop());
    for (const displayName of GROUPS) {
      const r = await fetch(`${server.url}/Groups`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName }),
      });
      assert.ok(r.ok, `group ${displayName}: ${r.status}`);
    }
    return {
      target: `    kind: scim\n    connection: { url: "${server.url}", token: { file: token.txt }, timeout_ms: 10000 }\n`,
      entitlements: 'directory:group/',
      files: { 'token.txt': server.token },
      prefix: 'E',
    };
  },
};

const ldapKind: Kind = {
  name: 'an LDAP directory (slapd)',
  async prepare() {
    const slapd: SlapdServer = await startSlapd();
    closing.push(() => slapd.stop());
    const base = `ou=concurrent,${slapd.baseDn}`;
    const client = new Client({ url: slapd.url, timeout: 10_000 });
    await client.bind(slapd.adminDn, slapd.adminPassword);
    await client.add(base, { objectClass: ['top', 'organizationalUnit'], ou: 'concurrent' });
    for (const ou of ['people', 'groups', 'disabled'])
      await client.add(`ou=${ou},${base}`, { objectClass: ['top', 'organizationalUnit'], ou });
    for (const cn of GROUPS) {
      const dn = `cn=${cn},ou=groups,${base}`;
      await client.add(dn, { objectClass: ['top', 'groupOfNames'], cn, member: dn });
    }
    await client.unbind();
    return {
      target: [
        '    kind: ldap',
        '    connection:',
        `      url: "${slapd.url}"`,
        `      bind_dn: "${slapd.adminDn}"`,
        '      bind_password: { file: ldap-password.txt }',
        `      people_base: "ou=people,${base}"`,
        `      groups_base: "ou=groups,${base}"`,
        `      disabled_base: "ou=disabled,${base}"`,
        '',
      ].join('\n'),
      entitlements: 'directory:group/',
      files: { 'ldap-password.txt': slapd.adminPassword },
      prefix: 'E',
    };
  },
};

let postgres: PostgresServer | undefined;
const postgresKind: Kind = {
  name: 'PostgreSQL',
  async prepare() {
    postgres = await startPostgres();
    const server = postgres;
    const url = await createDatabase(server);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    for (const g of GROUPS) await admin.query(`CREATE ROLE ${quoteIdent(`${RUN}_${g}`)} NOLOGIN`);
    closing.push(async () => {
      const ours = await admin.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)',
        [RUN],
      );
      for (const { rolname } of ours.rows) await admin.query(`DROP ROLE ${quoteIdent(rolname)}`);
      await admin.end();
      await server.stop();
    });
    return {
      target: `    kind: postgres\n    connection: { url: "${url}" }\n`,
      entitlements: `directory:role/${RUN}_`,
      files: {},
      prefix: `${RUN}_E`,
    };
  },
};

// Active Directory with the links kept by Tenure: the three applies share one store, whose links each must see.
const activeDirectoryKind: Kind = {
  name: 'Active Directory (a Samba DC), links kept by Tenure',
  async prepare() {
    const dc: SambaServer = await startSamba();
    closing.push(() => dc.stop());
    const base = `OU=concurrent,${dc.baseDn}`;
    await asAdmin(async (client) => {
      await client.add(base, { objectClass: ['top', 'organizationalUnit'] });
      for (const ou of ['people', 'groups'])
        await client.add(`OU=${ou},${base}`, { objectClass: ['top', 'organizationalUnit'] });
      for (const cn of GROUPS)
        await client.add(`CN=${cn},OU=groups,${base}`, { objectClass: ['top', 'group'], sAMAccountName: `c-${cn}` });
    }, dc);
    return {
      target: [
        '    kind: ldap',
        '    connection:',
        '      flavor: active_directory',
        `      url: "${dc.ldapsUrl}"`,
        `      ca_file: "${dc.caFile}"`,
        `      bind_dn: "${dc.adminDn}"`,
        '      bind_password: { file: ad-password.txt }',
        `      people_base: "OU=people,${base}"`,
        `      groups_base: "OU=groups,${base}"`,
        '      link_attribute: none',
        '',
      ].join('\n'),
      entitlements: 'directory:group/',
      files: { 'ad-password.txt': dc.adminPassword },
      prefix: 'E',
    };
  },
};

function auditedOperations(stateDb: string): string[] {
  const db = new BetterSqlite3(stateDb, { readonly: true });
  try {
    return (
      db.prepare(`select action, details from audit_log where action like 'operation.%'`).all() as {
        action: string;
        details: string;
      }[]
    ).map((r) => {
      const d = JSON.parse(r.details) as { account: string; entitlement?: string };
      return `${r.action} ${d.account} ${d.entitlement ?? ''}`;
    });
  } finally {
    db.close();
  }
}

describe('three applies at once on real servers', () => {
  for (const kind of [scimKind, ldapKind, postgresKind, activeDirectoryKind]) {
    it(
      `on ${kind.name}: nothing lost, nothing duplicated, each change audited once`,
      { timeout: 420_000 },
      async () => {
        const { target, entitlements, files, prefix } = await kind.prepare();
        const dir = folder({
          'tenure.yaml': policy.replace('    kind: memory\n', target).replaceAll('directory:group/', entitlements),
          'hr.csv': hr(rows(prefix)),
          ...files,
        });
        const args = ['-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01'];
        const planned = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
          plan: { summary: { changes: number } };
        };
        assert.equal(planned.plan.summary.changes, PEOPLE * 3, 'an account and two memberships each');
        const runs = await Promise.all([1, 2, 3].map(() => spawned([...args, 'apply'])));
        for (const r of runs) assert.equal(r.code, 0, r.stderr);
        const again = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
          plan: { summary: { changes: number } };
        };
        assert.equal(again.plan.summary.changes, 0, 'converged: the next plan is empty');
        const drift = JSON.parse((await tenure(...args, '--json', 'drift')).stdout) as {
          drift: { summary: { findings: number; byCode: Record<string, number> } };
        };
        assert.equal(drift.drift.summary.findings, 0, `no duplicate or unexplained account: ${JSON.stringify(drift)}`);
        const audited = auditedOperations(join(dir, '.tenure', 'state.db'));
        assert.equal(audited.length, PEOPLE * 3, 'one audit record per change');
        assert.equal(new Set(audited).size, PEOPLE * 3, 'no change applied twice');
      },
    );
  }
});
