import { storedNhiState } from '../app/store-access.js';
import { workspaceOf } from '../app/workspace.js';
import { day } from '../plan/explain.js';
import { custodyLapsed, type Custody } from '../model/custody.js';
import { isNonHuman } from '../model/identity.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import { planningIdentities } from '../app/planning-identities.js';

import type { GlobalOptions } from './global-options.js';

const DAY_MS = 86_400_000;

/**
 * `tenure nhi list`: every non-human identity with its owner, the owner's status, a pending
 * hand-over and its deadline, and its credential's age against the policy's maximum.
 */
export async function nhiListCommand(io: Io, g: GlobalOptions, o: { all?: boolean }): Promise<number> {
  const { loaded } = workspaceOf(g).policy();
  const asOf = workspaceOf(g).asOf;
  const { identities } = await planningIdentities(workspaceOf(g), loaded);
  const byId = new Map(identities.map((i) => [i.id, i]));
  // Hand-overs and rotations as recorded (and matching the audit log); none before anything is stored.
  const { custody, rotations } = await storedNhiState(workspaceOf(g));
  const maxAge = loaded.policy.policies.nonHuman.maxCredentialAgeDays;
  const rows = identities
    .filter((i) => isNonHuman(i.kind))
    .map((i) => {
      const latest = [...custody].reverse().find((c) => c.nhi === i.id);
      const owner = latest?.state === 'confirmed' ? latest.decidedBy : i.owner;
      const ownerStatus = owner === undefined ? 'none' : (byId.get(owner)?.status ?? 'unknown');
      const rotated = rotations
        .filter((r) => r.identity === i.id)
        .reduce<Date | undefined>((a, r) => (a && a > r.at ? a : r.at), undefined);
      const since = [rotated, i.credential?.lastRotated, i.credential?.created]
        .filter((d): d is Date => d !== undefined)
        .sort((a, b) => b.getTime() - a.getTime())[0];
      const ageDays = since === undefined ? undefined : Math.floor((asOf.getTime() - since.getTime()) / DAY_MS);
      return {
        id: i.id,
        kind: i.kind,
        owner: owner ?? null,
        ownerStatus,
        custody: latest ? describeCustody(latest, asOf) : null,
        credentialAgeDays: ageDays ?? null,
        rotationDue: maxAge !== undefined && ageDays !== undefined && ageDays > maxAge,
      };
    })
    .filter((r) => o.all || r.custody !== null || r.ownerStatus !== 'active' || r.rotationDue);
  if (g.json) {
    io.out(toJson({ asOf: asOf.toISOString(), identities: rows }));
    return EXIT.ok;
  }
  if (rows.length === 0) io.out('Every non-human identity has an active owner and a credential within its age.');
  for (const r of rows) {
    const parts = [`owner ${r.owner ?? '(none)'} (${r.ownerStatus})`];
    if (r.custody) parts.push(r.custody.text);
    if (r.credentialAgeDays !== null)
      parts.push(`credential ${r.credentialAgeDays} days old${r.rotationDue ? ` — rotation due (max ${maxAge})` : ''}`);
    io.out(`${r.id} (${r.kind}): ${parts.join('; ')}`);
  }
  return EXIT.ok;
}

/**
 * `tenure nhi confirm NHI --as ID`: the person asked to take over a non-human identity whose
 * owner left confirms it; when nobody was asked, any active person other than the identity may.
 */
export async function nhiConfirmCommand(io: Io, g: GlobalOptions, nhi: string, o: { as?: string }): Promise<number> {
  const asOf = workspaceOf(g).asOf;
  const who = o.as;
  if (!who) throw new UserError('say who takes it over: --as ID (an active person)', EXIT.usage);
  const by = workspaceOf(g).actor.id;
  const confirmed = await workspaceOf(g).withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const known = await w.identities();
        const all = await w.custody();
        const open = [...all].reverse().find((c) => c.nhi === nhi && c.state === 'pending');
        if (!open) {
          const ids = [...new Set(all.map((c) => c.nhi))];
          throw new UserError(
            `${nhi} has no hand-over waiting for a confirmation`,
            EXIT.invalid,
            [],
            didYouMean(nhi, ids) ?? 'tenure nhi list shows the pending ones',
          );
        }
        if (open.proposedOwner !== undefined && open.proposedOwner !== who)
          throw new UserError(`${open.proposedOwner} was asked to take over ${nhi}, not ${who}`, EXIT.invalid);
        const person = known.find((i) => i.id === who);
        if (!person || person.status !== 'active' || isNonHuman(person.kind) || person.id === nhi)
          throw new UserError(`${who} is not an active person who can own ${nhi}`, EXIT.invalid);
        await w.confirmCustody(open.id, who, {
          actor: by,
          at: asOf,
          reason: `${who} owns ${nhi} now (previous owner ${open.previousOwner} left)`,
          details: { lapsed: custodyLapsed(open, asOf) },
        });
        return open;
      },
      { waitMs },
    ),
  );
  if (g.json) io.out(toJson({ nhi, owner: who, custody: confirmed.id }));
  else
    io.out(
      `${who} owns ${nhi} now${custodyLapsed(confirmed, asOf) ? '; it was suspended after its deadline, and the next plan restores its access' : ''}. Update the inventory feed to match.`,
    );
  return EXIT.ok;
}

function describeCustody(c: Custody, asOf: Date): { state: string; deadline: string; text: string } {
  if (c.state === 'confirmed')
    return {
      state: 'confirmed',
      deadline: day(c.deadline),
      text: `taken over by ${c.decidedBy} on ${day(c.decidedAt!)} after ${c.previousOwner} left`,
    };
  if (custodyLapsed(c, asOf))
    return {
      state: 'suspended',
      deadline: day(c.deadline),
      text: `SUSPENDED: ${c.previousOwner} left and nobody confirmed ownership by ${day(c.deadline)}`,
    };
  return {
    state: 'pending',
    deadline: day(c.deadline),
    text: `${c.previousOwner} left; ${c.proposedOwner ?? 'an active person'} must confirm by ${day(c.deadline)} (tenure nhi confirm ${c.nhi} --as ${c.proposedOwner ?? 'ID'})`,
  };
}
