import { watchedEngine } from '../app/watched-engine.js';
import { workspaceOf } from '../app/workspace.js';
import { day } from '../plan/explain.js';
import { writeFileSync } from 'node:fs';
import { flaggedRoles, parseScope, reviewItemsFor, scopeText } from '../governance/review-scope.js';
import type { ReviewCampaign, ReviewDecision, ReviewItem } from '../model/review.js';
import type { StateStore, StoreWriter } from '../store/state-store.js';
import { csvText } from '../connectors/csv/csv-connector.js';
import { EXIT, toJson, UserError, type Io } from './output.js';
import { planningIdentities } from '../app/planning-identities.js';
import { storedDenials, storedExceptions } from '../app/store-access.js';
import type { GlobalOptions } from './global-options.js';

import { dateText } from './flags.js';

/**
 * `tenure review start --scope SCOPE [--due DATE]`: a campaign with one item per identity and
 * entitlement in scope (from desired state, with provenance and last use), each with its reviewer.
 */
export async function reviewStartCommand(
  io: Io,
  g: GlobalOptions,
  o: { scope?: string; due?: string; default?: string },
): Promise<number> {
  const { loaded } = workspaceOf(g).policy();
  const scope = parseScope(o.scope ?? '');
  if (!scope)
    throw new UserError(
      `--scope ${o.scope ?? ''} is not a review scope`,
      EXIT.usage,
      [],
      'write role:ID, target:ID, manager:ID or nhi-owners',
    );
  const now = workspaceOf(g).asOf;
  const due = o.due === undefined ? undefined : dateText(o.due, '--due');
  if (due && due.getTime() <= now.getTime()) throw new UserError(`--due ${o.due} is not in the future`, EXIT.invalid);
  const noResponse = decisionOf(o.default ?? loaded.policy.policies.reviews.noResponse, '--default');
  const { identities } = await planningIdentities(workspaceOf(g), loaded);
  if (scope.kind === 'role' && !loaded.policy.roles.some((r) => r.id === scope.id))
    throw new UserError(`no role "${scope.id}" in the policy`, EXIT.invalid);
  if (scope.kind === 'target' && !loaded.policy.targets.some((t) => t.id === scope.id))
    throw new UserError(`no target "${scope.id}" in the policy`, EXIT.invalid);
  if (scope.kind === 'manager' && !identities.some((i) => i.id === scope.id))
    throw new UserError(`no identity "${scope.id}" to be a manager`, EXIT.invalid);
  const desired = watchedEngine(loaded).desiredState(
    identities,
    now,
    'indexed',
    await storedExceptions(workspaceOf(g)),
    await storedDenials(workspaceOf(g)),
  );
  const items = reviewItemsFor(scope, loaded.policy, identities, desired);
  if (items.length === 0)
    throw new UserError(`nothing to review in ${scopeText(scope)}: nobody holds access there`, EXIT.invalid);
  const by = workspaceOf(g).actor.id;
  const id = await workspaceOf(g).withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        return w.addCampaign(
          { scope: scopeText(scope), createdAt: now, createdBy: by, ...(due ? { due } : {}), noResponse },
          items,
          { actor: by, at: now, reason: `access review of ${scopeText(scope)}` },
        );
      },
      { waitMs },
    ),
  );
  const reviewers = new Map<string, number>();
  for (const i of items) reviewers.set(i.reviewer ?? '(nobody)', (reviewers.get(i.reviewer ?? '(nobody)') ?? 0) + 1);
  if (g.json)
    io.out(
      toJson({ campaign: id, scope: scopeText(scope), items: items.length, reviewers: Object.fromEntries(reviewers) }),
    );
  else {
    io.out(
      `review ${id} of ${scopeText(scope)}: ${items.length} item(s) for ${reviewers.size} reviewer(s)${due ? `, due ${day(due)}` : ''}; undecided items are ${noResponse === 'keep' ? 'kept' : 'revoked'} when it closes`,
    );
    for (const [r, n] of [...reviewers].sort((a, b) => b[1] - a[1]).slice(0, 10)) io.out(`  ${r}: ${n}`);
    if (reviewers.has('(nobody)'))
      io.out('  items for (nobody) have no owner, manager or role owner to ask: give the role an owner');
  }
  return EXIT.ok;
}

/**
 * `tenure review decide ITEM keep|revoke --as REVIEWER [--comment TEXT]`. Only the item's reviewer
 * may decide (a refusal is audited too); a revoke becomes a denial the engine honours at once.
 */
