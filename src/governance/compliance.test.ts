import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { Custody } from '../model/custody.js';
import type { AccessException } from '../model/exception.js';
import type { Finding, FindingSeverity } from '../model/finding.js';
import type { Identity } from '../model/identity.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import {
  buildComplianceReport,
  CONTROLS,
  FINDING_CODES,
  LINT_CODES,
  type ComplianceInput,
  type ComplianceReport,
  type ControlResult,
} from './compliance.js';
import { DRIFT_CODES } from './drift.js';
import { lint } from './lint.js';
import {
  escapeHtml,
  renderComplianceHtml,
  renderComplianceJson,
  renderComplianceMarkdown,
} from './render-compliance.js';

const asOf = new Date('2026-11-01T00:00:00Z');
const DAY_MS = 86_400_000;
const days = (n: number): Date => new Date(asOf.getTime() + n * DAY_MS);

const ENTITLEMENTS = [
  { id: 'directory:group/staff', risk: 'low' },
  { id: 'directory:group/admins', risk: 'critical' },
  { id: 'apps:role/pay-create', risk: 'high' },
  { id: 'apps:role/pay-approve', risk: 'critical' },
  { id: 'apps:role/wiki', risk: 'low' },
  { id: 'apps:role/extra', risk: 'low' },
  { id: 'apps:role/unused', risk: 'low' },
];
const owners = { business_owner: 'O1', technical_owner: 'O2' };

/** A policy file (JSON is YAML) with these roles; everything else the same. */
function policy(roles: Record<string, unknown>[], name = 'Test Org'): LoadedPolicy {
  const text = `version: 1
name: ${JSON.stringify(name)}
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
${ENTITLEMENTS.map((e) => `  - ${JSON.stringify(e)}`).join('\n')}
roles:
${roles.map((r) => `  - ${JSON.stringify(r)}`).join('\n')}
policies: ${JSON.stringify({
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
    lint: { max_role_entitlements: 2 },
  })}
`;
  const r = loadPolicy(text, 'tenure.yaml');
  assert.ok(r.result, r.diagnostics.map((d) => d.message).join('\n'));
  return r.result;
}

function person(id: string, title: string, extra: Partial<Identity> = {}): Identity {
  return { id, kind: 'employee', status: 'active', attributes: { title }, source: 'hr', ...extra };
}

function nhi(id: string, extra: Partial<Identity>): Identity {
  return { id, kind: 'service_account', status: 'active', attributes: {}, source: 'hr', ...extra };
}

function exception(e: Partial<AccessException> & { id: number; identity: string; entitlement: string }) {
  return {
    reason: 'covering for a colleague',
    approver: 'O1',
    grantedBy: 'O1',
    from: days(-10),
    until: days(20),
    ...e,
  } satisfies AccessException;
}

