import { day } from '../plan/explain.js';
import { flaggedRoles, reviewItemsFor, scopeText, type ReviewScope } from '../governance/review-scope.js';
import type { AccessException } from '../model/exception.js';
import type { Denial, ReviewCampaign, ReviewDecision, ReviewItem } from '../model/review.js';
import type { AuditContext, StoreWriter } from '../store/state-store.js';
import { EXIT, UserError } from './errors.js';
import { importedSnapshots, planningIdentities, type ImportedSnapshot } from './planning-identities.js';
import { watchedEngine } from './watched-engine.js';
import type { Workspace } from './workspace.js';

/** How many items one reviewer has; `reviewer` is absent when nobody could be asked. */
export interface ReviewerLoad {
  readonly reviewer?: string;
  readonly items: number;
}

export interface StartedReview {
  readonly campaign: number;
  readonly scope: string;
  readonly items: number;
  /** In the order reviewers first appear among the items. */
  readonly reviewers: readonly ReviewerLoad[];
  readonly due?: Date;
  readonly noResponse: ReviewDecision;
}

/**
 * Starts an access review (`tenure review start`): one item per identity and entitlement in scope,
 * from desired state (so each carries its provenance), each with its reviewer. The campaign, its
 * items and its `review.started` record are written in one transaction. `noResponse` defaults to
 * the policy's `reviews.no_response`.
 */
export async function startReview(
  ws: Workspace,
  options: { readonly scope: ReviewScope; readonly due?: Date; readonly noResponse?: ReviewDecision },
): Promise<StartedReview> {
  const { loaded } = ws.policy();
  const { scope, due } = options;
  if (due && due.getTime() <= ws.asOf.getTime())
    throw new UserError(`--due ${dateWords(due)} is not in the future`, EXIT.invalid);
  const noResponse = options.noResponse ?? loaded.policy.policies.reviews.noResponse;
  // Snapshots, exceptions and denials from one opening of the store; only audited rows count.
  const none = { snapshots: new Map<string, ImportedSnapshot>(), exceptions: [], denials: [] };
  const stored = await ws.ifStored<{
    snapshots: ReadonlyMap<string, ImportedSnapshot>;
    exceptions: AccessException[];
    denials: Denial[];
  }>(none, async (store) => {
    const trusted = await store.trustedGovernedState();
    return {
      snapshots: await importedSnapshots(store, loaded),
      exceptions: trusted.exceptions,
      denials: trusted.denials,
    };
  });
  const { identities } = await planningIdentities(ws, loaded, false, stored.snapshots);
  if (scope.kind === 'role' && !loaded.policy.roles.some((r) => r.id === scope.id))
    throw new UserError(`no role "${scope.id}" in the policy`, EXIT.invalid);
  if (scope.kind === 'target' && !loaded.policy.targets.some((t) => t.id === scope.id))
    throw new UserError(`no target "${scope.id}" in the policy`, EXIT.invalid);
  if (scope.kind === 'manager' && !identities.some((i) => i.id === scope.id))
    throw new UserError(`no identity "${scope.id}" to be a manager`, EXIT.invalid);
  const desired = watchedEngine(loaded).desiredState(identities, ws.asOf, 'indexed', stored.exceptions, stored.denials);
  const items = reviewItemsFor(scope, loaded.policy, identities, desired);
  if (items.length === 0)
    throw new UserError(`nothing to review in ${scopeText(scope)}: nobody holds access there`, EXIT.invalid);
  const campaign = await ws.withStore('write', (store, waitMs) =>
    store.write(
      (w) =>
        w.addCampaign(
          {
            scope: scopeText(scope),
            createdAt: ws.asOf,
            createdBy: ws.actor.id,
            ...(due ? { due } : {}),
            noResponse,
          },
          items,
          ws.auditContext(`access review of ${scopeText(scope)}`),
        ),
      { waitMs },
    ),
  );
  const reviewers = new Map<string | undefined, number>();
  for (const i of items) reviewers.set(i.reviewer, (reviewers.get(i.reviewer) ?? 0) + 1);
  return {
    campaign,
    scope: scopeText(scope),
    items: items.length,
    reviewers: [...reviewers].map(([reviewer, n]) => ({ ...(reviewer !== undefined ? { reviewer } : {}), items: n })),
    ...(due ? { due } : {}),
    noResponse,
  };
}

