import { z } from 'zod';
import { ATTRIBUTE_TYPES } from '../model/identity.js';
import { RISK_LEVELS } from '../model/entitlement.js';

// The file's shape, as written by people: snake_case keys, strict objects so a typo is an error.
const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an id uses letters, digits, "_", "." and "-"');
const risk = z.enum(RISK_LEVELS);
const nonNegativeInt = z.number().int().min(0);
/** The three settings of a breaker, described once for both places breakers appear. */
const BREAKER = {
  max_percent: 'Block when more than this share (percent) of the population would lose access ...',
  min_count: '... unless fewer than this many are affected ...',
  max_count: '... and always when more than this many are affected.',
} as const;

export const fieldMapping = z
  .strictObject({
    field: z.string().min(1).describe('The column (CSV) or property path (JSON, dotted: manager.id) to read.'),
    type: z
      .enum(ATTRIBUTE_TYPES)
      .default('string')
      .describe('The attribute type, and so its CEL type in rules (date is a timestamp, list a list of strings).'),
    format: z
      .string()
      .optional()
      .describe('For type date: the format, made of YYYY, MM, DD, HH, mm, ss and literal text (default ISO 8601).'),
    separator: z
      .string()
      .min(1)
      .optional()
      .describe('For type list: the separator between items inside one CSV cell (default ";").'),
    required: z.boolean().default(false).describe('A record without a value for this field is refused.'),
  })
  .describe('How one identity attribute is read from a record.');

const valueMapping = z
  .union([
    z.strictObject({ constant: z.string().min(1).describe('The same value for every identity of the source.') }),
    z.strictObject({
      field: z.string().min(1).describe('The column (CSV) or property path (JSON) holding the value.'),
      values: z
        .record(z.string(), z.string())
        .optional()
        .describe("The feed's raw value → Tenure's value (Active: active); a raw value not listed is an error."),
    }),
  ])
  .meta({ id: 'ValueMapping', description: '{ constant: VALUE } or { field: NAME, values: { RAW: VALUE } }.' });

/** A source field name: the column (CSV) or property path (JSON) that holds it. */
const fieldName = (description: string) => z.string().optional().describe(description);

export const sourceSchema = z
  .strictObject({
    id: id.describe('The source id: identities read from this feed have this source.'),
    format: z.enum(['csv', 'json', 'jsonl']).describe('The feed format: csv, json (an array of objects) or jsonl.'),
    path: z.string().min(1).describe("The feed's file, relative to the policy file's folder."),
    key: z.string().min(1).describe('The field holding the stable identity key; two records with one key are refused.'),
    // Only for format csv (load-policy.ts refuses them on a JSON feed).
    delimiter: z
      .string()
      .min(1)
      .refine((s) => !/[\r\n]/.test(s), 'a delimiter cannot contain a line break')
      .optional()
      .describe('CSV only: the character between fields (default ","); write "\\t" for a tab.'),
    quote: z
      .string()
      .length(1, 'a quote is one character')
      .refine((s) => !/[\r\n]/.test(s), 'a quote cannot be a line break')
      .optional()
      .describe("CSV only: the character that encloses a field containing the delimiter (default '\"')."),
    kind: valueMapping.describe('The identity kind: employee, contractor, service_account, ... or your own.'),
    status: valueMapping
      .default({ constant: 'active' })
      .describe('The identity status: pre_hire, active, leave or terminated (default: every identity is active).'),
    attributes: z
      .record(z.string(), fieldMapping)
      .default({})
      .describe('Attribute name → how it is read; each becomes identity.<name> in rules, typed.'),
    manager: fieldName("The field holding the manager's identity id."),
    start_date: fieldName('The field holding the start date.'),
    end_date: fieldName('The field holding the end date (absent or empty: no end).'),
    // End dates (end_date, credential.expires) written as one of these texts mean there is none (SAP's 9999-12-31).
    no_end: z
      .array(z.string().min(1))
      .optional()
      .describe('Texts an end date (end_date, credential.expires) is written as when there is none: ["9999-12-31"].'),
    owner: fieldName("The field holding a non-human identity's owner (a human identity id)."),
    credential: z
      .strictObject({
        created: fieldName('The field holding when the credential was created.'),
        expires: fieldName('The field holding when the credential expires.'),
        last_rotated: fieldName('The field holding when the credential was last rotated.'),
        last_used: fieldName('The field holding when the credential was last used.'),
      })
      .optional()
      .describe("The fields holding a non-human identity's credential dates."),
  })
  .describe('An authoritative feed of identities.');

