import { watchedEngine } from '../app/watched-engine.js';
import { workspaceOf } from '../app/workspace.js';
import { existsSync, writeFileSync } from 'node:fs';
import { verifyChain } from '../audit/audit-chain.js';
import type { Connector } from '../connectors/connector.js';
import {
  buildComplianceReport,
  type ComplianceReport,
  type StoreEvidence,
  type TargetEvidence,
} from '../governance/compliance.js';
import { computeDrift } from '../governance/drift.js';
import { lint } from '../governance/lint.js';
import {
  renderComplianceHtml,
  renderComplianceJson,
  renderComplianceMarkdown,
} from '../governance/render-compliance.js';
import type { ActualState } from '../model/actual-state.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Finding } from '../model/finding.js';
import type { Identity } from '../model/identity.js';
import type { EventKind } from '../model/lifecycle.js';
import type { Policy } from '../model/policy.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { isPostgresUrl } from '../store/open-store.js';
import { EXIT, printDiagnostics, UserError, type Io } from './output.js';
import { planNow } from '../app/plan-state.js';
import { planningIdentities } from '../app/planning-identities.js';
import { storedDenials, storedExceptions } from '../app/store-access.js';
import type { GlobalOptions } from './global-options.js';
import { listedOnce, openActualState, openTargets } from '../app/inputs.js';

export interface ReportOptions {
  readonly format?: string;
  readonly out?: string;
  readonly skipDrift?: boolean;
}

const FORMATS = ['markdown', 'html', 'json'] as const;
type Format = (typeof FORMATS)[number];

/**
 * `tenure report compliance`: lint and drift findings, and the evidence of the controls Tenure
 * enforces (audit chain, breakers, separation of duties, exceptions, reviews, NHI custody),
 * mapped to NIST CSF 2.0, NIST SP 800-207 and the OWASP NHI Top 10. Drift reads the targets;
 * `--skip-drift` reports without them and says so. Reading only: nothing is changed or audited.
 */
export async function reportComplianceCommand(io: Io, g: GlobalOptions, o: ReportOptions): Promise<number> {
  const format = parseFormat(o.format, g.json);
  const asOf = workspaceOf(g).asOf;
  const { loaded, warnings } = workspaceOf(g).policy();
  let notes: readonly Diagnostic[];

  let identities: readonly Identity[];
  let driftFindings: readonly Finding[] = [];
  let targets: TargetEvidence | undefined;
  if (o.skipDrift) {
    const planning = await planningIdentities(workspaceOf(g), loaded);
    identities = planning.identities;
    notes = [...warnings, ...planning.diagnostics];
  } else {
    const connectors = openTargetsForReport(loaded);
    try {
      const actual = await readTargets(loaded, connectors);
      // The plan reads the same listings: one read per target, so plan and drift see one state.
      const now = await planNow(workspaceOf(g), { connectors });
      // The plan's warnings include the policy's own.
      notes = now.warnings;
      identities = now.identities;
      const drift = computeDrift({
        loaded: now.loaded,
        identities: now.identities,
        actual,
        plan: now.plan,
        asOf: new Date(now.plan.asOf),
      });
      driftFindings = drift.findings;
      targets = {
        targets: actual.targets.length,
        accounts: actual.targets.reduce((n, t) => n + t.accounts.length, 0),
        driftFindings: drift.findings.length,
        sodConflicts: now.plan.guardrails.sodConflicts.length,
        deprovisionBlocked: now.plan.guardrails.deprovision.filter((d) => d.blocked).map((d) => d.target),
      };
    } finally {
      for (const c of connectors.values()) await c.close();
    }
  }

  // The same inputs as `tenure lint`, so the report and lint never disagree.
  const exceptions = await storedExceptions(workspaceOf(g));
  const engine = watchedEngine(loaded);
  const denials = await storedDenials(workspaceOf(g));
  const desired = engine.desiredState(identities, asOf, 'indexed', exceptions, denials);
  const lintFindings = lint({ loaded, identities, exceptions, desired, asOf, closures: engine.closures, denials });
  const store = await storeEvidence(g, loaded.policy);

  const report = buildComplianceReport({
    policy: loaded.policy,
    identities,
    findings: [...lintFindings, ...driftFindings],
    ...(store ? { store } : {}),
    ...(targets ? { targets } : {}),
    asOf,
  });
  printDiagnostics(io, notes);
  const text = render(report, format);
  if (o.out !== undefined) {
    try {
      writeFileSync(o.out, text);
    } catch (e) {
      throw new UserError(`cannot write ${o.out}: ${(e as Error).message}`);
    }
    const s = report.summary;
    io.err(
      `compliance report (${format}) written to ${o.out}: ${s.met} met, ${s.attention} need attention, ${s.notCovered} not covered`,
    );
  } else io.out(text.trimEnd());
  return EXIT.ok;
}

