import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { AccessException } from '../model/exception.js';
import type { Finding } from '../model/finding.js';
import type { Identity } from '../model/identity.js';
import { loadPolicy } from '../policy/load-policy.js';
import { lint } from './lint.js';

const asOf = new Date('2026-11-01T00:00:00Z');
const DAY_MS = 86_400_000;
const daysFromNow = (n: number): Date => new Date(asOf.getTime() + n * DAY_MS);

type RoleSpec = Record<string, unknown> & { id: string };

/** One organisation per test: a clean policy and population that each case breaks in one way. */
interface Spec {
  entitlements: { id: string; risk: string }[];
  roles: RoleSpec[];
  policies: Record<string, unknown>;
  identities: Identity[];
  exceptions: AccessException[];
}

const owners = { business_owner: 'O1', technical_owner: 'O2' };

function person(id: string, title: string, extra: Partial<Identity> = {}): Identity {
  return { id, kind: 'employee', status: 'active', attributes: { title }, source: 'hr', ...extra };
}

function clean(): Spec {
  return {
    entitlements: [
      { id: 'directory:group/staff', risk: 'low' },
      { id: 'apps:role/pay-create', risk: 'high' },
      { id: 'apps:role/pay-approve', risk: 'critical' },
      { id: 'apps:role/wiki', risk: 'low' },
    ],
    roles: [
      { id: 'staff', ...owners, when: 'identity.kind == "employee"', grants: ['directory:group/staff'] },
      { id: 'clerk', ...owners, when: 'identity.title == "Clerk"', grants: ['apps:role/pay-create'] },
      { id: 'approver', ...owners, when: 'identity.title == "Approver"', grants: ['apps:role/pay-approve'] },
      { id: 'wiki', ...owners, when: 'identity.title == "Approver"', grants: ['apps:role/wiki'] },
    ],
    policies: {
      separation_of_duties: [
        {
          id: 'payments',
          description: 'Nobody both creates and approves a payment',
          conflicting: ['apps:role/pay-create', 'apps:role/pay-approve'],
          severity: 'critical',
        },
      ],
      non_human: { owner_required: true, max_credential_age_days: 90, unused_after_days: 60 },
      exceptions: { max_days: 90 },
    },
    identities: [
      person('O1', 'Owner'),
      person('O2', 'Owner'),
      person('E1', 'Clerk', { manager: 'O1' }),
      person('E2', 'Approver'),
      person('E3', 'Clerk'),
      person('E4', 'Engineer'),
      person('E5', 'Engineer'),
      person('E6', 'Engineer'),
      {
        id: 'svc-1',
        kind: 'service_account',
        status: 'active',
        attributes: {},
        source: 'hr',
        owner: 'O1',
        credential: { created: daysFromNow(-10), expires: daysFromNow(300), lastUsed: daysFromNow(-1) },
      },
    ],
    exceptions: [exception({ id: 1, identity: 'E1', entitlement: 'apps:role/wiki' })],
  };
}

function exception(e: Partial<AccessException> & { id: number; identity: string; entitlement: string }) {
  return {
    reason: 'covering for a colleague',
    approver: 'O1',
    grantedBy: 'O1',
    from: daysFromNow(-10),
    until: daysFromNow(20),
    ...e,
  } satisfies AccessException;
}

/** The policy file text: one role or entitlement per line (JSON is YAML), so positions are known lines. */
function policyText(s: Spec): string {
  return `version: 1
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { field: kind }
    attributes:
      title: { field: title, type: string }
targets:
  - { id: directory, kind: memory }
  - { id: apps, kind: memory }
entitlements:
${s.entitlements.map((e) => `  - ${JSON.stringify(e)}`).join('\n')}
roles:
${s.roles.map((r) => `  - ${JSON.stringify(r)}`).join('\n')}
policies: ${JSON.stringify(s.policies)}
`;
}

function run(s: Spec): Finding[] {
  const r = loadPolicy(policyText(s), 'tenure.yaml');
  assert.ok(r.result, r.diagnostics.map((d) => d.message).join('\n'));
  const desired = new Engine(r.result).desiredState(s.identities, asOf, 'indexed', s.exceptions);
  return lint({ loaded: r.result, identities: s.identities, exceptions: s.exceptions, desired, asOf });
}