export interface DecidedItem {
  readonly item: ReviewItem;
  readonly decision: ReviewDecision;
}

/**
 * A reviewer keeps or revokes one item (`tenure review decide`). Only the item's reviewer may
 * decide, and only while the campaign is open: a refusal is audited (`review.decision_refused`,
 * committed) and then thrown as a UserError. A revoke needs a comment and becomes a denial the
 * engine honours at once; decision, denial and their records commit together.
 */
export async function decideReviewItem(
  ws: Workspace,
  options: {
    readonly item: number;
    readonly decision: ReviewDecision;
    /** The person deciding: must be the item's reviewer. */
    readonly reviewer: string;
    readonly comment?: string;
  },
): Promise<DecidedItem> {
  const { item: itemId, decision, reviewer } = options;
  const comment = options.comment?.trim() ?? '';
  if (decision === 'revoke' && comment === '')
    throw new UserError('a revoke needs a reason: --comment "why this access goes"', EXIT.usage);
  const outcome = await ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const item = (await w.reviewItems({ id: itemId }))[0];
        if (!item) return { refused: `there is no review item ${itemId}` } as const;
        const campaign = (await w.campaigns(item.campaign))[0]!;
        const refuse = async (why: string) => {
          await w.audit([
            ws.auditEntry({
              action: 'review.decision_refused',
              subject: `review:${campaign.id}/item:${item.id}`,
              reason: why,
              details: { decidedAs: reviewer, decision },
            }),
          ]);
          return { refused: why } as const;
        };
        if (campaign.state === 'closed')
          return refuse(`review ${campaign.id} was closed on ${day(campaign.closedAt!)}: its decisions are final`);
        if (item.reviewer !== reviewer)
          return refuse(
            `${reviewer} is not the reviewer of item ${item.id} (${item.identity}, ${item.entitlement}); ${item.reviewer ?? 'nobody'} is`,
          );
        // `kept by ...` is the reason only of a decision without a comment: a revoke always has one.
        await decide(
          w,
          campaign,
          [{ item, decision, comment }],
          ws.asOf,
          reviewer,
          ws.auditContext(`kept by ${reviewer}`),
        );
        return { item } as const;
      },
      { waitMs },
    ),
  );
  // Thrown only now, so the refusal's audit record is committed rather than rolled back.
  if ('refused' in outcome) throw new UserError(outcome.refused, EXIT.invalid);
  return { item: outcome.item, decision };
}

/** One campaign's progress. */
export interface ReviewProgress {
  readonly id: number;
  readonly scope: string;
  readonly state: ReviewCampaign['state'];
  readonly due?: Date;
  /** Open, past its due date, with items still pending. */
  readonly overdue: boolean;
  readonly items: number;
  readonly kept: number;
  readonly revoked: number;
  readonly pending: number;
  /** In the order reviewers first appear among the items; `reviewer` is absent when nobody could be asked. */
  readonly reviewers: readonly (ReviewerLoad & { readonly pending: number })[];
}

export interface ReviewStatus {
  readonly campaigns: readonly ReviewProgress[];
  /** Roles whose grants reviewers revoked: their owners should look at the rule. */
  readonly flagged: ReturnType<typeof flaggedRoles>;
}

/** Progress of every campaign, or of one (`tenure review status [CAMPAIGN]`), and the roles revokes flag. */
export async function reviewStatus(ws: Workspace, campaign?: number): Promise<ReviewStatus> {
  const { loaded } = ws.policy();
  return ws.withStore('read', async (store) => {
    const campaigns = await store.campaigns(campaign);
    if (campaign !== undefined && campaigns.length === 0)
      throw new UserError(`there is no review ${campaign}`, EXIT.invalid);
    const out: ReviewProgress[] = [];
    for (const c of campaigns) out.push(progressOf(c, await store.reviewItems({ campaign: c.id }), ws.asOf));
    return { campaigns: out, flagged: flaggedRoles(await store.denials(), loaded.policy) };
  });
}

export interface ClosedReview {
  readonly campaign: number;
  /** Items nobody decided, now decided by the campaign's default. */
  readonly undecided: number;
  readonly noResponse: ReviewDecision;
}

