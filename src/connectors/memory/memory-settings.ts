import { z } from 'zod';
import { text } from '../connector-kind.js';

/** A `memory` target's `connection` (docs/connectors.md). */
export const memorySettings = z.strictObject({
  /** The JSON snapshot file the target is kept in, relative to the policy's folder; none: held in memory only. */
  snapshot: text('a file path').optional(),
});
export type MemorySettings = z.infer<typeof memorySettings>;