/** An organisation that breaks every rule lint has, each once. */
function brokenEverywhere() {
  const loaded = policy([
    {
      id: 'staff',
      ...owners,
      when: 'identity.kind == "employee"',
      grants: ['directory:group/staff', 'directory:group/admins'],
    },
    { id: 'clerk', technical_owner: 'O2', when: 'identity.title == "Clerk"', grants: ['apps:role/pay-create'] },
    {
      id: 'approver',
      business_owner: 'GHOST',
      when: 'identity.title == "Approver"',
      grants: ['apps:role/pay-approve'],
    },
    {
      id: 'both',
      business_owner: 'O3',
      technical_owner: 'O2',
      when: 'identity.title == "Both"',
      grants: ['apps:role/pay-create', 'apps:role/pay-approve'],
    },
    { id: 'nobody', ...owners, when: 'identity.title == "Astronaut"', grants: ['apps:role/wiki'] },
    { id: 'shelf', ...owners, grants: ['apps:role/wiki'] },
    {
      id: 'broad',
      ...owners,
      when: 'identity.title == "Engineer"',
      grants: ['apps:role/wiki', 'directory:group/staff', 'apps:role/extra'],
    },
  ]);
  const identities: Identity[] = [
    person('O1', 'Owner'),
    person('O2', 'Owner'),
    person('O3', 'Owner', { status: 'terminated', endDate: days(-30) }),
    person('E1', 'Clerk'),
    person('E2', 'Approver'),
    person('E3', 'Engineer'),
    person('E4', 'Engineer'),
    nhi('svc-none', {}),
    nhi('svc-ghost', { owner: 'NOBODY2' }),
    nhi('svc-ok', { owner: 'O1', credential: { created: days(-10), lastUsed: days(-1) } }),
    nhi('svc-chain', { owner: 'svc-ok' }),
    nhi('svc-left', { owner: 'O3' }),
    nhi('svc-old', { owner: 'O1', credential: { lastRotated: days(-200) } }),
    nhi('svc-expired', { owner: 'O1', credential: { created: days(-10), expires: days(-5) } }),
    nhi('svc-idle', { owner: 'O1', credential: { created: days(-10), lastUsed: days(-100) } }),
  ];
  const exceptions = [
    exception({ id: 1, identity: 'E2', entitlement: 'apps:role/pay-create' }),
    exception({ id: 2, identity: 'E3', entitlement: 'apps:role/wiki', from: days(-20), until: days(-5) }),
    exception({ id: 3, identity: 'E3', entitlement: 'apps:role/wiki', reason: '' }),
    exception({ id: 4, identity: 'E3', entitlement: 'apps:role/wiki', approver: '' }),
    exception({ id: 5, identity: 'E3', entitlement: 'apps:role/wiki', approver: 'E3' }),
    exception({ id: 6, identity: 'E4', entitlement: 'apps:role/wiki', until: days(200) }),
    exception({ id: 7, identity: 'NOBODY', entitlement: 'apps:role/wiki' }),
    exception({ id: 8, identity: 'E4', entitlement: 'apps:role/gone' }),
  ];
  // A reviewer revoked what role "broad" gives E4: the role is flagged for its owner.
  const denials = [
    {
      id: 1,
      identity: 'E4',
      entitlement: 'apps:role/extra',
      origin: 'review 1, item 1',
      reason: 'not needed',
      decidedBy: 'O1',
      at: days(-1),
      roles: ['broad'],
    },
  ];
  const desired = new Engine(loaded).desiredState(identities, asOf, 'indexed', exceptions, denials);
  return { loaded, identities, findings: lint({ loaded, identities, exceptions, desired, asOf, denials }) };
}

/** Everything recorded and clean: one of each kind of evidence, no findings. */
function clean(overrides: Partial<ComplianceInput> = {}): ComplianceInput {
  const loaded = policy([
    { id: 'staff', ...owners, when: 'identity.kind == "employee"', grants: ['directory:group/staff'] },
  ]);
  return {
    policy: loaded.policy,
    identities: [person('O1', 'Owner'), person('O2', 'Owner'), nhi('svc-a', { owner: 'O1' }), nhi('svc-b', {})],
    findings: [],
    store: {
      audit: { records: 12, intact: true },
      imports: { applied: 2, stopped: 1 },
      approvals: { leavers: 1, deprovision: 0 },
      events: { joiner: 3, leaver: 1 },
      exceptions: [exception({ id: 1, identity: 'O2', entitlement: 'apps:role/wiki' })],
      campaigns: [
        {
          id: 1,
          scope: 'nhi-owners',
          createdAt: days(-20),
          createdBy: 'auditor',
          noResponse: 'revoke',
          state: 'closed',
          closedAt: days(-5),
        },
      ],
      reviewItems: [
        {
          id: 1,
          campaign: 1,
          identity: 'svc-a',
          entitlement: 'apps:role/wiki',
          provenance: '',
          roles: [],
          decision: 'revoke',
        },
        { id: 2, campaign: 1, identity: 'O2', entitlement: 'apps:role/wiki', provenance: '', roles: [] },
      ],
      denials: [],
      custody: [],
      rotations: [],
    },
    targets: { targets: 2, accounts: 3, driftFindings: 0, sodConflicts: 0, deprovisionBlocked: [] },
    asOf,
    ...overrides,
  };
}

function finding(code: string, severity: FindingSeverity, subject: string, extra: Partial<Finding> = {}): Finding {
  return { code, severity, subject, message: `${code} on ${subject}`, why: 'because', fix: 'fix it', ...extra };
}

function control(r: ComplianceReport, id: string): ControlResult {
  const c = r.controls.find((x) => x.id === id);
  assert.ok(c, `no control ${id}`);
  return c;
}

