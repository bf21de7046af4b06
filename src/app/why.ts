import type { Engine } from '../engine/engine.js';
import { custodyLapsed, type Custody } from '../model/custody.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { AccessException } from '../model/exception.js';
import type { DeniedGrant, Grant, IdentityAccess } from '../model/grant.js';
import type { Identity } from '../model/identity.js';
import type { Denial } from '../model/review.js';
import { expandGrant, formatValue } from '../plan/explain.js';
import { identityField, toCelIdentity } from '../policy/rule-environment.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, UserError } from './errors.js';
import { declaredEntitlement } from './inputs.js';
import { planningIdentities } from './planning-identities.js';
import { lifecycleOf, tamperedDiagnostics } from './store-access.js';
import { deletionSchedule, type PlanLifecycle } from '../plan/compute-plan.js';
import { watchedEngine } from './watched-engine.js';
import type { Workspace } from './workspace.js';

/** A role that could grant an entitlement the identity lacks, and why its rule does not. */
export interface NotGranted {
  readonly role: string;
  /** From that role down to the role that lists the entitlement. */
  readonly chain: readonly string[];
  readonly why: string;
}

/** The provenance of one identity's access at `asOf`, as `tenure why` tells it. */
export interface AccessExplanation {
  readonly identity: Identity;
  readonly asOf: Date;
  /** The entitlement asked about; absent for all of the identity's access. */
  readonly entitlement?: string;
  /** Whether the joiner and leaver rules give it access from roles at all at `asOf`. */
  readonly receives: boolean;
  /** Everything the identity gets: matched and inherited roles, every grant. */
  readonly access: IdentityAccess;
  /** The grants asked about: all of them, or those of the one entitlement. */
  readonly grants: readonly Grant[];
  /** Role grants held back by an access review's revoke. */
  readonly denied: readonly DeniedGrant[];
  /** When the entitlement asked about is neither granted nor denied: each role that could grant it. */
  readonly notGranted?: readonly NotGranted[];
  /** Its latest custody hand-over, when nobody took it over in time: plans disable its accounts. */
  readonly suspended?: Custody;
  /** Governed rows that do not match their audit records: ignored, and named. */
  readonly tampered: readonly Diagnostic[];
  /** A terminated identity's accounts: the day each target's policy deletes them (absent: not known). */
  readonly deletions?: readonly { readonly target: string; readonly on?: Date; readonly rule: string }[];
}

/** An id no source has: a command says so (exit 1); the service answers 404. */
export class UnknownIdentity extends UserError {}

/** The explanation as one JSON-ready document: what `tenure why --json` prints and the API returns. */
export function explanationDocument(x: AccessExplanation) {
  return {
    identity: x.identity.id,
    kind: x.identity.kind,
    status: x.identity.status,
    asOf: x.asOf.toISOString(),
    matches: x.access.matches,
    roles: x.access.roles,
    grants: x.grants.map((gr) => expandGrant(x.access, gr)),
    ...(x.denied.length > 0 ? { denied: x.denied } : {}),
    ...(x.notGranted ? { notGranted: x.notGranted } : {}),
    ...(x.deletions ? { deletions: x.deletions } : {}),
  };
}

interface StoredFor {
  readonly exceptions: AccessException[];
  readonly denials: Denial[];
  readonly custody: Custody[];
  readonly tampered: Diagnostic[];
  readonly lifecycle?: PlanLifecycle;
}

/**
 * `tenure why ID [ENTITLEMENT]`: why an identity has (or lacks) its access. Works from the feeds
 * when nothing was imported; reads the store only when one exists.
 */
