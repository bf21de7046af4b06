import type { EventFilter, StoredEvent } from '../store/state-store.js';
import type { Workspace } from './workspace.js';

/**
 * `tenure events`: the lifecycle events imports recorded, oldest first, optionally of one identity,
 * from a date, or at most `limit` of them. Reading only: a missing store is an error, never created.
 */
export function recordedEvents(ws: Workspace, filter: EventFilter = {}): Promise<StoredEvent[]> {
  return ws.withStore('read', (store) => store.events(filter));
}
