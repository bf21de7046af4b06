import { custodyLapsed, type Custody } from '../model/custody.js';
import { isNonHuman, type IdentityKind, type IdentityStatus } from '../model/identity.js';
import { didYouMean } from '../policy/suggest.js';
import { EXIT, UserError } from './errors.js';
import { planningIdentities } from './planning-identities.js';
import { storedGovernance } from './store-access.js';
import type { Workspace } from './workspace.js';

const DAY_MS = 86_400_000;

/** A non-human identity as `tenure nhi list` shows it. */
export interface NhiStanding {
  readonly id: string;
  readonly kind: IdentityKind;
  /** Whoever confirmed a hand-over last, else the owner the feed names; absent when none. */
  readonly owner?: string;
  /** The owner's status; `unknown` when the owner is no known identity. */
  readonly ownerStatus: IdentityStatus | 'none' | 'unknown';
  /** The latest hand-over, and where it stands now (`suspended`: pending past its deadline). */
  readonly custody?: { readonly state: 'pending' | 'confirmed' | 'suspended'; readonly record: Custody };
  /** Days since the credential was last rotated (by Tenure or as the feed says) or created. */
  readonly credentialAgeDays?: number;
  /** Older than the policy's `non_human.max_credential_age_days`. */
  readonly rotationDue: boolean;
}

export interface NhiListing {
  readonly asOf: Date;
  /** The policy's maximum credential age, when it sets one. */
  readonly maxCredentialAgeDays?: number;
  readonly identities: readonly NhiStanding[];
}

/**
 * Non-human identities with their owner, the owner's status, a hand-over and its deadline, and
 * their credential's age against the policy's maximum (`tenure nhi list`). Without `all`, only
 * those that need a person: a hand-over, an owner who is not active, or a rotation due.
 */
export async function listNonHumanIdentities(
  ws: Workspace,
  options: { readonly all?: boolean } = {},
): Promise<NhiListing> {
  const { loaded } = ws.policy();
  const asOf = ws.asOf;
  const { identities } = await planningIdentities(ws, loaded);
  const byId = new Map(identities.map((i) => [i.id, i]));
  // Hand-overs and rotations as recorded (and matching the audit log); none before anything is stored.
  const { custody, rotations } = await storedGovernance(ws);
  const maxAge = loaded.policy.policies.nonHuman.maxCredentialAgeDays;
  const rows = identities
    .filter((i) => isNonHuman(i.kind))
    .map((i): NhiStanding => {
      const latest = [...custody].reverse().find((c) => c.nhi === i.id);
      const owner = latest?.state === 'confirmed' ? latest.decidedBy : i.owner;
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
        ...(owner !== undefined ? { owner } : {}),
        ownerStatus: owner === undefined ? 'none' : (byId.get(owner)?.status ?? 'unknown'),
        ...(latest ? { custody: { state: custodyState(latest, asOf), record: latest } } : {}),
        ...(ageDays !== undefined ? { credentialAgeDays: ageDays } : {}),
        rotationDue: maxAge !== undefined && ageDays !== undefined && ageDays > maxAge,
      };
    })
    .filter((r) => options.all === true || r.custody !== undefined || r.ownerStatus !== 'active' || r.rotationDue);
  return { asOf, ...(maxAge !== undefined ? { maxCredentialAgeDays: maxAge } : {}), identities: rows };
}

export interface ConfirmedCustody {
  readonly nhi: string;
  readonly owner: string;
  /** The hand-over's number. */
  readonly custody: number;
  /** Confirmed after its deadline: the identity was suspended, and the next plan restores its access. */
  readonly lapsed: boolean;
}

/**
 * The person asked to take over a non-human identity whose owner left confirms it (`tenure nhi
 * confirm`); when nobody was asked, any active person other than the identity may. The checks and
 * the confirmation with its `nhi.custody_confirmed` record share one transaction.
 */
export async function confirmCustody(
  ws: Workspace,
  options: { readonly nhi: string; readonly owner: string },
): Promise<ConfirmedCustody> {
  const { nhi, owner } = options;
  const asOf = ws.asOf;
  return ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const all = await w.custody();
        const open = [...all].reverse().find((c) => c.nhi === nhi && c.state === 'pending');
        if (!open)
          throw new UserError(
            `${nhi} has no hand-over waiting for a confirmation`,
            EXIT.invalid,
            [],
            didYouMean(nhi, new Set(all.map((c) => c.nhi))) ?? 'tenure nhi list shows the pending ones',
          );
        if (open.proposedOwner !== undefined && open.proposedOwner !== owner)
          throw new UserError(`${open.proposedOwner} was asked to take over ${nhi}, not ${owner}`, EXIT.invalid);
        const person = (await w.identities()).find((i) => i.id === owner);
        if (!person || person.status !== 'active' || isNonHuman(person.kind) || person.id === nhi)
          throw new UserError(`${owner} is not an active person who can own ${nhi}`, EXIT.invalid);
        const lapsed = custodyLapsed(open, asOf);
        await w.confirmCustody(
          open.id,
          owner,
          ws.auditContext(`${owner} owns ${nhi} now (previous owner ${open.previousOwner} left)`, { lapsed }),
        );
        return { nhi, owner, custody: open.id, lapsed };
      },
      { waitMs },
    ),
  );
}

function custodyState(c: Custody, asOf: Date): 'pending' | 'confirmed' | 'suspended' {
  if (c.state === 'confirmed') return 'confirmed';
  return custodyLapsed(c, asOf) ? 'suspended' : 'pending';
}
