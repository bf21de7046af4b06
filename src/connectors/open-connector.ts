import { dirname, resolve } from 'node:path';
import type { TargetDefinition } from '../model/policy.js';
import { ConnectorError, type Connector } from './connector.js';
import { createCsvConnector } from './csv/csv-connector.js';
import { createLdapConnector } from './ldap/ldap-connector.js';
import { MemoryConnector } from './memory/memory-connector.js';
import { createPostgresConnector } from './postgres/postgres-connector.js';
import { createScimConnector } from './scim/scim-connector.js';
import type { ConnectorContext } from './secrets.js';

/** The connector for a target of the policy, by its kind. */
export function openConnector(
  target: TargetDefinition,
  policyFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Connector {
  const context: ConnectorContext = { baseDir: dirname(policyFile), env };
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
