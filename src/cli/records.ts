import { readFileSync } from 'node:fs';
import { pushRecords, type PushOutcome } from '../app/push.js';
import { workspaceOf } from '../app/workspace.js';
import { EVENT_KINDS } from '../model/lifecycle.js';
import { applyCommand } from './apply.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, toJson, UserError, type Io } from './output.js';

export interface RecordsOptions {
  /** Plan and apply the touched identities' changes at once ("provision now"). */
  readonly apply?: boolean;
  readonly limit?: number;
}

/**
 * `tenure records push SOURCE FILE`: records in the source's own field names (a JSON array, or `{"records": [...]}`;
 * `-` reads standard input), each replacing its identity's record — the command line's side of the service's
 * `POST /api/v1/sources/{id}/records`. With `--apply`, the identities it touched are provisioned at once.
 */
export async function recordsPushCommand(
  io: Io,
  g: GlobalOptions,
  source: string,
  file: string,
  o: RecordsOptions,
): Promise<number> {
  const records = readRecords(file);
  const outcome = await pushRecords(workspaceOf(g), { source, records, origin: file === '-' ? 'stdin' : file });
  return finish(io, g, outcome, o);
}

/** `tenure records remove SOURCE KEY...`: those identities leave the source (`DELETE .../records/{key}`). */
export async function recordsRemoveCommand(
  io: Io,
  g: GlobalOptions,
  source: string,
  keys: readonly string[],
  o: RecordsOptions,
): Promise<number> {
  const outcome = await pushRecords(workspaceOf(g), { source, remove: keys, origin: 'tenure records remove' });
  return finish(io, g, outcome, o);
}

async function finish(io: Io, g: GlobalOptions, outcome: PushOutcome, o: RecordsOptions): Promise<number> {
  const stopped = outcome.outcome === 'stopped';
  if (g.json && !o.apply) io.out(toJson({ ok: !stopped, ...outcome }));
  else if (!g.json) {
    if (stopped) io.err(`source ${outcome.source}: STOPPED, nothing recorded. ${outcome.reason}`);
    else {
      const counts =
        EVENT_KINDS.filter((k) => outcome.counts[k])
          .map((k) => `${outcome.counts[k]} ${k}`)
          .join(', ') || 'no events';
      io.out(`source ${outcome.source}: ${outcome.changed} new or changed, ${outcome.removed} gone; ${counts}`);
      for (const e of outcome.events.slice(0, o.limit ?? 20)) io.out(`  ${e.kind.padEnd(21)} ${e.summary}`);
    }
  }
  if (stopped) return EXIT.stopped;
  if (!o.apply) return EXIT.ok;
  if (g.json) io.out(JSON.stringify({ type: 'pushed', ...outcome }));
  return applyCommand(io, g, undefined, {
    identity: outcome.identities,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  });
}

function readRecords(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not JSON: ${(e as Error).message}`, EXIT.invalid);
  }
  const records = Array.isArray(raw) ? raw : (raw as { records?: unknown } | null)?.records;
  if (!Array.isArray(records))
    throw new UserError(`${file}: expected a JSON array of records, or {"records": [...]}`, EXIT.invalid);
  return records;
}
