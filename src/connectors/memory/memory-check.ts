import { resolve } from 'node:path';
import type { Connector } from '../connector.js';
import { checkFiles } from '../file-target-check.js';
import type { ConnectorContext } from '../secrets.js';
import { found, type CheckNeeds, type KindCheck } from '../target-check.js';
import type { MemorySettings } from './memory-settings.js';

/** A memory target: its snapshot file can be read and replaced; one held in memory only has nothing to check. */
export async function checkMemory(
  connector: Connector,
  settings: MemorySettings,
  needs: CheckNeeds,
  context: ConnectorContext,
): Promise<KindCheck> {
  if (settings.snapshot === undefined)
    return { items: [found.ok('files', 'held in memory only (no snapshot file): nothing to reach')] };
  return checkFiles(connector, [resolve(context.baseDir, settings.snapshot)], needs);
}
