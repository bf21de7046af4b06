import type { FindingSeverity } from '../model/finding.js';

/** The last line of a report run with `--fail-on`: whether it fails, and why. */
export function failOnVerdict(failOn: FindingSeverity, failing: number): string {
  return failing > 0
    ? `${failing} finding(s) at or above ${failOn}: failing (--fail-on ${failOn}).`
    : `nothing at or above ${failOn}: passing (--fail-on ${failOn}).`;
}
