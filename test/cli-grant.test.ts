import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { org, people } from './org-fixture.js';

// Exceptions: time-bound grants outside the role model, with a reason, an approver and an end.
describe('tenure grant', () => {
  const setup = async () => {
    const o = org([...people(3), 'M001,Employee,Active,Finance,Controller,2020-01-01,']);
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    return o;
  };

  it('grants until a date; why shows it; it leaves desired state on its own when it ends', async () => {
    const o = await setup();
    const add = await o.run(
      '--as-of',
      '2026-11-01',
      'grant',
      'add',
      'E001',
      'directory:group/finance',
      '--until',
      '2026-11-15',
      '--reason',
      'quarter-end close',
      '--approver',
      'M001',
    );
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /exception #1: E001 holds directory:group\/finance until 2026-11-15 \(approved by M001\)/);
    const why = await o.run('--as-of', '2026-11-10', 'why', 'E001', 'directory:group/finance');
    assert.match(
      why.stdout,
      /directory:group\/finance: exception #1 \(approved by M001 until 2026-11-15: quarter-end close\) grants it/,
    );
    const who = await o.run('--as-of', '2026-11-10', 'who-has', 'directory:group/finance');
    assert.match(who.stdout, /2 identities/);
    const after = await o.run('--as-of', '2026-11-15', 'who-has', 'directory:group/finance');
    assert.match(after.stdout, /1 identity/);
    const list = await o.run('--as-of', '2026-11-10', 'grant', 'list');
    assert.match(
      list.stdout,
      /#1 E001 directory:group\/finance — until 2026-11-15; approved by M001: quarter-end close/,
    );
    assert.match((await o.run('--as-of', '2026-11-20', 'grant', 'list')).stdout, /No exceptions in force\./);
  });

  it('revokes an exception, and audits grant and revocation', async () => {
    const o = await setup();
    await o.run(
      '--as-of',
      '2026-11-01',
      'grant',
      'add',
      'E001',
      'directory:group/finance',
      '--until',
      '2026-11-15',
      '--reason',
      'audit support',
      '--approver',
      'M001',
    );
    const revoke = await o.run(
      '--as-of',
      '2026-11-03',
      '--json',
      'grant',
      'revoke',
      '1',
      '--reason',
      'no longer needed',
    );
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.deepEqual(JSON.parse(revoke.stdout), {
      id: 1,
      identity: 'E001',
      entitlement: 'directory:group/finance',
      revoked: true,
    });
    assert.match((await o.run('--as-of', '2026-11-04', 'who-has', 'directory:group/finance')).stdout, /1 identity/);
    const exported = (await o.run('audit', 'export')).stdout
      .split('\n')
      .map((l) => (JSON.parse(l) as { action: string }).action);
    assert.deepEqual(exported.slice(-2), ['exception.granted', 'exception.revoked']);
    const saved = await o.run('--as-of', '2026-11-04', 'plan', '--out', join(o.dir, 'plan.json'));
    assert.equal(saved.code, 0, saved.stderr);
    const last = JSON.parse((await o.run('audit', 'export')).stdout.split('\n').at(-1)!) as {
      action: string;
      subject: string;
    };
    assert.equal(last.action, 'plan.saved');
    assert.match(last.subject, /^plan:[0-9a-f]{64}$/);
    assert.equal((await o.run('audit', 'verify')).code, 0);
    const again = await o.run('--as-of', '2026-11-04', 'grant', 'revoke', '1', '--reason', 'twice');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exception #1 is not in force/);
  });

  const refusals: [string, string[], number, RegExp][] = [
    [
      'an unknown identity',
      ['E999', 'directory:group/finance', '--until', '2026-11-15', '--reason', 'r', '--approver', 'M001'],
      1,
      /no identity "E999" in the state store/,
    ],
    [
      'an unknown entitlement',
      ['E001', 'directory:group/financ', '--until', '2026-11-15', '--reason', 'r', '--approver', 'M001'],
      1,
      /did you mean "directory:group\/finance"\?/,
    ],
    [
      'a self-approval',
      ['E001', 'directory:group/finance', '--until', '2026-11-15', '--reason', 'r', '--approver', 'E001'],
      1,
      /nobody approves their own exception/,
    ],
    [
      'an end beyond the policy maximum',
      ['E001', 'directory:group/finance', '--until', '2027-06-01', '--reason', 'r', '--approver', 'M001'],
      1,
      /more than 90 days away \(policy exceptions\.max_days\)/,
    ],
    [
      'an end in the past',
      ['E001', 'directory:group/finance', '--until', '2026-10-01', '--reason', 'r', '--approver', 'M001'],
      1,
      /is not in the future/,
    ],
    ['no reason', ['E001', 'directory:group/finance', '--until', '2026-11-15', '--approver', 'M001'], 2, /--reason/],
    [
      'an unknown approver',
      ['E001', 'directory:group/finance', '--until', '2026-11-15', '--reason', 'r', '--approver', 'X1'],
      1,
      /approver "X1" is not a known identity/,
    ],
  ];
  for (const [name, args, code, message] of refusals) {
    it(`refuses ${name} and records nothing`, async () => {
      const o = await setup();
      const r = await o.run('--as-of', '2026-11-01', 'grant', 'add', ...args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.match((await o.run('--as-of', '2026-11-01', 'grant', 'list', '--all')).stdout, /No exceptions recorded\./);
    });
  }
});

describe('tenure approve leavers', () => {
  it('lets one import past the mass-leaver guardrail, once', async () => {
    const o = org(people(40));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    o.write(people(20));
    assert.equal((await o.run('--as-of', '2026-11-02', 'import')).code, 3);
    const approve = await o.run(
      '--as-of',
      '2026-11-02',
      'approve',
      'leavers',
      '20',
      '--reason',
      'site closure in Lyon',
    );
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, /approval #1: the next import of hr may make up to 20 identities leave/);
    const r = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /20 leaver/);
    o.write(people(5));
    assert.equal((await o.run('--as-of', '2026-11-03', 'import')).code, 3, 'the approval was used up');
  });
});
