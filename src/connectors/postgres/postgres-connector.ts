import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { Account } from '../../model/actual-state.js';
import type { TargetDefinition } from '../../model/policy.js';
import type { Diagnostic } from '../../model/diagnostic.js';
import { ConnectorError, type AccountSpec, type Connector, type ConnectorCapabilities } from '../connector.js';
import { settingsOrThrow } from '../connector-kind.js';
import { resolveSecret, type ConnectorContext } from '../secrets.js';
import { appendSecret } from '../secret-sink.js';
import { postgresSettings, type PostgresSettings, type SslMode } from './postgres-settings.js';
import { identifierProblem, quoteIdent, quoteLiteral } from './quote.js';

export { identifierProblem, quoteIdent, quoteLiteral, MAX_IDENTIFIER_BYTES } from './quote.js';

/** Account attributes kept in the role comment besides the identity link (PostgreSQL roles have no others). */
const KEPT_ATTRIBUTES = ['displayName', 'mail'] as const;

type OnDelete = 'drop_owned' | 'reassign';

interface Settings {
  /** The driver's settings, made at the first query (reading the password's secret then). */
  readonly pool: () => pg.PoolConfig;
  readonly terminateSessionsOnDisable: boolean;
  readonly onDelete: OnDelete;
  readonly reassignTo: string | undefined;
  readonly secretSinkFile: string | undefined;
}

/** The comment Tenure puts on the roles it manages: `{"tenure":{"identity":"<id>", ...attributes}}`. */
interface TenureComment {
  readonly identity: string;
  readonly attributes: Readonly<Record<string, string>>;
}

interface RoleRow {
  readonly rolname: string;
  readonly rolcanlogin: boolean;
  readonly description: string | null;
}

/**
 * PostgreSQL as a target. An account is a LOGIN role carrying a Tenure comment (COMMENT ON ROLE with
 * `{"tenure":{"identity":...}}`); roles without that comment are never listed, read or changed. Entitlements
 * `TARGET:role/NAME` are memberships of existing group roles. Role names are cluster-wide; DROP OWNED and REASSIGN OWNED
 * on delete act in the connection's database only.
 *
 * connection: `url` or `host`/`port`/`database`/`user`, `password` (a secret reference, overrides one in the url),
 * `terminate_sessions_on_disable` (default false), `on_delete` ('drop_owned' default | 'reassign' with `reassign_to`),
 * `secret_sink` (`{ file: PATH }`), `sslmode` and `sslrootcert` (a CA file, relative to the policy's folder), `statement_timeout_ms` (default 30000; the client gives up on a query that has no
 * answer a second after it), `connect_timeout_ms` (default 10000).
 */
export function createPostgresConnector(target: TargetDefinition, context: ConnectorContext): Connector {
  return postgresConnector(
    target.id,
    settingsOrThrow({ kind: 'postgres', settings: postgresSettings }, target),
    context,
  );
}

/** A PostgreSQL target on valid settings: nothing is connected, and no secret read, before the first query. */
export function postgresConnector(target: string, s: PostgresSettings, context: ConnectorContext): Connector {
  return new PostgresConnector(target, {
    pool: () => poolConfig(target, s, context),
    terminateSessionsOnDisable: s.terminate_sessions_on_disable,
    onDelete: s.on_delete,
    reassignTo: s.reassign_to,
    secretSinkFile: s.secret_sink === undefined ? undefined : resolve(context.baseDir, s.secret_sink.file),
  });
}

