import type { Diagnostic } from '../model/diagnostic.js';

/** Exit codes are a contract (DESIGN.md): scripts depend on them. */
export const EXIT = { ok: 0, invalid: 1, usage: 2, stopped: 3, applyFailed: 4, interrupted: 130 } as const;

/** A problem the user must fix, carried to the command's edge and printed without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.invalid,
    readonly diagnostics: readonly Diagnostic[] = [],
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
