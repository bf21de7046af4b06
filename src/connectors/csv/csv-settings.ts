import { resolve } from 'node:path';
import { z } from 'zod';
import { text, whenValid } from '../connector-kind.js';

const HINT = 'connection: { accounts: path/accounts.csv, memberships: path/memberships.csv }';

/** A `csv` target's `connection` (docs/connectors.md): two files, relative to the policy's folder. */
export const csvSettings = z
  .strictObject({
    accounts: text('a file path'),
    memberships: text('a file path'),
  })
  .superRefine(
    (s, ctx) => {
      // Relative paths resolve from one folder, whichever it is.
      if (resolve('/policy', s.accounts) === resolve('/policy', s.memberships))
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: 'connection.accounts and connection.memberships name the same file',
          params: { hint: HINT },
        });
    },
    whenValid('accounts', 'memberships'),
  );
export type CsvSettings = z.infer<typeof csvSettings>;
