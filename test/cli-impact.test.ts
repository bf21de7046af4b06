import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

// `tenure impact` end to end: a base policy from a file and from git refs, against the feed of a
// small organisation, with what a reviewer reads in the pull-request comment.
const policy = `version: 1
name: Impact example
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: employee_id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    attributes:
      department: { field: department, type: string, required: true }
      title: { field: title, type: string }
targets:
  - id: directory
    kind: memory
  - id: apps
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/engineering
  - id: apps:role/erp-create
    risk: high
  - id: apps:role/erp-approve
    risk: critical
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: engineer
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
  - id: payments-clerk
    when: identity.department == "Finance"
    grants: [apps:role/erp-create]
  - id: payments-approver
    when: identity.title == "Finance Manager"
    grants: [apps:role/erp-approve]
policies:
  separation_of_duties:
    - id: create-approve
      conflicting: [apps:role/erp-create, apps:role/erp-approve]
      severity: critical
  guardrails:
    deprovision: { max_percent: 30, min_count: 2, max_count: 100 }
`;
const csv = `employee_id,department,title,status
E1,Engineering,Senior Developer,Active
E2,Engineering,Developer,Active
E3,Sales,Account Executive,Active
E4,Finance,Accountant,Active
E5,Research,Scientist,Active
E6,Finance,Controller,Active
E7,Engineering,Developer,Terminated
`;
// The change under review: research joins engineering.
const widened = policy.replace(
  'when: identity.department == "Engineering"',
  'when: identity.department in ["Engineering", "Research"]',
);

function org(files: Record<string, string> = {}): { dir: string; args: string[] } {
  const dir = folder({ 'tenure.yaml': widened, 'base.yaml': policy, 'hr.csv': csv, ...files });
  return {
    dir,
    args: ['-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-01'],
  };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.org', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  );
}

