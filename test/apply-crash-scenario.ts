import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { parse } from 'csv-parse/sync';
import BetterSqlite3 from 'better-sqlite3';
import { Client as LdapClient, type Entry } from 'ldapts';
import pg from 'pg';
import { openConnector } from '../src/connectors/open-connector.js';
import { parseComment, quoteIdent } from '../src/connectors/postgres/postgres-connector.js';
import { openPolicy } from '../src/app/inputs.js';
import { guidToString } from '../src/connectors/ldap/object-guid.js';
import { openStore } from '../src/store/open-store.js';
import { tenure } from './cli-harness.js';
import { hr, org, policy } from './org-fixture.js';
import { startBetterAuthScimServer, type BetterAuthScimServer } from './support/better-auth-scim-server.js';
import { createDatabase, startPostgres, type PostgresServer } from './support/postgres-server.js';
import { startSamba, type SambaServer } from './support/samba-server.js';

// Crash safety: an apply of 2,001 operations is killed with SIGKILL at 20 random points of its
// progress and run again each time; at the end the target holds exactly the desired state — no account created
// twice, no operation lost — and the journal shows every operation done once. One scenario, run
// against every kind of target below, from the test files apply-crash*.test.ts.
const PEOPLE = 667; // each: create account + 2 memberships = 2,001 operations
const KILLS = 20;
/** This run's mark: identities (and so account names) and PostgreSQL group roles start with it. */
const RUN = `t${randomBytes(4).toString('hex')}`;
/** Person i's identity id, and so the account's name: `t1a2b3c4d_0001`, 14 characters. */
const runId = (i: number): string => `${RUN}_${String(i + 1).padStart(4, '0')}`;
const row = (id: string, i: number): string =>
  `${id},Employee,Active,${i % 2 ? 'Engineering' : 'Finance'},Developer,2024-01-01,`;
const GROUPS = ['staff', 'engineering', 'finance'] as const;

/** What a target holds, read straight from its storage rather than through the connector under test. */
interface Held {
  readonly accounts: readonly { name: string; identity: string | undefined; enabled: boolean }[];
  /** One entry per stored membership row, so a duplicate shows up twice. */
  readonly memberships: readonly string[];
}

interface TargetKind {
  readonly name: string;
  /** Operations started per second: how far a run can get past its kill point while the kill is on its way. */
  readonly rate: number;
  /** A run is killed once it has reported from 1 to this many operations done. */
  readonly killWithin: number;
  readonly timeoutMs: number;
  /** The policy's target block, and the entitlement id of a group; creates whatever must exist beforehand. */
  prepare(dir: string): Promise<{ target: string; entitlement: (group: string) => string }>;
  read(dir: string): Promise<Held>;
  /** A smaller scenario for a slow target: people (3 operations each) and kills; default PEOPLE and KILLS. */
  readonly people?: number;
  readonly kills?: number;
  /** Attributes a create needs on this target (the policy's target block gives the same). */
  readonly createAttributes?: (identity: string) => Record<string, string>;
  /** Person i's identity id (the account's name), when the target wants other names than runId's. */
  readonly identity?: (i: number) => string;
}

const csvTarget: TargetKind = {
  name: 'CSV files',
  rate: 150,
  killWithin: 40,
  // 21 processes of the CLI (each several seconds to start on a loaded 2-core machine) and 2,001 operations.
  timeoutMs: 600_000,
  prepare: () =>
    Promise.resolve({
      target: '    kind: csv\n    connection: { accounts: out/accounts.csv, memberships: out/memberships.csv }',
      entitlement: (group) => `directory:group/${group}`,
    }),
  read: (dir) => {
    const accounts = parse<{ name: string; identity: string; enabled: string }>(
      readFileSync(join(dir, 'out/accounts.csv'), 'utf8'),
      { columns: true },
    );
    const memberships = parse<{ account: string; entitlement: string }>(
      readFileSync(join(dir, 'out/memberships.csv'), 'utf8'),
      { columns: true },
    );
    return Promise.resolve({
      accounts: accounts.map((a) => ({ name: a.name, identity: a.identity, enabled: a.enabled === 'true' })),
      memberships: memberships.map((m) => `${m.account} ${m.entitlement}`),
    });
  },
};

