import { dirname, resolve } from 'node:path';
import type { TargetDefinition } from '../model/policy.js';
import { ConnectorError, type Connector } from './connector.js';
import { createCsvConnector } from './csv/csv-connector.js';
import { createLdapConnector } from './ldap/ldap-connector.js';
import { MemoryConnector } from './memory/memory-connector.js';
import { createPostgresConnector } from './postgres/postgres-connector.js';
import { createScimConnector } from './scim/scim-connector.js';
import type { ConnectorContext } from './secrets.js';

/**
 * The `connection` keys each kind reads (docs/connectors.md). Anything else is a typo or a setting
 * of another kind, reported rather than ignored: a misspelt `secret_sink` would silently turn off
 * credential rotation.
 */
export const CONNECTION_KEYS: Readonly<Record<TargetDefinition['kind'], readonly string[]>> = {
  memory: ['snapshot'],
  csv: ['accounts', 'memberships'],
  ldap: [
    'url',
    'bind_dn',
    'bind_password',
    'people_base',
    'groups_base',
    'disable_method',
    'disabled_base',
    'disabled_attribute',
    'disabled_value',
    'page_size',
    'timeout_ms',
  ],
  postgres: [
    'url',
    'host',
    'port',
    'database',
    'user',
    'password',
    'statement_timeout_ms',
    'connect_timeout_ms',
    'terminate_sessions_on_disable',
    'on_delete',
    'reassign_to',
    'secret_sink',
  ],
  scim: ['url', 'token', 'oauth', 'page_size', 'membership_batch', 'timeout_ms'],
};

/** Connection keys of a target that its kind does not read, each with the closest known key. */
export function unknownConnectionKeys(target: TargetDefinition): { key: string; known: readonly string[] }[] {
  const known = CONNECTION_KEYS[target.kind];
  return Object.keys(target.connection)
    .filter((k) => !known.includes(k))
    .map((key) => ({ key, known }));
}

/** The connector for a target of the policy, by its kind. */
export function openConnector(
  target: TargetDefinition,
  policyFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Connector {
  const context: ConnectorContext = { baseDir: dirname(policyFile), env };
  const unknown = unknownConnectionKeys(target)[0];
  if (unknown)
    throw new ConnectorError(
      target.id,
      'invalid_input',
      `target "${target.id}": connection.${unknown.key} is not a setting of a ${target.kind} target`,
      `its settings are ${unknown.known.join(', ')} (docs/connectors.md)`,
    );
  switch (target.kind) {
    case 'memory': {
      const snapshot = target.connection.snapshot;
      if (snapshot === undefined) return new MemoryConnector(target.id, []);
      if (typeof snapshot !== 'string')
        throw new ConnectorError(
          target.id,
          'invalid_input',
          `target "${target.id}": connection.snapshot must be a file path`,
        );
      return MemoryConnector.fromSnapshotFile(target.id, resolve(context.baseDir, snapshot));
    }
    case 'csv':
      return createCsvConnector(target, context);
    case 'postgres':
      return createPostgresConnector(target, context);
    case 'scim':
      return createScimConnector(target, context);
    case 'ldap':
      return createLdapConnector(target, context);
    default: {
      // Every kind the policy schema accepts has a connector; this is a bug, not bad input.
      const unknown: never = target.kind;
      throw new Error(`no connector for target kind ${String(unknown)}`);
    }
  }
}
