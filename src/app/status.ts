import type { ImportRecord, StateStore } from '../store/state-store.js';
import type { Workspace } from './workspace.js';

/** Imports a status looks back over. */
const RECENT_IMPORTS = 10;

export interface StoreStatus {
  /** Where the store is, with any password removed. */
  readonly location: string;
  readonly dialect: StateStore['dialect'];
  readonly schema: string;
  readonly identities: number;
  /** Identities by kind, then by status, each sorted by name. */
  readonly byKind: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The last imports, newest first. */
  readonly lastImports: readonly ImportRecord[];
  /** Those of them a guardrail held back. */
  readonly heldBack: readonly ImportRecord[];
}

/** `tenure status`: identities by kind and status, the last imports, and what is held back. */
export function storeStatus(ws: Workspace): Promise<StoreStatus> {
  return ws.withStore('read', async (store) => {
    const identities = await store.identities();
    const byKind = new Map<string, Map<string, number>>();
    for (const i of identities) {
      const m = byKind.get(i.kind) ?? new Map<string, number>();
      m.set(i.status, (m.get(i.status) ?? 0) + 1);
      byKind.set(i.kind, m);
    }
    const lastImports = await store.imports(RECENT_IMPORTS);
    return {
      location: store.location,
      dialect: store.dialect,
      schema: await store.schemaVersion(),
      identities: identities.length,
      byKind: Object.fromEntries([...byKind].sort().map(([k, m]) => [k, Object.fromEntries([...m].sort())])),
      lastImports,
      heldBack: lastImports.filter((i) => i.outcome === 'stopped'),
    };
  });
}

/** The status as one JSON-ready document: what `tenure status --json` prints and `GET /api/v1/status` returns. */
export function statusDocument(s: StoreStatus) {
  return {
    state: s.location,
    schema: s.schema,
    identities: s.identities,
    byKind: s.byKind,
    lastImports: s.lastImports,
    heldBack: s.heldBack,
  };
}