/** The driver's settings; reads the password's secret. */
function poolConfig(target: string, s: PostgresSettings, context: ConnectorContext): pg.PoolConfig {
  const pool: pg.PoolConfig = {
    max: 4,
    idleTimeoutMillis: 10_000,
    application_name: 'tenure',
  };
  if (s.url !== undefined) {
    pool.connectionString = s.url;
  } else {
    pool.host = s.host;
    if (s.port !== undefined) pool.port = s.port;
    pool.database = s.database;
    pool.user = s.user;
  }
  if (s.password !== undefined) {
    const password = resolveSecret(target, 'connection.password', s.password, context.baseDir, context.env);
    pool.password = password;
    // The driver takes a url's password over this one, so the url carries it: `password` overrides, as documented.
    if (pool.connectionString !== undefined) {
      const parsed = new URL(pool.connectionString);
      parsed.password = encodeURIComponent(password);
      pool.connectionString = parsed.toString();
    }
  }
  const timeout = s.statement_timeout_ms;
  pool.statement_timeout = timeout;
  // statement_timeout is the server's: when the server or the network stops answering, only a limit of the client's
  // own ends the wait. It is a little longer, so that the server's cancellation (57014) arrives first when it can.
  if (timeout > 0) pool.query_timeout = timeout + 1_000;
  pool.connectionTimeoutMillis = s.connect_timeout_ms;
  const ssl = tlsOptions(target, s, context);
  if (ssl !== undefined) pool.ssl = ssl;
  return pool;
}

/**
 * The driver's TLS options from `sslmode` and `sslrootcert`, with libpq's meanings: `require` encrypts without checking
 * the certificate (unless a CA is given: then as `verify-ca`); `verify-ca` checks that a trusted CA signed it;
 * `verify-full` also checks the host name. Without `sslrootcert` the trusted CAs are Node's. `sslrootcert` alone means
 * `verify-full`. The CA file is read now, from the policy file's folder when the path is relative.
 */
function tlsOptions(target: string, s: PostgresSettings, context: ConnectorContext): pg.PoolConfig['ssl'] {
  if (s.sslmode === undefined && s.sslrootcert === undefined) return undefined;
  const mode: SslMode = s.sslmode ?? 'verify-full';
  if (mode === 'disable') return false;
  const ca = s.sslrootcert === undefined ? undefined : readCa(target, resolve(context.baseDir, s.sslrootcert));
  const skipHostName = { checkServerIdentity: (): undefined => undefined };
  if (mode === 'require') return ca === undefined ? { rejectUnauthorized: false } : { ca, ...skipHostName };
  if (mode === 'verify-ca') return ca === undefined ? { ...skipHostName } : { ca, ...skipHostName };
  return ca === undefined ? {} : { ca };
}

function readCa(target: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConnectorError(
      target,
      'invalid_input',
      `target "${target}": connection.sslrootcert ${path} cannot be read (${code})`,
      "a relative sslrootcert is read from the policy file's folder",
    );
  }
}

export class PostgresConnector implements Connector {
  readonly kind = 'postgres';
  readonly capabilities: ConnectorCapabilities;
  private opened: pg.Pool | undefined;
  private closed: Promise<void> | undefined;
  private readonly notes: Diagnostic[] = [];
  /**
   * Roles this connector created (role and comment in one transaction) and has not renamed or deleted since. A joiner's
   * memberships follow its create at once, and for these the comment check before a GRANT is skipped: it would cost a
   * round trip to confirm what this connector has just written. Cleared on close.
   */
  private readonly created = new Set<string>();

  constructor(
    readonly target: string,
    private readonly settings: Settings,
  ) {
    // Rotation needs somewhere to hand the new password: without a secret sink, plans raise old credentials as findings.
    this.capabilities = {
      read: true,
      write: true,
      disable: true,
      delete: true,
      memberships: true,
      rotate: settings.secretSinkFile !== undefined,
      rename: true,
    };
  }

