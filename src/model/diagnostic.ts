/** Diagnostics are values, not exceptions (DESIGN.md, after Terraform's tfdiags). */
export type Severity = 'error' | 'warning' | 'info';

/** Where a diagnostic points: a position in an input file, or a subject of the engine's output. */
export interface SourcePosition {
  readonly file: string;
  /** 1-based; absent when the problem concerns the whole file. */
  readonly line?: number;
  /** 1-based. */
  readonly column?: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable, dotted code for scripts: `policy.unknown_key`, `source.duplicate_key` ... */
  readonly code: string;
  readonly message: string;
  /** What the user can do about it. */
  readonly hint?: string;
  readonly position?: SourcePosition;
  /** An identity id, an entitlement address or a role id, for engine output. */
  readonly subject?: string;
}

/** The result of any step that can find problems in its input. */
export interface Checked<T> {
  readonly result: T;
  readonly diagnostics: readonly Diagnostic[];
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** `file:line:col: severity: message` — the form editors and CI annotate. */
export function formatPosition(p: SourcePosition): string {
  if (p.line === undefined) return p.file;
  return p.column === undefined ? `${p.file}:${p.line}` : `${p.file}:${p.line}:${p.column}`;
}