describe('tenure impact', () => {
  it('compares with a base policy file: who gains what, per role, entitlement and target', async () => {
    const { dir, args } = org();
    const r = await tenure(...args, 'impact', '--base', join(dir, 'base.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1 identity affected: 1 gain access, 0 lose access; 1 grant added, 0 removed/m);
    assert.match(r.stdout, /^ {2}engineer \(rule\): \+1 \/ -0\n {4}gain: E5$/m);
    assert.match(r.stdout, /^ {2}directory:group\/engineering \[low\]: \+1 \/ -0\n {4}gain: E5$/m);
    assert.match(r.stdout, /^ {2}directory: 6 → 6 with access; \+1 \/ -0 grant\(s\) for 1 identity$/m);
    // Only E5 is matched by the new rule and not the old one: nobody else was recomputed.
    assert.match(r.stdout, /Recomputed 1 of 7 identities \(incremental: /);
  });

  it('writes a pull-request comment in Markdown and one JSON document for scripts', async () => {
    const { dir, args } = org();
    const m = await tenure(...args, 'impact', '--base', join(dir, 'base.yaml'), '--format', 'markdown');
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /^### Tenure impact — Impact example$/m);
    assert.match(m.stdout, /^\| directory \| 6 \| 6 \| 1 \| 0 \| 1 \| ok \(0 lose access\) \|$/m);
    assert.match(m.stdout, /^\| `engineer` \| rule \| 1: E5 \| {2}\|$/m);
    assert.doesNotMatch(m.stdout, /WARNING/);
    const j = await tenure(...args, '--json', 'impact', '--base', join(dir, 'base.yaml'));
    assert.equal(j.code, 0);
    const doc = JSON.parse(j.stdout) as { base: string; impact: { summary: { grantsAdded: number } } };
    assert.equal(doc.base, join(dir, 'base.yaml'));
    assert.equal(doc.impact.summary.grantsAdded, 1);
  });

  it('compares with git refs of the policy file, in a folder of the repository', async () => {
    const repo = folder({ 'policy/tenure.yaml': policy, 'policy/hr.csv': csv });
    git(repo, 'init', '--quiet');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'the policy');
    writeFileSync(join(repo, 'policy/tenure.yaml'), widened);
    const args = ['-c', join(repo, 'policy/tenure.yaml'), '--state', join(repo, 'state.db'), '--as-of', '2026-11-01'];
    // The working copy against the last commit ...
    const head = await tenure(...args, 'impact', '--base', 'HEAD', '--format', 'markdown');
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.stdout, /^Compared with `HEAD:policy\/tenure\.yaml` as of /m);
    assert.match(head.stdout, /\| `directory:group\/engineering` \| low \| 1: E5 \|/);
    // ... and, once committed, a commit against the one before it.
    git(repo, 'commit', '--quiet', '-am', 'research joins engineering');
    const previous = await tenure(...args, 'impact', '--base', 'HEAD~1');
    assert.equal(previous.code, 0, previous.stderr);
    assert.match(previous.stdout, /^ {2}engineer \(rule\): \+1 \/ -0$/m);
    const same = await tenure(...args, 'impact', '--base', 'HEAD');
    assert.match(same.stdout, /^Nobody gains or loses access \(0 roles changed\)\.$/m);
  });

  it('exits 3 and warns first when the change would trip the deprovisioning breaker', async () => {
    // staff narrowed to engineers: E3, E4, E5 and E6 lose the directory, 4 of 6.
    const { dir, args } = org({
      'tenure.yaml': policy.replace(
        'when: identity.kind == "employee"',
        'when: identity.kind == "employee" && identity.department == "Engineering"',
      ),
    });
    const r = await tenure(...args, 'impact', '--base', join(dir, 'base.yaml'), '--format', 'markdown');
    assert.equal(r.code, 3, r.stderr);
    const lines = r.stdout.split('\n');
    const warning = lines.indexOf('> [!WARNING]');
    assert.ok(warning > 0 && warning < lines.findIndex((l) => l.startsWith('| target')), r.stdout);
    assert.match(
      r.stdout,
      /> - deprovisioning breaker on directory: 4 of 6 account\(s\) in directory \(67%\) would lose access at once/,
    );
    assert.match(r.stdout, /^\| directory \| 6 \| 2 \| 0 \| 4 \| 4 \| \*\*trips\*\* \|$/m);
  });

  it('exits 3 when the change would break separation of duties, naming who and which rule', async () => {
    const { dir, args } = org({
      'tenure.yaml': policy.replace(
        'when: identity.title == "Finance Manager"',
        'when: identity.title == "Controller"',
      ),
    });
    const r = await tenure(...args, 'impact', '--base', join(dir, 'base.yaml'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stdout,
      /separation of duties: E6 would hold apps:role\/erp-create and apps:role\/erp-approve \(rule create-approve, critical\)/,
    );
    assert.match(r.stdout, /^High or critical grants added:\n {2}E6: apps:role\/erp-approve \[critical\]$/m);
  });

  it('refuses a base reference that does not exist, clearly, and changes nothing', async () => {
    const repo = folder({ 'tenure.yaml': policy, 'hr.csv': csv });
    git(repo, 'init', '--quiet');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'the policy');
    const args = ['-c', join(repo, 'tenure.yaml'), '--state', join(repo, 'state.db')];
    const r = await tenure(...args, 'impact', '--base', 'no-such-branch');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^tenure: --base no-such-branch: there is no such file, and no commit, branch or tag of that name exists in /m,
    );
    assert.match(r.stderr, /hint: pass a policy file, or a git commit, branch or tag/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(existsSync(join(repo, 'state.db')), false);
    assert.equal(readFileSync(join(repo, 'tenure.yaml'), 'utf8'), policy);
    assert.equal(git(repo, 'status', '--porcelain'), '');
    // Outside a repository, and as an option-like name git must never see as an option.
    const { args: plain } = org();
    const outside = await tenure(...plain, 'impact', '--base', 'main');
    assert.equal(outside.code, 1);
    assert.match(
      outside.stderr,
      /--base main: there is no such file, and the policy's folder .* is not in a git repository/,
    );
    const option = await tenure(...args, 'impact', '--base=--output=x');
    assert.equal(option.code, 1);
    assert.match(option.stderr, /--base --output=x: there is no such file, and it is not a git ref/);
    const json = await tenure(...args, '--json', 'impact', '--base', 'no-such-branch');
    assert.equal(json.code, 1);
    assert.match((JSON.parse(json.stdout) as { error: string }).error, /no commit, branch or tag/);
  });

  it('reports an invalid base policy with its diagnostics, and a file missing at the ref', async () => {
    const { dir, args } = org({ 'base.yaml': policy.replace('identity.kind == "employee"', 'identity.dept == "x"') });
    const r = await tenure(...args, 'impact', '--base', join(dir, 'base.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /base\.yaml:\d+:\d+: error: role "staff": identity has no attribute "dept"/);
    assert.match(r.stderr, /tenure: the base policy .*base\.yaml has 1 error\(s\)/);

    const repo = folder({ 'README.md': 'policy comes later\n' });
    git(repo, 'init', '--quiet');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'start');
    mkdirSync(join(repo, 'policy'));
    writeFileSync(join(repo, 'policy/tenure.yaml'), policy);
    writeFileSync(join(repo, 'policy/hr.csv'), csv);
    const missing = await tenure(
      '-c',
      join(repo, 'policy/tenure.yaml'),
      '--state',
      join(repo, 'state.db'),
      'impact',
      '--base',
      'HEAD',
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--base HEAD: policy\/tenure\.yaml does not exist at HEAD/);
  });
});
