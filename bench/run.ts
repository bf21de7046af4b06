// `npm run bench`: Tenure's figures, each measured in its own child process so peak memory is
// the benchmark's own. `npm run bench -- --json` prints one JSON object a line: name, value, unit.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateOrganisation } from '../src/demo/generate-organisation.js';

const here = dirname(fileURLToPath(import.meta.url));
const json = process.argv.includes('--json');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const asOf = new Date('2026-11-01T00:00:00Z');

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
}

/** Writes a generated organisation once per size and seed; later runs reuse it. */
function organisation(people: number, roles: number, seed: number): string {
  const dir = join(here, 'out', `org-${people}x${roles}-s${seed}`);
  if (!existsSync(join(dir, 'tenure.yaml'))) {
    const org = generateOrganisation({ people, roles, seed, asOf });
    for (const [path, text] of Object.entries(org.files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  }
  return dir;
}

function child(script: string, args: string[]): Figure[] {
  // The same young-generation size the tenure command sets for itself (src/cli/bin.ts).
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--expose-gc', '--max-semi-space-size=64', join(here, script), ...args],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Figure);
}

const suites: { name: string; run: () => Figure[] }[] = [
  {
    name: 'generate',
    run: () => child('generate.ts', []),
  },
  {
    name: 'desired-state',
    run: () => {
      const dir = organisation(100_000, 1_000, 42);
      return [
        ...child('desired-state.ts', [dir, 'indexed']),
        ...child('desired-state.ts', [dir, 'naive']),
        ...child('identity-recompute.ts', [dir]),
      ];
    },
  },
  {
    name: 'lint',
    run: () => child('lint.ts', [organisation(100_000, 1_000, 42)]),
  },
  {
    name: 'impact',
    run: () => child('impact.ts', [organisation(100_000, 1_000, 42)]),
  },
  {
    name: 'drift',
    run: () => child('drift.ts', [organisation(100_000, 1_000, 42)]),
  },
  {
    name: 'import',
    run: () => {
      const dir = organisation(100_000, 1_000, 42);
      return [...child('import.ts', [dir, 'sqlite']), ...child('import.ts', [dir, 'postgres'])];
    },
  },
  {
    name: 'targets-check',
    // The acme example's three targets plus one slapd and one PostgreSQL (docs/benchmarks.md).
    run: () => child('targets-check.ts', []),
  },
  {
    name: 'executor',
    // SCIM operations per run, LDAP operations, journalled operations (see docs/benchmarks.md).
    run: () => child('executor.ts', ['10000,5000,2000']),
  },
  {
    name: 'postgres',
    // Roles created per run, each with one membership (see docs/benchmarks.md); --raw-first reverses the order.
    run: () => child('postgres.ts', ['2000', ...(process.argv.includes('--raw-first') ? ['--raw-first'] : [])]),
  },
  {
    name: 'active-directory',
    // Accounts created per run, each added to one group, on a Samba DC (see docs/benchmarks.md); --raw-first reverses
    // the order, --many adds a raw loop on one connection per request in flight.
    run: () =>
      child('active-directory.ts', ['2000', ...['--raw-first', '--many'].filter((f) => process.argv.includes(f))]),
  },
];

const figures: Figure[] = [];
for (const suite of suites) {
  if (only && suite.name !== only) continue;
  if (!json) process.stderr.write(`running ${suite.name} ...\n`);
  for (const f of suite.run()) {
    figures.push(f);
    if (json) process.stdout.write(JSON.stringify(f) + '\n');
    else
      process.stdout.write(
        `${f.name.padEnd(48)} ${String(f.value).padStart(12)} ${f.unit}${f.target ? `   (target: ${f.target})` : ''}\n`,
      );
  }
}
// Derived figures: ratios of two measurements taken in this same run.
const ratio = (name: string, numerator: string, denominator: string, target: string): void => {
  const a = figures.find((f) => f.name === numerator);
  const b = figures.find((f) => f.name === denominator);
  if (!a || !b) return;
  const f: Figure = { name, value: Math.round((a.value / b.value) * 100) / 100, unit: 'x', target };
  if (json) process.stdout.write(JSON.stringify(f) + '\n');
  else process.stdout.write(`${f.name.padEnd(48)} ${String(f.value).padStart(12)} ${f.unit}   (target: ${f.target})\n`);
};
ratio('desired_state_index_speedup', 'desired_state_100k_x_1k_naive', 'desired_state_100k_x_1k_indexed', '>= 10');
ratio('import_first_postgres_vs_sqlite', 'import_first_100k_postgres', 'import_first_100k_sqlite', '<= 2');
ratio('import_reimport_postgres_vs_sqlite', 'import_reimport_1pct_postgres', 'import_reimport_1pct_sqlite', '<= 2');
