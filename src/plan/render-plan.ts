import { CHANGE_ACTIONS, type AdoptedAccount, type Change, type ChangeAction, type Plan } from '../model/plan.js';

const VERB: Record<ChangeAction, string> = {
  create_account: 'create account',
  rename_account: 'rename account to',
  link_account: 'link account to',
  enable_account: 'enable account',
  update_account: 'update account',
  add_membership: 'add',
  remove_membership: 'remove',
  disable_account: 'disable account',
  delete_account: 'delete account',
  rotate_credential: 'rotate credential of',
};
const SIGN: Record<ChangeAction, string> = {
  create_account: '+',
  rename_account: '~',
  link_account: '~',
  enable_account: '+',
  update_account: '~',
  add_membership: '+',
  remove_membership: '-',
  disable_account: '-',
  delete_account: '-',
  rotate_credential: '~',
};

const RARE: ReadonlySet<ChangeAction> = new Set([
  'rename_account',
  'link_account',
  'update_account',
  'rotate_credential',
]);

export interface RenderOptions {
  /** Changes shown per target before "... and N more" (the counts always cover all). */
  readonly limit?: number;
}

function line(c: Change): string {
  const object = c.entitlement ?? c.newName ?? (c.action === 'link_account' ? c.identity : undefined);
  const what = object !== undefined ? `${VERB[c.action]} ${object}` : VERB[c.action];
  const risk = c.risk === 'high' || c.risk === 'critical' ? ` [${c.risk}]` : '';
  return `${SIGN[c.action]} ${c.account}: ${what}${risk} — ${c.reason}`;
}

function countsText(counts: Readonly<Record<ChangeAction, number>>): string {
  const parts = CHANGE_ACTIONS.filter((a) => counts[a] > 0).map((a) => `${counts[a]} ${a.replace('_', ' ')}`);
  return parts.length > 0 ? parts.join(', ') : 'no changes';
}

/** The plan for a terminal: per target its changes with reasons, then the summary counts. */
/** " — for E001, E002 only": a plan of some identities says so, so nobody reads it as the whole picture. */
function scopeText(plan: Plan): string {
  return plan.onlyIdentities ? ` — for ${plan.onlyIdentities.join(', ')} only` : '';
}

export function renderPlanText(plan: Plan, options: RenderOptions = {}): string {
  const limit = options.limit ?? Infinity;
  const out: string[] = [`Plan for ${plan.policy} as of ${plan.asOf}${scopeText(plan)}`, ''];
  for (const t of plan.targets) {
    out.push(`Target ${t.target} (${t.accountsBefore} accounts now): ${countsText(t.counts)}`);
    t.changes.slice(0, limit).forEach((c) => out.push(`  ${line(c)}`));
    if (t.changes.length > limit)
      out.push(`  ... and ${t.changes.length - limit} more (--limit to show more, --json for all)`);
    if (t.deferred > 0) out.push(`  (${deferredText(t.deferred)}; --json lists them)`);
    if (t.unlinkedAccounts > 0)
      out.push(`  (${t.unlinkedAccounts} account(s) no identity explains: left alone; see drift)`);
    if (t.adopted.length > 0) {
      out.push(`  (adopts ${t.adopted.length} existing account(s) by name)`);
      t.adopted.slice(0, limit).forEach((a) => out.push(`    = ${a.account} (${a.identity}): ${a.reason}`));
      if (t.adopted.length > limit) out.push(`    ... and ${t.adopted.length - limit} more (--json lists them)`);
    }
    out.push('');
  }
  const s = plan.summary;
  const deferred = plan.targets.reduce((n, t) => n + t.deferred, 0);
  out.push(
    s.changes === 0
      ? deferred === 0
        ? 'No changes: every target matches the policy.'
        : `No changes now: ${deferredText(deferred)}.`
      : `Summary: ${s.changes} change(s) for ${s.identitiesAffected} identit${s.identitiesAffected === 1 ? 'y' : 'ies'}: ${countsText(s.byAction)}.` +
          (s.highRiskGrants > 0 ? ` ${s.highRiskGrants} grant(s) of high or critical entitlements.` : ''),
  );
  out.push(...guardrailLines(plan));
  return out.join('\n');
}

