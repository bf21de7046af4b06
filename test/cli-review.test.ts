import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { folder, tenure } from './cli-harness.js';

// Access reviews end to end: a campaign, decisions by the right reviewer only, a revoke that
// sticks against the role that granted it, the no-response default on close, and the evidence.
const policy = `version: 1
name: Review test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    manager: manager
    attributes:
      department: { field: department, type: string, required: true }
targets:
  - id: directory
    kind: memory
entitlements:
  - id: directory:group/staff
  - id: directory:group/finance
    risk: high
  - id: directory:group/engineering
roles:
  - id: staff
    business_owner: E001
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: finance
    business_owner: E001
    when: identity.department == "Finance"
    grants: [directory:group/finance]
  - id: engineer
    business_owner: E003
    when: identity.department == "Engineering"
    grants: [directory:group/engineering]
`;
const hr = `id,status,department,manager
E001,Active,Finance,
E002,Active,Finance,E001
E003,Active,Engineering,E001
E004,Active,Finance,E003
`;

interface Item {
  item: number;
  identity: string;
  entitlement: string;
  reviewer: string;
  decision: string;
  comment: string;
  decided_by: string;
}

describe('tenure review', () => {
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr });
  const run = (...args: string[]) =>
    tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-02', ...args);
  const items = async (): Promise<Item[]> =>
    (JSON.parse((await run('review', 'export', '1', '--format', 'json')).stdout) as { items: Item[] }).items;
  const planned = async (): Promise<{ identity: string; entitlement?: string; action: string }[]> =>
    (
      JSON.parse((await run('--json', 'plan')).stdout) as {
        plan: { targets: { changes: { identity: string; entitlement?: string; action: string }[] }[] };
      }
    ).plan.targets.flatMap((t) => t.changes);

  it('starts a campaign with one item per holder and the role owner as reviewer (never the holder)', async () => {
    const imported = await tenure(
      '-c',
      join(dir, 'tenure.yaml'),
      '--state',
      join(dir, 'state.db'),
      '--as-of',
      '2026-11-01',
      'import',
    );
    assert.equal(imported.code, 0, imported.stderr);
    const r = await run('--json', 'review', 'start', '--scope', 'role:finance', '--due', '2026-11-30');
    assert.equal(r.code, 0, r.stderr);
    // E001 owns the role: their own item has nobody to go to (no manager, no other owner) and says so.
    assert.deepEqual(JSON.parse(r.stdout), {
      campaign: 1,
      scope: 'role:finance',
      items: 3,
      reviewers: { E001: 2, '(nobody)': 1 },
    });
    assert.deepEqual(
      (await items()).map((i) => [i.identity, i.entitlement, i.reviewer, i.decision]),
      [
        ['E001', 'directory:group/finance', '', 'pending'],
        ['E002', 'directory:group/finance', 'E001', 'pending'],
        ['E004', 'directory:group/finance', 'E001', 'pending'],
      ],
    );
  });

  it('refuses a decision by someone who is not the reviewer, and audits the refusal', async () => {
    const e002 = (await items()).find((i) => i.identity === 'E002')!;
    const r = await run('review', 'decide', String(e002.item), 'revoke', '--as', 'E003', '--comment', 'not mine');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /E003 is not the reviewer of item \d+ \(E002, directory:group\/finance\); E001 is/);
    assert.equal((await items()).find((i) => i.identity === 'E002')!.decision, 'pending', 'no change');
    const audit = (await run('audit', 'export')).stdout;
    assert.match(audit, /"action":"review\.decision_refused"/);
  });

  it('a revoke sticks: the role does not grant it again, and why says so', async () => {
    assert.ok((await planned()).some((c) => c.identity === 'E002' && c.entitlement === 'directory:group/finance'));
    const e002 = (await items()).find((i) => i.identity === 'E002')!;
    const needsReason = await run('review', 'decide', String(e002.item), 'revoke', '--as', 'E001');
    assert.equal(needsReason.code, 2);
    const r = await run('review', 'decide', String(e002.item), 'revoke', '--as', 'E001', '--comment', 'moved to FP&A');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /directory:group\/finance revoked from E002; .* roles finance will not grant it again/);
    assert.ok(!(await planned()).some((c) => c.identity === 'E002' && c.entitlement === 'directory:group/finance'));
    assert.ok((await planned()).some((c) => c.identity === 'E002' && c.entitlement === 'directory:group/staff'));
    const why = await run('why', 'E002', 'directory:group/finance');
    assert.match(
      why.stdout,
      /role "finance" would grant it, but it was revoked by review 1, item \d+ on 2026-11-02 \(decided by E001: moved to FP&A\)/,
    );
    const status = await run('review', 'status');
    assert.match(
      status.stdout,
      /review 1 of role:finance \(open, due 2026-11-30\): 3 item\(s\), 0 kept, 1 revoked, 2 pending/,
    );
    assert.match(status.stdout, /finance: 1 revoked; owner E001/);
    // lint flags the role for its owner too.
    const lint = JSON.parse((await run('--json', 'lint')).stdout) as {
      findings: { code: string; subject: string; fix: string }[];
    };
    const flagged = lint.findings.find((f) => f.code === 'role.grants_revoked');
    assert.equal(flagged?.subject, 'role:finance');
    assert.match(flagged.fix, /E001, the role's owner, should narrow the rule or split the role/);
  });

  it('closing applies the no-response default, and a closed campaign takes no more decisions', async () => {
    const e004 = (await items()).find((i) => i.identity === 'E004')!;
    assert.equal((await run('review', 'decide', String(e004.item), 'keep', '--as', 'E001')).code, 0);
    const closed = await run('review', 'close', '1');
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /review 1 closed: 1 undecided item\(s\) revoked by default/);
    const after = await items();
    assert.deepEqual(
      after.map((i) => [i.identity, i.decision, i.decided_by]),
      [
        ['E001', 'revoke', 'no-response'],
        ['E002', 'revoke', 'E001'],
        ['E004', 'keep', 'E001'],
      ],
    );
    const late = await run('review', 'decide', String(e004.item), 'revoke', '--as', 'E001', '--comment', 'late');
    assert.equal(late.code, 1);
    assert.match(late.stderr, /review 1 was closed on 2026-11-02: its decisions are final/);
    assert.equal((await items()).find((i) => i.identity === 'E004')!.decision, 'keep', 'no change');
    assert.equal((await run('review', 'close', '1')).code, 1);
  });

  it('exports the evidence as CSV', async () => {
    const nowhere = await run('review', 'export', '1', '--out', join(dir, 'no-such-folder', 'evidence.csv'));
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /cannot write .*no-such-folder.*ENOENT/);
    assert.doesNotMatch(nowhere.stderr, /unexpected error/);
    const r = await run('review', 'export', '1', '--out', join(dir, 'evidence.csv'));
    assert.equal(r.code, 0, r.stderr);
    const rows = parse<Record<string, string>>(readFileSync(join(dir, 'evidence.csv')), { columns: true });
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0]!).slice(0, 10), [
      'campaign',
      'scope',
      'item',
      'identity',
      'entitlement',
      'reviewer',
      'decision',
      'comment',
      'decided_at',
      'decided_by',
    ]);
    const e002 = rows.find((x) => x.identity === 'E002')!;
    assert.deepEqual([e002.decision, e002.comment, e002.decided_by], ['revoke', 'moved to FP&A', 'E001']);
    assert.match(e002.provenance!, /role "finance"/);
  });

  it('says clearly what is wrong with a decision, a date or a campaign number, and changes nothing', async () => {
    const before = await run('review', 'export', '1', '--format', 'json');
    const cases: [string[], number, RegExp][] = [
      [['review', 'decide', '1', 'maybe', '--as', 'E001'], 2, /the decision "maybe" is not keep or revoke/],
      [['review', 'decide', 'two', 'keep', '--as', 'E001'], 2, /item "two" is not a number/],
      [['review', 'decide', '99', 'keep', '--as', 'E001'], 1, /there is no review item 99/],
      [
        ['review', 'start', '--scope', 'role:finance', '--due', '2026-10-01'],
        1,
        /--due 2026-10-01 is not in the future/,
      ],
      [['review', 'start', '--scope', 'role:finance', '--due', 'soon'], 2, /--due takes a date, not "soon"/],
      [['review', 'close', '7'], 1, /there is no review 7/],
      [['review', 'export', '7'], 1, /there is no review 7/],
      [['review', 'status', '0'], 2, /campaign "0" is not a number/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal((await run('review', 'export', '1', '--format', 'json')).stdout, before.stdout, 'no change');
  });

  it('says clearly what is wrong with a scope', async () => {
    const bad = await run('review', 'start', '--scope', 'department:Finance');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /write role:ID, target:ID, manager:ID or nhi-owners/);
    const unknown = await run('review', 'start', '--scope', 'role:nope');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no role "nope" in the policy/);
    const manager = await run('--json', 'review', 'start', '--scope', 'manager:E001');
    assert.equal(manager.code, 0, manager.stderr);
    assert.deepEqual((JSON.parse(manager.stdout) as { reviewers: Record<string, number> }).reviewers, { E001: 3 });
  });
});
