import type { Account, ActualState } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import type { CompiledRule } from '../policy/compile-rule.js';
import { toCelIdentity } from '../policy/rule-environment.js';

/** One identity and the account it has (or would have) in a target. */
export interface AccountLink {
  readonly identity: Identity;
  /** The linked account's name, else the name `account_name` computes. */
  readonly name: string;
  readonly account: Account | undefined;
}

export interface TargetLinks {
  /** In the order of the identities given; identities whose account name failed are left out. */
  readonly links: readonly AccountLink[];
  /** Accounts no identity explains, in the target's order: a second account of one identity included. */
  readonly unlinked: readonly Account[];
}

export interface LinkOptions {
  /**
   * Compute `account_name` for every identity, reporting each that fails (`plan.account_name`),
   * even when a recorded link already decides its account. A plan needs this; drift, which only
   * reads links, does not.
   */
  readonly checkNames: boolean;
  /** Names compare without regard to case (the target kind's `names`): `Ana` finds the account `ana`. */
  readonly caseInsensitive?: boolean;
}

/**
 * Identities no source has any more but an account is still linked to: each stands in as a
 * terminated identity of kind `unknown` with source `''`, so its accounts are deprovisioned like
 * a leaver's (the import's mass-leaver guardrail has let its disappearance through).
 */
export function departedIdentities(identities: readonly Identity[], actual: ActualState): Map<string, Identity> {
  const known = new Set(identities.map((i) => i.id));
  const gone = new Map<string, Identity>();
  for (const t of actual.targets) {
    for (const a of t.accounts) {
      if (a.identity !== undefined && !known.has(a.identity) && !gone.has(a.identity)) {
        gone.set(a.identity, { id: a.identity, kind: 'unknown', status: 'terminated', attributes: {}, source: '' });
      }
    }
  }
  return gone;
}

/** The identities a plan walks: the sources' and the departed ones, sorted by id. */
export function planningOrder(identities: readonly Identity[], gone: ReadonlyMap<string, Identity>): Identity[] {
  return [...identities, ...gone.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Links a target's accounts to identities: by the recorded identity first, else by the account
 * name the target's `account_name` computes. A second account recorded for one identity is not
 * managed (a `plan.duplicate_link` warning); a departed identity is linked only through its
 * record. The planner and drift both link through here, so they never disagree on who owns what.
 */
export function linkAccounts(
  target: string,
  accounts: readonly Account[],
  identities: readonly Identity[],
  gone: ReadonlyMap<string, Identity>,
  naming: CompiledRule,
  asOf: Date,
  diagnostics: Diagnostic[],
  options: LinkOptions = { checkNames: true },
): TargetLinks {
  const key = options.caseInsensitive ? (n: string) => n.toLowerCase() : (n: string) => n;
  // Positions, not accounts: marking a position in a byte array is cheaper than a set of objects.
  const byIdentity = new Map<string, number>();
  const byName = new Map<string, number>();
  accounts.forEach((a, i) => {
    if (a.identity !== undefined) {
      const first = byIdentity.get(a.identity);
      if (first !== undefined) {
        diagnostics.push({
          severity: 'warning',
          code: 'plan.duplicate_link',
          message: `target "${target}" has two accounts linked to identity ${a.identity} (${accounts[first]!.name}, ${a.name}); the first is managed`,
          subject: a.identity,
        });
        return;
      }
      byIdentity.set(a.identity, i);
    } else byName.set(key(a.name), i);
  });
  const linked = new Uint8Array(accounts.length);
  const links: AccountLink[] = [];
  const link = (identity: Identity, name: string, at: number | undefined): void => {
    if (at !== undefined) linked[at] = 1;
    links.push({ identity, name, account: at === undefined ? undefined : accounts[at] });
  };
  for (const identity of identities) {
    const recorded = byIdentity.get(identity.id);
    if (gone.has(identity.id)) {
      if (recorded !== undefined) link(identity, accounts[recorded]!.name, recorded);
      continue;
    }
    // A recorded link decides alone; the name is computed anyway when every name must be valid.
    if (recorded !== undefined && !options.checkNames) {
      link(identity, accounts[recorded]!.name, recorded);
      continue;
    }
    let name: string;
    try {
      name = String(naming.value(toCelIdentity(identity), asOf));
    } catch (e) {
      diagnostics.push({
        severity: 'error',
        code: 'plan.account_name',
        message: `account name for ${identity.id} in target "${target}" could not be computed: ${(e as Error).message.split('\n')[0]}`,
        subject: identity.id,
      });
      continue;
    }
    link(identity, name, recorded ?? byName.get(key(name)));
  }
  return { links, unlinked: accounts.filter((_, i) => linked[i] === 0) };
}