// A memory target kept in a snapshot file: the file is written as operations land, not when the apply ends.
const memoryTarget: TargetKind = {
  name: 'a memory snapshot',
  rate: 150,
  killWithin: 40,
  timeoutMs: 600_000,
  prepare: (dir) => {
    mkdirSync(join(dir, 'out'), { recursive: true });
    writeFileSync(join(dir, 'out/directory.json'), '{ "accounts": [] }\n');
    return Promise.resolve({
      target: '    kind: memory\n    connection: { snapshot: out/directory.json }',
      entitlement: (group) => `directory:group/${group}`,
    });
  },
  read: (dir) => {
    const { accounts } = JSON.parse(readFileSync(join(dir, 'out/directory.json'), 'utf8')) as {
      accounts: { name: string; identity?: string; enabled: boolean; entitlements: string[] }[];
    };
    return Promise.resolve({
      accounts: accounts.map((a) => ({ name: a.name, identity: a.identity, enabled: a.enabled })),
      memberships: accounts.flatMap((a) => a.entitlements.map((e) => `${a.name} ${e}`)),
    });
  },
};

// PostgreSQL: a fresh database, and roles that all start with RUN, so a shared server (TENURE_TEST_DATABASE_URL) is
// safe; accounts are LOGIN roles carrying a Tenure comment, entitlements are memberships of group roles made here.
let server: PostgresServer | undefined;
let admin: pg.Client | undefined;
let database: string | undefined;
const postgresTarget: TargetKind = {
  name: 'PostgreSQL',
  rate: 150,
  killWithin: 40,
  timeoutMs: 600_000,
  prepare: async () => {
    server = await startPostgres();
    const url = await createDatabase(server);
    database = decodeURIComponent(new URL(url).pathname.slice(1));
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
    // The connector grants existing group roles; it never creates them.
    for (const g of GROUPS) await admin.query(`CREATE ROLE ${quoteIdent(`${RUN}_${g}`)} NOLOGIN`);
    return {
      target: `    kind: postgres\n    connection: { url: ${JSON.stringify(url)} }`,
      entitlement: (group) => `directory:role/${RUN}_${group}`,
    };
  },
  read: async () => {
    const db = admin!;
    // Every role named with this run's mark, and every Tenure-managed role linked to one of its identities.
    const roles = await db.query<{ rolname: string; rolcanlogin: boolean; description: string | null }>(
      `SELECT rolname, rolcanlogin, shobj_description(oid, 'pg_authid') AS description FROM pg_catalog.pg_roles`,
    );
    const groups = new Set(GROUPS.map((g) => `${RUN}_${g}`));
    const accounts = roles.rows
      .map((r) => ({ name: r.rolname, identity: parseComment(r.description)?.identity, enabled: r.rolcanlogin }))
      .filter((r) => !groups.has(r.name) && (r.name.startsWith(RUN) || r.identity?.startsWith(RUN)));
    for (const g of groups) {
      const row = roles.rows.find((r) => r.rolname === g);
      assert.ok(row && !row.rolcanlogin && row.description === null, `group role ${g} is as it was made`);
    }
    const members = await db.query<{ member: string; grp: string }>(
      `SELECT r.rolname AS member, g.rolname AS grp
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles r ON r.oid = m.member
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        WHERE starts_with(r.rolname, $1) OR starts_with(g.rolname, $1)`,
      [RUN],
    );
    return { accounts, memberships: members.rows.map((m) => `${m.member} directory:role/${m.grp}`) };
  },
};