describe('compliance mapping', () => {
  it('maps every finding code lint and drift can emit to at least one control', () => {
    const taken = new Set(CONTROLS.flatMap((c) => c.codes));
    const missing = FINDING_CODES.filter((code) => !taken.has(code));
    assert.deepEqual(missing, []);
    assert.ok(DRIFT_CODES.every((code) => FINDING_CODES.includes(code)));
  });

  it('names only codes that exist', () => {
    const known = new Set(FINDING_CODES);
    const unknown = CONTROLS.flatMap((c) => [...c.codes, ...(c.nonHumanCodes ?? [])]).filter((x) => !known.has(x));
    assert.deepEqual(unknown, []);
  });

  it('lists exactly the codes lint emits for an organisation that breaks every rule, and the report maps them all', () => {
    const { loaded, identities, findings } = brokenEverywhere();
    const emitted = [...new Set(findings.map((f) => f.code))].sort();
    assert.deepEqual(emitted, [...LINT_CODES].sort());
    const report = buildComplianceReport({ policy: loaded.policy, identities, findings, asOf });
    assert.equal(report.unmapped.total, 0);
    assert.equal(report.summary.findings.total, findings.length);
  });

  it('gives every addressed control evidence and every control its own words', () => {
    for (const c of CONTROLS) {
      assert.ok(c.asks.length > 0 && c.how.length > 0, c.id);
      if (c.coverage === 'none') assert.deepEqual([c.codes.length, c.evidence.length], [0, 0], c.id);
      else assert.ok(c.evidence.length > 0, c.id);
    }
    const ids = CONTROLS.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ['PR.AA-01', 'PR.AA-05', 'T1', 'T7', 'NHI1', 'NHI10']) assert.ok(ids.includes(id), id);
  });
});

