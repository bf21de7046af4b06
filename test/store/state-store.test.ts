import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { chain, verifyChain } from '../../src/audit/audit-chain.js';
import { verifyGovernedRows } from '../../src/audit/verify-governed.js';
import type { AuditAction } from '../../src/model/audit.js';
import type { Identity } from '../../src/model/identity.js';
import type { LifecycleEvent } from '../../src/model/lifecycle.js';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { migrations } from '../../src/store/migrations.js';
import type { Database } from '../../src/store/schema.js';
import { openStore } from '../../src/store/open-store.js';
import { StoreError, type StateStore } from '../../src/store/state-store.js';
import { createDatabase, startPostgres, type PostgresServer } from '../support/postgres-server.js';

// One contract suite, run against every real implementation: SQLite in a temporary folder and
// a PostgreSQL 15 server the test starts on a loopback port.
interface Backend {
  readonly name: string;
  fresh(): Promise<string>;
  /** Runs raw SQL against the store's database, as an attacker with database access would. */
  raw(location: string, statement: string): Promise<void>;
}

let server: PostgresServer | undefined;
const backends: Backend[] = [
  {
    name: 'SQLite',
    fresh: () => Promise.resolve(join(mkdtempSync(join(tmpdir(), 'tenure-store-')), 'state.db')),
    raw: (location, statement) => {
      const db = new BetterSqlite3(location);
      db.exec(statement);
      db.close();
      return Promise.resolve();
    },
  },
  {
    name: 'PostgreSQL',
    fresh: async () => createDatabase(server!),
    raw: async (location, statement) => {
      const client = new pg.Client({ connectionString: location });
      await client.connect();
      await client.query(statement);
      await client.end();
    },
  },
];

before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const t0 = new Date('2026-11-01T00:00:00Z');
const person = (id: string, department: string, status: Identity['status'] = 'active'): Identity => ({
  id,
  kind: 'employee',
  status,
  source: 'hr',
  attributes: { department, grade: 7n, clearances: ['pci', 'sox'], hired: new Date('2020-02-03T00:00:00Z') },
  manager: 'E0',
  startDate: new Date('2020-02-03T00:00:00Z'),
});
const event = (kind: LifecycleEvent['kind'], identity: string, at: Date): LifecycleEvent => ({
  kind,
  identity,
  source: 'hr',
  at,
  changes: [{ field: 'department', before: 'Sales', after: 'Finance' }],
  grantsAdded: ['directory:group/finance'],
  grantsRemoved: [],
  summary: `${identity} ${kind}`,
});

