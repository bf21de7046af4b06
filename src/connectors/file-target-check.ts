import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Connector } from './connector.js';
import { probeAccount } from './probe-account.js';
import { found, problemOf, type CheckItem, type CheckNeeds, type KindCheck } from './target-check.js';

/**
 * The check of a target kept in files (memory snapshots, CSV): the files can be read, and replaced (they are
 * rewritten through a temporary file in the same folder, so the folder must be writable). With a probe, a
 * throwaway account is created, given the first declared entitlement, and deleted through the connector.
 */
export async function checkFiles(
  connector: Connector,
  files: readonly string[],
  needs: CheckNeeds,
): Promise<KindCheck> {
  const items: CheckItem[] = [];
  try {
    const accounts = await connector.listAccounts();
    items.push(found.ok('read', `read ${accounts.length} account(s) from ${files.join(' and ')}`));
  } catch (e) {
    items.push(found.missing('read', problemOf(e).message, hintOf(e)));
    return { items };
  }
  for (const file of files) {
    const folder = dirname(file);
    try {
      await access(folder, constants.W_OK);
      items.push(found.ok('files', `${file} can be replaced (its folder is writable)`));
    } catch (e) {
      items.push(
        found.missing('files', `${file} cannot be replaced: its folder ${folder} is not writable (${codeOf(e)})`, {
          hint: 'Tenure rewrites the file through a temporary file beside it: let the user running it write the folder',
        }),
      );
    }
  }
  if (needs.probe && items.every((i) => i.status === 'ok'))
    items.push(...(await probeAccount(connector, needs, needs.entitlements.slice(0, 1))));
  return { items };
}

function hintOf(e: unknown): { hint?: string } {
  const { hint } = problemOf(e);
  return hint === undefined ? {} : { hint };
}

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}