export async function reviewDecideCommand(
  io: Io,
  g: GlobalOptions,
  itemText: string,
  decisionText: string,
  o: { as?: string; comment?: string },
): Promise<number> {
  const decision = decisionOf(decisionText, 'the decision');
  const itemId = whole(itemText, 'item');
  const reviewer = o.as;
  if (!reviewer) throw new UserError('say who decides: --as REVIEWER (an identity id)', EXIT.usage);
  const comment = o.comment?.trim() ?? '';
  if (decision === 'revoke' && comment === '')
    throw new UserError('a revoke needs a reason: --comment "why this access goes"', EXIT.usage);
  const now = workspaceOf(g).asOf;
  const by = workspaceOf(g).actor.id;
  const outcome = await workspaceOf(g).withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const item = (await w.reviewItems({ id: itemId }))[0];
        if (!item) return { refused: `there is no review item ${itemId}` } as const;
        const campaign = (await w.campaigns(item.campaign))[0]!;
        const refuse = async (why: string) => {
          await w.audit([
            {
              at: now,
              actor: by,
              action: 'review.decision_refused',
              subject: `review:${campaign.id}/item:${item.id}`,
              reason: why,
              details: { decidedAs: reviewer, decision },
            },
          ]);
          return { refused: why } as const;
        };
        if (campaign.state === 'closed')
          return refuse(`review ${campaign.id} was closed on ${day(campaign.closedAt!)}: its decisions are final`);
        if (item.reviewer !== reviewer)
          return refuse(
            `${reviewer} is not the reviewer of item ${item.id} (${item.identity}, ${item.entitlement}); ${item.reviewer ?? 'nobody'} is`,
          );
        await decide(w, campaign, [{ item, decision, comment }], now, reviewer, workspaceOf(g).actor.id);
        return { item } as const;
      },
      { waitMs },
    ),
  );
  // A refusal is recorded in the audit log (committed above) and then reported as an error.
  if ('refused' in outcome) throw new UserError(outcome.refused, EXIT.invalid);
  const { item } = outcome;
  if (g.json)
    io.out(
      toJson({
        item: item.id,
        campaign: item.campaign,
        decision,
        identity: item.identity,
        entitlement: item.entitlement,
      }),
    );
  else
    io.out(
      decision === 'keep'
        ? `item ${item.id}: ${item.identity} keeps ${item.entitlement}`
        : `item ${item.id}: ${item.entitlement} revoked from ${item.identity}; the next plan removes it, and roles ${item.roles.join(', ') || '(none)'} will not grant it again`,
    );
  return EXIT.ok;
}

/** `tenure review status [CAMPAIGN]`: progress per campaign and reviewer, and roles flagged by revokes. */
export async function reviewStatusCommand(io: Io, g: GlobalOptions, campaignText?: string): Promise<number> {
  const { loaded } = workspaceOf(g).policy();
  const now = workspaceOf(g).asOf;
  const id = campaignText === undefined ? undefined : whole(campaignText, 'campaign');
  const report = await workspaceOf(g).withStore('read', async (store) => {
    const campaigns = await store.campaigns(id);
    if (id !== undefined && campaigns.length === 0) throw new UserError(`there is no review ${id}`, EXIT.invalid);
    const out = [];
    for (const c of campaigns) out.push(summarise(c, await store.reviewItems({ campaign: c.id }), now));
    return { campaigns: out, flagged: flaggedRoles(await store.denials(), loaded.policy) };
  });
  if (g.json) {
    io.out(toJson(report));
    return EXIT.ok;
  }
  if (report.campaigns.length === 0) io.out('No access reviews yet: tenure review start --scope role:ID');
  for (const c of report.campaigns) {
    io.out(
      `review ${c.id} of ${c.scope} (${c.state}${c.due ? `, due ${c.due}` : ''}${c.overdue ? ', OVERDUE' : ''}): ${c.items} item(s), ${c.kept} kept, ${c.revoked} revoked, ${c.pending} pending`,
    );
    for (const r of c.reviewers.filter((x) => x.pending > 0).slice(0, 10))
      io.out(`  ${r.reviewer}: ${r.pending} pending of ${r.items}`);
  }
  if (report.flagged.length > 0) {
    io.out('Roles whose grants reviewers revoked (their owners should look at the rule):');
    for (const f of report.flagged)
      io.out(`  ${f.role}: ${f.revoked} revoked; owner ${f.businessOwner ?? f.technicalOwner ?? '(none)'}`);
  }
  return EXIT.ok;
}

/**
 * `tenure review close CAMPAIGN`: undecided items get the campaign's no-response default (keep or
 * revoke, recorded as decided by `no-response`), and the campaign's decisions become final.
 */
export async function reviewCloseCommand(io: Io, g: GlobalOptions, campaignText: string): Promise<number> {
  const id = whole(campaignText, 'campaign');
  const now = workspaceOf(g).asOf;
  const result = await workspaceOf(g).withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const campaign = (await w.campaigns(id))[0];
        if (!campaign) throw new UserError(`there is no review ${id}`, EXIT.invalid);
        if (campaign.state === 'closed')
          throw new UserError(`review ${id} was closed on ${day(campaign.closedAt!)} already`, EXIT.invalid);
        const undecided = (await w.reviewItems({ campaign: id })).filter((i) => i.decision === undefined);
        const comment = `no response by the close of review ${id}: the campaign's default is ${campaign.noResponse}`;
        await decide(
          w,
          campaign,
          undecided.map((item) => ({ item, decision: campaign.noResponse, comment })),
          now,
          'no-response',
          workspaceOf(g).actor.id,
        );
        await w.closeCampaign(
          id,
          workspaceOf(g).auditContext(
            `${undecided.length} undecided item(s) ${campaign.noResponse === 'keep' ? 'kept' : 'revoked'} by default`,
            { undecided: undecided.length, noResponse: campaign.noResponse },
          ),
        );
        return { undecided: undecided.length, noResponse: campaign.noResponse };
      },
      { waitMs },
    ),
  );
  if (g.json) io.out(toJson({ campaign: id, closed: true, ...result }));
  else
    io.out(
      `review ${id} closed: ${result.undecided} undecided item(s) ${result.noResponse === 'keep' ? 'kept' : 'revoked'} by default`,
    );
  return EXIT.ok;
}

