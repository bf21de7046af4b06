import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyApiToken } from '../app/api-tokens.js';
import type { ServiceContext } from '../app/service.js';
import { ApiError } from './api-error.js';

const CHALLENGE = 'Bearer realm="tenure"';

/**
 * The `onRequest` hook: runs before any body is read or validated. A route that declares a scope
 * needs a live token that has it; routes without one (health, metrics, the OpenAPI document) are
 * open. The token is looked up by its hash and compared in constant time (app/api-tokens.ts).
 */
export function authenticate(service: ServiceContext) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) return;
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '')
      throw unauthorized('auth.missing_token', 'this route needs an API token: Authorization: Bearer TOKEN');
    const m = /^Bearer(?: +(\S*))? *$/i.exec(header);
    if (!m) throw unauthorized('auth.malformed_token', 'the Authorization header must be "Bearer TOKEN"');
    const presented = m[1] ?? '';
    if (presented === '') throw unauthorized('auth.missing_token', 'the bearer token is empty');
    const check = await verifyApiToken(service.workspace(), presented);
    if (!check.ok) {
      if (check.refusal === 'malformed')
        throw unauthorized(
          'auth.malformed_token',
          'that is not a Tenure API token (tnr_ and 43 characters); tenure token create makes one',
          'invalid_token',
        );
      if (check.refusal === 'untrusted')
        request.log.warn(
          { refusal: check.refusal, problem: check.detail },
          'a token whose row does not match its audit record was presented; run tenure audit verify',
        );
      throw unauthorized('auth.invalid_token', refusalMessage(check.refusal), 'invalid_token');
    }
    const token = check.token;
    if (!token.scopes.includes(scope))
      throw new ApiError(
        403,
        'auth.insufficient_scope',
        `this route needs the scope ${scope}; token ${token.name} has ${token.scopes.join(', ')}`,
        undefined,
        { 'www-authenticate': `${CHALLENGE}, error="insufficient_scope", scope="${scope}"` },
      );
    request.apiToken = token;
  };
}

function refusalMessage(refusal: 'unknown' | 'revoked' | 'expired' | 'untrusted'): string {
  switch (refusal) {
    case 'revoked':
      return 'this token was revoked';
    case 'expired':
      return 'this token has expired; tenure token create makes a new one';
    default:
      return 'this token is not valid';
  }
}

function unauthorized(code: ApiError['code'], message: string, error?: string): ApiError {
  return new ApiError(401, code, message, undefined, {
    'www-authenticate': error ? `${CHALLENGE}, error="${error}"` : CHALLENGE,
  });
}
