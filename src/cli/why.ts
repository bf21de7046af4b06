import { watchedEngine } from '../app/watched-engine.js';
import type { AccessException } from '../model/exception.js';
import type { Denial } from '../model/review.js';
import type { Custody } from '../model/custody.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { tamperedDiagnostics } from '../app/store-access.js';
import { workspaceOf } from '../app/workspace.js';
import type { Engine } from '../engine/engine.js';
import type { IdentityAccess } from '../model/grant.js';
import type { Identity } from '../model/identity.js';
import { day, describeInputs, expandGrant, explainProvenance, formatValue, matchOf } from '../plan/explain.js';
import { identityField, toCelIdentity } from '../policy/rule-environment.js';

import { custodyLapsed } from '../model/custody.js';
import { explainDenial } from '../governance/review-scope.js';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import { planningIdentities } from '../app/planning-identities.js';
import type { GlobalOptions } from './global-options.js';
import { declaredEntitlement } from '../app/inputs.js';
import { didYouMean } from '../policy/suggest.js';

/** `tenure why ID [ENTITLEMENT]`: the provenance of an identity's access, in plain words. */
export async function whyCommand(
  io: Io,
  g: GlobalOptions,
  id: string,
  entitlement: string | undefined,
): Promise<number> {
  const { loaded } = workspaceOf(g).policy();
  const { identities } = await planningIdentities(workspaceOf(g), loaded);
  const identity = identities.find((i) => i.id === id);
  if (!identity) {
    throw new UserError(
      `no identity "${id}" in the sources`,
      EXIT.invalid,
      [],
      didYouMean(
        id,
        identities.map((i) => i.id),
      ) ?? "identity ids are the sources' key values",
    );
  }
  if (entitlement !== undefined) declaredEntitlement(loaded, entitlement);
  const asOf = workspaceOf(g).asOf;
  const engine = watchedEngine(loaded);
  // This identity's exceptions, denials and hand-overs, from one opening of the store.
  // Only governed rows that match their audit records count; a tampered one is named, never honoured.
  const none = { exceptions: [], denials: [], custody: [], tampered: [] };
  const stored = await workspaceOf(g).ifStored<{
    exceptions: AccessException[];
    denials: Denial[];
    custody: Custody[];
    tampered: Diagnostic[];
  }>(none, async (store) => {
    const trusted = await store.trustedGovernedState();
    return {
      exceptions: trusted.exceptions.filter((e) => e.identity === identity.id),
      denials: trusted.denials.filter((d) => d.identity === identity.id),
      custody: trusted.custody.filter((c) => c.nhi === identity.id),
      tampered: tamperedDiagnostics(trusted.tampered),
    };
  });
  if (!g.json) printDiagnostics(io, stored.tampered);
  const access = engine.identityAccess(identity, asOf, stored.exceptions, stored.denials);
  const grants =
    entitlement === undefined ? access.grants : access.grants.filter((gr) => gr.entitlement === entitlement);
  const denied = (access.denied ?? []).filter((d) => entitlement === undefined || d.entitlement === entitlement);
  const missing =
    entitlement !== undefined && grants.length === 0 && denied.length === 0
      ? whyNot(engine, identity, entitlement, asOf)
      : undefined;

  if (g.json) {
    io.out(
      toJson({
        identity: identity.id,
        kind: identity.kind,
        status: identity.status,
        asOf: asOf.toISOString(),
        matches: access.matches,
        roles: access.roles,
        grants: grants.map((gr) => expandGrant(access, gr)),
        ...(denied.length > 0 ? { denied } : {}),
        ...(missing ? { notGranted: missing } : {}),
      }),
    );
    return EXIT.ok;
  }
  io.out(header(identity));
  // A non-human identity nobody took over when its owner left: the plan takes its access away.
  const custody = stored.custody[stored.custody.length - 1];
  if (custody && custodyLapsed(custody, asOf))
    io.out(
      `  SUSPENDED: its owner ${custody.previousOwner} left and nobody confirmed taking it over by ${custody.deadline.toISOString().slice(0, 10)}; plans disable its accounts whatever its roles grant (tenure nhi confirm ${identity.id} --as ID)`,
    );
  if (!engine.receives(identity, asOf)) {
    io.out(`  ${noAccessReason(identity, asOf)}`);
    if (entitlement !== undefined) printWouldGrant(io, whyNot(engine, identity, entitlement, asOf));
    return EXIT.ok;
  }
  if (entitlement === undefined) printAll(io, access);
  if (entitlement !== undefined && grants.length === 0 && denied.length > 0) {
    io.out(`  ${identity.id} does not get ${entitlement}.`);
  }
  // Revokes that stick: what the roles would grant, and the decision that holds it back.
  for (const d of denied) {
    io.out(
      `  ${d.entitlement}: ${d.provenance.map(explainProvenance).join('; ')} would grant it, but it was ${explainDenial(d.denial)}`,
    );
  }
  if (entitlement === undefined) return EXIT.ok;
  if (grants.length > 0) {
    for (const p of grants[0]!.provenance) {
      const m = matchOf(access, p);
      if (!m) io.out(`  ${entitlement}: ${explainProvenance(p)} grants it`);
      else
        io.out(
          `  ${entitlement}: ${explainProvenance(p)} grants it;\n    rule ${m.rule}\n    holds because ${describeInputs(m.inputs)}`,
        );
    }
  } else if (missing) {
    io.out(`  ${identity.id} does not get ${entitlement}.`);
    printWouldGrant(io, missing);
  }
  return EXIT.ok;
}

