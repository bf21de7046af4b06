import { z } from 'zod';
import { CHANGE_ACTIONS, type Plan } from '../model/plan.js';
import type { PolicyReload } from '../app/service.js';
import type { PolicySource } from '../app/policy-source.js';
import { formatPosition, type Diagnostic } from '../model/diagnostic.js';
import { apiRegistry } from './schema-registry.js';

// Bodies of the policy routes: GET /api/v1/policy and POST /api/v1/policy/reload.

const hash = z.string().describe('SHA-256 of the policy file, hex: the policyHash of plans computed under it');
const byAction = z.object(
  Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, z.number().int()])) as {
    [K in (typeof CHANGE_ACTIONS)[number]]: z.ZodNumber;
  },
);

export const policyBody = z
  .object({
    file: z.string(),
    hash,
    loadedAt: z.string().describe('ISO 8601 date-time'),
    text: z.string().describe('the source text in use'),
  })
  .register(apiRegistry, { id: 'Policy' });

const planPreview = z.object({
  changes: z.number().int(),
  identitiesAffected: z.number().int(),
  byAction,
  byTarget: z.array(z.object({ target: z.string(), changes: z.number().int(), byAction })),
  guardrails: z.object({
    blocked: z.boolean().describe('an apply of this plan would be held until a person allows it'),
    deprovision: z.array(
      z.object({ target: z.string(), accounts: z.number().int(), blocked: z.boolean(), reason: z.string() }),
    ),
    sodConflicts: z.number().int(),
  }),
});

export const reloadBody = z
  .object({
    previousHash: hash,
    hash,
    changed: z.boolean().describe('the file differs from the one in use before'),
    loadedAt: z.string().describe('ISO 8601 date-time'),
    warnings: z.array(z.string()).describe('file:line:col: warning: message'),
    plan: planPreview
      .nullable()
      .describe(
        'what the new policy would change: the whole plan, computed but not applied; null when it could not be',
      ),
    planProblem: z.string().optional().describe('why there is no plan (a target could not be read)'),
  })
  .register(apiRegistry, { id: 'PolicyReload' });

export function policyDocument(p: PolicySource): z.output<typeof policyBody> {
  return { file: p.loaded.policy.file, hash: p.hash, loadedAt: p.loadedAt.toISOString(), text: p.text };
}

export function reloadDocument(r: PolicyReload): z.output<typeof reloadBody> {
  return {
    previousHash: r.previous.hash,
    hash: r.current.hash,
    changed: r.previous.hash !== r.current.hash,
    loadedAt: r.current.loadedAt.toISOString(),
    warnings: r.current.warnings.filter((d) => d.severity !== 'error').map(diagnosticLine),
    plan: r.plan ? preview(r.plan) : null,
    ...(r.planProblem !== undefined ? { planProblem: r.planProblem } : {}),
  };
}

function preview(plan: Plan): z.output<typeof planPreview> {
  return {
    changes: plan.summary.changes,
    identitiesAffected: plan.summary.identitiesAffected,
    byAction: { ...plan.summary.byAction },
    byTarget: plan.targets.map((t) => ({ target: t.target, changes: t.changes.length, byAction: { ...t.counts } })),
    guardrails: {
      blocked: plan.guardrails.blocked,
      deprovision: plan.guardrails.deprovision.map((d) => ({ ...d })),
      sodConflicts: plan.guardrails.sodConflicts.length,
    },
  };
}

/** `file:line:col: severity: message`, as the command line prints it. */
export function diagnosticLine(d: Diagnostic): string {
  const where = d.position ? `${formatPosition(d.position)}: ` : d.subject ? `${d.subject}: ` : '';
  return `${where}${d.severity}: ${d.message}`;
}
