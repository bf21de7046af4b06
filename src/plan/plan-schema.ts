import { z } from 'zod';
import { CHANGE_ACTIONS, PLAN_KINDS, type Change, type PlanKind } from '../model/plan.js';

/**
 * A saved plan is untrusted input (DESIGN.md, trust rules): its shape is checked here before
 * anything reads it, and only its changes and identity are used. Its guardrail verdict, summary
 * and counts are never trusted: apply computes them again.
 */
const changeSchema = z.strictObject({
  target: z.string().min(1),
  action: z.enum(CHANGE_ACTIONS),
  identity: z.string().min(1).optional(),
  account: z.string().min(1),
  newName: z.string().min(1).optional(),
  entitlement: z.string().min(1).optional(),
  risk: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  purpose: z.enum(['rotation', 'revocation']).optional(),
  reason: z.string(),
});

/** Informational (`TargetPlan.adopted`): checked for shape, never used; apply recomputes its own. */
const adoptedSchema = z.strictObject({
  identity: z.string().min(1),
  account: z.string().min(1),
  enabled: z.boolean(),
  entitlements: z.array(z.string()),
  reason: z.string(),
});

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex');

const savedPlanSchema = z.looseObject({
  formatVersion: z.literal(1),
  kind: z.enum(PLAN_KINDS),
  policyHash: hex64,
  stateHash: hex64,
  digest: hex64,
  policy: z.string(),
  asOf: z.iso.datetime(),
  onlyTargets: z.array(z.string().min(1)).optional(),
  onlyIdentities: z.array(z.string().min(1)).min(1).optional(),
  targets: z.array(
    z.looseObject({
      target: z.string().min(1),
      changes: z.array(changeSchema),
      deferredChanges: z.array(changeSchema).default([]),
      adopted: z.array(adoptedSchema).optional(),
    }),
  ),
});

/** What apply reads from a saved plan file; everything else in the file is ignored. */
export interface SavedPlan {
  readonly kind: PlanKind;
  readonly policyHash: string;
  readonly stateHash: string;
  /** The digest the file claims for its changes; apply checks it against the changes themselves. */
  readonly digest: string;
  readonly asOf: string;
  readonly onlyTargets?: readonly string[];
  readonly onlyIdentities?: readonly string[];
  readonly targets: readonly { readonly target: string; readonly changes: readonly Change[] }[];
}

/** The saved plan, or the problems that make it not one (each with its path in the file). */
export function parseSavedPlan(raw: unknown): { plan?: SavedPlan; problems: readonly string[] } {
  const r = savedPlanSchema.safeParse(raw);
  if (!r.success) {
    return {
      problems: r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(the file)'}: ${i.message}`),
    };
  }
  const p = r.data;
  const plan: SavedPlan = {
    kind: p.kind,
    policyHash: p.policyHash,
    stateHash: p.stateHash,
    digest: p.digest,
    asOf: p.asOf,
    ...(p.onlyTargets ? { onlyTargets: p.onlyTargets } : {}),
    ...(p.onlyIdentities ? { onlyIdentities: p.onlyIdentities } : {}),
    targets: p.targets.map((t) => ({ target: t.target, changes: t.changes.map(withoutUndefined) })),
  };
  return { plan, problems: [] };
}

function withoutUndefined(c: z.infer<typeof changeSchema>): Change {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as Change;
}