export async function explainAccess(ws: Workspace, id: string, entitlement?: string): Promise<AccessExplanation> {
  const { loaded } = ws.policy();
  const { identities } = await planningIdentities(ws, loaded);
  const identity = identities.find((i) => i.id === id);
  if (!identity) {
    throw new UnknownIdentity(
      `no identity "${id}" in the sources`,
      EXIT.invalid,
      [],
      await absentHint(
        ws,
        id,
        identities.map((i) => i.id),
      ),
    );
  }
  if (entitlement !== undefined) declaredEntitlement(loaded, entitlement);
  const asOf = ws.asOf;
  const engine = watchedEngine(loaded);
  // This identity's exceptions, denials and hand-overs, from one opening of the store.
  // Only governed rows that match their audit records count; a tampered one is named, never honoured.
  const none: StoredFor = { exceptions: [], denials: [], custody: [], tampered: [] };
  const stored = await ws.ifStored<StoredFor>(none, async (store) => {
    const trusted = await store.trustedGovernedState();
    return {
      exceptions: trusted.exceptions.filter((e) => e.identity === identity.id),
      denials: trusted.denials.filter((d) => d.identity === identity.id),
      custody: trusted.custody.filter((c) => c.nhi === identity.id),
      tampered: tamperedDiagnostics(trusted.tampered),
      ...(identity.status === 'terminated'
        ? { lifecycle: lifecycleOf(await store.events({ identity: identity.id })) }
        : {}),
    };
  });
  // The same rule and clock as the plan's deletions, so why and plan name the same day.
  const deletions =
    identity.status === 'terminated'
      ? deletionSchedule(
          identity,
          stored.lifecycle,
          loaded.policy.policies.leaver,
          loaded.policy.targets.map((t) => t.id),
        )
      : undefined;
  const access = engine.identityAccess(identity, asOf, stored.exceptions, stored.denials);
  const grants =
    entitlement === undefined ? access.grants : access.grants.filter((gr) => gr.entitlement === entitlement);
  const denied = (access.denied ?? []).filter((d) => entitlement === undefined || d.entitlement === entitlement);
  const notGranted =
    entitlement !== undefined && grants.length === 0 && denied.length === 0
      ? whyNot(engine, identity, entitlement, asOf)
      : undefined;
  const custody = stored.custody[stored.custody.length - 1];
  return {
    identity,
    asOf,
    ...(entitlement !== undefined ? { entitlement } : {}),
    receives: engine.receives(identity, asOf),
    access,
    grants,
    denied,
    ...(notGranted ? { notGranted } : {}),
    ...(custody && custodyLapsed(custody, asOf) ? { suspended: custody } : {}),
    tampered: stored.tampered,
    ...(deletions && deletions.length > 0 ? { deletions } : {}),
  };
}

/**
 * What an id no source has means for accounts linked to it: a leaver's when Tenure imported it
 * once; else a typo (the closest id), or an id Tenure never imported, whose accounts it does not
 * manage (without a store, nothing was imported).
 */
async function absentHint(ws: Workspace, id: string, ids: readonly string[]): Promise<string> {
  const imported = await ws.ifStored(false, async (store) => (await store.identityHistory(id)).length > 0);
  if (imported)
    return `${id} was imported and has left every source: plans remove the memberships of accounts linked to it and disable them`;
  return (
    didYouMean(id, ids) ??
    `identity ids are the sources' key values. Tenure has never imported ${id}, so an account linked to it is not managed: plans leave it alone and tenure drift reports it (drift.unknown_link)`
  );
}

/** For an entitlement the identity lacks: each role that could grant it, and why its rule fails. */
function whyNot(engine: Engine, identity: Identity, entitlement: string, asOf: Date): NotGranted[] {
  const out: NotGranted[] = [];
  for (const [role, closure] of engine.closures) {
    const g = closure.grants.find((x) => x.entitlement === entitlement)?.provenance;
    if (!g) continue;
    const rule = engine.loaded.rules.get(role);
    if (!rule) {
      out.push({ role, chain: g.chain, why: 'it has no rule of its own (it is only inherited)' });
      continue;
    }
    const values = rule.reads.map((f) => {
      const v = identityField(identity, f);
      return `${f} = ${v === undefined ? 'absent' : formatValue(v as never)}`;
    });
    const held = rule.holds(toCelIdentity(identity), asOf);
    out.push({
      role,
      chain: g.chain,
      why: held
        ? `its rule ${rule.text} holds, yet ${identity.id} is ${identity.status}`
        : `its rule ${rule.text} does not hold (${values.join(', ') || 'no attributes read'})`,
    });
  }
  return out.sort((a, b) => (a.role < b.role ? -1 : 1));
}