function role(s: Spec, id: string): RoleSpec {
  const r = s.roles.find((x) => x.id === id);
  assert.ok(r, id);
  return r;
}

function identity(s: Spec, id: string): Identity {
  const i = s.identities.find((x) => x.id === id);
  assert.ok(i, id);
  return i;
}

function replaceIdentity(s: Spec, id: string, change: Partial<Identity>): void {
  s.identities = s.identities.map((i) => (i.id === id ? { ...i, ...change } : i));
}

const svc = (s: Spec) => identity(s, 'svc-1');

interface Case {
  readonly name: string;
  readonly change: (s: Spec) => void;
  /** Every finding expected, as `code severity subject`; nothing else may be found. */
  readonly expect: readonly string[];
  /** Words the first finding's message (or fix) must contain. */
  readonly message?: RegExp;
  readonly fix?: RegExp;
  readonly related?: readonly string[];
}

const cases: Case[] = [
  // Roles: ownership
  {
    name: 'a role without a business owner',
    change: (s) => delete role(s, 'clerk').business_owner,
    expect: ['role.no_business_owner medium role:clerk'],
    message: /^role clerk has no business owner$/,
  },
  {
    name: 'a role without a technical owner',
    change: (s) => delete role(s, 'clerk').technical_owner,
    expect: ['role.no_technical_owner low role:clerk'],
  },
  {
    name: 'an owner id that is no identity',
    change: (s) => (role(s, 'clerk').business_owner = 'O9'),
    expect: ['role.owner_unknown medium role:clerk'],
    message: /business owner O9 is not a known identity/,
    related: ['identity:O9'],
  },
  {
    name: 'one terminated person as both owners: one finding naming both duties',
    change: (s) => {
      Object.assign(role(s, 'clerk'), { business_owner: 'O3', technical_owner: 'O3' });
      s.identities.push(person('O3', 'Owner', { status: 'terminated', endDate: daysFromNow(-3) }));
    },
    expect: ['role.owner_inactive medium role:clerk'],
    message: /^role clerk's business and technical owner O3 is terminated \(left on 2026-10-29\)$/,
  },
  {
    name: 'an owner still marked active whose end date has passed',
    change: (s) => replaceIdentity(s, 'O2', { endDate: daysFromNow(-1) }),
    expect: [
      'role.owner_inactive medium role:approver',
      'role.owner_inactive medium role:clerk',
      'role.owner_inactive medium role:staff',
      'role.owner_inactive medium role:wiki',
    ],
    message: /technical owner O2 is past their end date \(2026-10-31\)/,
  },
  // Roles: reach
  {
    name: 'a rule that matches nobody',
    change: (s) => (role(s, 'clerk').when = 'identity.title == "Clerck"'),
    expect: ['role.matches_nobody low role:clerk'],
  },
  {
    name: 'a role without a rule that nothing inherits',
    change: (s) => s.roles.push({ id: 'orphan', ...owners, grants: ['apps:role/wiki'] }),
    expect: ['role.unreachable low role:orphan'],
  },
  {
    name: 'a role without a rule is fine when another role inherits it',
    change: (s) => {
      s.roles.push({ id: 'base', ...owners, grants: ['apps:role/wiki'] });
      role(s, 'clerk').inherits = ['base'];
    },
    expect: [],
  },
  {
    name: 'a birthright role granting a critical entitlement through a parent',
    change: (s) => {
      s.entitlements.push({ id: 'directory:group/admins', risk: 'critical' });
      s.roles.push({ id: 'base', ...owners, grants: ['directory:group/admins'] });
      role(s, 'staff').inherits = ['base'];
    },
    expect: ['role.birthright_high_risk critical role:staff'],
    message:
      /^role staff matches 8 of 8 active people \(100%, above policies\.lint\.birthright_share 50%\) and grants directory:group\/admins \(critical, from base\)$/,
  },
  {
    name: 'a birthright role granting a high entitlement',
    change: (s) => {
      s.entitlements.push({ id: 'directory:group/vpn', risk: 'high' });
      (role(s, 'staff').grants as string[]).push('directory:group/vpn');
    },
    expect: ['role.birthright_high_risk high role:staff'],
  },
  {
    name: 'the same role under a birthright share it does not exceed',
    change: (s) => {
      s.entitlements.push({ id: 'directory:group/vpn', risk: 'high' });
      (role(s, 'staff').grants as string[]).push('directory:group/vpn');
      s.policies.lint = { birthright_share: 1 };
    },
    expect: [],
  },
  {
    name: 'no birthright role from non-human identities: the share counts people',
    change: (s) => {
      s.entitlements.push({ id: 'directory:group/vpn', risk: 'high' });
      s.roles.push({
        id: 'bots',
        ...owners,
        when: 'identity.kind == "service_account"',
        grants: ['directory:group/vpn'],
      });
      for (const n of [2, 3, 4, 5, 6, 7, 8, 9]) s.identities.push({ ...svc(s), id: `svc-${n}` });
    },
    expect: [],
  },
  {
    name: 'a role with more entitlements than the limit, counting inherited ones',
    change: (s) => {
      role(s, 'approver').inherits = ['wiki'];
      s.policies.lint = { max_role_entitlements: 1 };
    },
    expect: ['role.too_many_entitlements medium role:approver'],
    message: /^role approver grants 2 entitlements \(1 directly, 1 through wiki\); the limit is 1/,
  },
  // Separation of duties
  {
    name: 'a conflict inside a role through inheritance, reported on the role that creates it only',
    change: (s) => {
      s.roles.push({
        id: 'payer',
        ...owners,
        when: 'identity.title == "Payer"',
        grants: ['apps:role/pay-approve'],
        inherits: ['clerk'],
      });
      // P1 matches payer and senior-payer: one holder of payer, not two.
      s.roles.push({ id: 'senior-payer', ...owners, when: 'identity.title.endsWith("Payer")', inherits: ['payer'] });
      // Two parents, one of which carries the conflict: still the parent's problem.
      s.roles.push({ id: 'lead', ...owners, when: 'identity.title == "Lead"', inherits: ['wiki', 'payer'] });
      s.identities.push(person('P1', 'Payer'), person('P2', 'Senior Payer'), person('L1', 'Lead'));
    },
    expect: ['sod.within_role critical role:payer'],
    message:
      /^role payer grants apps:role\/pay-approve and apps:role\/pay-create \(from clerk\) \(rule payments\); 3 identities hold it$/,
    related: ['role:clerk'],
  },
  {
    name: 'a rule naming a role that a role holds with an entitlement of its own',
    change: (s) =>
      (s.policies.separation_of_duties as unknown[]).push({
        id: 'approvers-apart',
        conflicting: ['role:approver', 'apps:role/pay-approve'],
        severity: 'high',
      }),
    expect: ['sod.within_role high role:approver'],
    message:
      /^role approver grants apps:role\/pay-approve and role:approver \(itself\) \(rule approvers-apart\); 1 identity holds it$/,
  },
  {
    name: 'two roles whose rules both hold for one identity',
    change: (s) => (role(s, 'approver').when = 'identity.title in ["Approver", "Clerk"]'),
    expect: ['sod.identity_conflict critical identity:E1', 'sod.identity_conflict critical identity:E3'],
    message:
      /^E1 holds apps:role\/pay-approve \(role approver\) and apps:role\/pay-create \(role clerk\) \(rule payments\)$/,
    related: ['role:approver', 'role:clerk'],
  },
  {
    name: 'an exception that completes a conflicting pair',
    change: (s) => s.exceptions.push(exception({ id: 2, identity: 'E1', entitlement: 'apps:role/pay-approve' })),
    expect: ['sod.identity_conflict critical identity:E1'],
    message: /pay-approve \(exception #2\) and apps:role\/pay-create \(role clerk\)/,
    related: ['role:clerk', 'exception:2'],
  },
  {
    name: 'a rule naming a role (role:ID) against an entitlement another role grants',
    change: (s) =>
      (s.policies.separation_of_duties as unknown[]).push({
        id: 'clerks-apart',
        conflicting: ['role:clerk', 'directory:group/staff'],
        severity: 'medium',
      }),
    expect: ['sod.identity_conflict medium identity:E1', 'sod.identity_conflict medium identity:E3'],
    message: /^E1 holds directory:group\/staff \(role staff\) and role:clerk \(role clerk\) \(rule clerks-apart\)$/,
    related: ['role:clerk', 'role:staff'],
  },
  // Exceptions
  {
    name: 'an exception that ended recently and was not revoked',
    change: (s) => Object.assign(s.exceptions[0]!, { from: daysFromNow(-30), until: daysFromNow(-5) }),
    expect: ['exception.expired info exception:1'],
    message: /^exception #1 \(E1, apps:role\/wiki\) ended on 2026-10-27 and was not revoked$/,
  },
  {
    name: 'an exception that ended longer ago than an exception may last is history',
    change: (s) => Object.assign(s.exceptions[0]!, { from: daysFromNow(-130), until: daysFromNow(-100) }),
    expect: [],
  },
  {
    name: 'an exception without a reason',
    change: (s) => Object.assign(s.exceptions[0]!, { reason: ' ' }),
    expect: ['exception.no_reason medium exception:1'],
  },
  {
    name: 'a revoked exception is not judged any more',
    change: (s) => Object.assign(s.exceptions[0]!, { reason: '', approver: '', revokedAt: daysFromNow(-1) }),
    expect: [],
  },
  {
    name: 'an exception without an approver',
    change: (s) => Object.assign(s.exceptions[0]!, { approver: '' }),
    expect: ['exception.no_approver high exception:1'],
  },
  {
    name: 'an exception its holder approved',
    change: (s) => Object.assign(s.exceptions[0]!, { approver: 'E1' }),
    expect: ['exception.self_approved high exception:1'],
  },
  {
    name: 'an exception longer than exceptions.max_days',
    change: (s) => Object.assign(s.exceptions[0]!, { from: daysFromNow(-100), until: daysFromNow(20) }),
    expect: ['exception.too_long medium exception:1'],
    message: /lasts 120 days, from 2026-07-24 until 2026-11-21; the limit is 90/,
  },
  {
    name: 'an exception for someone no source knows',
    change: (s) => Object.assign(s.exceptions[0]!, { identity: 'X1' }),
    expect: ['exception.unknown_identity low exception:1'],
  },
  {
    name: 'an exception for an entitlement no longer declared',
    change: (s) => Object.assign(s.exceptions[0]!, { entitlement: 'apps:role/gone' }),
    expect: ['exception.unknown_entitlement low exception:1'],
  },
  // Non-human identities
  {
    name: 'a service account without an owner',
    change: (s) => replaceIdentity(s, 'svc-1', { owner: undefined }),
    expect: ['nhi.no_owner high identity:svc-1'],
  },
  {
    name: 'no owner is not a finding when owners are not required',
    change: (s) => {
      replaceIdentity(s, 'svc-1', { owner: undefined });
      s.policies.non_human = { owner_required: false };
    },
    expect: [],
  },
  {
    name: 'a terminated service account is not judged',
    change: (s) => replaceIdentity(s, 'svc-1', { owner: undefined, status: 'terminated' }),
    expect: [],
  },
  {
    name: 'an owner id that is no identity',
    change: (s) => replaceIdentity(s, 'svc-1', { owner: 'O9' }),
    expect: ['nhi.owner_unknown high identity:svc-1'],
  },
  {
    name: 'an owner who is not a person',
    change: (s) => {
      s.identities.push({ ...svc(s), id: 'svc-2' });
      replaceIdentity(s, 'svc-1', { owner: 'svc-2' });
    },
    expect: ['nhi.owner_not_human high identity:svc-1'],
  },
  {
    name: 'an owner who left, with the manager to reassign it to',
    change: (s) => {
      replaceIdentity(s, 'svc-1', { owner: 'E1' });
      replaceIdentity(s, 'E1', { status: 'terminated' });
      s.exceptions = [];
    },
    expect: ['nhi.owner_inactive high identity:svc-1'],
    message: /^service_account svc-1's owner E1 is terminated$/,
    fix: /reassign svc-1 to O1 \(E1's manager\)/,
  },
  {
    name: 'a credential last rotated longer ago than the limit',
    change: (s) =>
      replaceIdentity(s, 'svc-1', {
        credential: { ...svc(s).credential, created: daysFromNow(-400), lastRotated: daysFromNow(-91) },
      }),
    expect: ['nhi.credential_too_old medium identity:svc-1'],
    message: /was last rotated on 2026-08-02, 91 days ago; the limit is 90/,
  },
  {
    name: 'an old credential rotated recently is fine',
    change: (s) =>
      replaceIdentity(s, 'svc-1', {
        credential: { ...svc(s).credential, created: daysFromNow(-400), lastRotated: daysFromNow(-90) },
      }),
    expect: [],
  },
  {
    name: 'a credential never rotated, aged from its creation',
    change: (s) => replaceIdentity(s, 'svc-1', { credential: { ...svc(s).credential, created: daysFromNow(-120) } }),
    expect: ['nhi.credential_too_old medium identity:svc-1'],
    message: /was created on 2026-07-04 and never rotated, 120 days ago/,
  },
  {
    name: 'a credential past its expiry',
    change: (s) => replaceIdentity(s, 'svc-1', { credential: { ...svc(s).credential, expires: daysFromNow(-1) } }),
    expect: ['nhi.credential_expired medium identity:svc-1'],
  },
  {
    name: 'a credential not used for longer than unused_after_days',
    change: (s) => replaceIdentity(s, 'svc-1', { credential: { ...svc(s).credential, lastUsed: daysFromNow(-61) } }),
    expect: ['nhi.unused medium identity:svc-1'],
  },
  {
    name: 'a credential used exactly unused_after_days ago is not yet unused',
    change: (s) => replaceIdentity(s, 'svc-1', { credential: { ...svc(s).credential, lastUsed: daysFromNow(-60) } }),
    expect: [],
  },
  // Entitlements
  {
    name: 'an entitlement no role grants',
    change: (s) => s.entitlements.push({ id: 'apps:role/unused', risk: 'high' }),
    expect: ['entitlement.unused info entitlement:apps:role/unused'],
    message: /^entitlement apps:role\/unused \(high\) is declared but no role grants it$/,
  },
  {
    name: 'an entitlement only an exception grants',
    change: (s) => {
      s.entitlements.push({ id: 'apps:role/unused', risk: 'high' });
      s.exceptions.push(exception({ id: 2, identity: 'E4', entitlement: 'apps:role/unused' }));
    },
    expect: ['entitlement.unused info entitlement:apps:role/unused'],
    message: /is declared but no role grants it; 1 exception in force grants it$/,
  },
];

describe('lint', () => {
  it('finds nothing in a clean organisation', () => {
    assert.deepEqual(run(clean()), []);
  });

  for (const c of cases) {
    it(`finds ${c.name}`, () => {
      const s = clean();
      c.change(s);
      const findings = run(s);
      assert.deepEqual(
        findings.map((f) => `${f.code} ${f.severity} ${f.subject}`).sort(),
        [...c.expect].sort(),
        JSON.stringify(findings, null, 2),
      );
      const first = findings[0];
      if (c.message) assert.match(first!.message, c.message);
      if (c.fix) assert.match(first!.fix, c.fix);
      if (c.related) assert.deepEqual(first!.related, c.related);
      for (const f of findings) assert.ok(f.why.length > 0 && f.fix.length > 0, `${f.code} says why and how to fix`);
    });
  }

  it('points role findings at the role in the policy file', () => {
    const s = clean();
    delete role(s, 'wiki').technical_owner;
    const [f] = run(s);
    const line =
      policyText(s)
        .split('\n')
        .findIndex((l) => l.includes('"id":"wiki"')) + 1;
    assert.deepEqual(f?.position, { file: 'tenure.yaml', line, column: 5 });
  });

  it('sorts the most severe first', () => {
    const s = clean();
    delete role(s, 'clerk').technical_owner;
    s.entitlements.push({ id: 'apps:role/unused', risk: 'low' });
    role(s, 'approver').when = 'identity.title in ["Approver", "Clerk"]';
    assert.deepEqual(
      run(s).map((f) => f.severity),
      ['critical', 'critical', 'low', 'info'],
    );
  });
});