/**
 * Closes a campaign (`tenure review close`): undecided items get its no-response default (keep or
 * revoke, decided by `no-response`), and its decisions become final; all in one transaction with
 * their records (`review.keep`/`review.revoke`, `denial.recorded`, `review.closed`).
 */
export async function closeReview(ws: Workspace, campaign: number): Promise<ClosedReview> {
  return ws.withStore('write', (store, waitMs) =>
    store.write(
      async (w) => {
        const c = (await w.campaigns(campaign))[0];
        if (!c) throw new UserError(`there is no review ${campaign}`, EXIT.invalid);
        if (c.state === 'closed')
          throw new UserError(`review ${campaign} was closed on ${day(c.closedAt!)} already`, EXIT.invalid);
        const undecided = (await w.reviewItems({ campaign })).filter((i) => i.decision === undefined);
        const comment = `no response by the close of review ${campaign}: the campaign's default is ${c.noResponse}`;
        await decide(
          w,
          c,
          undecided.map((item) => ({ item, decision: c.noResponse, comment })),
          ws.asOf,
          'no-response',
          ws.auditContext('kept by no-response'),
        );
        await w.closeCampaign(
          campaign,
          ws.auditContext(
            `${undecided.length} undecided item(s) ${c.noResponse === 'keep' ? 'kept' : 'revoked'} by default`,
            { undecided: undecided.length, noResponse: c.noResponse },
          ),
        );
        return { campaign, undecided: undecided.length, noResponse: c.noResponse };
      },
      { waitMs },
    ),
  );
}

/** The columns of the evidence, in the order an auditor reads them. */
export const EVIDENCE_COLUMNS = [
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

/** One item as evidence: flat text (empty when unknown), the same in CSV and JSON. */
export type EvidenceRow = {
  readonly [K in (typeof EVIDENCE_COLUMNS)[number]]: K extends 'campaign' | 'item' ? number : string;
};

export interface ReviewEvidence {
  readonly campaign: ReviewCampaign;
  readonly items: readonly EvidenceRow[];
}

/** A campaign's evidence (`tenure review export`): one row per item, decided or not. */
export async function reviewEvidence(ws: Workspace, campaign: number): Promise<ReviewEvidence> {
  const { c, items } = await ws.withStore('read', async (store) => {
    const found = (await store.campaigns(campaign))[0];
    if (!found) throw new UserError(`there is no review ${campaign}`, EXIT.invalid);
    return { c: found, items: await store.reviewItems({ campaign }) };
  });
  return {
    campaign: c,
    items: items.map((i) => ({
      campaign: c.id,
      scope: c.scope,
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
    })),
  };
}

/** Records decisions; every revoke becomes a denial; the store audits each in the same transaction. */
async function decide(
  w: StoreWriter,
  campaign: ReviewCampaign,
  decisions: readonly { item: ReviewItem; decision: ReviewDecision; comment: string }[],
  at: Date,
  by: string,
  audit: AuditContext,
): Promise<void> {
  if (decisions.length === 0) return;
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

function progressOf(c: ReviewCampaign, items: readonly ReviewItem[], now: Date): ReviewProgress {
  const byReviewer = new Map<string | undefined, { items: number; pending: number }>();
  for (const i of items) {
    const r = byReviewer.get(i.reviewer) ?? { items: 0, pending: 0 };
    r.items++;
    if (i.decision === undefined) r.pending++;
    byReviewer.set(i.reviewer, r);
  }
  const pending = items.filter((i) => i.decision === undefined).length;
  return {
    id: c.id,
    scope: c.scope,
    state: c.state,
    ...(c.due ? { due: c.due } : {}),
    overdue: c.state === 'open' && c.due !== undefined && c.due.getTime() < now.getTime() && pending > 0,
    items: items.length,
    kept: items.filter((i) => i.decision === 'keep').length,
    revoked: items.filter((i) => i.decision === 'revoke').length,
    pending,
    reviewers: [...byReviewer].map(([reviewer, v]) => ({ ...(reviewer !== undefined ? { reviewer } : {}), ...v })),
  };
}

/** A date as the user most likely wrote it: the day alone at midnight UTC, else the full time. */
function dateWords(d: Date): string {
  return d.getTime() % 86_400_000 === 0 ? day(d) : d.toISOString();
}
