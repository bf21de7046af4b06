import type { ConnectorKind } from '../connector-kind.js';
import { checkPostgres } from './postgres-check.js';
import { postgresConnector } from './postgres-connector.js';
import { advisePostgres, postgresSettings, type PostgresSettings } from './postgres-settings.js';

/** `kind: postgres`: LOGIN roles of a PostgreSQL cluster. */
export const postgresKind: ConnectorKind<PostgresSettings> = {
  kind: 'postgres',
  settings: postgresSettings,
  names: 'exact',
  // Rotation needs a secret sink: an instance without `secret_sink` says rotate: false.
  capabilities: {
    read: true,
    write: true,
    disable: true,
    delete: true,
    memberships: true,
    rotate: true,
    rename: true,
  },
  advise: advisePostgres,
  create: postgresConnector,
  check: checkPostgres,
};
