import type { ConnectorKind } from '../connector-kind.js';
import { checkCsv } from './csv-check.js';
import { CSV_CAPABILITIES, csvConnector } from './csv-connector.js';
import { csvSettings, type CsvSettings } from './csv-settings.js';

/** `kind: csv`: two CSV files a legacy application imports. */
export const csvKind: ConnectorKind<CsvSettings> = {
  kind: 'csv',
  settings: csvSettings,
  names: 'exact',
  capabilities: CSV_CAPABILITIES,
  create: csvConnector,
  check: checkCsv,
};
