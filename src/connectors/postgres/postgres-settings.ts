import { z } from 'zod';
import { flag, secretRef, text, urlPassword, wholeNumber, type SettingsProblem, whenValid } from '../connector-kind.js';
import { identifierProblem } from './quote.js';

const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** A `postgres` target's `connection` (docs/connectors.md), with its defaults. */
export const postgresSettings = z
  .strictObject({
    url: text().optional(),
    host: text().optional(),
    // A number, or a string holding one (an environment-style value).
    port: z
      .union([wholeNumber(1, 'a port number', 65535), z.string().regex(/^\d+$/)], { error: 'must be a port number' })
      .transform((p) => Number(p))
      .pipe(wholeNumber(1, 'a port number', 65535))
      .optional(),
    database: text().optional(),
    user: text().optional(),
    password: secretRef.optional(),
    statement_timeout_ms: wholeNumber(0, 'a whole number of milliseconds').default(30_000),
    connect_timeout_ms: wholeNumber(1, 'a positive whole number of milliseconds').default(10_000),
    terminate_sessions_on_disable: flag().default(false),
    on_delete: z
      .enum(['drop_owned', 'reassign'], { error: "must be 'drop_owned' or 'reassign'" })
      .default('drop_owned'),
    reassign_to: text()
      .superRefine((v, ctx) => {
        const problem = identifierProblem(v);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    secret_sink: z.strictObject({ file: z.string().min(1) }, { error: 'must be { file: PATH }' }).optional(),
    // TLS, as libpq names it. `prefer` and `allow` (fall back to no TLS) are not offered: the driver cannot fall back.
    sslmode: z.enum(SSL_MODES, { error: "must be 'disable', 'require', 'verify-ca' or 'verify-full'" }).optional(),
    // The CA file; a relative path is read from the policy file's folder.
    sslrootcert: text('a file path').optional(),
  })
  .superRefine(
    (s, ctx) => {
      if (s.url === undefined && s.host === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message: 'or connection.host is required for a postgres target',
          params: { hint: 'add connection.url: postgres://...' },
        });
      if (s.url !== undefined && s.password !== undefined && !URL.canParse(s.url))
        ctx.addIssue({
          code: 'custom',
          path: ['url'],
          message: 'is not a URL',
          params: { hint: 'write postgres://user@host:port/database' },
        });
      for (const key of ['sslmode', 'sslrootcert'] as const) {
        if (s[key] !== undefined && s.url !== undefined && URL.canParse(s.url) && urlTlsParameter(s.url) !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `and the url's ?${urlTlsParameter(s.url) ?? ''}= both set TLS`,
            params: { hint: `set TLS in one place: take the ssl parameters out of the url and keep connection.${key}` },
          });
      }
      if (s.sslrootcert !== undefined && s.sslmode === 'disable')
        ctx.addIssue({
          code: 'custom',
          path: ['sslrootcert'],
          message: "is not used with sslmode 'disable'",
          params: { hint: "choose sslmode 'verify-full', or remove sslrootcert" },
        });
      if (s.on_delete === 'reassign' && s.reassign_to === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['reassign_to'],
          message: "is required when connection.on_delete is 'reassign'",
          params: { hint: 'reassign_to: ROLE' },
        });
    },
    whenValid('url', 'host', 'password', 'sslmode', 'sslrootcert', 'on_delete', 'reassign_to'),
  );
export type PostgresSettings = z.infer<typeof postgresSettings>;

/** The TLS modes offered (libpq's names and meanings, without the fallback modes `allow` and `prefer`). */
export type SslMode = (typeof SSL_MODES)[number];

/** The TLS parameter a connection URL carries (`sslmode`, `sslrootcert`, `ssl` ...), if any. */
export function urlTlsParameter(url: string): string | undefined {
  const names = [...new URL(url).searchParams.keys()];
  return names.find((n) => n === 'ssl' || n.startsWith('ssl'));
}

/** A password in the URL ends up in version control with the policy; `password` takes a secret reference. */
export function advisePostgres(s: PostgresSettings): SettingsProblem[] {
  return s.url !== undefined && urlPassword(s.url)
    ? [
        {
          severity: 'warning',
          code: 'policy.url_password',
          path: ['url'],
          message: 'connection.url holds a password',
          hint: 'take it out of the URL and reference it: password: { env: NAME } or { file: PATH } (docs/connectors.md, Secrets)',
        },
      ]
    : [];
}
