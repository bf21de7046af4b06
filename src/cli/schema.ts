import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { policySchemaText } from '../app/schema.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

export interface SchemaOptions {
  readonly out?: string;
}

/**
 * `tenure schema [--out FILE]`: the JSON Schema of tenure.yaml, for editors (yaml-language-server's
 * `# yaml-language-server: $schema=...` comment) and CI; `--out` writes the checked-in copy,
 * schema/tenure.schema.json.
 */
export function schemaCommand(io: Io, g: GlobalOptions, options: SchemaOptions): number {
  const text = policySchemaText();
  if (options.out === undefined) {
    io.out(text.trimEnd());
    return EXIT.ok;
  }
  try {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, text);
  } catch (e) {
    throw new UserError(`cannot write ${options.out}: ${(e as Error).message}`, EXIT.invalid);
  }
  if (g.json) io.out(toJson({ ok: true, out: options.out }));
  else io.out(`JSON Schema of tenure.yaml written to ${options.out}`);
  return EXIT.ok;
}
