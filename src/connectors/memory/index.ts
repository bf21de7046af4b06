import { resolve } from 'node:path';
import type { ConnectorKind } from '../connector-kind.js';
import { checkMemory } from './memory-check.js';
import { MEMORY_CAPABILITIES, MemoryConnector } from './memory-connector.js';
import { memorySettings, type MemorySettings } from './memory-settings.js';

/** `kind: memory`: a JSON snapshot file, or state held in memory only. */
export const memoryKind: ConnectorKind<MemorySettings> = {
  kind: 'memory',
  settings: memorySettings,
  names: 'exact',
  capabilities: MEMORY_CAPABILITIES,
  create(target, settings, context) {
    return settings.snapshot === undefined
      ? new MemoryConnector(target, [])
      : MemoryConnector.onSnapshotFile(target, resolve(context.baseDir, settings.snapshot));
  },
  check: checkMemory,
};
