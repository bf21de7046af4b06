import { FINDING_SEVERITIES, type FindingSeverity } from '../model/finding.js';
import { EXIT, UserError } from './output.js';

/** `--fail-on SEVERITY` of the commands that report findings (lint, drift). */
export function parseFailOn(text: string | undefined): FindingSeverity | undefined {
  if (text === undefined) return undefined;
  const s = (FINDING_SEVERITIES as readonly string[]).find((x) => x === text.toLowerCase());
  if (s === undefined)
    throw new UserError(
      `--fail-on ${text} is not a severity`,
      EXIT.usage,
      [],
      `use one of ${FINDING_SEVERITIES.join(', ')} (lowest first)`,
    );
  return s as FindingSeverity;
}

/** `--limit N`: findings shown per group. */
export function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(`--limit ${text} is not a positive whole number`, EXIT.usage, [], 'for example --limit 50');
  return n;
}

/** The last line of a report run with `--fail-on`: whether it fails, and why. */
export function failOnVerdict(failOn: FindingSeverity, failing: number): string {
  return failing > 0
    ? `${failing} finding(s) at or above ${failOn}: failing (--fail-on ${failOn}).`
    : `nothing at or above ${failOn}: passing (--fail-on ${failOn}).`;
}
