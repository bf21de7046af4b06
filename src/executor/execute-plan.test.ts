import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConnectorError, type AccountSpec, type Connector } from '../connectors/connector.js';
import type { Account } from '../model/actual-state.js';
import { CHANGE_ACTIONS, type Change, type ChangeAction, type Plan } from '../model/plan.js';
import { executePlan } from './execute-plan.js';
import { MemoryJournal } from './journal.js';

/** A fake target for the executor's unit tests: accounts in a map, every call logged. */
class FakeTarget implements Connector {
  readonly kind = 'fake';
  readonly capabilities = {
    read: true,
    write: true,
    disable: true,
    delete: true,
    memberships: true,
    rotate: false,
    rename: false,
  };
  readonly accounts = new Map<string, { identity: string; enabled: boolean; groups: Set<string> }>();
  readonly calls: string[] = [];
  constructor(readonly target: string) {}
  private get(name: string) {
    const a = this.accounts.get(name);
    if (!a) throw new ConnectorError(this.target, 'not_found', `no account ${name}`);
    return a;
  }
  listAccounts(): Promise<readonly Account[]> {
    return Promise.resolve([...this.accounts.keys()].map((n) => this.view(n)));
  }
  private view(name: string): Account {
    const a = this.accounts.get(name)!;
    return { id: name, name, identity: a.identity, enabled: a.enabled, entitlements: [...a.groups].sort() };
  }
  readAccount(name: string) {
    this.calls.push(`read ${name}`);
    return Promise.resolve(this.accounts.has(name) ? this.view(name) : undefined);
  }
  createAccount(spec: AccountSpec) {
    this.calls.push(`create ${spec.name}`);
    if (this.accounts.has(spec.name)) throw new ConnectorError(this.target, 'already_exists', spec.name);
    this.accounts.set(spec.name, { identity: spec.identity, enabled: true, groups: new Set() });
    return Promise.resolve(this.view(spec.name));
  }
  updateAccount() {
    return Promise.resolve();
  }
  disableAccount(name: string) {
    this.calls.push(`disable ${name}`);
    this.get(name).enabled = false;
    return Promise.resolve();
  }
  enableAccount(name: string) {
    this.calls.push(`enable ${name}`);
    this.get(name).enabled = true;
    return Promise.resolve();
  }
  deleteAccount(name: string) {
    this.calls.push(`delete ${name}`);
    this.get(name);
    this.accounts.delete(name);
    return Promise.resolve();
  }
  listMembers(entitlement: string) {
    return Promise.resolve([...this.accounts].filter(([, a]) => a.groups.has(entitlement)).map(([n]) => n));
  }
  addMembership(name: string, entitlement: string) {
    this.calls.push(`add ${name} ${entitlement}`);
    this.get(name).groups.add(entitlement);
    return Promise.resolve();
  }
  removeMembership(name: string, entitlement: string) {
    this.calls.push(`remove ${name} ${entitlement}`);
    this.get(name).groups.delete(entitlement);
    return Promise.resolve();
  }
  rotateCredential(): Promise<void> {
    return Promise.reject(new ConnectorError(this.target, 'invalid_input', 'no credentials'));
  }
  close() {
    return Promise.resolve();
  }
}