  /** The pool, made at the first query: creating the connector connects to nothing and reads no secret. */
  private get pool(): pg.Pool {
    if (this.opened === undefined) {
      const pool = new pg.Pool(this.settings.pool());
      // An idle client whose connection ends (server restart, pg_terminate_backend) must not crash the process; the
      // next query gets a fresh connection or a mapped error.
      pool.on('error', () => undefined);
      this.opened = pool;
    }
    return this.opened;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reading

  async listAccounts(): Promise<readonly Account[]> {
    const rows = await this.query<RoleRow>(
      `SELECT r.rolname, r.rolcanlogin, shobj_description(r.oid, 'pg_authid') AS description
         FROM pg_catalog.pg_roles r
        WHERE shobj_description(r.oid, 'pg_authid') IS NOT NULL
        ORDER BY r.rolname`,
      [],
    );
    const managed = rows.flatMap((row) => {
      const comment = parseComment(row.description);
      return comment === undefined ? [] : [{ row, comment }];
    });
    if (managed.length === 0) return [];
    const memberships = await this.query<{ member: string; grp: string }>(
      `SELECT DISTINCT r.rolname AS member, g.rolname AS grp
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles r ON r.oid = m.member
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        WHERE r.rolname = ANY($1::text[])`,
      [managed.map((m) => m.row.rolname)],
    );
    const byMember = new Map<string, string[]>();
    for (const m of memberships) {
      const list = byMember.get(m.member) ?? [];
      list.push(m.grp);
      byMember.set(m.member, list);
    }
    const live = await this.liveDisabled(managed.map((m) => m.row));
    return managed.map(({ row, comment }) =>
      this.toAccount(row, comment, byMember.get(row.rolname) ?? [], live.has(row.rolname)),
    );
  }

  async readAccount(name: string): Promise<Account | undefined> {
    if (identifierProblem(name) !== undefined) return undefined;
    const row = await this.role(name);
    const comment = row && parseComment(row.description);
    if (!row || !comment) return undefined;
    const live = await this.liveDisabled([row]);
    return this.toAccount(row, comment, await this.groupsOf(name), live.has(name));
  }

  /**
   * With terminate_sessions_on_disable, disabled means "cannot log in and has no open session": the NOLOGIN roles
   * that still have sessions (a disable whose termination was refused) are read as enabled.
   */
  private liveDisabled(rows: readonly RoleRow[]): Promise<ReadonlySet<string>> {
    if (!this.settings.terminateSessionsOnDisable) return Promise.resolve(new Set());
    return this.withSessions(rows.filter((r) => !r.rolcanlogin).map((r) => r.rolname));
  }

  /** Every role that is not an account Tenure manages (those carry its comment): the roles a policy can grant. */
  async listEntitlements(): Promise<readonly string[]> {
    const rows = await this.query<{ rolname: string; description: string | null }>(
      `SELECT rolname, shobj_description(oid, 'pg_authid') AS description FROM pg_catalog.pg_roles`,
      [],
    );
    return rows
      .filter((r) => parseComment(r.description) === undefined)
      .map((r) => `${this.target}:role/${r.rolname}`)
      .sort();
  }

  locateEntitlement(entitlement: string): string | undefined {
    const prefix = `${this.target}:role/`;
    return entitlement.startsWith(prefix) ? `role ${quoteIdent(entitlement.slice(prefix.length))}` : undefined;
  }

  async listMembers(entitlement: string): Promise<readonly string[]> {
    const group = this.groupOf(entitlement);
    if (!(await this.role(group))) {
      throw new ConnectorError(this.target, 'not_found', `role ${JSON.stringify(group)} does not exist`);
    }
    const rows = await this.query<{ rolname: string; description: string | null }>(
      `SELECT DISTINCT r.rolname, shobj_description(r.oid, 'pg_authid') AS description
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles r ON r.oid = m.member
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        WHERE g.rolname = $1`,
      [group],
    );
    return rows
      .filter((r) => parseComment(r.description) !== undefined)
      .map((r) => r.rolname)
      .sort();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Writing

  async createAccount(spec: AccountSpec): Promise<Account> {
    const role = quoteIdent(this.checkName(spec.name));
    const comment: TenureComment = { identity: spec.identity, attributes: keptAttributes(spec.attributes) };
    // One round trip: the statements of one simple query run as one implicit transaction, so the role never exists
    // without its comment (a failed COMMENT undoes the CREATE ROLE).
    await this.execute(
      `CREATE ROLE ${role} LOGIN; COMMENT ON ROLE ${role} IS ${quoteLiteral(renderComment(comment))}`,
      `account ${JSON.stringify(spec.name)}`,
    );
    this.created.add(spec.name);
    return {
      id: spec.name,
      name: spec.name,
      ...(spec.identity !== '' ? { identity: spec.identity } : {}),
      enabled: true,
      entitlements: [],
    };
  }

  async updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    const comment = await this.managed(name);
    const next: TenureComment = {
      identity: comment.identity,
      attributes: { ...comment.attributes, ...keptAttributes(attributes) },
    };
    await this.execute(`COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(renderComment(next))}`, name);
  }

  /**
   * NOLOGIN first, so that no new session can begin; then, with terminate_sessions_on_disable, the open sessions are
   * ended. When they cannot be (the connecting role may not signal them), the disable fails with permission_denied
   * and the role stays NOLOGIN: reads go on reporting the account as enabled while it has open sessions, so the next
   * plan disables it again rather than calling it done.
   */
  async disableAccount(name: string): Promise<void> {
    await this.managed(name);
    await this.execute(`ALTER ROLE ${quoteIdent(name)} NOLOGIN`, name);
    if (this.settings.terminateSessionsOnDisable) await this.endSessions(name);
  }

  /** Ends the role's open sessions, waiting for each to exit; fails while any is left. */
  private async endSessions(name: string): Promise<void> {
    try {
      await this.pool.query(
        `SELECT pg_catalog.pg_terminate_backend(pid, $2) FROM pg_catalog.pg_stat_activity
          WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()`,
        [name, TERMINATE_WAIT_MS],
      );
    } catch (e) {
      if (sqlState(e) !== '42501') throw mapError(this.target, e, `account ${JSON.stringify(name)}`);
      const me = await this.connectingRole();
      const left = await this.sessionCount(name);
      throw new ConnectorError(
        this.target,
        'permission_denied',
        `target "${this.target}": account ${JSON.stringify(name)} can no longer log in (NOLOGIN), but its ${left} ` +
          `open session(s) go on: the connecting role ${JSON.stringify(me)} lacks the privileges of pg_signal_backend ` +
          `to end them (server: ${errorMessage(e)})`,
        `run GRANT pg_signal_backend TO ${quoteIdent(me)} and apply again; until then the account reads as enabled while its sessions last`,
      );
    }
    const left = await this.sessionCount(name);
    if (left > 0) {
      throw new ConnectorError(
        this.target,
        'timeout',
        `target "${this.target}": account ${JSON.stringify(name)} can no longer log in (NOLOGIN), but ${left} of its ` +
          `sessions did not end within ${TERMINATE_WAIT_MS / 1000} s of being told to`,
      );
    }
  }

  /** The role's open sessions, other than ours. */
  private async sessionCount(name: string): Promise<number> {
    const rows = await this.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity
        WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()`,
      [name],
      `account ${JSON.stringify(name)}`,
    );
    return rows[0]?.n ?? 0;
  }

  /** Of the given NOLOGIN roles, those with open sessions (other than ours). */
  private async withSessions(names: readonly string[]): Promise<ReadonlySet<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.query<{ usename: string }>(
      `SELECT DISTINCT usename FROM pg_catalog.pg_stat_activity
        WHERE usename = ANY($1::text[]) AND pid <> pg_catalog.pg_backend_pid()`,
      [names],
    );
    return new Set(rows.map((r) => r.usename));
  }

  /** The role Tenure connects as (for messages that say what to grant it). */
  private async connectingRole(): Promise<string> {
    const rows = await this.query<{ me: string }>('SELECT current_user AS me', []);
    return rows[0]?.me ?? 'tenure';
  }

  async enableAccount(name: string): Promise<void> {
    await this.managed(name);
    await this.execute(`ALTER ROLE ${quoteIdent(name)} LOGIN`, name);
  }

  async deleteAccount(name: string): Promise<void> {
    this.created.delete(name);
    await this.managed(name);
    const role = quoteIdent(name);
    const reassignTo = this.settings.onDelete === 'reassign' ? this.settings.reassignTo : undefined;
    // REASSIGN OWNED and DROP OWNED need the privileges of the roles they name (PostgreSQL 15: membership; CREATEROLE
    // is not enough): a refusal is explained by the membership that is missing, found out after the fact.
    let refused: { statement: string; error: unknown } | undefined;
    const owned = async (client: pg.PoolClient, statement: string, sql: string): Promise<void> => {
      try {
        await client.query(sql);
      } catch (e) {
        if (sqlState(e) === '42501') refused = { statement, error: e };
        throw e;
      }
    };
    try {
      await this.transaction(
        async (client) => {
          if (reassignTo !== undefined) {
            await owned(client, 'REASSIGN OWNED', `REASSIGN OWNED BY ${role} TO ${quoteIdent(reassignTo)}`);
          }
          await owned(client, 'DROP OWNED', `DROP OWNED BY ${role}`);
          await client.query(`DROP ROLE ${role}`);
        },
        `account ${JSON.stringify(name)}`,
      );
    } catch (e) {
      if (refused === undefined) throw e;
      throw await this.ownedRefusal(name, reassignTo, refused.statement, refused.error);
    }
  }

  /** Why REASSIGN OWNED or DROP OWNED was refused: the roles whose privileges the connecting role lacks, and the fix. */
  private async ownedRefusal(
    name: string,
    reassignTo: string | undefined,
    statement: string,
    error: unknown,
  ): Promise<ConnectorError> {
    const named = statement === 'REASSIGN OWNED' && reassignTo !== undefined ? [name, reassignTo] : [name];
    const rows = await this.query<{ me: string; version: number; missing: string[] }>(
      `SELECT current_user AS me, current_setting('server_version_num')::int AS version,
              ARRAY(SELECT r FROM unnest($1::text[]) AS r WHERE NOT pg_catalog.pg_has_role(r, 'USAGE')) AS missing`,
      [named],
    );
    const me = rows[0]?.me ?? 'tenure';
    const missing = rows[0]?.missing.length ? rows[0].missing : named;
    const version = rows[0]?.version ?? 0;
    const of = missing.map((r) => `role ${JSON.stringify(r)}`).join(' and of ');
    const grants =
      version >= 160000
        ? missing.map((r) => `GRANT ${quoteIdent(r)} TO ${quoteIdent(me)} WITH INHERIT TRUE`)
        : missing.map((r) => `GRANT ${quoteIdent(r)} TO ${quoteIdent(me)}`);
    return new ConnectorError(
      this.target,
      'permission_denied',
      `target "${this.target}": account ${JSON.stringify(name)} was not deleted: ${statement} needs the privileges of ` +
        `${of}, which the connecting role ${JSON.stringify(me)} lacks (CREATEROLE is not enough; server: ` +
        `${errorMessage(error)})`,
      `run ${grants.join('; ')} and apply again (or make the connecting role a member of every role Tenure manages)`,
    );
  }

  async addMembership(name: string, entitlement: string): Promise<void> {
    const group = this.groupOf(entitlement);
    if (!this.created.has(name)) await this.managed(name);
    // GRANT of a membership that exists only raises a NOTICE: the call is idempotent.
    await this.execute(`GRANT ${quoteIdent(group)} TO ${quoteIdent(name)}`, `role ${JSON.stringify(group)}`);
  }

  async removeMembership(name: string, entitlement: string): Promise<void> {
    const group = this.groupOf(entitlement);
    await this.managed(name);
    // REVOKE of a membership that does not exist only raises a WARNING: the call is idempotent.
    await this.execute(`REVOKE ${quoteIdent(group)} FROM ${quoteIdent(name)}`, `role ${JSON.stringify(group)}`);
  }

  /**
   * ALTER ROLE ... RENAME TO keeps the role's oid, so its memberships, grants, owned objects and Tenure comment go
   * with it. PostgreSQL clears an MD5 password on rename (the name is part of the MD5 hash); SCRAM verifiers do not
   * involve the name and survive. A cleared password is replaced and handed to the secret sink in the same
   * transaction when there is one (a failed sink write undoes the rename); without a sink it becomes a warning.
   */
  async renameAccount(name: string, newName: string, identity: string): Promise<void> {
    this.checkName(name);
    this.checkName(newName);
    const subject = `account ${JSON.stringify(name)}`;
    const row = await this.role(name);
    if (!row) {
      // A rename that took effect before a crash: the new name carries the same link.
      const moved = await this.role(newName);
      const link = moved && parseComment(moved.description);
      if (identity !== '' && link?.identity === identity) return;
      throw new ConnectorError(
        this.target,
        'not_found',
        `account ${JSON.stringify(name)} does not exist, and no role ${JSON.stringify(newName)} is linked to ` +
          `identity ${JSON.stringify(identity)}`,
      );
    }
    if (!parseComment(row.description)) throw this.unmanaged(name);
    if (name === newName) return;
    if (await this.role(newName)) {
      throw new ConnectorError(
        this.target,
        'already_exists',
        `account ${JSON.stringify(name)} cannot be renamed: role ${JSON.stringify(newName)} already exists`,
      );
    }
    const sink = this.settings.secretSinkFile;
    let cleared = false;
    await this.transaction(async (client) => {
      const md5 = await this.hasMd5Password(client, name);
      cleared = md5 === true;
      // Only a superuser can read pg_authid: anyone else learns of the cleared password from the server's NOTICE,
      // which has no SQLSTATE of its own (00000), so its text is all there is to go by.
      const listen = (notice: { message?: string }): void => {
        if (notice.message !== undefined && MD5_CLEARED.test(notice.message)) cleared = true;
      };
      if (md5 === undefined) client.on('notice', listen);
      try {
        this.created.delete(name);
        await client.query(`ALTER ROLE ${quoteIdent(name)} RENAME TO ${quoteIdent(newName)}`);
      } finally {
        client.off('notice', listen);
      }
      if (cleared && sink !== undefined) await this.freshPassword(client, sink, newName);
    }, subject);
    if (cleared && sink === undefined) {
      this.notes.push({
        severity: 'warning',
        code: 'connector.md5_cleared',
        message:
          `target "${this.target}": role ${JSON.stringify(newName)} (renamed from ${JSON.stringify(name)}) had an MD5 ` +
          'password, which PostgreSQL clears on rename: it has no password now and cannot log in with one',
        hint: `set one: ALTER ROLE ${quoteIdent(newName)} PASSWORD '...'; with connection.secret_sink, a rename sets one itself`,
        subject: newName,
      });
    }
  }

  /** Whether the role's password is an MD5 hash; undefined when the connecting role may not read pg_authid. */
  private async hasMd5Password(client: pg.PoolClient, name: string): Promise<boolean | undefined> {
    const readable = await client.query<{ ok: boolean }>(
      "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok",
    );
    if (readable.rows[0]?.ok !== true) return undefined;
    const rows = await client.query<{ md5: boolean }>(
      "SELECT coalesce(rolpassword LIKE 'md5%', false) AS md5 FROM pg_catalog.pg_authid WHERE rolname = $1",
      [name],
    );
    return rows.rows[0]?.md5 === true;
  }

  /** Writes the identity into the Tenure comment, keeping everything else the comment holds. */
  async linkAccount(name: string, identity: string): Promise<void> {
    this.checkName(name);
    const row = await this.role(name);
    if (!row) throw new ConnectorError(this.target, 'not_found', `account ${JSON.stringify(name)} does not exist`);
    const link = parseComment(row.description);
    if (!link) throw this.unmanaged(name);
    if (link.identity === identity) return;
    const raw = JSON.parse(row.description!) as { tenure: Record<string, unknown> };
    const next = JSON.stringify({ ...raw, tenure: { ...raw.tenure, identity } });
    await this.execute(
      `COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(next)}`,
      `account ${JSON.stringify(name)}`,
    );
  }

  async rotateCredential(name: string): Promise<void> {
    const sink = this.settings.secretSinkFile;
    if (sink === undefined) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `target "${this.target}" has no secret_sink: a rotated password would have nowhere to go`,
        'add connection.secret_sink: { file: PATH }',
      );
    }
    if (/[\t\r\n]/.test(name)) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `role ${JSON.stringify(name)} has a tab or line break, which the secret sink's line format cannot hold`,
      );
    }
    await this.managed(name);
    // The password is set inside a transaction that commits only after the sink has it: a failed sink write leaves
    // the old password in force rather than a new one nobody knows.
    await this.transaction((client) => this.freshPassword(client, sink, name), `account ${JSON.stringify(name)}`);
  }

  /** Sets a new random password on the role and hands it to the sink, inside the caller's transaction. */
  private async freshPassword(client: pg.PoolClient, sink: string, name: string): Promise<void> {
    const password = randomBytes(32).toString('base64url');
    // The server receives a SCRAM-SHA-256 verifier, never the password itself, so the password cannot surface in
    // server logs (log_statement), pg_stat_activity or pg_stat_statements. The password is never logged here either.
    const verifier = scramVerifier(password);
    await client.query(`ALTER ROLE ${quoteIdent(name)} PASSWORD ${quoteLiteral(verifier)}`);
    await appendSecret(this.target, sink, name, password);
  }

  warnings(): readonly Diagnostic[] {
    return [...this.notes];
  }

  close(): Promise<void> {
    this.created.clear();
    this.closed ??= this.opened?.end() ?? Promise.resolve();
    return this.closed;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  private toAccount(row: RoleRow, comment: TenureComment, groups: readonly string[], liveSessions = false): Account {
    return {
      id: row.rolname,
      name: row.rolname,
      // An account created without an identity carries the comment with an empty one: managed, not linked.
      ...(comment.identity !== '' ? { identity: comment.identity } : {}),
      enabled: row.rolcanlogin || liveSessions,
      entitlements: [...groups].sort().map((g) => `${this.target}:role/${g}`),
      // The attributes kept in the role comment, read back ('' when unset) so a plan can update them.
      attributes: Object.fromEntries(KEPT_ATTRIBUTES.map((k) => [k, comment.attributes[k] ?? ''])),
    };
  }

  private checkName(name: string): string {
    const problem = identifierProblem(name);
    if (problem !== undefined) {
      throw new ConnectorError(this.target, 'invalid_input', `role name ${JSON.stringify(name)} ${problem}`);
    }
    return name;
  }

  /** The group role an entitlement of this target names. */
  private groupOf(entitlement: string): string {
    const prefix = `${this.target}:role/`;
    if (!entitlement.startsWith(prefix)) {
      throw new ConnectorError(
        this.target,
        'invalid_input',
        `entitlement ${JSON.stringify(entitlement)} is not a role of target "${this.target}" (expected ${prefix}NAME)`,
      );
    }
    return this.checkName(entitlement.slice(prefix.length));
  }

  private async role(name: string): Promise<RoleRow | undefined> {
    const rows = await this.query<RoleRow>(
      `SELECT rolname, rolcanlogin, shobj_description(oid, 'pg_authid') AS description
         FROM pg_catalog.pg_roles WHERE rolname = $1`,
      [name],
    );
    return rows[0];
  }

  private async groupsOf(name: string): Promise<string[]> {
    const rows = await this.query<{ grp: string }>(
      `SELECT DISTINCT g.rolname AS grp
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles r ON r.oid = m.member
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        WHERE r.rolname = $1`,
      [name],
    );
    return rows.map((r) => r.grp);
  }

  /** The Tenure comment of a managed role; not_found when there is no such role, conflict when Tenure does not own it. */
  private async managed(name: string): Promise<TenureComment> {
    this.checkName(name);
    const row = await this.role(name);
    if (!row) throw new ConnectorError(this.target, 'not_found', `account ${JSON.stringify(name)} does not exist`);
    const comment = parseComment(row.description);
    if (!comment) throw this.unmanaged(name);
    return comment;
  }

  private unmanaged(name: string): ConnectorError {
    return new ConnectorError(
      this.target,
      'conflict',
      `role ${JSON.stringify(name)} exists but is not managed by Tenure (it has no Tenure comment); it is left alone`,
      'rename the account in the policy, or adopt the role by hand with COMMENT ON ROLE',
    );
  }

  private async query<R extends pg.QueryResultRow>(
    text: string,
    values: readonly unknown[],
    subject?: string,
  ): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, [...values])).rows;
    } catch (e) {
      throw mapError(this.target, e, subject);
    }
  }

  private async execute(sql: string, subject: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (e) {
      throw mapError(this.target, e, subject);
    }
  }

  private async transaction(work: (client: pg.PoolClient) => Promise<void>, subject: string): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw mapError(this.target, e, subject);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw mapError(this.target, e, subject);
    } finally {
      client.release(broken);
    }
  }

  /** One statement as the connecting role (`tenure targets check`: catalogue reads, a probe's cleanup), mapped. */
  checkQuery<R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    return this.query<R>(text, values);
  }
}

