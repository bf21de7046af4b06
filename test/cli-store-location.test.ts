import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { folder } from './cli-harness.js';
import { hr, people, policy } from './org-fixture.js';

// The store belongs to the policy, not to the folder a command is run from: run from anywhere,
// a command finds the same store, and a command that only reads never creates one.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = import.meta.resolve('tsx');

function runIn(cwd: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.TENURE_DATABASE_URL;
  const r = spawnSync(process.execPath, ['--import', tsx, join(repo, 'src/cli/bin.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const elsewhere = (): string => mkdtempSync(join(tmpdir(), 'tenure-cwd-'));

describe('the store belongs to the policy', () => {
  it('is next to the policy file whatever the working directory, and found again from another one', () => {
    const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr(people(3)) });
    const a = elsewhere();
    const imported = runIn(a, '-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01', 'import');
    assert.equal(imported.code, 0, imported.stderr);
    assert.ok(existsSync(join(dir, '.tenure', 'state.db')), 'the store is next to the policy');
    assert.deepEqual(readdirSync(a), [], 'nothing is written where the command ran');
    const status = runIn(elsewhere(), '-c', join(dir, 'tenure.yaml'), '--json', 'status');
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { identities: number }).identities, 3);
  });

  it('honours state: in the policy, relative to the policy file', () => {
    const dir = folder({ 'tenure.yaml': `${policy}state: data/tenure.db\n`, 'hr.csv': hr(people(2)) });
    const r = runIn(elsewhere(), '-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01', 'import');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'data', 'tenure.db')));
    assert.equal(existsSync(join(dir, '.tenure')), false);
  });

  it('is never created by a command that only reads: those that need it say where they looked', () => {
    const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr(people(3)) });
    for (const command of [['status'], ['events'], ['audit', 'verify'], ['grant', 'list'], ['review', 'status']]) {
      const r = runIn(elsewhere(), '-c', join(dir, 'tenure.yaml'), ...command);
      assert.equal(r.code, 1, `${command.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /no state store at .*\.tenure\/state\.db/, command.join(' '));
    }
    // Those that can work from the feeds do so, still without creating one.
    for (const command of [['plan'], ['why', 'E001'], ['lint'], ['who-has', 'directory:group/staff']]) {
      const r = runIn(elsewhere(), '-c', join(dir, 'tenure.yaml'), '--as-of', '2026-11-01', ...command);
      assert.equal(r.code, 0, `${command.join(' ')}: ${r.stderr}`);
    }
    assert.equal(existsSync(join(dir, '.tenure')), false, 'no store was created');
  });
});
