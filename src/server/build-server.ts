import { randomUUID } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import fastifySwagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UserError, EXIT } from '../app/errors.js';
import type { ServiceContext } from '../app/service.js';
import { statusDocument, storeStatus } from '../app/status.js';
import { explainAccess, explanationDocument, UnknownIdentity } from '../app/why.js';
import type { Actor } from '../app/workspace.js';
import type { ApiScope, ApiToken } from '../model/api-token.js';
import { ApiError, errorBody } from './api-error.js';
import {
  appliedBody,
  identityBody,
  identityParams,
  pushedBody,
  recordParams,
  recordsRequest,
  sourceParams,
  statusBody,
} from './api-schemas.js';
import { applyPlan, type ApplyOutcome } from '../app/apply.js';
import type { ExecutionEvent } from '../executor/execute-plan.js';
import { pushRecords, type PushRequest } from '../app/push.js';
import { authenticate } from './authenticate.js';
import { httpMetrics } from './http-metrics.js';
import { plainJson } from './plain-json.js';
import { diagnosticLine, policyBody, policyDocument, reloadBody, reloadDocument } from './policy-schemas.js';
import { parseRateLimit, TokenBuckets, type RateLimit } from './rate-limit.js';
import { startScheduler } from './scheduler.js';
import { apiRegistry } from './schema-registry.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The one scope an API route needs; routes without one are open. */
    scope?: ApiScope;
  }
  interface FastifyRequest {
    /** The token that authenticated the request (scoped routes only). */
    apiToken?: ApiToken;
  }
}

export interface ServerOptions {
  readonly service: ServiceContext;
  /** Fastify's logger (JSON lines on stdout by default); false for none. */
  readonly logger?: FastifyServerOptions['logger'];
  /** PEM certificate and key: HTTPS instead of HTTP. */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
  readonly version?: string;
  /** Per-token request rate; `off` for none. Default: TENURE_API_RATE_LIMIT, else 50/s with a burst of 100. */
  readonly rateLimit?: RateLimit | 'off';
  /** Run the policy's `schedule:` jobs while the server is up (`tenure serve`); stopped when it closes. */
  readonly schedule?: boolean;
}

/** The largest request body the API reads (413 request.too_large past it, before any of it is parsed). */
export const API_BODY_LIMIT = 1024 * 1024;

/** A caller-supplied request id is kept when it is short and plain; else one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The service's HTTP server, not yet listening: the CLI (`tenure serve`) and tests build it the
 * same way. Every route calls src/app; its zod schema is the validation, the type and the OpenAPI.
 */
