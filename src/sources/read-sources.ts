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
export function readSources(policy: Policy, options: ReadSourceOptions): Checked<SourcesRead> {
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
  return { result: { identities, reads: details.map((d) => d.read) }, diagnostics };
}

function where(detail: SourceReadDetail, index: number): string {
  return `${detail.file} ${recordLabel(detail.format, detail.rows[index]!)}`;
}
