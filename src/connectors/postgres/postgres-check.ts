import type { Connector } from '../connector.js';
import { probeAccount } from '../probe-account.js';
import type { ConnectorContext } from '../secrets.js';
import { found, problemOf, type CheckItem, type CheckNeeds, type KindCheck } from '../target-check.js';
import { PostgresConnector } from './postgres-connector.js';
import type { PostgresSettings } from './postgres-settings.js';
import { quoteIdent } from './quote.js';

interface Me {
  me: string;
  superuser: boolean;
  createrole: boolean;
  version: number;
  version_text: string;
  self_grant: string;
  signal: boolean;
  roles: number;
}

interface GroupRow {
  name: string;
  present: boolean;
  superuser: boolean;
  admin: boolean;
}

/**
 * A PostgreSQL target, asked read-only: the login, the connecting role's attributes (CREATEROLE, superuser), the
 * privileges of pg_signal_backend when sessions are ended on disable, and for each declared group role that it
 * exists and can be granted (ADMIN OPTION, or CREATEROLE on PostgreSQL 15 and earlier). What a delete needs is in
 * docs/connectors.md (Privileges): the privileges of every role deleted, which a CREATEROLE role lacks for roles it
 * has not been made a member of.
 */
export async function checkPostgres(
  connector: Connector,
  settings: PostgresSettings,
  needs: CheckNeeds,
  _context: ConnectorContext,
): Promise<KindCheck> {
  if (!(connector instanceof PostgresConnector)) throw new Error('checkPostgres needs a PostgresConnector');
  let me: Me;
  try {
    [me] = (await connector.checkQuery<Me>(
      `SELECT current_user AS me, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
              current_setting('server_version_num')::int AS version, current_setting('server_version') AS version_text,
              coalesce(current_setting('createrole_self_grant', true), '') AS self_grant,
              pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal,
              (SELECT count(*)::int FROM pg_catalog.pg_roles) AS roles
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    )) as [Me];
  } catch (e) {
    const p = problemOf(e);
    return { items: [found.missing('login', p.message, p.hint ? { hint: p.hint } : {})] };
  }
  const role = quoteIdent(me.me);
  const items: CheckItem[] = [
    found.ok('login', `logged in as ${JSON.stringify(me.me)} (PostgreSQL ${me.version_text})`),
    found.ok('read', `reads the role catalogue (${me.roles} roles)`),
  ];
  const canManage = me.superuser || me.createrole;
  const power = me.superuser ? 'a superuser' : me.createrole ? 'CREATEROLE' : '';
  const noCreaterole = {
    hint: `ALTER ROLE ${role} CREATEROLE (docs/connectors.md, Privileges)`,
  };
  items.push(
    canManage
      ? found.ok('create', `can create and change login roles (${power})`)
      : found.missing(
          'create',
          `the connecting role ${JSON.stringify(me.me)} cannot create roles (no CREATEROLE)`,
          noCreaterole,
        ),
  );
  if (!canManage)
    items.push(
      found.missing('disable', `cannot disable roles (ALTER ROLE ... NOLOGIN needs CREATEROLE)`, noCreaterole),
    );
  else if (settings.terminate_sessions_on_disable && !me.signal && !me.superuser)
    items.push(
      found.missing(
        'disable',
        `terminate_sessions_on_disable is set, but the connecting role ${JSON.stringify(me.me)} lacks the privileges of ` +
          `pg_signal_backend: a disabled account's open sessions would go on`,
        { hint: `GRANT pg_signal_backend TO ${role}` },
      ),
    );
  else
    items.push(
      found.ok(
        'disable',
        settings.terminate_sessions_on_disable
          ? `can disable roles and end their sessions (${me.superuser ? 'superuser' : 'CREATEROLE, pg_signal_backend'})`
          : `can disable roles (${power})`,
      ),
    );
  items.push(deleteItem(me, settings, needs, role));
  if (needs.rotate)
    items.push(
      canManage
        ? found.ok('rotate', `can set passwords (${power}); they go to the secret sink`)
        : found.missing('rotate', 'cannot set passwords (ALTER ROLE ... PASSWORD needs CREATEROLE)', noCreaterole),
    );
  const groups = await groupRows(connector, needs);
  for (const g of groups) items.push(...groupItems(g, me, role, needs));
  if (needs.probe && items.some((i) => i.check === 'create' && i.status === 'ok')) {
    const existing = groups.filter((g) => g.present).map((g) => g.entitlement);
    items.push(
      ...(await probeAccount(connector, needs, existing, async (name) => {
        await connector.checkQuery(`DROP ROLE IF EXISTS ${quoteIdent(name)}`);
      })),
    );
  }
  return { items };
}

function deleteItem(me: Me, settings: PostgresSettings, needs: CheckNeeds, role: string): CheckItem {
  const extra = { needed: needs.delete };
  if (me.superuser) return found.ok('delete', 'can delete roles (superuser)', extra);
  if (!me.createrole)
    return found.missing('delete', 'cannot delete roles (DROP ROLE needs CREATEROLE)', {
      ...extra,
      hint: `ALTER ROLE ${role} CREATEROLE`,
    });
  const reassign = settings.on_delete === 'reassign' && settings.reassign_to ? settings.reassign_to : undefined;
  // PostgreSQL 16 makes the creator a member of the roles it creates as createrole_self_grant says.
  if (me.version >= 160000 && /\binherit\b/.test(me.self_grant))
    return found.ok(
      'delete',
      `can delete the roles it creates (CREATEROLE, createrole_self_grant = '${me.self_grant}')` +
        (reassign ? `; REASSIGN OWNED also needs the privileges of ${JSON.stringify(reassign)}` : ''),
      extra,
    );
  return found.missing(
    'delete',
    `DROP OWNED needs the privileges of each role deleted, which CREATEROLE alone does not give ` +
      `(PostgreSQL ${me.version >= 160000 ? '16 and later' : '15'}): every delete would be refused until the ` +
      `connecting role is made a member of the role`,
    {
      ...extra,
      hint:
        me.version >= 160000
          ? `ALTER ROLE ${role} SET createrole_self_grant = 'set, inherit', or a superuser (docs/connectors.md, Privileges)`
          : `GRANT <role> TO ${role} for each account before it is deleted, or a superuser (docs/connectors.md, Privileges)`,
    },
  );
}

async function groupRows(
  connector: PostgresConnector,
  needs: CheckNeeds,
): Promise<(GroupRow & { entitlement: string })[]> {
  const named = needs.entitlements.flatMap((e) => {
    const m = /^[^:]+:role\/(.+)$/.exec(e);
    return m ? [{ entitlement: e, name: m[1]! }] : [];
  });
  if (named.length === 0) return [];
  const rows = await connector.checkQuery<GroupRow>(
    `SELECT n.name, g.oid IS NOT NULL AS present, coalesce(g.rolsuper, false) AS superuser,
            coalesce(pg_catalog.pg_has_role(current_user, g.oid, 'MEMBER WITH ADMIN OPTION'), false) AS admin
       FROM unnest($1::text[]) AS n(name) LEFT JOIN pg_catalog.pg_roles g ON g.rolname = n.name`,
    [named.map((n) => n.name)],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  return named.map((n) => ({ ...byName.get(n.name)!, entitlement: n.entitlement }));
}

function groupItems(g: GroupRow & { entitlement: string }, me: Me, role: string, needs: CheckNeeds): CheckItem[] {
  const on = { entitlement: g.entitlement };
  if (!g.present)
    return [
      found.missing('entitlement', `group role ${JSON.stringify(g.name)} does not exist`, {
        ...on,
        hint: `CREATE ROLE ${quoteIdent(g.name)} NOLOGIN (Tenure does not create group roles), or fix the entitlement`,
      }),
    ];
  // On 15 and earlier CREATEROLE grants any role but a superuser one; from 16 it takes ADMIN OPTION.
  const grants = g.admin || (me.version < 160000 && me.createrole && !g.superuser);
  const why = me.superuser ? 'superuser' : g.admin ? 'ADMIN OPTION' : 'CREATEROLE';
  return [
    grants
      ? found.ok('group', `can grant and revoke ${JSON.stringify(g.name)} (${why})`, on)
      : found.missing('group', `cannot grant ${JSON.stringify(g.name)}: the connecting role lacks ADMIN OPTION on it`, {
          ...on,
          needed: needs.entitlements.includes(g.entitlement),
          hint: `GRANT ${quoteIdent(g.name)} TO ${role} WITH ADMIN OPTION`,
        }),
  ];
}
