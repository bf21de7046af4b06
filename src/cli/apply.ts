import { workspaceOf } from '../app/workspace.js';
import { readFileSync } from 'node:fs';
import { applyPlan } from '../app/apply.js';
import type { ExecutionEvent } from '../executor/execute-plan.js';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import { ProgressLine } from './progress.js';

import type { GlobalOptions } from './global-options.js';
export interface ApplyOptions {
  readonly allowDeprovision?: number;
  readonly reason?: string;
  readonly concurrency?: number;
  readonly rate?: number;
  readonly limit?: number;
  readonly identity?: readonly string[];
}

/**
 * `tenure apply [FILE]`: carries out a saved plan — refused when edited, or when it is no longer
 * what the policy calls for (exit 3) — or, without a file, plans and applies in one step. The
 * use case is `applyPlan` in src/app; this file reads the flags, the file and the signals, and
 * renders. SIGINT or SIGTERM stops new operations, lets those in flight finish and be journalled,
 * says what is done and what is left, and exits 130.
 */
export async function applyCommand(
  io: Io,
  g: GlobalOptions,
  file: string | undefined,
  o: ApplyOptions,
): Promise<number> {
  const ws = workspaceOf(g);
  let text: string | undefined;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UserError(`cannot read the plan ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const limit = o.limit ?? 30;
  let shown = 0;
  // On a terminal a progress bar per target stands on stderr, and sentences are kept for the end.
  const progress = new ProgressLine(io.tty && !g.json ? (t) => process.stderr.write(t) : undefined);
  const sentences: string[] = [];
  const onEvent = (e: ExecutionEvent): void => {
    if (e.type === 'started') progress.start(e.target, e.total);
    else if (e.type === 'done') progress.done(e.target, e.operation.state === 'succeeded');
    else if (e.type === 'quarantined') progress.quarantined(e.target);
    if (g.json) {
      if (e.type === 'done')
        io.out(
          JSON.stringify({
            type: 'operation',
            target: e.target,
            state: e.operation.state,
            sentence: e.operation.sentence,
          }),
        );
      else if (e.type === 'quarantined') io.out(JSON.stringify(e));
      return;
    }
    if (e.type === 'started' && !io.tty) io.err(`${e.target}: ${e.total} operation(s)`);
    else if (e.type === 'quarantined')
      io.err(`${e.target}: QUARANTINED — ${e.reason}; its remaining operations are kept for the next run`);
    else if (e.type === 'done' && e.operation.state !== 'pending' && shown++ < limit) {
      if (io.tty) sentences.push(e.operation.sentence);
      else io.out(e.operation.sentence);
    }
  };
  const stop = new AbortController();
  const interrupt = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted && !g.json)
      io.err(`${signal}: no new operations start; finishing those in flight and journalling them`);
    stop.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  let outcome;
  try {
    outcome = await applyPlan(ws, {
      ...(file !== undefined && text !== undefined ? { saved: { file, text } } : {}),
      ...(o.allowDeprovision !== undefined ? { allowDeprovision: o.allowDeprovision } : {}),
      ...(o.reason !== undefined ? { reason: o.reason } : {}),
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.rate !== undefined ? { rate: o.rate } : {}),
      ...(o.identity ? { onlyIdentities: o.identity } : {}),
      signal: stop.signal,
      onEvent,
      onNote: (t) => {
        if (!g.json) io.err(t);
      },
    });
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    progress.finish();
  }
  if (!g.json) printDiagnostics(io, outcome.warnings);
  const result = outcome.result;
  if (!result) {
    io.out(
      g.json
        ? toJson({ ok: true, operations: [], diagnostics: outcome.warnings })
        : 'Nothing to apply: every target matches the policy.',
    );
    return EXIT.ok;
  }
  for (const line of sentences) io.out(line);
  const failed = result.targets.reduce((n, t) => n + t.dead + t.pending, 0);
  if (g.json)
    io.out(
      JSON.stringify({
        type: 'summary',
        ok: failed === 0 && !result.interrupted,
        interrupted: result.interrupted,
        plan: outcome.planId,
        targets: result.targets,
        diagnostics: outcome.warnings,
      }),
    );
  else {
    if (shown > limit) io.out(`... and ${shown - limit} more (--limit, or --json for all)`);
    for (const t of result.targets) {
      io.out(
        `${t.target}: ${t.succeeded} done, ${t.dead} failed, ${t.pending} left for the next run${t.quarantined ? ` (quarantined: ${t.quarantined})` : ''}`,
      );
    }
    if (result.interrupted) io.err('interrupted: what is left runs with the next tenure apply');
  }
  if (result.interrupted) return EXIT.interrupted;
  return failed === 0 ? EXIT.ok : EXIT.applyFailed;
}
