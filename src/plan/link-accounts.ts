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
  /**
   * The account was found by its name, not by a recorded link (it records no identity): Tenure
   * adopts an account it did not create. Plans show it (`TargetPlan.adopted`).
   */
  readonly byName: boolean;
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

/** What the ids the targets' accounts record mean, beyond the identities of the sources. */
export interface RecordedLinks {
  /**
   * Identities Tenure imported that no source has any more, but an account is still linked to:
   * each stands in as a terminated identity of kind `unknown` with source `''`, so its accounts
   * are deprovisioned like a leaver's (the import's mass-leaver guardrail has let its
   * disappearance through).
   */
  readonly gone: Map<string, Identity>;
  /**
   * Ids recorded in accounts that Tenure never imported (another system wrote them, or the link
   * is wrong): such accounts are unmanaged. No identity links to them, so the plan leaves them
   * alone and drift reports them (`drift.unknown_link`).
   */
  readonly unknown: Set<string>;
}

/**
 * Sorts every id the accounts record into the sources' identities, leavers and unknown ids.
 * `imported` is every id Tenure has ever imported (the store's identity history); an id in
 * neither it nor `identities` is unknown. Without a store the caller passes an empty set, and
 * "imported" means "in the feeds now": every other recorded id is then unknown, not a leaver.
 */
export function recordedLinks(
  identities: readonly Identity[],
  actual: ActualState,
  imported: ReadonlySet<string>,
): RecordedLinks {
  const known = new Set(identities.map((i) => i.id));
  const gone = new Map<string, Identity>();
  const unknown = new Set<string>();
  for (const t of actual.targets) {
    for (const a of t.accounts) {
      const id = a.identity;
      if (id === undefined || known.has(id) || gone.has(id) || unknown.has(id)) continue;
      if (imported.has(id)) gone.set(id, { id, kind: 'unknown', status: 'terminated', attributes: {}, source: '' });
      else unknown.add(id);
    }
  }
  return { gone, unknown };
}

/** The identities a plan walks: the sources' and the departed ones, sorted by id. */
export function planningOrder(identities: readonly Identity[], gone: ReadonlyMap<string, Identity>): Identity[] {
  return [...identities, ...gone.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Links a target's accounts to identities: by the recorded identity first, else by the account
 * name the target's `account_name` computes. A second account recorded for one identity is not
 * managed (a `plan.duplicate_link` warning); a departed identity is linked only through its
 * record. An account that records an id in neither `identities` nor `gone` (an unknown link,
 * see `recordedLinks`) is never linked, not even by its name: it stays in `unlinked`. The planner and drift both link through here, so they never disagree on who owns what.
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
  const link = (identity: Identity, name: string, at: number | undefined, named = false): void => {
    if (at !== undefined) linked[at] = 1;
    links.push({
      identity,
      name,
      account: at === undefined ? undefined : accounts[at],
      byName: named && at !== undefined,
    });
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
    if (recorded !== undefined) link(identity, name, recorded);
    else link(identity, name, byName.get(key(name)), true);
  }
  return { links, unlinked: accounts.filter((_, i) => linked[i] === 0) };
}
