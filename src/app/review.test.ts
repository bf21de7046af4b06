import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, UserError } from './errors.js';
import { importSources } from './import.js';
import { closeReview, decideReviewItem, reviewEvidence, reviewStatus, startReview } from './review.js';
import { Workspace } from './workspace.js';

// Access reviews through the application layer: what each use case returns, and what it leaves
// in the store and the audit log.
const policy = `version: 1
name: Review app test
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
roles:
  - id: staff
    business_owner: E001
    when: identity.kind == "employee"
    grants: [directory:group/staff]
  - id: finance
    business_owner: E001
    when: identity.department == "Finance"
    grants: [directory:group/finance]
`;
const hr = `id,status,department,manager
E001,Active,Finance,
E002,Active,Finance,E001
E003,Active,Engineering,E001
E004,Active,Finance,E003
`;

/** A fresh organisation, imported on 2026-11-01; `at` gives a workspace for a day and an actor. */
async function organisation(): Promise<(day: string, as?: string) => Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-app-review-'));
  writeFileSync(join(dir, 'tenure.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), hr);
  const at = (day: string, as = 'operator') =>
    new Workspace({
      config: join(dir, 'tenure.yaml'),
      state: join(dir, 'state.db'),
      asOf: new Date(`${day}T00:00:00Z`),
      as,
    });
  await importSources(at('2026-11-01'), {});
  return at;
}

function auditOf(ws: Workspace) {
  return ws.withStore('read', (store) => store.auditRecords());
}

/** A UserError with this exit code whose message matches. */
function userError(code: number, message: RegExp) {
  return (e: unknown) => e instanceof UserError && e.exitCode === code && message.test(e.message);
}

describe('startReview', () => {
  it('records a campaign with one item per holder, its reviewers, and its audit record', async () => {
    const at = await organisation();
    const due = new Date('2026-11-30T00:00:00Z');
    const started = await startReview(at('2026-11-02'), { scope: { kind: 'role', id: 'finance' }, due });
    // E001 owns the role: their own item has nobody to go to.
    assert.deepEqual(started, {
      campaign: 1,
      scope: 'role:finance',
      items: 3,
      reviewers: [{ items: 1 }, { reviewer: 'E001', items: 2 }],
      due,
      noResponse: 'revoke',
    });
    const ws = at('2026-11-02');
    const [campaign] = await ws.withStore('read', (s) => s.campaigns(1));
    assert.deepEqual(
      [campaign?.scope, campaign?.createdBy, campaign?.due, campaign?.noResponse, campaign?.state],
      ['role:finance', 'operator', due, 'revoke', 'open'],
    );
    const items = await ws.withStore('read', (s) => s.reviewItems({ campaign: 1 }));
    assert.deepEqual(
      items.map((i) => [i.identity, i.entitlement, i.reviewer]),
      [
        ['E001', 'directory:group/finance', undefined],
        ['E002', 'directory:group/finance', 'E001'],
        ['E004', 'directory:group/finance', 'E001'],
      ],
    );
    const record = (await auditOf(ws)).at(-1)!;
    assert.deepEqual(
      [record.action, record.subject, record.actor, record.details.items, record.details.actorSource],
      ['review.started', 'review:1', 'operator', 3, 'flag'],
    );
  });

  it('takes the no-response default it is given over the policy', async () => {
    const at = await organisation();
    const started = await startReview(at('2026-11-02'), { scope: { kind: 'manager', id: 'E001' }, noResponse: 'keep' });
    assert.equal(started.noResponse, 'keep');
    assert.deepEqual(started.reviewers, [{ reviewer: 'E001', items: 3 }]);
    const [campaign] = await at('2026-11-02').withStore('read', (s) => s.campaigns(started.campaign));
    assert.equal(campaign?.noResponse, 'keep');
  });

  it('refuses a due date that is not after its time, an unknown role or manager, and records nothing', async () => {
    const at = await organisation();
    const ws = at('2026-11-02');
    const before = (await auditOf(ws)).length;
    await assert.rejects(
      startReview(ws, { scope: { kind: 'role', id: 'finance' }, due: new Date('2026-11-02T00:00:00Z') }),
      userError(EXIT.invalid, /^--due 2026-11-02 is not in the future$/),
    );
    await assert.rejects(
      startReview(ws, { scope: { kind: 'role', id: 'nope' } }),
      userError(EXIT.invalid, /no role "nope" in the policy/),
    );
    await assert.rejects(
      startReview(ws, { scope: { kind: 'manager', id: 'E999' } }),
      userError(EXIT.invalid, /no identity "E999" to be a manager/),
    );
    await assert.rejects(
      startReview(ws, { scope: { kind: 'nhi-owners' } }),
      userError(EXIT.invalid, /nothing to review in nhi-owners/),
    );
    assert.deepEqual(await ws.withStore('read', (s) => s.campaigns()), []);
    assert.equal((await auditOf(ws)).length, before);
  });
});

describe('decideReviewItem', () => {
  it("audits a refusal of someone who is not the item's reviewer, and changes nothing", async () => {
    const at = await organisation();
    await startReview(at('2026-11-02'), { scope: { kind: 'role', id: 'finance' } });
    const ws = at('2026-11-03', 'E003');
    await assert.rejects(
      decideReviewItem(ws, { item: 2, decision: 'keep', reviewer: 'E003' }),
      userError(EXIT.invalid, /^E003 is not the reviewer of item 2 \(E002, directory:group\/finance\); E001 is$/),
    );
    const refusal = (await auditOf(ws)).at(-1)!;
    assert.deepEqual(
      [refusal.action, refusal.subject, refusal.actor, refusal.details.decidedAs, refusal.details.actorSource],
      ['review.decision_refused', 'review:1/item:2', 'E003', 'E003', 'flag'],
    );
    const [item] = await ws.withStore('read', (s) => s.reviewItems({ id: 2 }));
    assert.equal(item?.decision, undefined);
  });

  it('refuses a revoke without a comment before touching the store, and an unknown item', async () => {
    const at = await organisation();
    await startReview(at('2026-11-02'), { scope: { kind: 'role', id: 'finance' } });
    const ws = at('2026-11-03', 'E001');
    const before = (await auditOf(ws)).length;
    await assert.rejects(
      decideReviewItem(ws, { item: 2, decision: 'revoke', reviewer: 'E001', comment: '  ' }),
      userError(EXIT.usage, /a revoke needs a reason/),
    );
    await assert.rejects(
      decideReviewItem(ws, { item: 99, decision: 'keep', reviewer: 'E001' }),
      userError(EXIT.invalid, /^there is no review item 99$/),
    );
    assert.equal((await auditOf(ws)).length, before);
  });

  it('records a revoke as a decision and a denial, each with its audit record', async () => {
    const at = await organisation();
    await startReview(at('2026-11-02'), { scope: { kind: 'role', id: 'finance' } });
    const ws = at('2026-11-03', 'E001');
    const decided = await decideReviewItem(ws, {
      item: 2,
      decision: 'revoke',
      reviewer: 'E001',
      comment: ' moved to FP&A ',
    });
    assert.equal(decided.decision, 'revoke');
    assert.deepEqual(
      [decided.item.id, decided.item.identity, decided.item.entitlement, decided.item.roles],
      [2, 'E002', 'directory:group/finance', ['finance']],
    );
    const [item] = await ws.withStore('read', (s) => s.reviewItems({ id: 2 }));
    assert.deepEqual(
      [item?.decision, item?.comment, item?.decidedBy, item?.decidedAt],
      ['revoke', 'moved to FP&A', 'E001', new Date('2026-11-03T00:00:00Z')],
    );
    const denials = await ws.withStore('read', (s) => s.denials('E002'));
    assert.deepEqual(
      denials.map((d) => [d.entitlement, d.origin, d.reason, d.decidedBy]),
      [['directory:group/finance', 'review 1, item 2', 'moved to FP&A', 'E001']],
    );
    assert.deepEqual(
      (await auditOf(ws)).slice(-2).map((r) => [r.action, r.subject, r.reason]),
      [
        ['review.revoke', 'E002', 'moved to FP&A'],
        ['denial.recorded', 'E002', 'moved to FP&A'],
      ],
    );
  });
});

describe('reviewStatus and closeReview', () => {
  it('counts decisions per campaign and reviewer, and flags the role a revoke came from', async () => {
    const at = await organisation();
    await startReview(at('2026-11-02'), {
      scope: { kind: 'role', id: 'finance' },
      due: new Date('2026-11-30T00:00:00Z'),
    });
    await decideReviewItem(at('2026-11-03', 'E001'), { item: 2, decision: 'revoke', reviewer: 'E001', comment: 'no' });
    await decideReviewItem(at('2026-11-03', 'E001'), { item: 3, decision: 'keep', reviewer: 'E001' });
    const early = await reviewStatus(at('2026-11-04'));
    assert.deepEqual(early.campaigns, [
      {
        id: 1,
        scope: 'role:finance',
        state: 'open',
        due: new Date('2026-11-30T00:00:00Z'),
        overdue: false,
        items: 3,
        kept: 1,
        revoked: 1,
        pending: 1,
        reviewers: [
          { items: 1, pending: 1 },
          { reviewer: 'E001', items: 2, pending: 0 },
        ],
      },
    ]);
    assert.deepEqual(early.flagged, [{ role: 'finance', revoked: 1, businessOwner: 'E001' }]);
    assert.equal((await reviewStatus(at('2026-12-01'), 1)).campaigns[0]?.overdue, true, 'past due, one pending');
    await assert.rejects(reviewStatus(at('2026-12-01'), 7), userError(EXIT.invalid, /^there is no review 7$/));
  });

  it('closing gives undecided items the default, makes decisions final, and audits it all', async () => {
    const at = await organisation();
    await startReview(at('2026-11-02'), { scope: { kind: 'role', id: 'finance' } });
    await decideReviewItem(at('2026-11-03', 'E001'), { item: 3, decision: 'keep', reviewer: 'E001' });
    const ws = at('2026-11-05');
    assert.deepEqual(await closeReview(ws, 1), { campaign: 1, undecided: 2, noResponse: 'revoke' });
    const items = await ws.withStore('read', (s) => s.reviewItems({ campaign: 1 }));
    assert.deepEqual(
      items.map((i) => [i.identity, i.decision, i.decidedBy]),
      [
        ['E001', 'revoke', 'no-response'],
        ['E002', 'revoke', 'no-response'],
        ['E004', 'keep', 'E001'],
      ],
    );
    const [campaign] = await ws.withStore('read', (s) => s.campaigns(1));
    assert.deepEqual([campaign?.state, campaign?.closedAt, campaign?.closedBy], ['closed', ws.asOf, 'operator']);
    assert.equal((await ws.withStore('read', (s) => s.denials())).length, 2);
    const records = await auditOf(ws);
    const closed = records.at(-1)!;
    assert.deepEqual(
      [closed.action, closed.subject, closed.details.undecided, closed.details.noResponse],
      ['review.closed', 'review:1', 2, 'revoke'],
    );
    assert.deepEqual(
      records.slice(-5, -1).map((r) => r.action),
      ['review.revoke', 'review.revoke', 'denial.recorded', 'denial.recorded'],
    );
    await assert.rejects(closeReview(ws, 1), userError(EXIT.invalid, /^review 1 was closed on 2026-11-05 already$/));
    await assert.rejects(
      decideReviewItem(at('2026-11-06', 'E001'), { item: 3, decision: 'revoke', reviewer: 'E001', comment: 'late' }),
      userError(EXIT.invalid, /^review 1 was closed on 2026-11-05: its decisions are final$/),
    );
    await assert.rejects(closeReview(ws, 7), userError(EXIT.invalid, /^there is no review 7$/));
  });
});

describe('reviewEvidence', () => {
  it('gives one flat row per item, pending ones included', async () => {
    const at = await organisation();
    await startReview(at('2026-11-02'), { scope: { kind: 'role', id: 'finance' } });
    await decideReviewItem(at('2026-11-03', 'E001'), { item: 2, decision: 'revoke', reviewer: 'E001', comment: 'no' });
    const evidence = await reviewEvidence(at('2026-11-04'), 1);
    assert.equal(evidence.campaign.scope, 'role:finance');
    assert.deepEqual(
      evidence.items.map((r) => [r.item, r.identity, r.reviewer, r.decision, r.comment, r.decided_at, r.decided_by]),
      [
        [1, 'E001', '', 'pending', '', '', ''],
        [2, 'E002', 'E001', 'revoke', 'no', '2026-11-03T00:00:00.000Z', 'E001'],
        [3, 'E004', 'E001', 'pending', '', '', ''],
      ],
    );
    assert.match(evidence.items[0]!.provenance, /role "finance"/);
    await assert.rejects(reviewEvidence(at('2026-11-04'), 7), userError(EXIT.invalid, /^there is no review 7$/));
  });
});
