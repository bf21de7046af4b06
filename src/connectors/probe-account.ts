import type { Connector } from './connector.js';
import { probeStep, problemOf, type CheckItem, type CheckNeeds } from './target-check.js';

/**
 * `--probe`: creates the throwaway account `needs.probeName`, changes it, adds it to each of `groups` and takes it
 * out again, disables it and deletes it, each step through the connector as `apply` would run it. When the delete
 * is refused, `cleanup` (a kind's plainer way to remove it) is tried, so a probe leaves nothing behind where it can;
 * when that fails too, the item names what was left.
 */
export async function probeAccount(
  connector: Connector,
  needs: CheckNeeds,
  groups: readonly string[],
  cleanup?: (name: string) => Promise<void>,
): Promise<CheckItem[]> {
  const name = needs.probeName;
  const items: CheckItem[] = [];
  const created = await probeStep('create', `created account ${name}`, () =>
    connector.createAccount({ name, identity: '', attributes: { displayName: 'Tenure target check' } }),
  );
  items.push(created);
  if (created.status !== 'ok') return items;
  items.push(
    await probeStep('update', `changed ${name}`, () =>
      connector.updateAccount(name, { displayName: 'Tenure target check (updated)' }),
    ),
  );
  for (const group of groups) {
    items.push(
      await probeStep(
        'group',
        `added ${name} to ${group} and took it out again`,
        async () => {
          await connector.addMembership(name, group);
          await connector.removeMembership(name, group);
        },
        { entitlement: group },
      ),
    );
  }
  items.push(await probeStep('disable', `disabled ${name}`, () => connector.disableAccount(name)));
  const deleted = await probeStep('delete', `deleted ${name}`, () => connector.deleteAccount(name));
  if (deleted.status === 'ok' || cleanup === undefined) {
    items.push(left(deleted, name));
    return items;
  }
  try {
    await cleanup(name);
    items.push({ ...deleted, message: `${deleted.message} (the throwaway account was removed another way)` });
  } catch (e) {
    items.push(left(deleted, name, problemOf(e).message));
  }
  return items;
}

/** A failed delete says that the account is still there, so nobody is surprised to find it. */
function left(item: CheckItem, name: string, also?: string): CheckItem {
  if (item.status === 'ok') return item;
  return {
    ...item,
    message: `${item.message}; account ${name} was left behind${also ? ` (${also})` : ''}: remove it by hand`,
  };
}
