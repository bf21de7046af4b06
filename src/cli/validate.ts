import { workspaceOf } from '../app/workspace.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { hasErrors } from '../model/diagnostic.js';
import { unknownConnectionKeys } from '../connectors/open-connector.js';
import { loadPolicy } from '../policy/load-policy.js';
import { didYouMean } from '../policy/suggest.js';
import { readSources } from '../sources/read-sources.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT, printDiagnostics, toJson, UserError, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

/** `tenure validate`: the policy and every source, all problems at once. */
export function validateCommand(io: Io, g: GlobalOptions, options: { skipInvalid?: boolean }): number {
  let text: string;
  try {
    text = readFileSync(resolve(g.config), 'utf8');
  } catch {
    throw new UserError(
      `policy file not found: ${g.config}`,
      EXIT.invalid,
      [],
      'pass -c PATH, or run in a folder with tenure.yaml',
    );
  }
  const loaded = loadPolicy(text, g.config);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics];
  const sources: { id: string; rows: number; identities: number; skipped: number }[] = [];
  if (loaded.result) {
    const policy = { ...loaded.result.policy, file: resolve(g.config) };
    // A connection key the target's kind does not read is a typo, reported here before any run.
    for (const t of policy.targets)
      for (const { key, known } of unknownConnectionKeys(t))
        diagnostics.push({
          severity: 'error',
          code: 'policy.unknown_connection_key',
          message: `target "${t.id}": connection.${key} is not a setting of a ${t.kind} target`,
          hint: didYouMean(key, known) ?? `its settings are ${known.join(', ')} (docs/connectors.md)`,
          position: t.position,
          subject: t.id,
        });
    const r = readSources(policy, { skipInvalid: options.skipInvalid ?? false, now: workspaceOf(g).asOf });
    diagnostics.push(...r.diagnostics);
    for (const read of r.result.reads)
      sources.push({ id: read.source, rows: read.rows, identities: read.identities.length, skipped: read.skipped });
  }
  const ok = !hasErrors(diagnostics);
  if (g.json) {
    io.out(toJson({ ok, diagnostics, policy: loaded.result ? summary(loaded.result.policy) : undefined, sources }));
    return ok ? EXIT.ok : EXIT.invalid;
  }
  printDiagnostics(io, diagnostics);
  if (!ok) {
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    io.err(`\n${errors} error(s). Nothing was changed.`);
    return EXIT.invalid;
  }
  const p = loaded.result!.policy;
  const s = summary(p);
  io.out(
    `${g.config}: valid — ${s.roles} roles, ${s.entitlements} entitlements, ${s.targets} targets, ${s.rules} rules compiled.`,
  );
  for (const src of sources) {
    io.out(
      `source ${src.id}: ${src.identities} identities from ${src.rows} rows${src.skipped > 0 ? ` (${src.skipped} skipped)` : ''}`,
    );
  }
  return EXIT.ok;
}

function summary(p: {
  roles: readonly { when?: string }[];
  entitlements: readonly unknown[];
  targets: readonly unknown[];
  sources: readonly unknown[];
}) {
  return {
    roles: p.roles.length,
    entitlements: p.entitlements.length,
    targets: p.targets.length,
    sources: p.sources.length,
    rules: p.roles.filter((r) => r.when !== undefined).length,
  };
}