function keptAttributes(attributes: Readonly<Record<string, string>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const key of KEPT_ATTRIBUTES) {
    const v = attributes[key];
    if (typeof v === 'string') kept[key] = v;
  }
  return kept;
}

function renderComment(comment: TenureComment): string {
  // JSON.stringify escapes control characters (NUL included), so the result is always a valid PostgreSQL string.
  return JSON.stringify({ tenure: { identity: comment.identity, ...comment.attributes } });
}

/** The Tenure link in a role comment, or undefined when the comment is absent or not Tenure's. */
export function parseComment(description: string | null | undefined): TenureComment | undefined {
  if (!description) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(description);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || !('tenure' in raw)) return undefined;
  const t = raw.tenure;
  if (typeof t !== 'object' || t === null || !('identity' in t) || typeof t.identity !== 'string') return undefined;
  const attributes: Record<string, string> = {};
  for (const key of KEPT_ATTRIBUTES) {
    const v = (t as Record<string, unknown>)[key];
    if (typeof v === 'string') attributes[key] = v;
  }
  return { identity: t.identity, attributes };
}

/** A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802/7677; 4096 iterations, PostgreSQL's default). */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  // SASLprep is the identity on the printable-ASCII passwords we generate.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Appends `role<TAB>password` to the sink file, created with mode 0600 (and kept at 0600). A file is a stand-in for
 * tests and small setups; a real deployment would hand the secret to a vault (HashiCorp Vault, a cloud secret
 * manager) instead.
 */