export const targetSchema = z.strictObject({
  id: id.describe('The target id: the first part of its entitlement addresses (directory:group/staff).'),
  kind: z.enum(['memory', 'csv', 'scim', 'ldap', 'postgres']),
  description: z.string().default('').describe('What this system is, for people.'),
  account_name: z
    .string()
    .min(1)
    .default('identity.id')
    .describe("A CEL expression giving an identity's account name here (default identity.id)."),
  // Target attribute → CEL expression giving its value for an account (givenName, mail ...).
  attributes: z
    .record(z.string(), z.string().min(1))
    .default({})
    .describe('Target attribute → a CEL expression giving its value for an account (mail: identity.email).'),
  // This target's own deprovisioning breaker, instead of policies.guardrails.deprovision.
  deprovision_breaker: z
    .strictObject({
      max_percent: z.number().min(0).max(100).describe(BREAKER.max_percent),
      min_count: z.number().int().min(0).describe(BREAKER.min_count),
      max_count: z.number().int().min(0).describe(BREAKER.max_count),
    })
    .optional()
    .describe("This target's own deprovisioning breaker, instead of policies.guardrails.deprovision."),
  connection: z.record(z.string(), z.unknown()).default({}),
});

export const entitlementSchema = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .describe('The address target:kind/name (directory:group/engineers), or target:account for the account.'),
    risk: risk.default('low').describe('low, medium, high or critical.'),
    description: z.string().default('').describe('What it gives, for reviewers.'),
  })
  .describe('One grantable thing in a target.');

export const roleSchema = z
  .strictObject({
    id,
    description: z.string().default('').describe('What the role is for, for reviewers.'),
    business_owner: z.string().optional().describe('The identity id of who answers for who should have it.'),
    technical_owner: z.string().optional().describe('The identity id of who answers for what it grants.'),
    when: z
      .string()
      .min(1)
      .optional()
      .describe('The membership rule: a CEL expression over identity; absent for a role that is only inherited.'),
    grants: z.array(z.string()).default([]).describe('Entitlement addresses every member receives.'),
    inherits: z.array(z.string()).default([]).describe("Roles whose entitlements this role's members receive too."),
    risk: risk.default('low').describe('low, medium, high or critical.'),
  })
  .describe('A named bundle of entitlements with owners and a membership rule.');

const breaker = z.strictObject({
  max_percent: z.number().min(0).max(100).default(10).describe(BREAKER.max_percent),
  min_count: nonNegativeInt.default(10).describe(BREAKER.min_count),
  max_count: nonNegativeInt.default(500).describe(BREAKER.max_count),
});
const defaultBreaker = { max_percent: 10, min_count: 10, max_count: 500 };

export const policiesSchema = z.strictObject({
  separation_of_duties: z
    .array(
      z.strictObject({
        id,
        description: z.string().default(''),
        conflicting: z
          .array(z.string())
          .min(2, 'a separation-of-duties rule needs at least two entitlements')
          .describe('Entitlements (or roles, role:ID) no identity may hold two of at once.'),
        severity: risk.default('high').describe('The finding severity of a conflict: low, medium, high or critical.'),
      }),
    )
    .default([])
    .describe('Separation-of-duties rules, checked by lint and by every plan.'),
  guardrails: z
    .strictObject({
      deprovision: breaker
        .default(defaultBreaker)
        .describe('Stops a plan that would take access from too many accounts of a target at once.'),
      mass_leaver: breaker
        .default(defaultBreaker)
        .describe("Holds back an import that would make too many of a source's identities leave at once."),
    })
    .default({ deprovision: defaultBreaker, mass_leaver: defaultBreaker }),
  non_human: z
    .strictObject({
      owner_required: z.boolean().default(true).describe('A non-human identity without an owner is a finding.'),
      max_credential_age_days: nonNegativeInt
        .optional()
        .describe('A credential not rotated for longer than this is a finding.'),
      unused_after_days: nonNegativeInt.optional().describe('A credential unused for longer than this is a finding.'),
      on_owner_leaving: z
        .strictObject({
          reassign_to: z
            .enum(['manager', 'nobody'])
            .default('manager')
            .describe("Who is asked to take over a leaving owner's non-human identities."),
          confirm_days: nonNegativeInt.default(14).describe('How many days they have to confirm.'),
        })
        .default({ reassign_to: 'manager', confirm_days: 14 }),
    })
    .default({ owner_required: true, on_owner_leaving: { reassign_to: 'manager', confirm_days: 14 } }),
  leaver: z
    .strictObject({
      disable: z.enum(['immediately', 'at_end_date']).default('immediately'),
      delete_after_days: nonNegativeInt.optional(),
      // However early an end date lies, an account stays disabled this long before it is deleted.
      min_disabled_days: nonNegativeInt.default(7),
      mover_grace_days: nonNegativeInt.default(0),
      targets: z
        .record(
          z.string(),
          z.strictObject({ delete_after_days: nonNegativeInt.optional(), mover_grace_days: nonNegativeInt.optional() }),
        )
        .default({}),
    })
    .default({ disable: 'immediately', min_disabled_days: 7, mover_grace_days: 0, targets: {} }),
  exceptions: z.strictObject({ max_days: nonNegativeInt.default(90) }).default({ max_days: 90 }),
  joiner: z
    .strictObject({
      access_days_before_start: nonNegativeInt
        .default(0)
        .describe("Access becomes due this many days before an identity's start date."),
    })
    .default({ access_days_before_start: 0 }),
  lint: z
    .strictObject({
      birthright_share: z
        .number()
        .gt(0)
        .max(1)
        .default(0.5)
        .describe('A role whose rule matches more than this share (0..1] of active people is a birthright role.'),
      max_role_entitlements: z
        .number()
        .int()
        .positive()
        .default(25)
        .describe('A role granting more entitlements than this (with inherited ones) is too broad to review.'),
    })
    .default({ birthright_share: 0.5, max_role_entitlements: 25 }),
  reviews: z
    .strictObject({
      no_response: z
        .enum(['keep', 'revoke'])
        .default('revoke')
        .describe('What closing an access review does with the items nobody decided.'),
    })
    .default({ no_response: 'revoke' }),
});

