import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import type { StateStore } from '../store/state-store.js';
import { openIdentities } from './inputs.js';
import type { Workspace } from './workspace.js';

/** A source's identities as its last import let them in. */
export interface ImportedSnapshot {
  readonly identities: Identity[];
  readonly feedHash?: string;
  readonly asOf: Date;
}

/** The imported snapshot of every source of the policy that has been imported. */
export async function importedSnapshots(
  store: StateStore,
  loaded: LoadedPolicy,
): Promise<Map<string, ImportedSnapshot>> {
  const out = new Map<string, ImportedSnapshot>();
  for (const s of loaded.policy.sources) {
    const state = await store.sourceState(s.id);
    if (!state) continue;
    out.set(s.id, {
      identities: await store.identities(s.id),
      asOf: state.lastAsOf,
      ...(state.feedHash ? { feedHash: state.feedHash } : {}),
    });
  }
  return out;
}

export interface PlanningIdentities {
  readonly identities: readonly Identity[];
  readonly diagnostics: readonly Diagnostic[];
  /** Sources taken from the store's imported snapshot rather than read from their feeds. */
  readonly imported: readonly string[];
}

/**
 * The identities that plans, `why` and `who-has` work from. Feeds reach the engine through
 * `tenure import`: once a source has been imported, its snapshot in the store is used — what
 * passed the import's guardrails — so a truncated feed that the mass-leaver breaker held back
 * cannot deprovision anyone through a plan. A source never imported (or no store at all) is read
 * from its feed, so a policy can be tried before anything is imported.
 */
export async function planningIdentities(
  ws: Workspace,
  loaded: LoadedPolicy,
  skipInvalid = false,
  snapshots?: ReadonlyMap<string, ImportedSnapshot>,
): Promise<PlanningIdentities> {
  const stored: ReadonlyMap<string, ImportedSnapshot> =
    snapshots ?? (await ws.ifStored(new Map<string, ImportedSnapshot>(), (store) => importedSnapshots(store, loaded)));

  const diagnostics: Diagnostic[] = [];
  const fromFeeds = loaded.policy.sources.filter((s) => !stored.has(s.id));
  const read =
    fromFeeds.length === 0
      ? { identities: [], diagnostics: [] }
      : openIdentities({ ...loaded, policy: { ...loaded.policy, sources: fromFeeds } }, skipInvalid, ws.asOf);
  diagnostics.push(...read.diagnostics);

  const identities: Identity[] = [];
  const seen = new Set<string>();
  // An id in two sources belongs to the first, as when the feeds are read together.
  const keep = (i: Identity): void => {
    if (seen.has(i.id)) return;
    seen.add(i.id);
    identities.push(i);
  };
  for (const s of loaded.policy.sources) {
    const snapshot = stored.get(s.id);
    if (!snapshot) continue;
    for (const i of snapshot.identities) keep(i);
    // A feed edited after its last import is not in the plan yet: say so, rather than plan from it silently.
    const now = snapshot.feedHash === undefined ? undefined : feedHashOf(loaded.policy.file, s.path);
    if (now !== undefined && now !== snapshot.feedHash) {
      diagnostics.push({
        severity: 'warning',
        code: 'source.not_imported',
        message: `source "${s.id}": ${s.path} changed after its last import (as of ${snapshot.asOf.toISOString().slice(0, 10)}); this uses the imported snapshot`,
        hint: 'run tenure import to take the changes in (its guardrails check them first)',
        subject: `source:${s.id}`,
      });
    }
  }
  for (const i of read.identities) keep(i);
  return { identities, diagnostics, imported: [...stored.keys()] };
}

/** SHA-256 of a source's feed file, as imported; undefined when it cannot be read (the import says why). */
export function feedHashOf(policyFile: string, path: string): string | undefined {
  try {
    return createHash('sha256')
      .update(readFileSync(resolve(dirname(policyFile), path)))
      .digest('hex');
  } catch {
    return undefined;
  }
}