/** The server's NOTICE when ALTER ROLE ... RENAME clears an MD5 password (lc_messages in English). */
const MD5_CLEARED = /^MD5 password cleared because of role rename/;

/** How long pg_terminate_backend waits for each ended session to exit. */
const TERMINATE_WAIT_MS = 5_000;

function sqlState(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function errorMessage(e: unknown): string {
  const message = (e as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(e);
}

/** Node's codes for a server certificate that failed verification (not retried: a setting or the certificate is wrong). */
const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
]);

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Maps a pg or socket error to a ConnectorError by SQLSTATE or errno, never by message text. */
export function mapError(target: string, e: unknown, subject?: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);
  const about = subject === undefined ? '' : `${subject}: `;
  const make = (c: ConstructorParameters<typeof ConnectorError>[1], hint?: string): ConnectorError =>
    new ConnectorError(target, c, `target "${target}": ${about}${message}`, hint);

  if (CONNECTION_ERRNOS.has(code)) return make('unreachable', 'is the server running and reachable?');
  if (TLS_TRUST_ERRORS.has(code) || code.startsWith('ERR_TLS_CERT')) {
    return make(
      'permission_denied',
      "the server's certificate is not trusted: check connection.sslrootcert and sslmode",
    );
  }
  switch (code) {
    case '42710': // duplicate_object
    case '23505': // unique_violation (two CREATE ROLE racing)
      return make('already_exists');
    case '42704': // undefined_object
      return make('not_found');
    case '42501': // insufficient_privilege
    case '28000': // invalid_authorization_specification
    case '28P01': // invalid_password
      return make('permission_denied', 'check the user and password the connector connects with, and its privileges');
    case '2BP01': // dependent_objects_still_exist
      return make('conflict', 'the role owns objects or holds privileges in another database; clean them up there');
    case '57014': // query_canceled (statement_timeout)
      return make('timeout');
    case '57P01': // admin_shutdown
    case '57P02': // crash_shutdown
    case '57P03': // cannot_connect_now
      return make('unreachable');
    case '40001': // serialization_failure
    case '40P01': // deadlock_detected
    case '55P03': // lock_not_available
      return make('internal');
    case '3D000': // invalid_catalog_name: the database in the connection does not exist
      return make('invalid_input', 'check connection.database or the url');
    case '42601': // syntax_error
    case '42939': // reserved_name (public, pg_*)
    case '0LP01': // invalid_grant_operation (circular membership)
    case '42602': // invalid_name
    case '0A000': // feature_not_supported (renaming the session user)
      return make('invalid_input');
  }
  if (code.startsWith('08')) return make('unreachable');
  if (code.startsWith('53')) return make('internal'); // insufficient resources: worth a retry later
  if (code.startsWith('22')) return make('invalid_input');
  if (code === '' && !(e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError)) {
    // pg's own errors without an errno: a connection that ended, or could not be made in time.
    return make('unreachable');
  }
  return make('internal');
}
