import { recordedEvents } from '../app/events.js';
import { workspaceOf } from '../app/workspace.js';
import { EXIT, toJson, type Io } from './output.js';

import type { GlobalOptions } from './global-options.js';

export interface EventsOptions {
  readonly since?: Date;
  readonly identity?: string;
  readonly limit?: number;
}

/** `tenure events [--since DATE] [--identity ID]`: the recorded lifecycle events. */
export async function eventsCommand(io: Io, g: GlobalOptions, options: EventsOptions): Promise<number> {
  const events = await recordedEvents(workspaceOf(g), {
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  });
  if (g.json) io.out(toJson({ events }));
  else if (events.length === 0)
    io.out(
      'No events recorded' +
        (options.identity ? ` for ${options.identity}` : '') +
        (options.since ? ` since ${options.since.toISOString().slice(0, 10)}` : '') +
        '.',
    );
  else for (const e of events) io.out(`${e.at.toISOString().slice(0, 10)}  ${e.kind.padEnd(21)} ${e.summary}`);
  return EXIT.ok;
}