describe('compliance statuses', () => {
  it('meets every addressed control when everything is enforced, recorded and clean, and never the others', () => {
    const r = buildComplianceReport(clean());
    const addressed = CONTROLS.filter((c) => c.coverage !== 'none').length;
    assert.deepEqual(
      [r.summary.met, r.summary.attention, r.summary.notCovered],
      [addressed, 0, CONTROLS.length - addressed],
    );
    for (const id of ['NHI2', 'NHI3', 'NHI4', 'NHI6', 'NHI8', 'NHI9', 'NHI10', 'T1', 'T2', 'T3', 'T5'])
      assert.equal(control(r, id).status, 'not_covered', id);
    assert.deepEqual(r.checked, { lint: true, drift: true, store: true });
    assert.deepEqual(r.notes, []);
  });

  it('needs attention for a finding at medium or above, and stays met with only low ones', () => {
    const medium = buildComplianceReport(
      clean({ findings: [finding('sod.identity_conflict', 'medium', 'identity:O2')] }),
    );
    const c = control(medium, 'PR.AA-05');
    assert.equal(c.status, 'attention');
    assert.match(c.reason, /1 open finding at medium or above/);
    assert.equal(c.findings.examples[0]!.code, 'sod.identity_conflict');

    const low = buildComplianceReport(clean({ findings: [finding('drift.missing_grant', 'low', 'account:apps/O2')] }));
    assert.equal(control(low, 'PR.AA-05').status, 'met');
    assert.match(control(low, 'PR.AA-05').reason, /1 at low or info/);
    assert.equal(control(low, 'PR.AA-05').findings.total, 1);
  });

  it('counts NHI-only codes against the NHI controls only when the finding is about a non-human identity', () => {
    const human = finding('drift.unmanaged_grant', 'high', 'account:apps/O2', { related: ['identity:O2'] });
    const service = finding('drift.unmanaged_grant', 'high', 'account:apps/svc-a', { related: ['identity:svc-a'] });
    const r1 = buildComplianceReport(clean({ findings: [human] }));
    assert.equal(control(r1, 'NHI5').status, 'met');
    assert.equal(control(r1, 'PR.AA-05').status, 'attention');
    const r2 = buildComplianceReport(clean({ findings: [service] }));
    assert.equal(control(r2, 'NHI5').status, 'attention');
    assert.equal(control(r2, 'NHI5').findings.total, 1);
  });

  it('needs attention when the audit chain is broken, even with no findings', () => {
    const base = clean();
    const r = buildComplianceReport({
      ...base,
      store: {
        ...base.store!,
        audit: { records: 12, intact: false, problem: 'record 7: its content does not match its hash' },
      },
    });
    const t7 = control(r, 'T7');
    assert.equal(t7.status, 'attention');
    assert.match(t7.reason, /hash chain broken: record 7/);
    assert.equal(t7.evidence.find((e) => e.id === 'audit_chain')!.state, 'failing');
  });

  it('says what could not be checked without targets or a store, and does not call that met', () => {
    const { store: _s, targets: _t, ...rest } = clean();
    const r = buildComplianceReport(rest);
    assert.deepEqual(r.checked, { lint: true, drift: false, store: false });
    assert.equal(r.notes.length, 2);
    assert.match(r.notes[0]!, /Drift was not checked/);
    const t7 = control(r, 'T7');
    assert.equal(t7.status, 'attention');
    assert.match(t7.reason, /no evidence is recorded yet/);
    assert.ok(control(r, 'PR.AA-01').notes.some((n) => /drift was not checked/.test(n)));
    assert.equal(control(r, 'PR.AA-01').evidence.find((e) => e.id === 'drift_check')!.state, 'missing');
  });

  it('counts hand-overs as confirmed, pending or lapsed at the report date', () => {
    const h = (id: number, extra: Partial<Custody>): Custody => ({
      id,
      nhi: `svc-${id}`,
      previousOwner: 'O3',
      proposedOwner: 'O1',
      since: days(-20),
      deadline: days(-6),
      state: 'pending',
      ...extra,
    });
    const base = clean();
    const custody = [
      h(1, { state: 'confirmed', decidedAt: days(-10), decidedBy: 'O1' }),
      h(2, {}),
      h(3, { deadline: days(5) }),
    ];
    const r = buildComplianceReport({ ...base, store: { ...base.store!, custody } });
    const item = control(r, 'NHI1').evidence.find((e) => e.id === 'nhi_custody')!;
    assert.match(item.detail, /3 hand-overs recorded: 1 confirmed, 1 pending, 1 lapsed/);
  });

  it('lists findings no control takes instead of dropping them', () => {
    const r = buildComplianceReport(clean({ findings: [finding('future.check', 'high', 'identity:O1')] }));
    assert.equal(r.unmapped.total, 1);
    assert.deepEqual(r.unmapped.byCode, { 'future.check': 1 });
    assert.match(renderComplianceMarkdown(r), /## Findings no control takes/);
  });
});

describe('compliance rendering', () => {
  const hostile = '<script>alert("x")</script> & \'quoted\' <img src=x onerror=alert(1)>';
  const report = (): ComplianceReport => {
    const loaded = policy(
      [{ id: 'staff', ...owners, when: 'identity.kind == "employee"', grants: ['directory:group/staff'] }],
      'Acme <b>Corp</b>',
    );
    return buildComplianceReport({
      ...clean(),
      policy: loaded.policy,
      findings: [
        finding('sod.identity_conflict', 'critical', 'identity:<img src=x onerror=alert(2)>', { message: hostile }),
      ],
    });
  };

  it('escapes hostile finding text in the HTML page', () => {
    const html = renderComplianceHtml(report());
    assert.ok(!html.includes('<script'), 'a script tag got through');
    assert.ok(!html.includes('<img'), 'an img tag got through');
    assert.ok(!html.includes('<b>Corp'), 'the policy name was not escaped');
    assert.ok(html.includes(escapeHtml(hostile)));
    assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;quoted&#39;/);
    // One self-contained page: no scripts, nothing fetched from elsewhere.
    assert.match(html, /^<!doctype html>/);
    assert.ok(!/\b(src|href)="(https?:)?\/\//.test(html));
  });

  it('keeps hostile finding text as text in Markdown', () => {
    const md = renderComplianceMarkdown(report());
    // Every angle bracket from the finding is backslash-escaped, so no renderer sees a tag.
    assert.ok(!/(^|[^\\])<(script|img)/m.test(md), 'an unescaped tag got through');
    assert.ok(md.includes('\\<script\\>alert("x")\\</script\\> \\& \'quoted\''));
    assert.match(md, /^# Compliance report: Acme \\<b\\>Corp\\<\/b\\>$/m);
    assert.match(md, /\| PR\.AA-05 .* \| needs attention \| full \| 1 critical \|/);
  });

  it('renders JSON that reads back as the report', () => {
    const r = report();
    const back = JSON.parse(renderComplianceJson(r)) as ComplianceReport;
    assert.equal(back.controls.length, CONTROLS.length);
    assert.equal(back.controls.find((c) => c.id === 'PR.AA-05')!.findings.examples[0]!.message, hostile);
    assert.deepEqual(back.summary, r.summary);
  });
});
