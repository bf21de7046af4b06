import { z } from 'zod';
import { secretRef, text, wholeNumber, whenValid } from '../connector-kind.js';

const httpUrl = (what: string) => text().regex(/^https?:\/\//, { error: `must be ${what} (http:// or https://)` });

/** A `scim` target's `connection` (docs/connectors.md), with its defaults. */
export const scimSettings = z
  .strictObject({
    url: httpUrl('the SCIM base URL'),
    token: secretRef.optional(),
    oauth: z
      .strictObject(
        {
          token_url: httpUrl('the token endpoint'),
          client_id: text(),
          client_secret: secretRef,
          scope: text().optional(),
        },
        { error: 'must be { token_url, client_id, client_secret }' },
      )
      .optional(),
    page_size: wholeNumber(1, 'a positive whole number').default(100),
    membership_batch: wholeNumber(1, 'a positive whole number').default(50),
    timeout_ms: wholeNumber(1, 'a positive whole number of milliseconds').default(30_000),
    /** Where a User keeps the id of the identity it belongs to. */
    link_attribute: z
      .enum(['externalId', 'employeeNumber'], { error: 'must be externalId or employeeNumber' })
      .default('externalId'),
    /** How long what the service says about itself is trusted before it is read again. */
    discovery_ttl_seconds: wholeNumber(0, 'a whole number of seconds (0 or more)').default(3600),
  })
  .superRefine(
    (s, ctx) => {
      if (s.token === undefined && s.oauth === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['token'],
          message: 'or connection.oauth is required for a scim target',
          params: {
            hint: 'token: { env: NAME } (a secret reference), or oauth: { token_url, client_id, client_secret }',
          },
        });
    },
    whenValid('token', 'oauth'),
  );
export type ScimSettings = z.infer<typeof scimSettings>;
