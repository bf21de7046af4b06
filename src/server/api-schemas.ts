import { z } from 'zod';
import { apiRegistry } from './schema-registry.js';

// Response bodies of the API: Fastify checks every answer against them, and the OpenAPI
// document is generated from them. Dates are ISO 8601 text, as in `--json`.

const isoDate = z.string().describe('ISO 8601 date-time');

const importRecord = z.object({
  seq: z.number().int(),
  source: z.string(),
  asOf: isoDate,
  startedAt: isoDate,
  rows: z.number().int(),
  events: z.number().int(),
  outcome: z.string().describe('applied, or stopped when a guardrail held it back'),
  detail: z.string(),
});

/** `GET /api/v1/status`: the document of `tenure status --json`. */
export const statusBody = z
  .object({
    state: z.string().describe('where the store is, without any password'),
    schema: z.string().describe('the latest migration applied'),
    identities: z.number().int(),
    byKind: z.record(z.string(), z.record(z.string(), z.number().int())).describe('counts by kind, then by status'),
    lastImports: z.array(importRecord).describe('newest first'),
    heldBack: z.array(importRecord).describe('imports a guardrail held back'),
  })
  .register(apiRegistry, { id: 'Status' });

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

const identity = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.enum(['pre_hire', 'active', 'leave', 'terminated']),
  source: z.string(),
  attributes: z.record(z.string(), attributeValue),
  manager: z.string().optional(),
  startDate: isoDate.optional(),
  endDate: isoDate.optional(),
  owner: z.string().optional().describe('the human owner of a non-human identity'),
  credential: z
    .object({
      created: isoDate.optional(),
      expires: isoDate.optional(),
      lastRotated: isoDate.optional(),
      lastUsed: isoDate.optional(),
    })
    .optional(),
});

const match = z.object({ role: z.string(), rule: z.string(), inputs: z.record(z.string(), attributeValue) });

const provenance = z.object({
  role: z.string().optional().describe('the role whose rule held'),
  chain: z.array(z.string()).describe('from that role down to the role that lists the entitlement'),
  rule: z.string().optional(),
  inputs: z.record(z.string(), attributeValue).optional(),
  exception: z
    .object({ id: z.number().int(), reason: z.string(), approver: z.string(), until: isoDate })
    .optional()
    .describe('set when a time-bound exception grants it'),
});

const grant = z.object({ identity: z.string(), entitlement: z.string(), provenance: z.array(provenance) });

/** The document of `tenure why ID --json`. */
const explanation = z.object({
  identity: z.string(),
  kind: z.string(),
  status: z.string(),
  asOf: isoDate,
  matches: z.array(match),
  roles: z.array(z.string()),
  grants: z.array(grant),
  denied: z
    .array(
      z.object({
        entitlement: z.string(),
        provenance: z.array(provenance),
        denial: z.record(z.string(), z.unknown()).describe('the access-review decision that holds it back'),
      }),
    )
    .optional(),
  notGranted: z.array(z.object({ role: z.string(), chain: z.array(z.string()), why: z.string() })).optional(),
  deletions: z.array(z.object({ target: z.string(), on: isoDate.optional(), rule: z.string() })).optional(),
});

/** `GET /api/v1/identities/{id}`: the identity and why it holds each entitlement of its desired state. */
export const identityBody = z
  .object({
    identity,
    why: explanation.describe('the document of tenure why ID --json'),
  })
  .register(apiRegistry, { id: 'IdentityWithAccess' });

export const identityParams = z.object({
  id: z.string().min(1).max(256).describe('the identity id (the source key)'),
});

export const sourceParams = z.object({ id: z.string().min(1).max(256).describe('the source id in tenure.yaml') });

export const recordParams = sourceParams.extend({
  key: z.string().min(1).max(1024).describe("the identity's key in the source (its id)"),
});

/** `POST /api/v1/sources/{id}/records`: records in the source's own field names. */
export const recordsRequest = z
  .object({
    records: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .max(10_000)
      .describe("each record in the source's own field names, validated like a feed row; replaces that identity's"),
  })
  .register(apiRegistry, { id: 'Records' });

const operation = z.object({
  target: z.string(),
  state: z.enum(['pending', 'running', 'succeeded', 'failed', 'dead', 'superseded']),
  sentence: z.string().describe('account jdoe in directory: created'),
  error: z.string().optional().describe("the target's own error, when it failed"),
});

const targetResult = z.object({
  target: z.string(),
  succeeded: z.number().int(),
  dead: z.number().int(),
  pending: z.number().int().describe('kept for the next run'),
  quarantined: z.string().optional(),
});

const warning = z.object({
  severity: z.string(),
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
});

/** What a plan of some identities did when applied: the plan's id and size, each operation, each target. */
export const appliedBody = z
  .object({
    plan: z.object({
      id: z.string(),
      changes: z.number().int(),
      identities: z.array(z.string()).describe('the identities it was planned for'),
    }),
    operations: z.array(operation),
    targets: z.array(targetResult),
    warnings: z.array(warning),
  })
  .register(apiRegistry, { id: 'Applied' });

/** `POST` and `DELETE` of records: what the push recorded, then what applying its identities' changes did. */
export const pushedBody = z
  .object({
    source: z.string(),
    importSeq: z.number().int().describe('the import record of this push (tenure status lists it)'),
    outcome: z.enum(['applied', 'unchanged']),
    identities: z.array(z.string()).describe('the identities the push touched'),
    events: z.array(z.object({ kind: z.string(), identity: z.string(), summary: z.string() })),
    applied: appliedBody,
  })
  .register(apiRegistry, { id: 'Pushed' });
