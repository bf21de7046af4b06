import { validateWithStore } from '../app/validate.js';
import { workspaceOf } from '../app/workspace.js';
import { EXIT, printDiagnostics, toJson, type Io } from './output.js';
import type { GlobalOptions } from './global-options.js';

/** `tenure validate`: the policy and every source, all problems at once. */
export async function validateCommand(io: Io, g: GlobalOptions, options: { skipInvalid?: boolean }): Promise<number> {
  const v = await validateWithStore(workspaceOf(g), { skipInvalid: options.skipInvalid ?? false });
  if (g.json) {
    io.out(toJson({ ok: v.ok, diagnostics: v.diagnostics, policy: v.policy, sources: v.sources }));
    return v.ok ? EXIT.ok : EXIT.invalid;
  }
  printDiagnostics(io, v.diagnostics);
  if (!v.ok || !v.policy) {
    const errors = v.diagnostics.filter((d) => d.severity === 'error').length;
    io.err(`\n${errors} error(s). Nothing was changed.`);
    return EXIT.invalid;
  }
  const s = v.policy;
  io.out(
    `${g.config}: valid — ${s.roles} roles, ${s.entitlements} entitlements, ${s.targets} targets, ${s.rules} rules compiled.`,
  );
  for (const src of v.sources) {
    io.out(
      `source ${src.id}: ${src.identities} identities from ${src.rows} rows${src.skipped > 0 ? ` (${src.skipped} skipped)` : ''}`,
    );
  }
  return EXIT.ok;
}
