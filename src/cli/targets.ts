import { checkTargets, type TargetCheck, type TargetsCheck } from '../app/targets-check.js';
import { workspaceOf } from '../app/workspace.js';
import type { CheckItem } from '../connectors/target-check.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';

export interface TargetsCheckOptions {
  readonly probe?: boolean;
}

/**
 * `tenure targets check [TARGET] [--probe]`: what the credentials given can do on each target, and which declared
 * entitlements it lacks. Exit 1 when something the policy needs is missing; an unknown TARGET is a usage error.
 */
export async function targetsCheckCommand(
  io: Io,
  g: GlobalOptions,
  target: string | undefined,
  o: TargetsCheckOptions,
): Promise<number> {
  const r = await checkTargets(workspaceOf(g), {
    ...(target !== undefined ? { target } : {}),
    ...(o.probe ? { probe: true } : {}),
  });
  const code = r.ok ? EXIT.ok : EXIT.invalid;
  if (g.json) {
    io.out(
      toJson({
        ok: r.ok,
        checkedAt: r.checkedAt,
        targets: r.targets,
        recorded: r.recorded,
        diagnostics: r.warnings,
      }),
    );
    return code;
  }
  printDiagnostics(io, r.warnings);
  io.out(renderTargetsCheck(r));
  return code;
}

const LABEL: Record<CheckItem['status'], string> = {
  ok: 'ok',
  missing: 'MISSING',
  unknown: 'unknown',
};

/** Per target a verdict line, then one line per item (and its hint), then the totals. */
export function renderTargetsCheck(r: TargetsCheck): string {
  const out: string[] = [];
  for (const t of r.targets) {
    out.push(`${t.target} (${t.kind}): ${verdict(t)}`);
    for (const i of t.items) {
      // What the target lacks but the policy does not ask for is said without alarm.
      const spare = i.status === 'missing' && !i.needed;
      out.push(
        `  ${(spare ? 'lacks' : LABEL[i.status]).padEnd(8)} ${i.check.padEnd(11)} ${i.message}${spare ? ' (the policy does not need it)' : ''}`,
      );
      if (i.hint && i.status !== 'ok') out.push(`  ${''.padEnd(8)} ${''.padEnd(11)} hint: ${i.hint}`);
    }
    out.push('');
  }
  const failing = r.targets.filter((t) => !t.ok).length;
  out.push(
    failing === 0
      ? `${r.targets.length} target(s) checked: each can do what the policy needs.`
      : `${r.targets.length} target(s) checked: ${failing} cannot do what the policy needs (MISSING above).`,
  );
  if (r.recorded.length > 0) out.push(`Recorded what ${r.recorded.join(', ')} support(s) in the state store.`);
  return out.join('\n');
}

function verdict(t: TargetCheck): string {
  if (!t.ok) return 'MISSING something the policy needs';
  const unknown = t.items.filter((i) => i.status === 'unknown').length;
  return unknown > 0 ? `ok as far as can be asked (${unknown} unknown without --probe)` : 'ok';
}