function render(report: ComplianceReport, format: Format): string {
  if (format === 'html') return renderComplianceHtml(report);
  if (format === 'json') return renderComplianceJson(report);
  return renderComplianceMarkdown(report);
}

function parseFormat(text: string | undefined, json: boolean): Format {
  if (text === undefined) return json ? 'json' : 'markdown';
  const f = FORMATS.find((x) => x === text.toLowerCase());
  if (f === undefined)
    throw new UserError(`--format ${text} is not a report format`, EXIT.usage, [], `use one of ${FORMATS.join(', ')}`);
  if (json && f !== 'json')
    throw new UserError(`--json asks for JSON but --format asks for ${f}`, EXIT.usage, [], 'drop one of them');
  return f;
}

/** More imports than any store holds (one a night for a thousand years is 365,000). */
const ALL_IMPORTS = 1_000_000_000;

const SKIP_HINT = 'fix the target, or run with --skip-drift to report without reading the targets';

/** Connectors whose problems (a missing secret, an unknown host) point at --skip-drift. */
function openTargetsForReport(loaded: LoadedPolicy): Map<string, Connector> {
  try {
    return new Map([...openTargets(loaded)].map(([id, c]) => [id, listedOnce(c)]));
  } catch (e) {
    throw withSkipHint(e);
  }
}

async function readTargets(loaded: LoadedPolicy, connectors: ReadonlyMap<string, Connector>): Promise<ActualState> {
  try {
    return await openActualState(loaded, undefined, connectors);
  } catch (e) {
    throw withSkipHint(e);
  }
}

function withSkipHint(e: unknown): unknown {
  if (!(e instanceof UserError)) return e;
  return new UserError(e.message, e.exitCode, e.diagnostics, e.hint ? `${e.hint}; or ${SKIP_HINT}` : SKIP_HINT);
}

/** Counts from the state store; undefined when there is none (a SQLite file is not created just to look). */
async function storeEvidence(g: GlobalOptions, policy: Policy): Promise<StoreEvidence | undefined> {
  const location = workspaceOf(g).storeLocation().location;
  if (!isPostgresUrl(location) && !existsSync(location)) return undefined;
  return workspaceOf(g).withStore('read', async (store) => {
    const verdict = verifyChain(await store.auditRecords());
    // Every import ever recorded, not the last few a status screen shows.
    const imports = await store.imports(ALL_IMPORTS);
    const events: Partial<Record<EventKind, number>> = {};
    for (const e of await store.events()) events[e.kind] = (events[e.kind] ?? 0) + 1;
    let leavers = 0;
    for (const s of policy.sources) leavers += (await store.approvals('leavers', `source:${s.id}`)).length;
    let deprovision = 0;
    for (const t of policy.targets) deprovision += (await store.approvals('deprovision', `target:${t.id}`)).length;
    return {
      audit: {
        records: verdict.records,
        intact: verdict.ok,
        ...(verdict.firstBad ? { problem: `record ${verdict.firstBad.seq}: ${verdict.firstBad.problem}` } : {}),
      },
      imports: {
        applied: imports.filter((i) => i.outcome === 'applied').length,
        stopped: imports.filter((i) => i.outcome === 'stopped').length,
      },
      approvals: { leavers, deprovision },
      events,
      exceptions: await store.exceptions(),
      campaigns: await store.campaigns(),
      reviewItems: await store.reviewItems({}),
      denials: await store.denials(),
      custody: await store.custody(),
      rotations: await store.rotations(),
    };
  });
}
