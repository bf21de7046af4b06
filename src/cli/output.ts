import { writeFileSync } from 'node:fs';
import { UserError } from '../app/errors.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { formatPosition } from '../model/diagnostic.js';

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether stdout is a terminal (colour, progress). */
  readonly tty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  tty: Boolean(process.stdout.isTTY),
};

/** JSON that keeps Tenure's values readable: dates as ISO text, ints as numbers when safe. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === 'bigint')
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
      return v;
    },
    2,
  );
}

/** `file:line:col: error: message` then the hint, indented: what an editor or CI can annotate. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.position ? `${formatPosition(d.position)}: ` : d.subject ? `${d.subject}: ` : '';
  return `${where}${d.severity}: ${d.message}${d.hint ? `\n    hint: ${d.hint}` : ''}`;
}

export function printDiagnostics(io: Io, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.err(formatDiagnostic(d));
}

export { EXIT, UserError } from '../app/errors.js';

/**
 * Writes a file the user named (`--out`): a folder that does not exist or a file that cannot be
 * written is theirs to fix, said in one line with exit 1, never an unexpected error.
 */
export function writeOutput(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UserError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