for (const backend of backends) {
  describe(`state store contract: ${backend.name}`, () => {
    let location: string;
    let store: StateStore;
    before(async () => {
      location = await backend.fresh();
      store = await openStore(location);
    });
    after(async () => {
      await store.close();
    });

    it('creates its schema on first open and reopens without migrating again', async () => {
      const latest = Object.keys(migrations('sqlite')).sort().at(-1);
      assert.equal(await store.schemaVersion(), latest);
      const again = await openStore(location);
      assert.equal(await again.schemaVersion(), latest);
      await again.close();
    });

    it('keeps the policy hash of each service instance while its heartbeat holds', async () => {
      const at = (min: number) => new Date(t0.getTime() + min * 60_000);
      const instance = (id: string, policyHash: string, seen: number) => ({
        id,
        host: 'h',
        pid: 7,
        policyHash,
        loadedAt: at(0),
        seenAt: at(seen),
        expiresAt: at(seen + 1),
      });
      await store.announceInstance(instance('a', 'p1', 0));
      await store.announceInstance(instance('b', 'p1', 0));
      // A reload replaces the row: one row per instance, with the new hash.
      await store.write((w) => w.announceInstance(instance('b', 'p2', 0)));
      assert.deepEqual(
        (await store.liveInstances(at(0.5))).map((i) => `${i.id} ${i.policyHash}`),
        ['a p1', 'b p2'],
      );
      // a's heartbeat goes on, b's stops: past its expiry b is no longer counted.
      await store.announceInstance(instance('a', 'p1', 2));
      assert.deepEqual(
        (await store.liveInstances(at(2.5))).map((i) => i.id),
        ['a'],
      );
      // a stops cleanly; the long-dead b is cleared with it.
      await store.retireInstance('a', at(2));
      assert.deepEqual(await store.liveInstances(at(0)), []);
    });

    it('keeps identities with their version history, dates and ints intact', async () => {
      await store.write(async (w) => {
        const seq = await w.beginImport('hr', t0, t0, 2);
        assert.deepEqual(await w.replaceSnapshot('hr', [person('E1', 'Sales'), person('E2', 'Sales')], seq, t0), {
          changed: 2,
          removed: 0,
        });
      });
      const [e1] = await store.identities('hr');
      assert.deepEqual(e1, person('E1', 'Sales'));
      const t1 = new Date('2026-11-02T00:00:00Z');
      await store.write(async (w) => {
        const seq = await w.beginImport('hr', t1, t1, 1);
        // E1 unchanged (no new version), E2 gone (tombstone).
        assert.deepEqual(await w.replaceSnapshot('hr', [person('E1', 'Sales')], seq, t1), { changed: 0, removed: 1 });
      });
      assert.deepEqual(
        (await store.identities()).map((i) => i.id),
        ['E1'],
      );
      assert.deepEqual(
        [...(await store.importedIdentityIds())].sort(),
        ['E1', 'E2'],
        'an identity that left is still one Tenure imported',
      );
      const t2 = new Date('2026-11-03T00:00:00Z');
      await store.write(async (w) => {
        const seq = await w.beginImport('hr', t2, t2, 2);
        await w.replaceSnapshot('hr', [person('E1', 'Finance'), person('E2', 'Sales')], seq, t2);
      });
      const e1History = await store.identityHistory('E1');
      assert.deepEqual(
        e1History.map((v) => [v.version, v.identity?.attributes.department]),
        [
          [1, 'Sales'],
          [2, 'Finance'],
        ],
      );
      const e2History = await store.identityHistory('E2');
      assert.deepEqual(
        e2History.map((v) => [v.version, v.identity === undefined ? 'gone' : 'present']),
        [
          [1, 'present'],
          [2, 'gone'],
          [3, 'present'],
        ],
      );
    });

    it('records lifecycle events and reads them back by identity and time', async () => {
      const t1 = new Date('2026-11-05T00:00:00Z');
      const t2 = new Date('2026-11-06T00:00:00Z');
      await store.write(async (w) => {
        const seq = await w.beginImport('hr', t1, t1, 0);
        await w.appendEvents([event('joiner', 'E7', t1), event('mover', 'E8', t1)], seq);
        await w.finishImport(seq, 2, 'applied', '2 events');
        await w.setSourceState({ source: 'hr', lastAsOf: t1, lastImport: seq });
      });
      await store.write(async (w) => {
        const seq = await w.beginImport('hr', t2, t2, 0);
        await w.appendEvents([event('leaver', 'E7', t2)], seq);
      });
      assert.deepEqual(
        (await store.events({ identity: 'E7' })).map((e) => e.kind),
        ['joiner', 'leaver'],
      );
      assert.deepEqual(
        (await store.events({ since: t2 })).map((e) => [e.kind, e.identity]),
        [['leaver', 'E7']],
      );
      const mover = (await store.events({ identity: 'E8' }))[0]!;
      assert.deepEqual(mover.changes, [{ field: 'department', before: 'Sales', after: 'Finance' }]);
      assert.deepEqual(mover.at, t1);
      assert.equal((await store.sourceState('hr'))?.lastAsOf.toISOString(), t1.toISOString());
      assert.equal((await store.imports(1))[0]!.source, 'hr');
    });

    it('rolls back everything a failed write did', async () => {
      const before = (await store.events()).length;
      await assert.rejects(
        store.write(async (w) => {
          const seq = await w.beginImport('hr', t0, t0, 0);
          await w.appendEvents([event('joiner', 'E99', t0)], seq);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await store.events()).length, before);
    });

    it('chains the audit log and finds an altered, removed, inserted or reordered record', async () => {
      const entries = [1, 2, 3, 4, 5].map((n) => ({
        at: t0,
        actor: 'tester',
        action: 'plan.saved' as const,
        subject: `S${n}`,
        reason: `step ${n}`,
        details: { n, when: t0, big: BigInt(n) },
      }));
      await store.write((w) => w.audit(entries));
      const records = await store.auditRecords();
      assert.equal(verifyChain(records).ok, true);
      const base = records.length - 5;
      const check = async (tamper: string, seq: number, problem: RegExp): Promise<void> => {
        const copy = await backend.fresh();
        const c = await openStore(copy);
        await c.write((w) =>
          w.audit(
            records.map((r) => ({
              at: r.at,
              actor: r.actor,
              action: r.action as AuditAction,
              subject: r.subject,
              reason: r.reason,
              details: r.details,
            })),
          ),
        );
        await c.close();
        await backend.raw(copy, tamper);
        const reopened = await openStore(copy);
        const verdict = verifyChain(await reopened.auditRecords());
        await reopened.close();
        assert.equal(verdict.ok, false, tamper);
        assert.equal(verdict.firstBad?.seq, seq, tamper);
        assert.match(verdict.firstBad?.problem ?? '', problem);
      };
      await check(`update audit_log set reason = 'nothing to see' where seq = ${base + 3}`, base + 3, /altered/);
      await check(`delete from audit_log where seq = ${base + 2}`, base + 3, /missing/);
      await check(
        // Make room at base + 3 (two steps: primary keys must stay unique), then forge a record there.
        `update audit_log set seq = -seq where seq > ${base + 2}; update audit_log set seq = 1 - seq where seq < 0; insert into audit_log (seq, at, actor, action, subject, reason, details, previous_hash, hash) select ${base + 3}, at, actor, action, subject, 'forged', details, previous_hash, hash from audit_log where seq = ${base + 2}`,
        base + 3,
        /link|altered/,
      );
      await check(
        `update audit_log set seq = -1 where seq = ${base + 2}; update audit_log set seq = ${base + 2} where seq = ${base + 4}; update audit_log set seq = ${base + 4} where seq = -1`,
        base + 2,
        /link|altered/,
      );
    });

    it('makes a second writer wait for the first, then fail clearly', async () => {
      const other = await openStore(location);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const first = store.write(async () => {
        entered();
        await held;
      });
      await inside;
      await assert.rejects(
        other.write(() => Promise.resolve(), { waitMs: 300 }),
        (e: unknown) =>
          e instanceof StoreError &&
          e.code === 'busy' &&
          /another Tenure process is changing the state/.test(e.message),
      );
      release();
      await first;
      await other.write((w) =>
        w.audit([
          {
            at: t0,
            actor: 'second',
            action: 'plan.saved',
            subject: 'lock',
            reason: 'after the first writer',
            details: {},
          },
        ]),
      );
      await other.close();
    });

    it('never interleaves writes of two real processes', async () => {
      // The child holds the lock until told to let go: a busy machine cannot make it let go early.
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/hold-write-lock.ts', location, '300'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let output = '';
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => ((output += d.toString()), output.includes('locked') && resolve())),
      );
      await assert.rejects(
        store.write(() => Promise.resolve(), { waitMs: 200 }),
        (e: unknown) => e instanceof StoreError && e.code === 'busy',
      );
      // With a long enough wait the second writer gets in after the first has committed. Told to
      // let go, the child keeps the lock a moment longer, so this write normally finds it held.
      child.stdin.end('release\n');
      await store.write(
        (w) =>
          w.audit([
            { at: t0, actor: 'parent', action: 'plan.saved', subject: 'lock', reason: 'after the child', details: {} },
          ]),
        { waitMs: 20_000 },
      );
      await new Promise((r) => child.on('exit', r));
      assert.match(output, /released/);
      const records = await store.auditRecords();
      assert.deepEqual(
        records.slice(-2).map((r) => r.actor),
        ['other-process', 'parent'],
      );
      assert.equal(verifyChain(records).ok, true);
    });

    it('keeps one discovery row per target, the latest check replacing the one before', async () => {
      const at = (h: number) => new Date(Date.UTC(2026, 11, 3, h));
      await store.write((w) =>
        w.recordDiscovery({ target: 'crm', kind: 'scim', checkedAt: at(9), features: { groups: true, patch: false } }),
      );
      await store.write((w) =>
        w.recordDiscovery({ target: 'crm', kind: 'scim', checkedAt: at(10), features: { patch: true, groups: false } }),
      );
      await store.write((w) =>
        w.recordDiscovery({ target: 'app', kind: 'scim', checkedAt: at(8), features: { groups: true } }),
      );
      assert.deepEqual(await store.targetDiscoveries(), [
        { target: 'app', kind: 'scim', checkedAt: at(8), features: { groups: true } },
        { target: 'crm', kind: 'scim', checkedAt: at(10), features: { groups: false, patch: true } },
      ]);
    });

    it('journals operations durably and resumes a begun plan', async () => {
      const changes = [
        { target: 'dir', action: 'create_account' as const, identity: 'E1', account: 'ana', reason: 'joiner' },
        {
          target: 'dir',
          action: 'add_membership' as const,
          identity: 'E1',
          account: 'ana',
          entitlement: 'dir:group/a',
          risk: 'high' as const,
          reason: 'role',
        },
      ];
      const ops = await store.journal().begin('plan-1', changes);
      assert.deepEqual(
        ops.map((o) => [o.seq, o.state, o.attempts, o.change]),
        [
          [0, 'pending', 0, changes[0]],
          [1, 'pending', 0, changes[1]],
        ],
      );
      await store.journal().mark(ops[0]!.id, 'succeeded', 1);
      await store.journal().mark(ops[1]!.id, 'failed', 2, 'unreachable: connection refused');
      const reopened = await openStore(location);
      const again = await reopened.journal().begin('plan-1', changes);
      await reopened.close();
      assert.deepEqual(
        again.map((o) => [o.state, o.attempts, o.lastError]),
        [
          ['succeeded', 1, undefined],
          ['failed', 2, 'unreachable: connection refused'],
        ],
      );
    });

    it('upgrades a store written by an older Tenure in place, keeping its data', async () => {
      const copy = await backend.fresh();
      // What the first release wrote: only the first migration, with one identity in it.
      const db = new Kysely<Database>({
        dialect:
          backend.name === 'SQLite'
            ? new SqliteDialect({ database: new BetterSqlite3(copy) })
            : new PostgresDialect({ pool: new pg.Pool({ connectionString: copy, max: 1 }) }),
      });
      const first = Object.fromEntries(
        Object.entries(migrations(backend.name === 'SQLite' ? 'sqlite' : 'postgres')).slice(0, 1),
      );
      const migrator = new Migrator({
        db,
        provider: { getMigrations: () => Promise.resolve(first) },
        migrationTableName: 'tenure_migrations',
        migrationLockTableName: 'tenure_migrations_lock',
      });
      assert.equal((await migrator.migrateToLatest()).error, undefined);
      await db
        .insertInto('identities')
        .values({ id: 'E1', source: 'hr', version: 1, status: 'active', updated_at: t0.toISOString() })
        .execute();
      await db
        .insertInto('identity_versions')
        .values({
          id: 'E1',
          version: 1,
          source: 'hr',
          data: canonicalJson(person('E1', 'Sales')),
          recorded_at: t0.toISOString(),
          import_seq: 1,
        })
        .execute();
      await db.destroy();
      const upgraded = await openStore(copy);
      assert.equal(await upgraded.schemaVersion(), Object.keys(migrations('sqlite')).at(-1));
      assert.deepEqual(await upgraded.identities(), [person('E1', 'Sales')]);
      assert.deepEqual(await upgraded.exceptions(), []);
      await upgraded.close();
    });

    it('keeps account links with the mark of the operation that made them; an edited link is left out', async () => {
      const copy = await backend.fresh();
      const s = await openStore(copy, { auditKey: null });
      const change = (account: string, identity: string) => ({
        target: 'ad',
        action: 'create_account' as const,
        identity,
        account,
        reason: 'joiner',
      });
      const ops = await s.journal().begin('plan-links', [change('ana', 'E1'), change('bo', 'E2')]);
      const entry = (account: string) => ({
        at: t0,
        actor: 'ana',
        action: 'operation.create_account' as const,
        subject: account,
        reason: `account ${account} in ad: created`,
        details: { target: 'ad', account },
      });
      await s.journal().mark(ops[0]!.id, 'succeeded', 1, undefined, {
        audit: [entry('ana')],
        links: [{ target: 'ad', accountId: 'guid-1', account: 'ana', identity: 'E1' }],
      });
      await s.journal().mark(ops[1]!.id, 'succeeded', 1, undefined, {
        audit: [entry('bo')],
        links: [{ target: 'ad', accountId: 'guid-2', account: 'bo', identity: 'E2' }],
      });
      // One record per operation, naming its link; a later link of the same account is the one that counts.
      await s.write((w) =>
        w.linkAccounts([{ target: 'ad', accountId: 'guid-2', account: 'bo', identity: 'E3' }], {
          ...entry('bo'),
          action: 'operation.link_account' as const,
        }),
      );
      const records = await s.auditRecords();
      assert.deepEqual(
        records.map((r) => r.action),
        ['operation.create_account', 'operation.create_account', 'operation.link_account'],
      );
      assert.deepEqual(verifyGovernedRows(records, await s.governedRows()).tampered, []);
      const links = await s.trustedAccountLinks();
      assert.deepEqual(
        links.links.map((l) => `${l.accountId}=${l.identity}`),
        ['guid-1=E1', 'guid-2=E3'],
      );
      assert.deepEqual(links.tampered, []);
      await s.close();
      // Someone points ana's account at another identity in the database: left out, and said.
      await backend.raw(copy, `update account_links set identity = 'E9' where account_id = 'guid-1'`);
      const r = await openStore(copy, { auditKey: null });
      const after = await r.trustedAccountLinks();
      assert.deepEqual(
        after.links.map((l) => `${l.accountId}=${l.identity}`),
        ['guid-2=E3'],
      );
      assert.deepEqual(
        after.tampered.map((t) => `${t.table} #${t.id}: ${t.problem}`),
        ['account_links #1: its content differs from audit record 1 (operation.create_account)'],
      );
      await r.close();
    });

    it('writes each governed row with its audit record; the cheap check leaves out edited rows', async () => {
      const copy = await backend.fresh();
      const s = await openStore(copy, { auditKey: null });
      const ctx = { actor: 'ana', at: t0, reason: 'why' };
      await s.write(async (w) => {
        await w.addException(
          {
            identity: 'E1',
            entitlement: 'dir:group/a',
            reason: 'why',
            approver: 'M1',
            grantedBy: 'ana',
            from: t0,
            until: new Date('2026-12-01T00:00:00Z'),
          },
          ctx,
        );
        await w.addApproval(
          { kind: 'leavers', scope: 'source:hr', amount: 3, reason: 'why', approvedBy: 'ana', createdAt: t0 },
          ctx,
        );
        await w.addDenials(
          [
            {
              identity: 'E2',
              entitlement: 'dir:group/b',
              origin: 'review 1, item 1',
              reason: 'gone',
              decidedBy: 'M1',
              at: t0,
              roles: ['r'],
            },
          ],
          ctx,
        );
        const c = await w.addCustody(
          { nhi: 'svc-1', previousOwner: 'E9', since: t0, deadline: new Date('2026-11-15T00:00:00Z') },
          ctx,
        );
        await w.confirmCustody(c, 'M1', ctx);
        await w.addRotations(
          [{ identity: 'svc-1', target: 'dir', account: 'svc-1', at: t0, purpose: 'rotation' }],
          ctx,
        );
      });
      const records = await s.auditRecords();
      assert.deepEqual(
        records.map((r) => r.action),
        [
          'exception.granted',
          'approval.leavers',
          'denial.recorded',
          'nhi.custody_proposed',
          'nhi.custody_confirmed',
          'credential.rotated',
        ],
      );
      assert.deepEqual(verifyGovernedRows(records, await s.governedRows()).tampered, []);
      const clean = await s.trustedGovernedState();
      assert.deepEqual(
        [clean.exceptions.length, clean.denials.length, clean.custody.length, clean.rotations.length, clean.tampered],
        [1, 1, 1, 1, []],
      );
      await s.close();
      await backend.raw(copy, `update exceptions set valid_until = '2029-12-31T00:00:00.000Z', approver = identity`);
      await backend.raw(copy, `update approvals set amount = 500`);
      await backend.raw(
        copy,
        `insert into denials (identity, entitlement, origin, reason, decided_by, at, roles) values ('E3', 'dir:group/c', 'forged', 'x', 'M1', '2026-11-01T00:00:00.000Z', '[]')`,
      );
      const r = await openStore(copy, { auditKey: null });
      const trusted = await r.trustedGovernedState();
      assert.deepEqual(trusted.exceptions, []);
      assert.deepEqual(
        trusted.denials.map((d) => d.identity),
        ['E2'],
      );
      assert.deepEqual(
        trusted.tampered.map((t) => `${t.table} #${t.id}: ${t.problem}`),
        [
          'exceptions #1: its content differs from audit record 1 (exception.granted)',
          'denials #2: it has no audit record (written outside Tenure?)',
        ],
      );
      const approvals = await r.trustedApprovals('leavers', 'source:hr');
      assert.deepEqual(approvals.approvals, []);
      assert.match(approvals.tampered[0]!.problem, /differs from audit record 2 \(approval\.leavers\)/);
      const full = verifyGovernedRows(await r.auditRecords(), await r.governedRows());
      assert.deepEqual(
        full.tampered.map((t) => `${t.table} #${t.id}`),
        ['exceptions #1', 'approvals #1', 'denials #2'],
      );
      await r.close();
    });

    it('keeps API tokens by hash with their audit records; a live name is unique; an edited token is not trusted', async () => {
      const copy = await backend.fresh();
      const s = await openStore(copy, { auditKey: null });
      const ctx = { actor: 'ana', at: t0, reason: 'for CI' };
      const token = (name: string, hash: string) => ({
        name,
        hash,
        scopes: ['governance:read' as const],
        createdAt: t0,
        createdBy: 'ana',
        expiresAt: new Date('2027-01-30T00:00:00Z'),
      });
      const first = await s.write((w) => w.addApiToken(token('ci', 'a'.repeat(64)), ctx));
      await assert.rejects(
        s.write((w) => w.addApiToken(token('ci', 'b'.repeat(64)), ctx)),
        (e: unknown) => e instanceof StoreError && e.code === 'conflict' && /already named ci/.test(e.message),
      );
      await s.write((w) => w.revokeApiToken(first, { ...ctx, actor: 'bo' }));
      // Revoked, the name is free again.
      const second = await s.write((w) => w.addApiToken({ ...token('ci', 'c'.repeat(64)), identity: 'E1' }, ctx));
      const all = await s.apiTokens();
      assert.deepEqual(
        all.map((t) => [t.id, t.name, t.revokedBy ?? null, t.identity ?? null]),
        [
          [first, 'ci', 'bo', null],
          [second, 'ci', null, 'E1'],
        ],
      );
      assert.deepEqual(
        (await s.auditRecords()).map((r) => `${r.action} ${r.subject}`),
        ['token.created token:ci', 'token.revoked token:ci', 'token.created token:ci'],
      );
      const found = await s.apiTokenByHash('c'.repeat(64));
      assert.equal(found?.token.id, second);
      assert.equal(found?.trusted, true);
      assert.equal(await s.apiTokenByHash('d'.repeat(64)), undefined);
      // A use is recorded, and not again within the interval given.
      const at = new Date('2026-11-02T10:00:00Z');
      assert.equal(await s.touchApiToken(second, at, new Date(at.getTime() - 60_000)), true);
      await s.touchApiToken(second, new Date(at.getTime() + 30_000), new Date(at.getTime() - 30_000));
      assert.deepEqual((await s.apiTokenByHash('c'.repeat(64)))?.token.lastUsedAt, at);
      // A use is no decision: the row still matches its record.
      assert.deepEqual(verifyGovernedRows(await s.auditRecords(), await s.governedRows()).tampered, []);
      await s.close();
      await backend.raw(
        copy,
        `update api_tokens set scopes = '["governance:read","tokens:manage"]' where id = ${second}`,
      );
      const r = await openStore(copy, { auditKey: null });
      const widened = await r.apiTokenByHash('c'.repeat(64));
      assert.equal(widened?.trusted, false);
      assert.match(widened?.problem ?? '', /differs from audit record 3 \(token\.created\)/);
      assert.deepEqual(
        verifyGovernedRows(await r.auditRecords(), await r.governedRows()).tampered.map((t) => `${t.table} #${t.id}`),
        [`api_tokens #${second}`],
      );
      await r.close();
    });

    it('adopts governed rows of an older store on upgrade, and matches them to their old records', async () => {
      const copy = await backend.fresh();
      const db = new Kysely<Database>({
        dialect:
          backend.name === 'SQLite'
            ? new SqliteDialect({ database: new BetterSqlite3(copy) })
            : new PostgresDialect({ pool: new pg.Pool({ connectionString: copy, max: 1 }) }),
      });
      const upTo0005 = Object.fromEntries(
        Object.entries(migrations(backend.name === 'SQLite' ? 'sqlite' : 'postgres')).filter(([n]) => n < '0006'),
      );
      const migrator = new Migrator({
        db,
        provider: { getMigrations: () => Promise.resolve(upTo0005) },
        migrationTableName: 'tenure_migrations',
        migrationLockTableName: 'tenure_migrations_lock',
      });
      assert.equal((await migrator.migrateToLatest()).error, undefined);
      await db.destroy();
      // What an older Tenure wrote: two exceptions and their records, without row digests.
      const older = new Kysely<Database>({
        dialect:
          backend.name === 'SQLite'
            ? new SqliteDialect({ database: new BetterSqlite3(copy) })
            : new PostgresDialect({ pool: new pg.Pool({ connectionString: copy, max: 1 }) }),
      });
      const until = new Date('2026-12-01T00:00:00Z');
      for (const identity of ['E1', 'E2'])
        await sql`insert into exceptions (identity, entitlement, reason, approver, granted_by, valid_from, valid_until) values (${identity}, 'dir:group/a', 'why', 'M1', 'ana', ${t0.toISOString()}, ${until.toISOString()})`.execute(
          older,
        );
      const oldRecords = chain(
        undefined,
        [1, 2].map((id) => ({
          at: t0,
          actor: 'ana',
          action: 'exception.granted' as const,
          subject: `E${id}`,
          reason: 'why',
          details: { exception: id, entitlement: 'dir:group/a', approver: 'M1', until },
        })),
      );
      for (const r of oldRecords)
        await sql`insert into audit_log (seq, at, actor, action, subject, reason, details, previous_hash, hash) values (${r.seq}, ${r.at.toISOString()}, ${r.actor}, ${r.action}, ${r.subject}, ${r.reason}, ${r.detailsJson}, ${r.previousHash}, ${r.hash})`.execute(
          older,
        );
      await older.destroy();
      // Edited before the upgrade: exception 2 approved by its holder.
      await backend.raw(copy, `update exceptions set approver = 'E2' where id = 2`);
      const upgraded = await openStore(copy, { auditKey: null });
      const records = await upgraded.auditRecords();
      assert.equal(verifyChain(records).ok, true);
      assert.equal(records.at(-1)!.action, 'audit.rows_adopted');
      const verdict = verifyGovernedRows(records, await upgraded.governedRows());
      assert.deepEqual(
        verdict.adopted.map((a) => `${a.table} #${a.id}: ${a.problem}`),
        ['exceptions #1: written before records carried row digests; taken as it was at the upgrade (record 3)'],
      );
      assert.deepEqual(
        verdict.tampered.map((a) => `${a.table} #${a.id}: ${a.problem}`),
        ['exceptions #2: its approver differ(s) from audit record 2 (exception.granted)'],
      );
      const trusted = await upgraded.trustedGovernedState();
      assert.deepEqual(
        trusted.exceptions.map((e) => e.id),
        [1],
      );
      assert.equal(trusted.tampered[0]?.id, 2);
      await upgraded.close();
    });

    it('refuses a store written by a newer Tenure and leaves it untouched', async () => {
      const copy = await backend.fresh();
      await (await openStore(copy)).close();
      await backend.raw(
        copy,
        `insert into tenure_migrations (name, timestamp) values ('9999_from_the_future', '2030-01-01T00:00:00.000Z')`,
      );
      await assert.rejects(
        openStore(copy),
        (e: unknown) =>
          e instanceof StoreError && e.code === 'too_new' && /written by a newer version of Tenure/.test(e.message),
      );
    });
  });
}

describe('state store locations', () => {
  it('says clearly when a PostgreSQL URL cannot be reached, without the password', async () => {
    await assert.rejects(
      openStore('postgres://tenure:s3cret@127.0.0.1:1/tenure'),
      (e: unknown) =>
        e instanceof StoreError &&
        e.code === 'unreachable' &&
        /cannot reach the PostgreSQL state store at postgres:\/\/tenure:\*\*\*@127\.0\.0\.1:1\/tenure/.test(
          e.message,
        ) &&
        !e.message.includes('s3cret'),
    );
  });
});
