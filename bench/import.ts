// `tenure import` of a 100,000-row HR feed into an empty store, then a re-import with 1% of
// the rows changed, checking that exactly the expected events are recorded.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse/sync';
import { spawnSync } from 'node:child_process';
import { Engine } from '../src/engine/engine.js';
import { emit, loadOrganisation } from './load-organisation.js';
import { createDatabase, startPostgres } from '../test/support/postgres-server.js';

const [orgDir, backend] = process.argv.slice(2) as [string, 'sqlite' | 'postgres'];
const work = mkdtempSync(join(tmpdir(), 'tenure-bench-import-'));
for (const f of ['tenure.yaml', 'hr.csv', 'nhi.json']) copyFileSync(join(orgDir, f), join(work, f));
mkdirSync(join(work, 'actual'), { recursive: true });

const server = backend === 'postgres' ? await startPostgres() : undefined;
const state = server ? await createDatabase(server) : join(work, 'state.db');

interface Outcome {
  sources: { source: string; events: { kind: string; identity: string }[] }[];
}
function tenure(args: string[]): string {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/bin.ts', '-c', join(work, 'tenure.yaml'), '--state', state, ...args],
    {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`tenure ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Runs `tenure import` as a user does, in its own process, timed from start to exit; then reads the events it recorded. */
function runImport(asOf: string): { ms: number; outcome: Outcome } {
  const started = performance.now();
  tenure(['--as-of', asOf, 'import', '--limit', '0']);
  const ms = performance.now() - started;
  const { events } = JSON.parse(tenure(['--json', 'events', '--since', asOf])) as {
    events: { kind: string; identity: string; source: string }[];
  };
  const sources = [...new Set(events.map((e) => e.source))].map((source) => ({
    source,
    events: events.filter((e) => e.source === source),
  }));
  return { ms, outcome: { sources } };
}

const first = runImport('2026-11-01');
const hrRows = first.outcome.sources.find((s) => s.source === 'hr')!;
emit(`import_first_100k_${backend}`, Math.round(first.ms), 'ms', backend === 'sqlite' ? '<= 20000' : undefined);
emit(`import_first_100k_${backend}_events`, hrRows.events.length, 'events');

// Change 1% of the rows: 300 active people terminated, 400 moved to another department, and
// 300 new people appended. The expected movers are those whose grants change, computed here
// with the engine directly.
const text = readFileSync(join(work, 'hr.csv'), 'utf8');
const records: Record<string, string>[] = parse(text, { columns: true, bom: true });
const header = Object.keys(records[0]!);
const departments = [...new Set(records.map((r) => r.department!))].sort();
const active = records.filter((r) => r.status === 'Active');
const terminated = new Set(active.slice(0, 300).map((r) => r.employee_id!));
const moved = new Map(
  active
    .slice(300, 700)
    .map((r, i) => [
      r.employee_id!,
      departments[(departments.indexOf(r.department!) + 1 + (i % 3)) % departments.length]!,
    ]),
);
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const lines = [header.join(',')];
for (const r of records) {
  const copy = { ...r };
  if (terminated.has(r.employee_id!)) {
    copy.status = 'Terminated';
    copy.end_date = '2026-11-02';
  }
  if (moved.has(r.employee_id!)) copy.department = moved.get(r.employee_id!)!;
  lines.push(header.map((h) => quote(copy[h] ?? '')).join(','));
}
const template = active[700]!;
for (let i = 0; i < 300; i++)
  lines.push(
    header
      .map((h) =>
        quote(
          h === 'employee_id'
            ? `N${String(i).padStart(6, '0')}`
            : h === 'manager_id'
              ? template.employee_id!
              : (template[h] ?? ''),
        ),
      )
      .join(','),
  );
writeFileSync(join(work, 'hr.csv'), lines.join('\n') + '\n');

const asOf2 = new Date('2026-11-02T00:00:00Z');
const after = loadOrganisation(work);
const engine = new Engine(after.loaded);
const beforeById = new Map(loadOrganisation(orgDir).identities.map((i) => [i.id, i]));
let expectedMovers = 0;
for (const i of after.identities) {
  if (!moved.has(i.id)) continue;
  const grants = (x: typeof i) =>
    engine
      .identityAccess(x, asOf2)
      .grants.map((g) => g.entitlement)
      .join('|');
  if (grants(i) !== grants(beforeById.get(i.id)!)) expectedMovers++;
}

const second = runImport('2026-11-02');
const hr2 = second.outcome.sources.find((s) => s.source === 'hr')!;
const count = (kind: string) => hr2.events.filter((e) => e.kind === kind).length;
const exact = count('leaver') === 300 && count('joiner') === 300 && count('mover') === expectedMovers;
emit(`import_reimport_1pct_${backend}`, Math.round(second.ms), 'ms', backend === 'sqlite' ? '<= 10000' : undefined);
emit(`import_reimport_1pct_${backend}_events_as_expected`, exact ? 1 : 0, 'bool', '= 1');
if (!exact) {
  process.stderr.write(
    `unexpected events: leaver ${count('leaver')}/300, joiner ${count('joiner')}/300, mover ${count('mover')}/${expectedMovers}; all kinds: ${JSON.stringify(Object.fromEntries([...new Set(hr2.events.map((e) => e.kind))].map((k) => [k, count(k)])))}\n`,
  );
}
await server?.stop();