/** Wraps a connector and fails calls on a schedule: the fault-injecting wrapper. */
function faulty(inner: Connector, fail: (call: number) => ConnectorError | undefined): Connector {
  let call = 0;
  return new Proxy(inner, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function' || ['listAccounts', 'close'].includes(String(prop))) return v;
      return (...args: unknown[]) => {
        const e = fail(++call);
        return e ? Promise.reject(e) : (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

function planOf(changes: Change[]): Plan {
  const targets = [...new Set(changes.map((c) => c.target))].map((target) => {
    const cs = changes.filter((c) => c.target === target);
    const counts = Object.fromEntries(
      CHANGE_ACTIONS.map((a) => [a, cs.filter((c) => c.action === a).length]),
    ) as Record<ChangeAction, number>;
    return {
      target,
      changes: cs,
      counts,
      accountsBefore: 0,
      unlinkedAccounts: 0,
      deferred: 0,
      deferredChanges: [],
      adopted: [],
    };
  });
  const byAction = Object.fromEntries(
    CHANGE_ACTIONS.map((a) => [a, changes.filter((c) => c.action === a).length]),
  ) as Record<ChangeAction, number>;
  return {
    formatVersion: 1,
    kind: 'plan',
    policy: 'test',
    asOf: '2026-11-01T00:00:00.000Z',
    targets,
    summary: { changes: changes.length, identitiesAffected: 0, byAction, highRiskGrants: 0 },
    guardrails: { blocked: false, deprovision: [], sodConflicts: [] },
  };
}
const joiner = (target: string, id: string, groups: string[]): Change[] => [
  { target, action: 'create_account', identity: id, account: id, reason: 'joiner' },
  ...groups.map((g) => ({
    target,
    action: 'add_membership' as const,
    identity: id,
    account: id,
    entitlement: `${target}:group/${g}`,
    reason: 'role',
  })),
];
const instant = { sleep: () => Promise.resolve(), random: () => 0.5 };

describe('executePlan', () => {
  it('converges, account before memberships, and says what it did in sentences', async () => {
    const t = new FakeTarget('dir');
    const changes = Array.from({ length: 20 }, (_, i) => joiner('dir', `u${i}`, ['a', 'b'])).flat();
    const r = await executePlan('p1', planOf(changes), new Map([['dir', t]]), new MemoryJournal(), instant);
    assert.deepEqual(r.targets, [{ target: 'dir', succeeded: 60, dead: 0, pending: 0 }]);
    assert.equal(t.accounts.size, 20);
    assert.deepEqual([...t.accounts.get('u7')!.groups].sort(), ['dir:group/a', 'dir:group/b']);
    const u3 = t.calls.filter((c) => c.includes(' u3'));
    assert.deepEqual(u3, ['create u3', 'add u3 dir:group/a', 'add u3 dir:group/b']);
    assert.equal(r.operations[0]!.sentence, 'account u0 in dir: created');
    assert.equal(r.operations[1]!.sentence, 'account u0 in dir: added to dir:group/a');
  });

  it('removes memberships before deleting an account', async () => {
    const t = new FakeTarget('dir');
    t.accounts.set('old', { identity: 'E9', enabled: true, groups: new Set(['dir:group/a']) });
    const changes: Change[] = [
      {
        target: 'dir',
        action: 'remove_membership',
        identity: 'E9',
        account: 'old',
        entitlement: 'dir:group/a',
        reason: 'left',
      },
      { target: 'dir', action: 'delete_account', identity: 'E9', account: 'old', reason: 'left' },
    ];
    await executePlan('p2', planOf(changes), new Map([['dir', t]]), new MemoryJournal(), instant);
    assert.deepEqual(t.calls, ['remove old dir:group/a', 'delete old']);
  });

  it('retries a target that fails every third call with a server error, and converges', async () => {
    const t = new FakeTarget('dir');
    const wrapped = faulty(t, (n) => (n % 3 === 0 ? new ConnectorError('dir', 'internal', 'HTTP 500') : undefined));
    const changes = Array.from({ length: 30 }, (_, i) => joiner('dir', `u${i}`, ['a'])).flat();
    const r = await executePlan('p3', planOf(changes), new Map([['dir', wrapped]]), new MemoryJournal(), {
      ...instant,
      // Every third call fails: allow more tries than the default.
      maxAttempts: 10,
      quarantine: { minAttempts: 50, failureRatio: 0.6 },
    });
    assert.deepEqual(
      r.operations.filter((o) => o.state !== 'succeeded').map((o) => o.sentence),
      [],
    );
    assert.deepEqual(r.targets, [{ target: 'dir', succeeded: 60, dead: 0, pending: 0 }]);
    assert.equal(t.accounts.size, 30, 'no account created twice, none missing');
  });

  it('waits as long as a 429 Retry-After asks', async () => {
    const t = new FakeTarget('dir');
    const waits: number[] = [];
    const wrapped = faulty(t, (n) =>
      n === 1 ? new ConnectorError('dir', 'rate_limited', 'HTTP 429', undefined, 5000) : undefined,
    );
    await executePlan('p4', planOf(joiner('dir', 'u1', [])), new Map([['dir', wrapped]]), new MemoryJournal(), {
      sleep: (ms) => (waits.push(ms), Promise.resolve()),
      random: () => 0,
    });
    assert.deepEqual(waits, [5000]);
    assert.equal(t.accounts.size, 1);
  });

  it('gives up on a terminal error and keeps the rest of that identity pending', async () => {
    const t = new FakeTarget('dir');
    const wrapped = faulty(t, (n) => (n === 1 ? new ConnectorError('dir', 'invalid_input', 'bad name') : undefined));
    const r = await executePlan(
      'p5',
      planOf(joiner('dir', 'u1', ['a'])),
      new Map([['dir', wrapped]]),
      new MemoryJournal(),
      instant,
    );
    assert.deepEqual(
      r.operations.map((o) => [o.change.action, o.state, o.attempts]),
      [
        ['create_account', 'dead', 1],
        ['add_membership', 'pending', 0],
      ],
    );
    assert.match(r.operations[0]!.sentence, /^account u1 in dir: NOT created — invalid_input: bad name$/);
  });

  it("shows a failure's hint with its message", async () => {
    const t = new FakeTarget('dir');
    const wrapped = faulty(t, (n) =>
      n === 1 ? new ConnectorError('dir', 'permission_denied', 'no rights on uid=u1', 'grant write access') : undefined,
    );
    const r = await executePlan(
      'p5h',
      planOf(joiner('dir', 'u1', [])),
      new Map([['dir', wrapped]]),
      new MemoryJournal(),
      instant,
    );
    assert.equal(
      r.operations[0]!.sentence,
      'account u1 in dir: NOT created — permission_denied: no rights on uid=u1 (hint: grant write access)',
    );
  });

  it('quarantines a failing target, keeps its operations pending, and carries on with the others', async () => {
    const down = faulty(new FakeTarget('apps'), () => new ConnectorError('apps', 'unreachable', 'connection refused'));
    const ok = new FakeTarget('dir');
    const changes = [
      ...Array.from({ length: 60 }, (_, i) => joiner('apps', `u${i}`, [])).flat(),
      ...Array.from({ length: 10 }, (_, i) => joiner('dir', `u${i}`, ['a'])).flat(),
    ];
    const events: string[] = [];
    const journal = new MemoryJournal();
    const r = await executePlan(
      'p6',
      planOf(changes),
      new Map([
        ['apps', down],
        ['dir', ok],
      ]),
      journal,
      { ...instant, maxAttempts: 3, onEvent: (e) => e.type === 'quarantined' && events.push(e.reason) },
    );
    // Operations that were tried keep the error that stopped them, for the next run and for people.
    const tried = journal.operations.get('p6')!.filter((o) => o.state === 'pending' && o.attempts > 0);
    assert.ok(tried.length > 0);
    assert.ok(
      tried.every((o) => o.lastError === 'unreachable: connection refused'),
      JSON.stringify(tried[0]),
    );
    const apps = r.targets.find((t) => t.target === 'apps')!;
    assert.match(apps.quarantined ?? '', /attempts failed \(more than 40%\)/);
    assert.equal(apps.succeeded, 0);
    assert.ok(apps.pending > 0, 'remaining operations kept pending');
    assert.equal(apps.pending + apps.dead, 60);
    assert.deepEqual(
      r.targets.find((t) => t.target === 'dir'),
      { target: 'dir', succeeded: 20, dead: 0, pending: 0 },
    );
    assert.equal(events.length, 1);
  });

  it("never takes over another identity's account that happens to have the wanted name", async () => {
    const t = new FakeTarget('dir');
    t.accounts.set('u1', { identity: 'someone-else', enabled: true, groups: new Set() });
    const changes = joiner('dir', 'u1', ['a']);
    const r = await executePlan('p8', planOf(changes), new Map([['dir', t]]), new MemoryJournal(), instant);
    assert.deepEqual(t.calls, ['create u1', 'read u1'], 'no membership is granted to the other account');
    assert.equal(r.targets[0]!.dead, 1);
    assert.match(
      r.operations[0]!.sentence,
      /NOT created — conflict: account "u1" exists and belongs to someone-else, not u1/,
    );
    assert.equal(r.operations[1]!.state, 'pending', "the membership waits for its account, which never became u1's");
  });

  it('links an account a repeated create finds without a link, before granting anything to it', async () => {
    const t = new FakeTarget('dir');
    // A first attempt made the account and stopped before its link was written (or recorded, where Tenure keeps it).
    t.accounts.set('u1', { identity: '', enabled: true, groups: new Set() });
    const withLink = Object.assign(t, {
      linkAccount: (name: string, identity: string) => {
        t.calls.push(`link ${name} ${identity}`);
        t.accounts.get(name)!.identity = identity;
        return Promise.resolve();
      },
    });
    const r = await executePlan(
      'p10',
      planOf(joiner('dir', 'u1', ['a'])),
      new Map([['dir', withLink]]),
      new MemoryJournal(),
      instant,
    );
    assert.deepEqual(t.calls, ['create u1', 'read u1', 'link u1 u1', 'add u1 dir:group/a']);
    assert.equal(r.targets[0]!.succeeded, 2);
    assert.equal(t.accounts.get('u1')!.identity, 'u1');
  });

  it('never counts as created a name the target says is taken but cannot read as an account', async () => {
    const t = new FakeTarget('dir');
    // The name is taken by something that is not one of the target's accounts (an unmanaged role, say).
    t.createAccount = (spec: AccountSpec) => {
      t.calls.push(`create ${spec.name}`);
      return Promise.reject(new ConnectorError('dir', 'already_exists', spec.name));
    };
    const r = await executePlan(
      'p9',
      planOf(joiner('dir', 'u1', ['a'])),
      new Map([['dir', t]]),
      new MemoryJournal(),
      instant,
    );
    assert.deepEqual(t.calls, ['create u1', 'read u1'], 'no membership is granted');
    assert.equal(r.targets[0]!.dead, 1);
    assert.match(
      r.operations[0]!.sentence,
      /NOT created — conflict: account "u1" cannot be created: the target has the name taken/,
    );
  });

  it('resumes a plan: finished operations are not run again, and a create that finds its account links to it', async () => {
    const t = new FakeTarget('dir');
    const journal = new MemoryJournal();
    const changes = [...joiner('dir', 'u1', ['a']), ...joiner('dir', 'u2', ['a'])];
    // A first run died after creating u2's account but before journalling it as done.
    await journal.begin('p7', changes);
    await journal.mark(1, 'succeeded', 1);
    await journal.mark(2, 'succeeded', 1);
    await journal.mark(3, 'running', 1);
    t.accounts.set('u1', { identity: 'u1', enabled: true, groups: new Set(['dir:group/a']) });
    t.accounts.set('u2', { identity: 'u2', enabled: true, groups: new Set() });
    const r = await executePlan('p7', planOf(changes), new Map([['dir', t]]), journal, instant);
    // The create finds the account, reads it, sees it is u2's own, and links to it.
    assert.deepEqual(t.calls, ['create u2', 'read u2', 'add u2 dir:group/a']);
    assert.deepEqual(r.targets, [{ target: 'dir', succeeded: 2, dead: 0, pending: 0 }]);
    assert.deepEqual(
      [...journal.operations.get('p7')!].map((o) => o.state),
      ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
    );
  });

  it('keeps to a rate limit per target', async (t) => {
    // The clock stands still while the operations are queued, so each wait the executor asks for
    // is measured from one instant: at 20/s the k-th operation of a target waits k × 50 ms, and
    // another target's operations do not add to it. Exact however busy the machine is.
    t.mock.method(Date, 'now', () => 1_800_000_000_000);
    const waits: number[] = [];
    const changes = [
      ...Array.from({ length: 6 }, (_, i) => joiner('dir', `u${i}`, [])).flat(),
      ...Array.from({ length: 3 }, (_, i) => joiner('apps', `a${i}`, [])).flat(),
    ];
    const dir = new FakeTarget('dir');
    const apps = new FakeTarget('apps');
    const r = await executePlan(
      'p8',
      planOf(changes),
      new Map([
        ['dir', dir],
        ['apps', apps],
      ]),
      new MemoryJournal(),
      { ratePerSecond: 20, sleep: (ms) => (waits.push(ms), Promise.resolve()) },
    );
    assert.deepEqual(r.targets.map((x) => [x.target, x.succeeded]).sort(), [
      ['apps', 3],
      ['dir', 6],
    ]);
    assert.deepEqual(
      waits.sort((a, b) => a - b),
      [50, 50, 100, 100, 150, 200, 250],
      '6 operations at 20/s start 50 ms apart, and 3 on another target alongside them',
    );
  });
});
