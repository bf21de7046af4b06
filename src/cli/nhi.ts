import { confirmCustody, listNonHumanIdentities, type NhiStanding } from '../app/nhi.js';
import { workspaceOf } from '../app/workspace.js';
import { day } from '../plan/explain.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, toJson, UserError, type Io } from './output.js';

/**
 * `tenure nhi list`: every non-human identity with its owner, the owner's status, a pending
 * hand-over and its deadline, and its credential's age against the policy's maximum.
 */
export async function nhiListCommand(io: Io, g: GlobalOptions, o: { all?: boolean }): Promise<number> {
  const listing = await listNonHumanIdentities(workspaceOf(g), o.all ? { all: true } : {});
  const rows = listing.identities.map((r) => ({
    id: r.id,
    kind: r.kind,
    owner: r.owner ?? null,
    ownerStatus: r.ownerStatus,
    custody: r.custody ? describeCustody(r.custody) : null,
    credentialAgeDays: r.credentialAgeDays ?? null,
    rotationDue: r.rotationDue,
  }));
  if (g.json) {
    io.out(toJson({ asOf: listing.asOf.toISOString(), identities: rows }));
    return EXIT.ok;
  }
  if (rows.length === 0) io.out('Every non-human identity has an active owner and a credential within its age.');
  for (const r of rows) {
    const parts = [`owner ${r.owner ?? '(none)'} (${r.ownerStatus})`];
    if (r.custody) parts.push(r.custody.text);
    if (r.credentialAgeDays !== null)
      parts.push(
        `credential ${r.credentialAgeDays} days old${r.rotationDue ? ` — rotation due (max ${listing.maxCredentialAgeDays})` : ''}`,
      );
    io.out(`${r.id} (${r.kind}): ${parts.join('; ')}`);
  }
  return EXIT.ok;
}

/**
 * `tenure nhi confirm NHI --as ID`: the person asked to take over a non-human identity whose
 * owner left confirms it; when nobody was asked, any active person other than the identity may.
 */
export async function nhiConfirmCommand(io: Io, g: GlobalOptions, nhi: string, o: { as?: string }): Promise<number> {
  const owner = o.as;
  if (!owner) throw new UserError('say who takes it over: --as ID (an active person)', EXIT.usage);
  const confirmed = await confirmCustody(workspaceOf(g), { nhi, owner });
  if (g.json) io.out(toJson({ nhi, owner, custody: confirmed.custody }));
  else
    io.out(
      `${owner} owns ${nhi} now${confirmed.lapsed ? '; it was suspended after its deadline, and the next plan restores its access' : ''}. Update the inventory feed to match.`,
    );
  return EXIT.ok;
}

/** A hand-over in words, with its state and deadline (the --json shape scripts read). */
function describeCustody({ state, record: c }: NonNullable<NhiStanding['custody']>): {
  state: string;
  deadline: string;
  text: string;
} {
  const deadline = day(c.deadline);
  if (state === 'confirmed')
    return {
      state,
      deadline,
      text: `taken over by ${c.decidedBy} on ${day(c.decidedAt!)} after ${c.previousOwner} left`,
    };
  if (state === 'suspended')
    return {
      state,
      deadline,
      text: `SUSPENDED: ${c.previousOwner} left and nobody confirmed ownership by ${deadline}`,
    };
  return {
    state,
    deadline,
    text: `${c.previousOwner} left; ${c.proposedOwner ?? 'an active person'} must confirm by ${deadline} (tenure nhi confirm ${c.nhi} --as ${c.proposedOwner ?? 'ID'})`,
  };
}