// A SCIM service this project did not write (Better Auth's SCIM plugin, in memory, in this process): the killed
// process is the `tenure apply` talking to it over HTTP. What it holds is read from its own tables, not over SCIM.
let scim: BetterAuthScimServer | undefined;
const betterAuthScimTarget: TargetKind = {
  name: 'a SCIM service (Better Auth)',
  rate: 150,
  // Its in-memory database copies itself for each transaction, so its time grows with the square of what it holds:
  // 2,001 operations and 20 kills took about 6 minutes. A smaller run proves the same on a service we did not write.
  people: 150,
  kills: 8,
  killWithin: 20,
  timeoutMs: 600_000,
  // It wants an email address for a userName that is not one.
  createAttributes: (identity) => ({ mail: `${identity}@example.com` }),
  prepare: async (dir) => {
    scim = await startBetterAuthScimServer();
    for (const displayName of GROUPS) {
      const response = await fetch(`${scim.url}/Groups`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${scim.token}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName }),
      });
      assert.equal(response.status, 201, await response.text());
    }
    writeFileSync(join(dir, 'token.txt'), scim.token);
    return {
      target:
        '    kind: scim\n    attributes: { mail: \'identity.id + "@example.com"\' }\n' +
        `    connection: { url: "${scim.url}", token: { file: token.txt }, timeout_ms: 20000 }`,
      entitlement: (group) => `directory:group/${group}`,
    };
  },
  read: () => {
    const t = scim!.tables;
    const users = t.scimUser ?? [];
    const names = new Map(users.map((u) => [String(u.id), String(u.userName)]));
    const groups = new Map((t.scimGroup ?? []).map((g) => [String(g.id), String(g.displayName)]));
    return Promise.resolve({
      accounts: users.map((u) => ({
        name: String(u.userName),
        identity: typeof u.externalId === 'string' ? u.externalId : undefined,
        enabled: u.active !== false,
      })),
      memberships: (t.scimGroupMember ?? []).map(
        (m) => `${names.get(String(m.scimUserId))} directory:group/${groups.get(String(m.groupId))}`,
      ),
    });
  },
};

// Active Directory: a Samba domain controller of this file's own, reached over ldaps:// with its throwaway CA. Names
// are hostile to LDAP filters and DNs but valid sAMAccountNames (quotes, parentheses, `&`, a leading `#`, non-ASCII),
// up to the 20 characters sAMAccountName allows; they need no RUN mark, the domain being this file's alone.
let samba: SambaServer | undefined;
/** Where this run's accounts and groups live: an OU of their own (one per variant: `-k` for links kept by Tenure). */
const adBase = (s: SambaServer, mark = ''): string => `OU=crash-${RUN}${mark},${s.baseDn}`;
const AD_NAMES: readonly ((n: string) => string)[] = [
  (n) => `O'Brien Zoë (${n})`,
  (n) => `Ana & Bob (${n})`,
  (n) => `#lead Ñoño-É ${n}`,
  (n) => `)(!(cn&(obj${n}`,
  (n) => `Zoë O'Brien (a)-${n}`, // 20: the most AD allows
];
/** Person i's name; the variant with kept links counts from 5001, sAMAccountName being unique in the whole domain. */
const adIdentity =
  (from = 1) =>
  (i: number): string =>
    AD_NAMES[i % AD_NAMES.length]!(String(i + from).padStart(4, '0'));

async function asAdAdmin<T>(use: (client: LdapClient) => Promise<T>): Promise<T> {
  const s = samba!;
  const client = new LdapClient({ url: s.ldapsUrl, timeout: 30_000, tlsOptions: { ca: readFileSync(s.caFile) } });
  await client.bind(s.adminDn, s.adminPassword);
  try {
    return await use(client);
  } finally {
    await client.unbind();
  }
}

/** An attribute's single value; ldapts gives an attribute the entry lacks as []. */
function single(value: Entry[string] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.toString();
}

/** ACCOUNTDISABLE in userAccountControl. */
const AD_DISABLED = 0x2;

/**
 * The domain controller as a target: with the link in employeeNumber, or (`kept`) with `link_attribute: none`, the
 * link kept in Tenure's store by objectGUID — where a kill between the create and its journal mark leaves an account
 * the store does not link yet.
 */