/** `tenure review export CAMPAIGN [--format csv|json] [--out FILE]`: the evidence, one row per item. */
export async function reviewExportCommand(
  io: Io,
  g: GlobalOptions,
  campaignText: string,
  o: { format?: string; out?: string },
): Promise<number> {
  const id = whole(campaignText, 'campaign');
  const format = o.format ?? (g.json ? 'json' : 'csv');
  if (format !== 'csv' && format !== 'json') throw new UserError(`--format ${format}: write csv or json`, EXIT.usage);
  const { campaign, items } = await workspaceOf(g).withStore('read', async (store: StateStore) => {
    const c = (await store.campaigns(id))[0];
    if (!c) throw new UserError(`there is no review ${id}`, EXIT.invalid);
    return { campaign: c, items: await store.reviewItems({ campaign: id }) };
  });
  const rows = items.map((i) => ({
    campaign: campaign.id,
    scope: campaign.scope,
    item: i.id,
    identity: i.identity,
    entitlement: i.entitlement,
    reviewer: i.reviewer ?? '',
    decision: i.decision ?? 'pending',
    comment: i.comment ?? '',
    decided_at: i.decidedAt?.toISOString() ?? '',
    decided_by: i.decidedBy ?? '',
    provenance: i.provenance,
    last_used: i.lastUsed?.toISOString() ?? '',
  }));
  const text =
    format === 'json'
      ? toJson({ campaign, items: rows })
      : csvText([EVIDENCE_COLUMNS, ...rows.map((r) => EVIDENCE_COLUMNS.map((c) => String(r[c])))]);
  if (o.out) {
    writeFileSync(o.out, text);
    if (!g.json) io.out(`wrote ${rows.length} item(s) of review ${id} to ${o.out}`);
  } else io.out(text.trimEnd());
  return EXIT.ok;
}

/** Records decisions; every revoke becomes a denial; the store audits each in the same transaction. */
async function decide(
  w: StoreWriter,
  campaign: ReviewCampaign,
  decisions: readonly { item: ReviewItem; decision: ReviewDecision; comment: string }[],
  at: Date,
  by: string,
  actorId: string,
): Promise<void> {
  if (decisions.length === 0) return;
  const audit = { actor: actorId, at, reason: `kept by ${by}` };
  await w.decideItems(
    decisions.map((d) => ({ item: d.item.id, decision: d.decision, comment: d.comment, at, by })),
    audit,
  );
  await w.addDenials(
    decisions
      .filter((d) => d.decision === 'revoke')
      .map((d) => ({
        identity: d.item.identity,
        entitlement: d.item.entitlement,
        origin: `review ${campaign.id}, item ${d.item.id}`,
        reason: d.comment,
        decidedBy: by,
        at,
        roles: d.item.roles,
      })),
    audit,
  );
}

function summarise(c: ReviewCampaign, items: readonly ReviewItem[], now: Date) {
  const byReviewer = new Map<string, { items: number; pending: number }>();
  for (const i of items) {
    const r = byReviewer.get(i.reviewer ?? '(nobody)') ?? { items: 0, pending: 0 };
    r.items++;
    if (i.decision === undefined) r.pending++;
    byReviewer.set(i.reviewer ?? '(nobody)', r);
  }
  const pending = items.filter((i) => i.decision === undefined).length;
  return {
    id: c.id,
    scope: c.scope,
    state: c.state,
    ...(c.due ? { due: day(c.due) } : {}),
    overdue: c.state === 'open' && c.due !== undefined && c.due.getTime() < now.getTime() && pending > 0,
    items: items.length,
    kept: items.filter((i) => i.decision === 'keep').length,
    revoked: items.filter((i) => i.decision === 'revoke').length,
    pending,
    reviewers: [...byReviewer]
      .map(([reviewer, v]) => ({ reviewer, ...v }))
      .sort((a, b) => b.pending - a.pending || (a.reviewer < b.reviewer ? -1 : 1)),
  };
}

function decisionOf(text: string, what: string): ReviewDecision {
  if (text === 'keep' || text === 'revoke') return text;
  throw new UserError(`${what} "${text}" is not keep or revoke`, EXIT.usage);
}

function whole(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${what} "${text}" is not a number`, EXIT.usage);
  return n;
}

const EVIDENCE_COLUMNS = [
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
  'provenance',
  'last_used',
] as const;
