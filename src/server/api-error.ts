import { z } from 'zod';
import { apiRegistry } from './schema-registry.js';

/** Error codes of the API: a closed list, so clients can switch on them (docs/api.md). */
export const API_ERROR_CODES = [
  'auth.missing_token',
  'auth.malformed_token',
  'auth.invalid_token',
  'auth.insufficient_scope',
  'request.invalid',
  'request.too_large',
  'request.unsupported_media_type',
  'request.rate_limited',
  'not_found',
  'guardrail.held',
  'plan.stale',
  'target.busy',
  'store.busy',
  'store.unavailable',
  'policy.invalid',
  'policy.mismatch',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The one shape of every 4xx and 5xx answer. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.enum(API_ERROR_CODES),
      message: z.string().describe('what is wrong and what to do, for a person'),
      field: z.string().optional().describe('the request field at fault, e.g. params.id or body.records.0.email'),
      diagnostics: z
        .array(z.string())
        .optional()
        .describe('policy.invalid: every problem of the file, as file:line:col: severity: message'),
    }),
  })
  .register(apiRegistry, { id: 'Error' });
export type ErrorBody = z.infer<typeof errorBody>;

/** An answer other than success, thrown by a route or a hook and rendered by the error handler. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    /** Extra response headers (WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
    readonly diagnostics?: readonly string[],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field ? { field: this.field } : {}),
        ...(this.diagnostics ? { diagnostics: [...this.diagnostics] } : {}),
      },
    };
  }
}