function activeDirectoryTarget(kept: boolean): TargetKind {
  const mark = kept ? '-k' : '';
  return {
    name: kept ? 'Active Directory (a Samba DC), links kept by Tenure' : 'Active Directory (a Samba DC)',
    rate: 150,
    // Each CLI run binds over TLS and reads the domain before it applies; an add with its password is ~10 ms, but
    // a create is three requests. 450 operations and 8 kills show the same as the larger runs on a domain controller.
    people: kept ? 60 : 150,
    kills: kept ? 5 : 8,
    killWithin: 20,
    timeoutMs: 600_000,
    identity: adIdentity(kept ? 5001 : 1),
    prepare: async (dir) => {
      samba ??= await startSamba();
      const s = samba;
      const base = adBase(s, mark);
      await asAdAdmin(async (client) => {
        await client.add(base, { objectClass: ['top', 'organizationalUnit'] });
        for (const ou of ['people', 'groups'])
          await client.add(`OU=${ou},${base}`, { objectClass: ['top', 'organizationalUnit'] });
        // A group's sAMAccountName is unique in the domain, as an account's is.
        for (const g of GROUPS)
          await client.add(`CN=${g},OU=groups,${base}`, {
            objectClass: ['top', 'group'],
            sAMAccountName: `crash-${g}${mark}`,
          });
      });
      writeFileSync(join(dir, 'ad-password.txt'), s.adminPassword);
      return {
        target: [
          '    kind: ldap',
          '    connection:',
          '      flavor: active_directory',
          `      url: "${s.ldapsUrl}"`,
          `      ca_file: "${s.caFile}"`,
          `      bind_dn: "${s.adminDn}"`,
          '      bind_password: { file: ad-password.txt }',
          `      people_base: "OU=people,${base}"`,
          `      groups_base: "OU=groups,${base}"`,
          ...(kept ? ['      link_attribute: none'] : []),
        ].join('\n'),
        entitlement: (group) => `directory:group/${group}`,
      };
    },
    read: async (dir) => {
      // Kept links: the store's trusted links, by objectGUID (read straight from the store, not through the apply).
      const links = new Map<string, string>();
      if (kept) {
        const store = await openStore(join(dir, 'state.db'), { readOnly: true });
        try {
          for (const l of (await store.trustedAccountLinks()).links) links.set(l.accountId, l.identity);
        } finally {
          await store.close();
        }
      }
      return asAdAdmin(async (client) => {
        const s = samba!;
        const base = adBase(s, mark);
        // Every user of the domain that is in this run's OU or carries a link, wherever it is: an account made twice
        // under another name or place shows up. (AD's own users, Administrator and the like, carry no link.)
        const { searchEntries: users } = await client.search(s.baseDn, {
          scope: 'sub',
          filter: '(&(objectClass=user)(!(objectClass=computer)))',
          attributes: ['sAMAccountName', 'employeeNumber', 'userAccountControl', 'objectGUID'],
          explicitBufferAttributes: ['objectGUID'],
          paged: { pageSize: 500 },
        });
        // The other variant's accounts carry no link attribute and live in its own OU.
        const ours = users.filter(
          (u) =>
            u.dn.toLowerCase().endsWith(`,${base.toLowerCase()}`) || (!kept && single(u.employeeNumber) !== undefined),
        );
        const nameOf = new Map(ours.map((u) => [u.dn.toLowerCase(), single(u.sAMAccountName)!]));
        const { searchEntries: groups } = await client.search(`OU=groups,${base}`, {
          scope: 'one',
          filter: '(objectClass=group)',
          attributes: ['cn', 'sAMAccountName', 'member'],
        });
        assert.deepEqual(
          groups.map((g) => `${single(g.cn)} ${single(g.sAMAccountName)}`).sort(),
          GROUPS.map((g) => `${g} crash-${g}${mark}`).sort(),
          'the groups are as they were made',
        );
        return {
          accounts: ours.map((u) => ({
            name: single(u.sAMAccountName)!,
            identity: kept ? links.get(guidToString(u.objectGUID as Buffer)) : single(u.employeeNumber),
            enabled: (Number(single(u.userAccountControl)) & AD_DISABLED) === 0,
          })),
          // A member that is not one of the accounts above is kept as its DN, so it shows up as unexpected.
          memberships: groups.flatMap((g) =>
            ([] as string[])
              .concat((g.member as string | string[] | undefined) ?? [])
              .map((m) => `${nameOf.get(m.toLowerCase()) ?? m} directory:group/${single(g.cn)}`),
          ),
        };
      });
    },
  };
}