function printWouldGrant(io: Io, missing: readonly NotGranted[]): void {
  if (missing.length === 0) io.out('  No role grants it.');
  for (const m of missing) {
    const via = m.chain.length > 1 ? ` (via ${m.chain.slice(1).join(' → ')})` : '';
    io.out(`  role "${m.role}"${via} would grant it, but ${m.why}`);
  }
}

/** Why an identity receives no access from roles at `asOf`, in its own terms. */
function noAccessReason(i: Identity, asOf: Date): string {
  if (i.endDate && i.endDate.getTime() <= asOf.getTime())
    return `${i.id}'s access ended on ${day(i.endDate)} (end date).`;
  if (i.status === 'leave') return `${i.id} is on leave: access from roles is suspended.`;
  if (i.status === 'terminated') return `${i.id} is terminated: it receives no access from roles.`;
  if (i.startDate) return `${i.id} starts on ${day(i.startDate)}: access from roles is not due yet.`;
  return `${i.id} is ${i.status}: it receives no access from roles.`;
}

function header(i: Identity): string {
  return `${i.id} (${i.kind}, ${i.status}, from source ${i.source})`;
}

function printAll(io: Io, access: IdentityAccess): void {
  if (access.matches.length === 0) {
    io.out('  No role rule holds for this identity: it gets no access.');
    return;
  }
  io.out(`  Roles whose rule holds (${access.matches.length}):`);
  for (const m of access.matches) io.out(`    ${m.role}: ${m.rule}\n      because ${describeInputs(m.inputs)}`);
  const inherited = access.roles.filter((r) => !access.matches.some((m) => m.role === r));
  if (inherited.length > 0) io.out(`  Inherited roles: ${inherited.join(', ')}`);
  io.out(`  Entitlements (${access.grants.length}):`);
  for (const gr of access.grants) {
    const paths = gr.provenance.map((p) => explainProvenance(p));
    io.out(`    ${gr.entitlement} ← ${paths.join('; ')}`);
  }
}

interface NotGranted {
  readonly role: string;
  readonly chain: readonly string[];
  readonly why: string;
}

/** For an entitlement the identity lacks: each role that could grant it, and why its rule fails. */
function whyNot(engine: Engine, identity: Identity, entitlement: string, asOf: Date): NotGranted[] {
  const out: NotGranted[] = [];
  for (const [role, closure] of engine.closures) {
    const cg = closure.grants.find((x) => x.entitlement === entitlement);
    const g = cg?.provenance;
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