const cronText = z
  .string()
  .describe('A five-field cron expression: minute hour day-of-month month day-of-week, e.g. "*/15 * * * *".');
const scheduledJob = z.union([
  cronText,
  z.strictObject({
    cron: cronText,
    timezone: z
      .string()
      .optional()
      .describe('The IANA time zone the expression is read in, e.g. "Europe/Paris"; UTC when absent.'),
  }),
]);
export const scheduleSchema = z.strictObject({
  reconcile: scheduledJob
    .optional()
    .describe('Import every source that reads a file, then plan and apply everything (time-driven events included).'),
  drift: scheduledJob.optional().describe('Read every target and record the drift findings.'),
});

export const policyFileSchema = z.strictObject({
  version: z.literal(1, { error: 'version must be 1' }),
  name: z.string().default('unnamed'),
  // Where the state store is: a SQLite path relative to this file, or a postgres:// URL (read by
  // the workspace before the policy is validated, so a broken policy still finds its store).
  state: z.string().min(1).optional(),
  // Elements are checked one by one (see load-policy.ts) so one bad role never hides another's problems.
  sources: z.array(z.unknown()).default([]),
  targets: z.array(z.unknown()).default([]),
  entitlements: z.array(z.unknown()).default([]),
  roles: z.array(z.unknown()).default([]),
  // Checked on its own (see load-policy.ts), so a bad job never hides the rest of the file.
  schedule: z.unknown().optional(),
  policies: policiesSchema.default({
    separation_of_duties: [],
    guardrails: { deprovision: defaultBreaker, mass_leaver: defaultBreaker },
    non_human: { owner_required: true, on_owner_leaving: { reassign_to: 'manager', confirm_days: 14 } },
    leaver: { disable: 'immediately', min_disabled_days: 7, mover_grace_days: 0, targets: {} },
    exceptions: { max_days: 90 },
    joiner: { access_days_before_start: 0 },
    lint: { birthright_share: 0.5, max_role_entitlements: 25 },
    reviews: { no_response: 'revoke' },
  }),
});

export type PolicyFile = z.infer<typeof policyFileSchema>;
export type SourceEntry = z.infer<typeof sourceSchema>;
export type TargetEntry = z.infer<typeof targetSchema>;
export type EntitlementEntry = z.infer<typeof entitlementSchema>;
export type RoleEntry = z.infer<typeof roleSchema>;

/**
 * The whole file with each entry's own schema in place of the element-by-element checks above:
 * what `tenure schema` publishes as JSON Schema and what docs/policy.md must cover.
 */
export const policyDocumentSchema = policyFileSchema
  .extend({
    version: policyFileSchema.shape.version.describe('The policy format version: 1.'),
    name: policyFileSchema.shape.name.describe('The organisation or policy name, for reports.'),
    state: policyFileSchema.shape.state.describe(
      'Where the state store is: a SQLite path relative to this file (default .tenure/state.db) or a postgres:// URL.',
    ),
    sources: z.array(sourceSchema).default([]).describe('Where identities come from.'),
    targets: z.array(targetSchema).default([]).describe('The systems Tenure provisions into.'),
    entitlements: z.array(entitlementSchema).default([]).describe('What can be granted in the targets.'),
    roles: z.array(roleSchema).default([]).describe('Who gets what: bundles of entitlements with a membership rule.'),
    policies: policyFileSchema.shape.policies.describe('The rules that bound it all; every key has a default.'),
    schedule: scheduleSchema
      .optional()
      .describe(
        'What `tenure serve` runs on its own, and when: each job with a cron expression, in UTC unless given a timezone.',
      ),
  })
  .meta({ title: 'Tenure policy file (tenure.yaml)' });