/** Stops every server a kind started, and drops what it made on a shared one. */
async function stopServers(): Promise<void> {
  await samba?.stop();
  await scim?.stop();
  if (admin) {
    // Only needed on a shared server; a throwaway one is removed whole.
    if (database) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    const ours = await admin.query<{ rolname: string }>(
      'SELECT rolname FROM pg_catalog.pg_roles WHERE starts_with(rolname, $1)',
      [RUN],
    );
    if (ours.rows.length > 0) await admin.query(`DROP ROLE ${ours.rows.map((r) => quoteIdent(r.rolname)).join(', ')}`);
    await admin.end();
  }
  await server?.stop();
}

interface Run {
  /** null when it was killed. */
  readonly code: number | null;
  /** Operations this run reported done (each after the journal recorded it) before it ended. */
  readonly done: number;
  readonly stderr: string;
}

/**
 * Runs `tenure --json apply` in a child process and SIGKILLs it as soon as it has reported `killAt` operations done
 * (one JSON line each, written after the journal records the operation). The kill comes at a point of the run's own
 * progress, never at a time: a busy machine makes the run slower, not the kill earlier or later in it. Operations
 * still in flight at that moment are caught at whatever stage they are in.
 */
function runUntilKilled(args: string[], killAt: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '--json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let pending = '';
    let done = 0;
    // Not a kill point: a bound for a run that hangs, which the caller then reports (done < killAt).
    const stuck = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue; // --json prints JSON Lines; the assertions report anything else
        const event = JSON.parse(line) as { type?: string; state?: string };
        if (event.type === 'operation' && event.state === 'succeeded') done++;
      }
      if (done >= killAt) child.kill('SIGKILL');
    });
    child.on('close', (code) => {
      clearTimeout(stuck);
      resolve({ code, done, stderr });
    });
  });
}

interface JournalRow {
  readonly id: number;
  readonly identity: string | null;
  readonly state: string;
  readonly action: string;
  readonly account: string;
  readonly entitlement: string | null;
  readonly attempts: number;
}

/** The apply's journal, read straight from the store. */
function journal(stateDb: string): JournalRow[] {
  const db = new BetterSqlite3(stateDb, { readonly: true });
  try {
    return db
      .prepare('select id, identity, state, action, account, entitlement, attempts from operations order by seq')
      .all() as JournalRow[];
  } finally {
    db.close();
  }
}

/**
 * Leaves the journal as a kill leaves it the instant after an operation took effect on the target and before its
 * journal entry says so, for a create and for a membership: each is carried out through the target's connector and
 * left 'running'. The random kills catch that instant only now and then; this makes sure it is met. Returns the
 * journal ids of the two operations.
 */
async function stageEffectBeforeJournal(config: string, stateDb: string, kind: TargetKind): Promise<number[]> {
  const ops = journal(stateDb);
  // Two people not begun yet: the first will have its create done, the second its create and first membership.
  const untouched = [...new Set(ops.map((r) => r.identity))].filter((id) =>
    ops.every((r) => r.identity !== id || (r.state === 'pending' && r.attempts === 0)),
  );
  assert.ok(untouched.length >= 2, 'the kills left people not begun yet');
  const [one, two] = [untouched[0], untouched[1]].map((id) => ops.filter((r) => r.identity === id));
  const { loaded } = openPolicy(config);
  const connector = openConnector(loaded.policy.targets[0]!, loaded.policy.file);
  const db = new BetterSqlite3(stateDb);
  const mark = db.prepare('update operations set state = ?, attempts = 1 where id = ?');
  try {
    const [create1, create2, add2] = [one![0]!, two![0]!, two![1]!];
    assert.deepEqual(
      [create1.action, create2.action, add2.action],
      ['create_account', 'create_account', 'add_membership'],
    );
    const created = [];
    for (const c of [create1, create2]) {
      const attributes = kind.createAttributes?.(c.identity!) ?? {};
      created.push(await connector.createAccount({ name: c.account, identity: c.identity!, attributes }));
    }
    mark.run('succeeded', create2.id);
    // A link Tenure keeps is written with the mark that says the create succeeded, in one transaction: so here too.
    if (connector.capabilities.linkKeptByTenure) {
      const store = await openStore(stateDb);
      const link = {
        target: loaded.policy.targets[0]!.id,
        accountId: created[1]!.id,
        account: create2.account,
        identity: create2.identity!,
      };
      await store.write((w) =>
        w.linkAccounts([link], {
          at: new Date(),
          actor: 'test',
          action: 'operation.create_account',
          subject: link.identity,
          reason: `account ${link.account} in ${link.target}: created`,
          details: { target: link.target, account: link.account },
        }),
      );
      await store.close();
    }
    await connector.addMembership(add2.account, add2.entitlement!);
    mark.run('running', create1.id);
    mark.run('running', add2.id);
    return [create1.id, add2.id];
  } finally {
    db.close();
    await connector.close();
  }
}