export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const common = {
    logger: o.logger ?? { level: process.env.TENURE_LOG_LEVEL ?? 'info' },
    requestIdHeader: false as const,
    // Ids are checked by the routes' schemas (up to 256 characters), not cut off by the router.
    routerOptions: { maxParamLength: 1024 },
    // A request that arrives while the server closes is answered like any other (in the one error
    // shape when it fails), not with Fastify's own 503 body.
    return503OnClosing: false,
    bodyLimit: API_BODY_LIMIT,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  };
  // The HTTPS server's type differs from the HTTP one's; routes and hooks are the same.
  const app = (o.https
    ? Fastify<HttpsServer>({ ...common, https: { cert: o.https.cert, key: o.https.key } })
    : Fastify(common)) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const metrics = httpMetrics();
  /** Each operation a route's apply ends, counted by target and result. */
  const counted = (e: ExecutionEvent): void => {
    if (e.type === 'done') metrics.operation(e.target, e.operation.state);
  };
  app.addHook('onRequest', authenticate(o.service));
  // After authentication, so each token has its own bucket; open routes (health, metrics) are never limited.
  const rate = o.rateLimit === undefined ? parseRateLimit(process.env.TENURE_API_RATE_LIMIT) : o.rateLimit;
  const buckets = rate && rate !== 'off' ? new TokenBuckets(rate) : undefined;
  if (buckets)
    app.addHook('onRequest', (request, _reply, done) => {
      const token = request.apiToken;
      const taken = token ? buckets.take(String(token.id)) : { allowed: true as const };
      if (taken.allowed) return done();
      done(
        new ApiError(
          429,
          'request.rate_limited',
          `token ${token!.name} sent more than its rate allows; try again in ${taken.retryAfterSeconds} s`,
          undefined,
          { 'retry-after': String(taken.retryAfterSeconds) },
        ),
      );
    });
  // Once closing, every answer ends its connection: a keep-alive client would otherwise hold the process open until
  // the keep-alive timeout (72 s) after the last request in flight is answered.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern, never the raw URL: ids in paths would make a series per identity.
    const route = request.is404 ? '(no route)' : (request.routeOptions.url ?? '(no route)');
    metrics.observe(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toApiError(err, request);
    if (e.status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(e.status).headers(e.headers).send(e.body());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]!}`).body()),
  );

  if (o.schedule) {
    const scheduler = startScheduler({
      service: o.service,
      registry: metrics.registry,
      log: app.log,
      onOperation: metrics.operation,
    });
    // Before connections close: no run starts any more, the one in flight stops at its next operation.
    app.addHook('preClose', () => scheduler.stop());
  }

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tenure API',
        version: o.version ?? '0.1.0',
        description:
          'Provisioning and lifecycle governance. Every /api/v1 route needs a bearer token (tenure token create) with the one scope it names in x-tenure-scope; /healthz, /readyz, /metrics and this document are open.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: createJsonSchemaTransform({ schemaRegistry: apiRegistry }),
    transformObject: createJsonSchemaTransformObject({ schemaRegistry: apiRegistry }),
  });

  const api = app.withTypeProvider<ZodTypeProvider>();
  const open = { tags: ['service'] };

  api.get(
    '/healthz',
    {
      schema: {
        ...open,
        description: 'Open (no token). 200 while the process is up.',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  api.get(
    '/readyz',
    {
      schema: {
        ...open,
        description:
          'Open (no token). 200 when the state store answers and has this version’s schema; else 503 saying why.',
        response: { 200: z.object({ status: z.literal('ready'), schema: z.string() }), 503: errorBody },
      },
    },
    async () => {
      const r = await o.service.readiness();
      if (!r.ready) throw new ApiError(503, 'store.unavailable', r.reason ?? 'the state store is not ready');
      return { status: 'ready' as const, schema: r.schema ?? '' };
    },
  );

  api.get(
    '/metrics',
    { schema: { ...open, description: 'Open (no token). Prometheus text format (prom-client).' } },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );

  api.get(
    '/api/v1/openapi.json',
    {
      schema: {
        ...open,
        description: 'Open (no token). This document: OpenAPI 3.1, generated from the route schemas.',
      },
    },
    () => app.swagger(),
  );

  api.get(
    '/api/v1/status',
    {
      config: { scope: 'governance:read' },
      schema: {
        ...scoped(
          'governance:read',
          'The state store: identities by kind and status, the last imports, what a guardrail holds back. The document of tenure status --json.',
        ),
        response: { 200: statusBody, 401: errorBody, 403: errorBody },
      },
    },
    async (request) => {
      const s = await storeStatus(o.service.workspace(actorOf(request)));
      return plainJson(statusDocument(s)) as z.output<typeof statusBody>;
    },
  );

  api.get(
    '/api/v1/identities/:id',
    {
      config: { scope: 'identities:read' },
      schema: {
        ...scoped(
          'identities:read',
          'One identity with its attributes, and why it holds each entitlement of its desired state (tenure why ID --json).',
        ),
        params: identityParams,
        response: { 200: identityBody, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody },
      },
    },
    async (request) => {
      const x = await explainAccess(o.service.workspace(actorOf(request)), request.params.id);
      return { identity: plainJson(x.identity), why: plainJson(explanationDocument(x)) } as z.output<
        typeof identityBody
      >;
    },
  );

  api.post(
    '/api/v1/identities/:id/reconcile',
    {
      config: { scope: 'plans:apply' },
      schema: {
        ...scoped(
          'plans:apply',
          'Provision now: plans the changes of this identity only and applies them under every guardrail (tenure apply --identity ID). 409 guardrail.held when a breaker or a separation-of-duties conflict holds them.',
        ),
        params: identityParams,
        response: {
          200: appliedBody,
          400: errorBody,
          401: errorBody,
          403: errorBody,
          404: errorBody,
          409: errorBody,
          503: errorBody,
        },
      },
    },
    async (request) => {
      const ws = o.service.workspace(actorOf(request));
      await o.service.agreePolicy(ws);
      return appliedDocument(await applyPlan(ws, { onlyIdentities: [request.params.id], onEvent: counted }), [
        request.params.id,
      ]);
    },
  );

  /** Records pushed, then their identities provisioned: the one path of POST and DELETE. */
  const pushThenApply = async (request: FastifyRequest, push: PushRequest) => {
    const ws = o.service.workspace(actorOf(request));
    // Refused before anything is recorded: the push and its apply go together.
    await o.service.agreePolicy(ws);
    const pushed = await pushRecords(ws, push);
    if (pushed.outcome === 'stopped')
      throw new ApiError(409, 'guardrail.held', `nothing was recorded: ${pushed.reason ?? 'a breaker holds it'}`);
    const applied = await applyPlan(ws, { onlyIdentities: pushed.identities, onEvent: counted });
    return {
      source: pushed.source,
      importSeq: pushed.importSeq,
      outcome: pushed.outcome,
      identities: [...pushed.identities],
      events: pushed.events.map((e) => ({ kind: e.kind, identity: e.identity, summary: e.summary })),
      applied: appliedDocument(applied, pushed.identities),
    };
  };
  const pushResponses = {
    200: pushedBody,
    400: errorBody,
    401: errorBody,
    403: errorBody,
    404: errorBody,
    409: errorBody,
    413: errorBody,
    503: errorBody,
  };

  api.post(
    '/api/v1/sources/:id/records',
    {
      config: { scope: 'sources:write' },
      schema: {
        ...scoped(
          'sources:write',
          "Records pushed into an imported source, in its own field names: each replaces its identity's record (validated like a feed row; any problem records nothing, naming the record and field). The touched identities' events are recorded and their changes applied at once. 409 guardrail.held when the mass-leaver breaker holds the push back.",
        ),
        params: sourceParams,
        body: recordsRequest,
        response: pushResponses,
      },
    },
    (request) =>
      pushThenApply(request, {
        source: request.params.id,
        records: request.body.records,
        origin: `POST /api/v1/sources/${request.params.id}/records`,
      }),
  );

  api.delete(
    '/api/v1/sources/:id/records/:key',
    {
      config: { scope: 'sources:write' },
      schema: {
        ...scoped(
          'sources:write',
          'The identity leaves the source (a leaver), and its access goes at once, under every guardrail.',
        ),
        params: recordParams,
        response: pushResponses,
      },
    },
    (request) =>
      pushThenApply(request, {
        source: request.params.id,
        remove: [request.params.key],
        origin: `DELETE /api/v1/sources/${request.params.id}/records`,
      }),
  );

  api.get(
    '/api/v1/policy',
    {
      config: { scope: 'governance:read' },
      schema: {
        ...scoped('governance:read', 'The policy in use: its source text, its hash and when it was loaded.'),
        response: { 200: policyBody, 401: errorBody, 403: errorBody, 429: errorBody },
      },
    },
    () => policyDocument(o.service.policy()),
  );

  api.post(
    '/api/v1/policy/reload',
    {
      config: { scope: 'policy:reload' },
      schema: {
        ...scoped(
          'policy:reload',
          'Reads tenure.yaml again (as SIGHUP does). A policy that validates is swapped in for the requests that start after; an invalid one is refused (400 policy.invalid, with every file:line:col problem in error.diagnostics) and the one in use stays. The answer gives both hashes and what the new policy would change: the whole plan is computed under it, reading every target, and not applied. Audited as policy.reloaded.',
        ),
        response: { 200: reloadBody, 400: errorBody, 401: errorBody, 403: errorBody, 429: errorBody, 503: errorBody },
      },
    },
    async (request) => {
      const r = await o.service.reloadPolicy(actorOf(request) ?? { id: 'unknown', source: 'token' });
      request.log.info(
        { previousHash: r.previous.hash, hash: r.current.hash, changes: r.plan?.summary.changes },
        'policy reloaded',
      );
      return reloadDocument(r);
    },
  );

  return app;
}

/** An apply's outcome as the API answers it. */
function appliedDocument(outcome: ApplyOutcome, identities: readonly string[]): z.output<typeof appliedBody> {
  const r = outcome.result;
  return {
    plan: { id: outcome.planId, changes: outcome.plan.summary.changes, identities: [...identities] },
    operations: (r?.operations ?? []).map((op) => ({
      target: op.change.target,
      state: op.state,
      sentence: op.sentence,
      ...(op.error !== undefined ? { error: op.error } : {}),
    })),
    targets: (r?.targets ?? []).map((t) => ({
      target: t.target,
      succeeded: t.succeeded,
      dead: t.dead,
      pending: t.pending,
      ...(t.quarantined ? { quarantined: t.quarantined } : {}),
    })),
    warnings: outcome.warnings.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      ...(d.hint ? { hint: d.hint } : {}),
    })),
  };
}

/** What the OpenAPI document says of a scoped route: its scope, in words and as x-tenure-scope. */
function scoped(scope: ApiScope, description: string) {
  return {
    tags: ['api'],
    description: `${description}\n\nScope: \`${scope}\`.`,
    security: [{ bearer: [] }],
    'x-tenure-scope': scope,
  };
}

