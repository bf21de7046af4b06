import { resolve } from 'node:path';
import type { Connector } from '../connector.js';
import { checkFiles } from '../file-target-check.js';
import type { ConnectorContext } from '../secrets.js';
import type { CheckNeeds, KindCheck } from '../target-check.js';
import type { CsvSettings } from './csv-settings.js';

/** A CSV target: both files can be read and replaced. */
export function checkCsv(
  connector: Connector,
  settings: CsvSettings,
  needs: CheckNeeds,
  context: ConnectorContext,
): Promise<KindCheck> {
  return checkFiles(
    connector,
    [resolve(context.baseDir, settings.accounts), resolve(context.baseDir, settings.memberships)],
    needs,
  );
}
