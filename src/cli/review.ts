import {
  closeReview,
  decideReviewItem,
  EVIDENCE_COLUMNS,
  reviewEvidence,
  reviewStatus,
  startReview,
  type ReviewerLoad,
} from '../app/review.js';
import { workspaceOf } from '../app/workspace.js';
import { csvText } from '../connectors/csv/csv-connector.js';
import { parseScope } from '../governance/review-scope.js';
import type { ReviewDecision } from '../model/review.js';
import { day } from '../plan/explain.js';
import { dateText } from './flags.js';
import type { GlobalOptions } from './global-options.js';
import { EXIT, toJson, UserError, writeOutput, type Io } from './output.js';

/** How an item nobody could be asked about is shown (and keyed in --json). */
const NOBODY = '(nobody)';

/**
 * `tenure review start --scope SCOPE [--due DATE]`: a campaign with one item per identity and
 * entitlement in scope (from desired state, with provenance and last use), each with its reviewer.
 */
export async function reviewStartCommand(
  io: Io,
  g: GlobalOptions,
  o: { scope?: string; due?: string; default?: string },
): Promise<number> {
  const scope = parseScope(o.scope ?? '');
  if (!scope)
    throw new UserError(
      `--scope ${o.scope ?? ''} is not a review scope`,
      EXIT.usage,
      [],
      'write role:ID, target:ID, manager:ID or nhi-owners',
    );
  const due = o.due === undefined ? undefined : dateText(o.due, '--due');
  const noResponse = o.default === undefined ? undefined : decisionOf(o.default, '--default');
  const r = await startReview(workspaceOf(g), {
    scope,
    ...(due ? { due } : {}),
    ...(noResponse ? { noResponse } : {}),
  });
  if (g.json) {
    io.out(
      toJson({
        campaign: r.campaign,
        scope: r.scope,
        items: r.items,
        reviewers: Object.fromEntries(r.reviewers.map((x) => [label(x), x.items])),
      }),
    );
    return EXIT.ok;
  }
  io.out(
    `review ${r.campaign} of ${r.scope}: ${r.items} item(s) for ${r.reviewers.length} reviewer(s)${r.due ? `, due ${day(r.due)}` : ''}; undecided items are ${r.noResponse === 'keep' ? 'kept' : 'revoked'} when it closes`,
  );
  for (const x of [...r.reviewers].sort((a, b) => b.items - a.items).slice(0, 10)) io.out(`  ${label(x)}: ${x.items}`);
  if (r.reviewers.some((x) => x.reviewer === undefined))
    io.out(`  items for ${NOBODY} have no owner, manager or role owner to ask: give the role an owner`);
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
  const item = whole(itemText, 'item');
  const reviewer = o.as;
  if (!reviewer) throw new UserError('say who decides: --as REVIEWER (an identity id)', EXIT.usage);
  const decided = await decideReviewItem(workspaceOf(g), {
    item,
    decision,
    reviewer,
    ...(o.comment !== undefined ? { comment: o.comment } : {}),
  });
  const i = decided.item;
  if (g.json)
    io.out(toJson({ item: i.id, campaign: i.campaign, decision, identity: i.identity, entitlement: i.entitlement }));
  else
    io.out(
      decision === 'keep'
        ? `item ${i.id}: ${i.identity} keeps ${i.entitlement}`
        : `item ${i.id}: ${i.entitlement} revoked from ${i.identity}; the next plan removes it, and roles ${i.roles.join(', ') || '(none)'} will not grant it again`,
    );
  return EXIT.ok;
}

/** `tenure review status [CAMPAIGN]`: progress per campaign and reviewer, and roles flagged by revokes. */
export async function reviewStatusCommand(io: Io, g: GlobalOptions, campaignText?: string): Promise<number> {
  const id = campaignText === undefined ? undefined : whole(campaignText, 'campaign');
  const status = await reviewStatus(workspaceOf(g), id);
  // The --json shape scripts read; reviewers with most pending first, then by name: who to chase.
  const campaigns = status.campaigns.map((c) => ({
    id: c.id,
    scope: c.scope,
    state: c.state,
    ...(c.due ? { due: day(c.due) } : {}),
    overdue: c.overdue,
    items: c.items,
    kept: c.kept,
    revoked: c.revoked,
    pending: c.pending,
    reviewers: c.reviewers
      .map((r) => ({ reviewer: label(r), items: r.items, pending: r.pending }))
      .sort((a, b) => b.pending - a.pending || (a.reviewer < b.reviewer ? -1 : 1)),
  }));
  if (g.json) {
    io.out(toJson({ campaigns, flagged: status.flagged }));
    return EXIT.ok;
  }
  if (campaigns.length === 0) io.out('No access reviews yet: tenure review start --scope role:ID');
  for (const c of campaigns) {
    io.out(
      `review ${c.id} of ${c.scope} (${c.state}${c.due ? `, due ${c.due}` : ''}${c.overdue ? ', OVERDUE' : ''}): ${c.items} item(s), ${c.kept} kept, ${c.revoked} revoked, ${c.pending} pending`,
    );
    for (const r of c.reviewers.filter((x) => x.pending > 0).slice(0, 10))
      io.out(`  ${r.reviewer}: ${r.pending} pending of ${r.items}`);
  }
  if (status.flagged.length > 0) {
    io.out('Roles whose grants reviewers revoked (their owners should look at the rule):');
    for (const f of status.flagged)
      io.out(`  ${f.role}: ${f.revoked} revoked; owner ${f.businessOwner ?? f.technicalOwner ?? '(none)'}`);
  }
  return EXIT.ok;
}

/**
 * `tenure review close CAMPAIGN`: undecided items get the campaign's no-response default (keep or
 * revoke, recorded as decided by `no-response`), and the campaign's decisions become final.
 */
export async function reviewCloseCommand(io: Io, g: GlobalOptions, campaignText: string): Promise<number> {
  const closed = await closeReview(workspaceOf(g), whole(campaignText, 'campaign'));
  if (g.json)
    io.out(
      toJson({ campaign: closed.campaign, closed: true, undecided: closed.undecided, noResponse: closed.noResponse }),
    );
  else
    io.out(
      `review ${closed.campaign} closed: ${closed.undecided} undecided item(s) ${closed.noResponse === 'keep' ? 'kept' : 'revoked'} by default`,
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
  const { campaign, items } = await reviewEvidence(workspaceOf(g), id);
  const text =
    format === 'json'
      ? toJson({ campaign, items })
      : csvText([EVIDENCE_COLUMNS, ...items.map((r) => EVIDENCE_COLUMNS.map((c) => String(r[c])))]);
  if (o.out) {
    writeOutput(o.out, text);
    if (!g.json) io.out(`wrote ${items.length} item(s) of review ${id} to ${o.out}`);
  } else io.out(text.trimEnd());
  return EXIT.ok;
}

function label(load: Pick<ReviewerLoad, 'reviewer'>): string {
  return load.reviewer ?? NOBODY;
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