function actorOf(request: FastifyRequest): Actor | undefined {
  const t = request.apiToken;
  return t && { id: `token:${t.name}#${t.id}`, source: 'token' };
}

/** Every failure in the one error shape, with a stable code. */
function toApiError(err: FastifyError, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issue = err.validation[0]!;
    const path = issue.instancePath.split('/').filter((p) => p !== '');
    const field = [err.validationContext ?? 'request', ...path].join('.');
    return new ApiError(400, 'request.invalid', `${field}: ${issue.message}`, field);
  }
  if (isResponseSerializationError(err))
    return new ApiError(
      500,
      'internal',
      `the answer did not match its own schema (request ${request.id}); this is a bug`,
    );
  if (err instanceof UnknownIdentity) return new ApiError(404, 'not_found', withHint(err));
  if (err instanceof UserError) return userApiError(err);
  const status = err.statusCode ?? 500;
  if (status === 413) return new ApiError(413, 'request.too_large', err.message);
  if (status === 415) return new ApiError(415, 'request.unsupported_media_type', err.message);
  if (status >= 400 && status < 500) return new ApiError(status, 'request.invalid', err.message);
  return new ApiError(500, 'internal', `unexpected error (request ${request.id}); the service log has the details`);
}

/** A refusal of the application layer, by its code: a guardrail holds (409), something is busy (503) ... */
function userApiError(err: UserError): ApiError {
  const message = withHint(err);
  const field = err.diagnostics[0]?.subject;
  switch (err.code) {
    case 'guardrail.held':
      return new ApiError(409, 'guardrail.held', message);
    case 'plan.stale':
    case 'plan.edited':
      return new ApiError(409, 'plan.stale', message);
    case 'target.busy':
      return new ApiError(503, 'target.busy', message, undefined, { 'retry-after': '5' });
    case 'store.busy':
      return new ApiError(503, 'store.busy', message, undefined, { 'retry-after': '1' });
    case 'not_found':
      return new ApiError(404, 'not_found', message);
    case 'policy.invalid':
      return new ApiError(
        400,
        'policy.invalid',
        `${message}; the policy in use stays`,
        undefined,
        {},
        err.diagnostics.map(diagnosticLine),
      );
    case 'policy.mismatch':
      return new ApiError(409, 'policy.mismatch', message, undefined, { 'retry-after': '5' });
    default:
      // Problems of the input (a record that fails validation) name the first of them.
      return err.exitCode === EXIT.stopped
        ? new ApiError(503, 'store.busy', message)
        : new ApiError(400, 'request.invalid', detailed(err), field);
  }
}

/** The message with the first problems the application layer listed (a record's field), for the one error body. */
function detailed(err: UserError): string {
  const shown = err.diagnostics.slice(0, 5).map((d) => d.message);
  const more = err.diagnostics.length > 5 ? ` (and ${err.diagnostics.length - 5} more)` : '';
  return shown.length === 0 ? withHint(err) : `${withHint(err)}: ${shown.join('; ')}${more}`;
}

function withHint(e: UserError): string {
  return e.hint ? `${e.message} (${e.hint})` : e.message;
}