/** The plan as Markdown, for a pull-request comment. */
export function renderPlanMarkdown(plan: Plan, options: RenderOptions = {}): string {
  const limit = options.limit ?? 50;
  const s = plan.summary;
  // Updates, renames, links and rotations are rare: their columns show only when a target has one.
  const columns = CHANGE_ACTIONS.filter((a) => !RARE.has(a) || plan.targets.some((t) => (t.counts[a] ?? 0) > 0));
  const out: string[] = [
    `### Tenure plan — ${plan.policy}${scopeText(plan)}`,
    '',
    `${s.changes} change(s) for ${s.identitiesAffected} identities; ${s.highRiskGrants} high or critical grant(s).`,
    '',
    '| target | accounts now | ' + columns.map((a) => a.replace('_', ' ')).join(' | ') + ' |',
    '| --- | ---: | ' + columns.map(() => '---:').join(' | ') + ' |',
    ...plan.targets.map(
      (t) => `| ${t.target} | ${t.accountsBefore} | ${columns.map((a) => t.counts[a]).join(' | ')} |`,
    ),
    '',
  ];
  const deferring = plan.targets.filter((t) => t.deferred > 0);
  if (deferring.length > 0) {
    deferring.forEach((t) => out.push(`- ${t.target}: ${deferredText(t.deferred)} (\`--json\` lists them)`));
    out.push('');
  }
  const adopting = plan.targets.filter((t) => t.adopted.length > 0);
  if (adopting.length > 0) {
    for (const t of adopting) {
      const shown = t.adopted.slice(0, limit).map(adoptedMd).join('; ');
      const more = t.adopted.length > limit ? `; … and ${t.adopted.length - limit} more` : '';
      out.push(`- ${t.target}: adopts ${t.adopted.length} existing account(s) by name: ${shown}${more}`);
    }
    out.push('');
  }
  for (const t of plan.targets) {
    if (t.changes.length === 0) continue;
    out.push(`<details><summary>${t.target}: ${countsText(t.counts)}</summary>`, '');
    t.changes.slice(0, limit).forEach((c) => out.push(`- \`${SIGN[c.action]}\` ${escapeMd(line(c).slice(2))}`));
    if (t.changes.length > limit) out.push(`- … and ${t.changes.length - limit} more`);
    out.push('', '</details>', '');
  }
  out.push(...guardrailLines(plan).map((l) => (l ? `> ${l}` : '')));
  return out.join('\n');
}

/** An adopted account in a line: who takes it over and how much access comes with it. */
function adoptedMd(a: AdoptedAccount): string {
  return escapeMd(
    `${a.account} (${a.identity}), ${a.enabled ? 'enabled' : 'disabled'}, holds ${a.entitlements.length}`,
  );
}

/** Deferred changes are removals (and disables) a mover keeps through the grace period. */
function deferredText(n: number): string {
  return `${n} removal(s) deferred by the mover grace period`;
}

function escapeMd(s: string): string {
  return s.replace(/([|*_`<>])/g, '\\$1');
}

/** The guardrail verdict, said plainly: what blocks the plan and how a person allows it. */
function guardrailLines(plan: Plan): string[] {
  const g = plan.guardrails;
  if (!g.blocked) return [];
  const out = ['', 'BLOCKED: a person must allow this plan before it is applied.'];
  for (const d of g.deprovision.filter((x) => x.blocked))
    out.push(`  deprovisioning breaker: ${d.reason} (tenure apply --allow-deprovision ${d.accounts})`);
  for (const c of g.sodConflicts)
    out.push(
      `  separation of duties: ${c.identity} would hold ${c.entitlements.join(' and ')} (rule ${c.rule}, ${c.severity}); fix the roles or the policy`,
    );
  return out;
}