const count = (rows: readonly JournalRow[], state: string): number => rows.filter((r) => r.state === state).length;

/** The kinds of target the scenario runs against, by name. */
export const CRASH_TARGETS = {
  csv: csvTarget,
  memory: memoryTarget,
  postgres: postgresTarget,
  scim: betterAuthScimTarget,
  activeDirectory: activeDirectoryTarget(false),
  activeDirectoryKeptLinks: activeDirectoryTarget(true),
} as const;

/**
 * The scenario against some kinds, as one suite: test files each take some kinds, so the slow kinds run side by side
 * rather than one after another in one file.
 */
export function applyUnderKill(title: string, kinds: readonly TargetKind[]): void {
  void describe(title, () => {
    after(stopServers);
    applyUnderKillEach(kinds);
  });
}

function applyUnderKillEach(kinds: readonly TargetKind[]): void {
  for (const kind of kinds) {
    void it(
      `converges on ${kind.name} after ${kind.kills ?? KILLS} kills at random points, with nothing duplicated or lost`,
      { timeout: kind.timeoutMs },
      async (t: TestContext) => {
        const started = Date.now();
        const people = kind.people ?? PEOPLE;
        const killCount = kind.kills ?? KILLS;
        const ids = Array.from({ length: people }, (_, i) => (kind.identity ?? runId)(i));
        const rows = ids.map(row);
        const o = org(rows);
        const { target, entitlement } = await kind.prepare(o.dir);
        const text = policy
          .replace('    kind: memory', target)
          .replaceAll(/directory:group\/(\w+)/g, (_, group: string) => entitlement(group))
          .concat(
            'policies:\n  guardrails:\n    deprovision: { max_percent: 100, min_count: 100000, max_count: 100000 }\n',
          );
        writeFileSync(join(o.dir, 'tenure.yaml'), text);
        writeFileSync(join(o.dir, 'hr.csv'), hr(rows));
        const stateDb = join(o.dir, 'state.db');
        const args = ['-c', join(o.dir, 'tenure.yaml'), '--state', stateDb, '--as-of', '2026-11-01'];
        // The plan is saved once; every run applies that same plan, so each resumes the same journal.
        const made = await tenure(...args, 'plan', '--out', join(o.dir, 'plan.json'));
        assert.equal(made.code, 0, made.stderr);
        const planned = JSON.parse(readFileSync(join(o.dir, 'plan.json'), 'utf8')) as { summary: { changes: number } };
        assert.equal(planned.summary.changes, people * 3);

        // Deterministic "random" kill points, each from 1 to killWithin operations into the run.
        let seed = 20261125;
        const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
        let kills = 0;
        const trail: string[] = [];
        // Operations a kill caught in flight whose effect had already reached the target: the run after must not do
        // them twice (a create that finds its account links to it; a membership held is held once).
        let landedUnjournalled = 0;
        let succeeded = 0;
        for (let i = 0; i < killCount; i++) {
          // At most 40 operations a run before its kill is sent, so all 20 fall well inside the 2,001; --rate keeps
          // the operations that slip in while the kill is on its way few.
          const killAt = 1 + Math.floor(next() * kind.killWithin);
          const run = await runUntilKilled(
            [...args, 'apply', join(o.dir, 'plan.json'), '--rate', String(kind.rate)],
            killAt,
          );
          if (run.code === null) {
            assert.ok(run.done >= killAt, `apply ${i + 1} was stopped after ${run.done} operations:\n${run.stderr}`);
            kills++;
          } else {
            // It finished before the kill: nothing left to interrupt.
            assert.equal(run.code, 0, `apply exited ${run.code} instead of finishing or being killed:\n${run.stderr}`);
            break;
          }
          const ops = journal(stateDb);
          // What the run reported done, the journal kept: a kill loses nothing already recorded.
          assert.ok(count(ops, 'succeeded') >= succeeded + run.done, `apply ${i + 1}: the journal kept its progress`);
          succeeded = count(ops, 'succeeded');
          const running = ops.filter((r) => r.state === 'running');
          const held = await kind.read(o.dir);
          const names = new Set(held.accounts.map((a) => a.name));
          const members = new Set(held.memberships);
          // What the journal calls done is on the target: a kill loses no change already recorded as made.
          const lost = ops.filter(
            (r) =>
              r.state === 'succeeded' &&
              !(r.action === 'create_account' ? names.has(r.account) : members.has(`${r.account} ${r.entitlement}`)),
          );
          assert.deepEqual(lost, [], `apply ${i + 1}: operations journalled done but not on the target`);
          const landed = running.filter((r) =>
            r.action === 'create_account' ? names.has(r.account) : members.has(`${r.account} ${r.entitlement}`),
          ).length;
          landedUnjournalled += landed;
          trail.push(`${count(ops, 'succeeded')}/${running.length}/${landed}`);
        }
        t.diagnostic(`after each kill, succeeded/running/running but already on the target: ${trail.join(' ')}`);
        assert.equal(kills, killCount, `killed ${kills} times`);
        const staged = await stageEffectBeforeJournal(join(o.dir, 'tenure.yaml'), stateDb, kind);
        const last = await tenure(...args, 'apply', join(o.dir, 'plan.json'));
        // The state changed as operations landed, so the saved plan is stale now unless it had finished.
        const finish = last.code === 3 ? await tenure(...args, 'apply') : last;
        assert.equal(finish.code, 0, finish.stderr);

        const held = await kind.read(o.dir);
        assert.equal(held.accounts.length, people, 'one account per person');
        assert.deepEqual(held.accounts.map((a) => a.name).sort(), [...ids].sort(), 'exactly the desired accounts');
        for (const a of held.accounts) {
          assert.equal(a.identity, a.name, `${a.name} is linked to its own identity`);
          assert.ok(a.enabled, `${a.name} is enabled`);
        }
        const wanted = ids.flatMap((id, i) => [
          `${id} ${entitlement('staff')}`,
          `${id} ${entitlement(i % 2 ? 'engineering' : 'finance')}`,
        ]);
        // Staff and the department for everyone: none missing, none twice, nothing else.
        assert.deepEqual([...held.memberships].sort(), wanted.sort());

        const again = JSON.parse((await tenure(...args, '--json', 'plan')).stdout) as {
          plan: { summary: { changes: number } };
        };
        assert.equal(again.plan.summary.changes, 0, 'converged: nothing left to do');
        const ops = journal(stateDb);
        assert.equal(ops.length, people * 3, 'every operation journalled once');
        assert.equal(count(ops, 'succeeded'), ops.length, 'and done');
        for (const id of staged) {
          // Run once more on resuming, finding its effect already there.
          assert.equal(ops.find((r) => r.id === id)?.attempts, 2, `staged operation ${id} was run again`);
        }
        t.diagnostic(
          `${ops.filter((r) => r.attempts > 1).length} operations run again on resuming: the ${staged.length} staged, ` +
            `and those the kills caught in flight, ${landedUnjournalled} of which had already reached the target`,
        );
        t.diagnostic(`${kind.name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
    );
  }
}
