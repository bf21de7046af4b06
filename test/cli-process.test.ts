import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder } from './cli-harness.js';

// The real process, as a shell or a CI job runs it: exit codes, streams, no stack traces.
function run(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the tenure process', () => {
  it('exits 1 with a positioned message and no stack trace on a bad policy', () => {
    const dir = folder({
      'tenure.yaml': 'version: 1\nroles:\n  - id: a\n    inherits: [b]\n  - id: b\n    inherits: [a]\n',
    });
    const r = run('-c', join(dir, 'tenure.yaml'), 'validate');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tenure\.yaml:4:15: error: role inheritance forms a cycle: a → b → a/);
    assert.doesNotMatch(r.stderr, /\bat .+\(.+:\d+:\d+\)/);
    assert.equal(r.stdout, '');
  });

  it('prints exactly one JSON document on stdout with --json', () => {
    // Its own store: never the one the README's tour leaves in the working tree.
    const state = join(folder({}), 'state.db');
    const r = run(
      '-c',
      'examples/acme/tenure.yaml',
      '--state',
      state,
      '--as-of',
      '2026-11-01',
      '--json',
      'why',
      'E000047',
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      identity: string;
      grants: { entitlement: string; provenance: { chain: string[]; rule: string }[] }[];
    };
    assert.equal(doc.identity, 'E000047');
    const github = doc.grants.find((g) => g.entitlement === 'apps:role/github-user')!;
    assert.deepEqual(
      github.provenance.map((p) => p.chain),
      [
        ['engineer', 'developer-tools'],
        ['senior-engineer', 'engineer', 'developer-tools'],
      ],
    );
  });

  it('exits 2 on a usage error', () => {
    const r = run('who-has');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing required argument 'entitlement'/);
  });
});
