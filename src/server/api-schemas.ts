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
