import type { Account, ActualState } from '../model/actual-state.js';
import type { TargetKindTraits, TargetKind } from '../model/policy.js';
import type { JournalOperation } from './journal.js';

/**
 * The operations of an interrupted apply (killed while they were running, or between retries)
 * whose effect the targets show now: the change landed before the process died, but its journal
 * mark and audit record did not. Pure: what the targets hold is a parameter. A rotation is never
 * counted, because the state of a target does not show whether a secret changed.
 */
export function landedOperations<T extends JournalOperation>(
  ops: readonly T[],
  actual: ActualState,
  kindOf: (target: string) => TargetKind | undefined,
  kinds: TargetKindTraits,
): T[] {
  const byTarget = new Map<string, Map<string, Account>>();
  const accountsOf = (target: string, fold: (n: string) => string): Map<string, Account> => {
    let m = byTarget.get(target);
    if (!m) {
      m = new Map();
      for (const a of actual.targets.find((t) => t.target === target)?.accounts ?? []) m.set(fold(a.name), a);
      byTarget.set(target, m);
    }
    return m;
  };
  return ops.filter((op) => {
    const c = op.change;
    const kind = kindOf(c.target);
    if (kind === undefined) return false;
    const fold = kinds[kind].names === 'case-insensitive' ? (n: string) => n.toLowerCase() : (n: string) => n;
    const accounts = accountsOf(c.target, fold);
    const a = accounts.get(fold(c.account));
    const mine = (x: Account | undefined) => x !== undefined && (x.identity === undefined || x.identity === c.identity);
    switch (c.action) {
      case 'create_account':
        return mine(a);
      case 'rename_account': {
        const renamed = c.newName === undefined ? undefined : accounts.get(fold(c.newName));
        return a === undefined && renamed !== undefined && renamed.identity === c.identity;
      }
      case 'link_account':
        return a !== undefined && a.identity === c.identity;
      case 'enable_account':
        return a !== undefined && a.enabled;
      case 'disable_account':
        return a !== undefined && !a.enabled;
      case 'delete_account':
        return a === undefined;
      case 'add_membership':
        return a !== undefined && c.entitlement !== undefined && a.entitlements.includes(c.entitlement);
      case 'remove_membership':
        return a !== undefined && c.entitlement !== undefined && !a.entitlements.includes(c.entitlement);
      case 'update_account':
        return (
          a?.attributes !== undefined && Object.entries(c.attributes ?? {}).every(([k, v]) => a.attributes![k] === v)
        );
      case 'rotate_credential':
        return false;
    }
  });
}
