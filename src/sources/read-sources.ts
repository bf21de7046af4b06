import path from 'node:path';
import type { Checked, Diagnostic } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import type { Policy } from '../model/policy.js';
import { recordLabel } from './raw-record.js';
import { capped, readSourceDetail } from './read-source.js';
import type { ReadSourceOptions, SourceRead, SourceReadDetail } from './read-source.js';

export interface SourcesRead {
  /** Every identity of every source, sources in policy order, each in feed order; ids are unique. */
  readonly identities: readonly Identity[];
  readonly reads: readonly SourceRead[];
}

/**
 * Reads every source of a policy (relative paths from the policy file's folder). An id that two
 * sources both provide is an error: which feed owns the identity would be a guess. The first
 * source's identity is kept in `identities` so the list stays unique.
 */
export interface ReadSourcesOptions extends ReadSourceOptions {
  /** Warn about managers no source has (validate does; import leaves it to validate). */
  readonly checkManagers?: boolean;
}

export function readSources(policy: Policy, options: ReadSourcesOptions): Checked<SourcesRead> {
  const baseDir = path.dirname(policy.file);
  const diagnostics: Diagnostic[] = [];
  const details: SourceReadDetail[] = [];
  for (const def of policy.sources) {
    const read = readSourceDetail(def, baseDir, options);
    details.push(read.result);
    for (const d of read.diagnostics) diagnostics.push(d);
  }

  const owner = new Map<string, { readonly detail: SourceReadDetail; readonly index: number }>();
  const identities: Identity[] = [];
  const duplicates: Diagnostic[] = [];
  for (const detail of details) {
    const list = detail.read.identities;
    for (let i = 0; i < list.length; i++) {
      const identity = list[i]!;
      const first = owner.get(identity.id);
      if (first === undefined) {
        owner.set(identity.id, { detail, index: i });
        identities.push(identity);
        continue;
      }
      duplicates.push({
        severity: 'error',
        code: 'source.duplicate_identity',
        message:
          `identity "${identity.id}" comes from two sources: "${first.detail.read.source}" ` +
          `(${where(first.detail, first.index)}) and "${detail.read.source}" (${where(detail, i)})`,
        hint: 'An identity belongs to one source: remove it from one feed, or give the feeds distinct keys (a prefix, for example).',
        position: { file: detail.file, line: detail.lines[i]! },
        subject: identity.id,
      });
    }
  }
  for (const d of capped(duplicates, 'sources', 'error')) diagnostics.push(d);
  if (options.checkManagers) for (const d of unknownManagers(details)) diagnostics.push(d);
  return { result: { identities, reads: details.map((d) => d.read) }, diagnostics };
}

function where(detail: SourceReadDetail, index: number): string {
  return `${detail.file} ${recordLabel(detail.format, detail.rows[index]!)}`;
}

/** Examples named per source in an unknown-manager warning. */
const MANAGER_EXAMPLES = 3;

/**
 * Identities whose manager is no identity of any source: one warning per source, with the count
 * and the first few, where they are. Not an error (a manager outside every feed is common in a
 * partial export), but hand-overs to a manager and manager reviews cannot reach them. Skipped
 * when a feed was refused: its identities are unknown, not absent.
 */
function unknownManagers(details: readonly SourceReadDetail[]): Diagnostic[] {
  if (details.some((d) => d.read.identities.length === 0 && d.read.rows > 0)) return [];
  const known = new Set<string>();
  for (const d of details) {
    for (const identity of d.read.identities) known.add(identity.id);
    for (const key of d.read.skippedKeys) known.add(key);
  }
  const out: Diagnostic[] = [];
  for (const detail of details) {
    const missing: number[] = [];
    const list = detail.read.identities;
    for (let i = 0; i < list.length; i++) {
      const manager = list[i]!.manager;
      if (manager !== undefined && !known.has(manager)) missing.push(i);
    }
    if (missing.length === 0) continue;
    const examples = missing
      .slice(0, MANAGER_EXAMPLES)
      .map((i) => `"${list[i]!.manager}" (${recordLabel(detail.format, detail.rows[i]!)}, ${list[i]!.id})`);
    const more = missing.length > MANAGER_EXAMPLES ? `, and ${missing.length - MANAGER_EXAMPLES} more` : '';
    const n = missing.length;
    out.push({
      severity: 'warning',
      code: 'source.unknown_manager',
      message: `source "${detail.read.source}": ${n} ${n === 1 ? 'identity names a manager' : 'identities name managers'} that no source has: ${examples.join(', ')}${more}`,
      hint: "Check the manager ids in the feed, or add the managers' feed as a source: hand-overs to a manager (policies.non_human.on_owner_leaving) and manager:ID reviews cannot reach a manager Tenure does not know.",
      position: { file: detail.file, line: detail.lines[missing[0]!]! },
    });
  }
  return out;
}
