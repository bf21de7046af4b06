import { importSources } from '../app/import.js';
import { workspaceOf } from '../app/workspace.js';
import { EVENT_KINDS } from '../model/lifecycle.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';

export interface ImportOptions {
  readonly skipInvalid?: boolean;
  readonly approveLeavers?: number;
  readonly reason?: string;
  readonly limit?: number;
}

/**
 * `tenure import`: the use case is `importSources` in src/app; this prints what each source
 * brought and exits 3 when a guardrail held something back.
 */
export async function importCommand(io: Io, g: GlobalOptions, options: ImportOptions): Promise<number> {
  const ws = workspaceOf(g);
  const { outcomes, warnings, ms } = await importSources(ws, {
    ...(options.skipInvalid ? { skipInvalid: true } : {}),
    ...(options.approveLeavers !== undefined ? { approveLeavers: options.approveLeavers } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
  });
  if (!g.json) printDiagnostics(io, warnings);
  const asOf = ws.asOf;
  const stopped = outcomes.some((o) => o.outcome === 'stopped' || o.startHeld.length > 0);
  if (g.json) {
    io.out(toJson({ ok: !stopped, asOf: asOf.toISOString(), ms, sources: outcomes }));
    return stopped ? EXIT.stopped : EXIT.ok;
  }
  const limit = options.limit ?? 20;
  for (const o of outcomes) {
    if (o.outcome === 'stopped') {
      io.err(`source ${o.source}: STOPPED, nothing recorded. ${o.reason}`);
      continue;
    }
    const counts =
      EVENT_KINDS.filter((k) => o.counts[k])
        .map((k) => `${o.counts[k]} ${k}`)
        .join(', ') || 'no events';
    io.out(`source ${o.source}: ${o.rows} rows, ${o.changed} new or changed, ${o.removed} gone; ${counts}`);
    if (o.kept.length > 0)
      io.out(
        `  kept as last imported (their rows were skipped): ${o.kept.slice(0, limit).join(', ')}${o.kept.length > limit ? ` and ${o.kept.length - limit} more` : ''}`,
      );
    for (const h of o.startHeld)
      io.err(
        `source ${o.source}: HELD ${h.summary}; approve with: tenure approve start-date ${h.identity} --reason "..."`,
      );
    for (const e of o.events.slice(0, limit)) io.out(`  ${e.kind.padEnd(21)} ${e.summary}`);
    if (o.events.length > limit) io.out(`  ... and ${o.events.length - limit} more (tenure events, or --json)`);
  }
  io.out(`import finished in ${ms} ms${stopped ? '; a guardrail held a source back (exit 3)' : ''}`);
  return stopped ? EXIT.stopped : EXIT.ok;
}
