import { explainAccess, explanationDocument, type NotGranted } from '../app/why.js';
import { workspaceOf } from '../app/workspace.js';
import type { IdentityAccess } from '../model/grant.js';
import type { Identity } from '../model/identity.js';
import { day, describeInputs, explainProvenance, matchOf } from '../plan/explain.js';
import { explainDenial } from '../governance/review-scope.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

/** `tenure why ID [ENTITLEMENT]`: the provenance of an identity's access, in plain words. */
export async function whyCommand(
  io: Io,
  g: GlobalOptions,
  id: string,
  entitlement: string | undefined,
): Promise<number> {
  const x = await explainAccess(workspaceOf(g), id, entitlement);
  const { identity, access, grants, denied, notGranted, asOf } = x;
  if (g.json) {
    io.out(toJson(explanationDocument(x)));
    return EXIT.ok;
  }
  printDiagnostics(io, x.tampered);
  io.out(header(identity));
  // A non-human identity nobody took over when its owner left: the plan takes its access away.
  if (x.suspended)
    io.out(
      `  SUSPENDED: its owner ${x.suspended.previousOwner} left and nobody confirmed taking it over by ${day(x.suspended.deadline)}; plans disable its accounts whatever its roles grant (tenure nhi confirm ${identity.id} --as ID)`,
    );
  if (!x.receives) {
    io.out(`  ${noAccessReason(identity, asOf)}`);
    for (const d of x.deletions ?? [])
      io.out(
        d.on
          ? `  its account in ${d.target} ${d.on.getTime() <= asOf.getTime() ? 'is due for deletion since' : 'will be deleted on'} ${day(d.on)} (policy ${d.rule})`
          : `  its account in ${d.target} is not deleted: when ${identity.id} left is not known (policy ${d.rule})`,
      );
    // Without access from roles nothing is granted or denied: each role that would grant it is listed.
    if (notGranted) printWouldGrant(io, notGranted);
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
  } else if (notGranted) {
    io.out(`  ${identity.id} does not get ${entitlement}.`);
    printWouldGrant(io, notGranted);
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
