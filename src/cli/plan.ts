import { workspaceOf } from '../app/workspace.js';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { renderPlanMarkdown, renderPlanText } from '../plan/render-plan.js';
import { auditIfStored } from '../app/store-access.js';
import { planNow } from '../app/plan-state.js';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';
import type { Plan } from '../model/plan.js';

export interface PlanOptions {
  readonly out?: string;
  readonly actual?: string;
  readonly format?: string;
  readonly limit?: number;
  readonly skipInvalid?: boolean;
  readonly identity?: readonly string[];
}

/** `tenure plan`: desired vs actual, per target, each change with its reason. */
export async function planCommand(io: Io, g: GlobalOptions, options: PlanOptions): Promise<number> {
  const format = options.format ?? (g.json ? 'json' : 'text');
  if (!['text', 'json', 'markdown'].includes(format))
    throw new UserError(`--format ${format}: use text, json or markdown`, EXIT.usage);
  const { plan, warnings } = await planNow(workspaceOf(g), {
    ...options,
    ...(options.identity ? { onlyIdentities: options.identity } : {}),
  });
  if (!g.json) printDiagnostics(io, warnings);
  if (options.out) {
    await savePlan(
      g,
      plan,
      options.out,
      `${plan.summary.changes} change(s) for ${plan.summary.identitiesAffected} identities`,
      {
        highRiskGrants: plan.summary.highRiskGrants,
      },
    );
  }
  const limit = options.limit;
  if (format === 'json') io.out(toJson({ plan, diagnostics: warnings }));
  else if (format === 'markdown') io.out(renderPlanMarkdown(plan, limit === undefined ? {} : { limit }));
  else io.out(renderPlanText(plan, { limit: limit ?? 20 }));
  if (options.out && format !== 'json') io.err(`plan saved to ${options.out}`);
  return EXIT.ok;
}

/**
 * Writes a plan for `tenure apply FILE`. A saved plan is a decision record: when a store exists,
 * its hash goes into the audit log with the reason given.
 */
export async function savePlan(
  g: GlobalOptions,
  plan: Plan,
  file: string,
  reason: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  const text = toJson(plan) + '\n';
  writeFileSync(file, text);
  await auditIfStored(workspaceOf(g), {
    at: new Date(plan.asOf),
    actor: workspaceOf(g).actor.id,
    action: 'plan.saved',
    subject: `plan:${createHash('sha256').update(text).digest('hex')}`,
    reason,
    details: { file, byAction: plan.summary.byAction, ...details },
  });
}
