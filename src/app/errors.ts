import type { Diagnostic } from '../model/diagnostic.js';

/** Exit codes are a contract (DESIGN.md): scripts depend on them. */
export const EXIT = { ok: 0, invalid: 1, usage: 2, stopped: 3, applyFailed: 4, interrupted: 130 } as const;

/** A problem the user must fix, carried to the command's edge and printed without a stack trace. */
export type UserErrorCode =
  | 'guardrail.held'
  | 'plan.stale'
  | 'plan.edited'
  | 'target.busy'
  | 'store.busy'
  | 'not_found'
  | 'policy.invalid'
  | 'policy.mismatch';

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.invalid,
    readonly diagnostics: readonly Diagnostic[] = [],
    readonly hint?: string,
    /**
     * What kind of refusal, for callers that answer in codes rather than exit codes (the service): `guardrail.held`,
     * `plan.stale`, `plan.edited`, `target.busy`, `store.busy`, `not_found`. Absent: invalid input.
     */
    readonly code?: UserErrorCode,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
