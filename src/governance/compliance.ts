import { custodyLapsed, type CredentialRotation, type Custody } from '../model/custody.js';
import { exceptionActive, type AccessException } from '../model/exception.js';
import {
  FINDING_SEVERITIES,
  severityRank,
  sortFindings,
  type Finding,
  type FindingSeverity,
} from '../model/finding.js';
import { isNonHuman, type Identity } from '../model/identity.js';
import type { EventKind } from '../model/lifecycle.js';
import type { BreakerSettings, Policy } from '../model/policy.js';
import { denialActive, type Denial, type ReviewCampaign, type ReviewItem } from '../model/review.js';
import { DRIFT_CODES } from './drift.js';

/**
 * Every finding code `lint` can emit. lint.ts builds its codes inline, so the list lives here;
 * compliance.test.ts runs lint over an organisation that breaks every rule and checks that it
 * emits exactly these, so a new check cannot reach the report unmapped without a test failing.
 */
export const LINT_CODES = [
  'role.no_business_owner',
  'role.no_technical_owner',
  'role.owner_unknown',
  'role.owner_inactive',
  'role.matches_nobody',
  'role.unreachable',
  'role.birthright_high_risk',
  'role.too_many_entitlements',
  'role.grants_revoked',
  'sod.within_role',
  'sod.identity_conflict',
  'exception.expired',
  'exception.no_reason',
  'exception.no_approver',
  'exception.self_approved',
  'exception.too_long',
  'exception.unknown_identity',
  'exception.unknown_entitlement',
  'nhi.no_owner',
  'nhi.owner_unknown',
  'nhi.owner_not_human',
  'nhi.owner_inactive',
  'nhi.credential_too_old',
  'nhi.credential_expired',
  'nhi.unused',
  'entitlement.unused',
] as const;

/** Every finding code the report knows: lint's and drift's. */
export const FINDING_CODES: readonly string[] = [...LINT_CODES, ...DRIFT_CODES];

export const FRAMEWORKS = [
  {
    id: 'nist-csf-2.0',
    name: 'NIST Cybersecurity Framework 2.0',
    scope: 'Protect: identity management and access control (PR.AA)',
  },
  {
    id: 'nist-sp-800-207',
    name: 'NIST SP 800-207 Zero Trust Architecture',
    scope: 'the seven tenets of zero trust (section 2.1)',
  },
  { id: 'owasp-nhi-2025', name: 'OWASP Non-Human Identities Top 10 (2025)', scope: 'the ten risks, NHI1 to NHI10' },
] as const;
export type FrameworkId = (typeof FRAMEWORKS)[number]['id'];

/**
 * How much of a control Tenure takes on: `full`, `partial` (the report says what is left to
 * other tools), or `none` (outside Tenure's scope: reported as not covered, never as met).
 */
export type Coverage = 'full' | 'partial' | 'none';

/** The evidence Tenure can show for the controls it enforces; each is counted from the policy, the store or the targets. */
export const EVIDENCE_IDS = [
  'audit_chain',
  'imports',
  'lifecycle_events',
  'mass_leaver_breaker',
  'deprovision_breaker',
  'leaver_rules',
  'roles_owned',
  'dynamic_policy',
  'sod_rules',
  'sod_guardrail',
  'exceptions_bounded',
  'access_reviews',
  'nhi_ownership',
  'nhi_custody',
  'credential_age',
  'drift_check',
] as const;
export type EvidenceId = (typeof EVIDENCE_IDS)[number];

export interface ControlDefinition {
  readonly id: string;
  readonly framework: FrameworkId;
  /** A short name, in our words. */
  readonly title: string;
  /** What the control asks, in our words (not a quotation). */
  readonly asks: string;
  readonly coverage: Coverage;
  /** How Tenure addresses it; for `none`, why it is out of scope. */
  readonly how: string;
  /** What Tenure leaves to other tools, for `partial`. */
  readonly limits?: string;
  /** Finding codes that count against the control, whatever they concern. */
  readonly codes: readonly string[];
  /** Finding codes that count against it only when they concern a non-human identity. */
  readonly nonHumanCodes?: readonly string[];
  /** Enforced controls whose evidence supports it. */
  readonly evidence: readonly EvidenceId[];
}

const ROLE_CODES = LINT_CODES.filter((c) => c.startsWith('role.'));
const EXCEPTION_CODES = LINT_CODES.filter((c) => c.startsWith('exception.'));
const NHI_OWNER_CODES = ['nhi.no_owner', 'nhi.owner_unknown', 'nhi.owner_not_human', 'nhi.owner_inactive'];

/** The mapping, in report order. Titles and summaries are our words; the frameworks are cited by id. */
export const CONTROLS: readonly ControlDefinition[] = [
  {
    id: 'PR.AA-01',
    framework: 'nist-csf-2.0',
    title: 'Identities and credentials are managed',
    asks: 'The organisation manages the identities of its people, services and devices, and their credentials, through their whole life.',
    coverage: 'partial',
    how: 'Identities come only from authoritative feeds (HR, the NHI inventory) through guarded imports; joiners, movers and leavers are recorded as events and reconciled into every target; leavers are disabled and deleted on the policy schedule; every non-human identity has an accountable human owner and credential-age limits.',
    limits:
      'Devices, identity proofing and the secrets themselves are outside Tenure: it reads credential dates from the inventory and rotates only through connectors that can.',
    codes: [
      'drift.terminated_enabled',
      'drift.orphan_account',
      'drift.duplicate_account',
      'drift.unknown_link',
      'drift.unneeded_account',
      'drift.deletion_due',
      'drift.missing_account',
      'drift.disabled_but_desired',
      'drift.pending_rename',
      'drift.attribute_mismatch',
      ...NHI_OWNER_CODES,
      'nhi.credential_too_old',
      'nhi.credential_expired',
      'nhi.unused',
      'exception.unknown_identity',
    ],
    evidence: [
      'imports',
      'lifecycle_events',
      'mass_leaver_breaker',
      'leaver_rules',
      'nhi_ownership',
      'nhi_custody',
      'credential_age',
      'drift_check',
      'audit_chain',
    ],
  },
  {
    id: 'PR.AA-05',
    framework: 'nist-csf-2.0',
    title: 'Access is defined in policy, enforced and reviewed, with least privilege and separation of duties',
    asks: 'Permissions and entitlements are written down as policy, managed, enforced and reviewed, following least privilege and separation of duties.',
    coverage: 'full',
    how: 'Roles are policy as code with business and technical owners; desired access is computed from them and reconciled into the targets; separation-of-duties rules are checked by lint and block any plan that would create a conflict; exceptions are time-bound, need a reason and an approver other than the holder; access reviews record keep and revoke decisions, and revokes stick.',
    codes: [
      ...ROLE_CODES,
      'sod.within_role',
      'sod.identity_conflict',
      ...EXCEPTION_CODES,
      'entitlement.unused',
      'drift.unmanaged_grant',
      'drift.undeclared_entitlement',
      'drift.unneeded_account',
      'drift.disabled_holds_grants',
      'drift.missing_grant',
    ],
    evidence: [
      'roles_owned',
      'sod_rules',
      'sod_guardrail',
      'exceptions_bounded',
      'access_reviews',
      'deprovision_breaker',
      'drift_check',
      'audit_chain',
    ],
  },
  {
    id: 'T1',
    framework: 'nist-sp-800-207',
    title: 'Every data source and computing service is a resource',
    asks: 'Treat all data sources and computing services, whatever they run on, as resources to protect.',
    coverage: 'none',
    how: 'Tenure does not inventory resources; it manages who may reach the targets it is configured with.',
    codes: [],
    evidence: [],
  },
  {
    id: 'T2',
    framework: 'nist-sp-800-207',
    title: 'Communication is secured wherever it happens',
    asks: 'Secure all communication the same way, whether or not it is inside the enterprise network.',
    coverage: 'none',
    how: 'Network and transport security belong to the network and the applications, not to provisioning.',
    codes: [],
    evidence: [],
  },
  {
    id: 'T3',
    framework: 'nist-sp-800-207',
    title: 'Access is granted per session',
    asks: 'Grant access to each resource for one session at a time, with the least privilege the task needs.',
    coverage: 'none',
    how: 'Tenure manages standing access (accounts and memberships); per-session decisions belong to the identity provider or an access proxy. Time-bound exceptions are the nearest it offers.',
    codes: [],
    evidence: [],
  },
  {
    id: 'T4',
    framework: 'nist-sp-800-207',
    title: 'Access is decided by dynamic policy',
    asks: 'Decide access by policy that takes in the observable state of the identity, the service and the asset asking.',
    coverage: 'partial',
    how: "Desired access is recomputed from each identity's attributes, status and dates by the policy's rules whenever the feeds, the policy or the time change, and reconciliation brings the targets to it.",
    limits:
      'Device posture and behaviour are not inputs, and the decision is taken when access is provisioned, not on each request.',
    codes: [
      'drift.terminated_enabled',
      'drift.unneeded_account',
      'drift.unmanaged_grant',
      'drift.undeclared_entitlement',
      'drift.missing_account',
      'drift.missing_grant',
      'drift.disabled_but_desired',
      'exception.too_long',
      'role.birthright_high_risk',
    ],
    evidence: ['dynamic_policy', 'leaver_rules', 'drift_check'],
  },
  {
    id: 'T5',
    framework: 'nist-sp-800-207',
    title: 'The integrity and posture of every asset is monitored',
    asks: 'Monitor and measure the security posture of all owned and associated assets; trust none by default.',
    coverage: 'none',
    how: 'Device and workload posture (patches, configuration, integrity) are outside Tenure.',
    codes: [],
    evidence: [],
  },
  {
    id: 'T6',
    framework: 'nist-sp-800-207',
    title: 'Authentication and authorisation are strictly enforced before access',
    asks: 'Authenticate and authorise dynamically and strictly before any access, within an identity, credential and access management programme.',
    coverage: 'partial',
    how: 'Tenure is the identity and access lifecycle part of it: accounts and memberships exist only while the policy grants them, guardrails stop plans that break separation of duties or take access from too many at once, and exceptions need a second person.',
    limits:
      'Authentication (passwords, MFA, tokens) and per-request authorisation happen in the identity provider and the applications.',
    codes: [
      'drift.terminated_enabled',
      'drift.orphan_account',
      'drift.duplicate_account',
      'drift.unknown_link',
      'drift.unmanaged_grant',
      'sod.identity_conflict',
      'exception.no_approver',
      'exception.self_approved',
    ],
    evidence: ['leaver_rules', 'sod_guardrail', 'deprovision_breaker', 'exceptions_bounded', 'drift_check'],
  },
  {
    id: 'T7',
    framework: 'nist-sp-800-207',
    title: 'Information about the current state is collected and used',
    asks: 'Collect as much as possible about the state of assets, network and communications, and use it to improve security.',
    coverage: 'partial',
    how: 'Every change is written to a hash-chained audit log; lifecycle events, access reviews and drift reports are recorded and feed back into the policy.',
    limits: 'Network traffic and asset telemetry are outside Tenure.',
    codes: [],
    evidence: ['audit_chain', 'lifecycle_events', 'access_reviews', 'drift_check'],
  },
  {
    id: 'NHI1',
    framework: 'owasp-nhi-2025',
    title: 'Improper offboarding',
    asks: 'Retire service accounts, keys and other non-human identities when they are no longer needed, or when their owner goes.',
    coverage: 'full',
    how: "Every non-human identity has a human owner; when the owner leaves it is offered to the owner's manager with a deadline and suspended (accounts disabled, credentials revoked where the target can) if nobody takes it; one that leaves its inventory is deprovisioned like a leaver; unused and expired credentials are findings.",
    codes: [...NHI_OWNER_CODES, 'nhi.unused', 'nhi.credential_expired'],
    nonHumanCodes: [
      'drift.terminated_enabled',
      'drift.unneeded_account',
      'drift.deletion_due',
      'drift.disabled_holds_grants',
    ],
    evidence: ['nhi_ownership', 'nhi_custody', 'leaver_rules', 'drift_check'],
  },
  {
    id: 'NHI2',
    framework: 'owasp-nhi-2025',
    title: 'Secret leakage',
    asks: 'Keep keys, tokens and certificates out of code, configuration files, logs and chat.',
    coverage: 'none',
    how: 'Tenure does not scan code, logs or messages for secrets; a secret scanner does. (Tenure itself only references target credentials through environment variables or files.)',
    codes: [],
    evidence: [],
  },
  {
    id: 'NHI3',
    framework: 'owasp-nhi-2025',
    title: 'Vulnerable third-party NHI',
    asks: 'Guard against compromised third-party integrations and extensions that hold your credentials.',
    coverage: 'none',
    how: 'Tenure does not assess third-party integrations or extensions. A third party identity listed in an inventory source only gets the same owner and credential checks as any other.',
    codes: [],
    evidence: [],
  },
  {
    id: 'NHI4',
    framework: 'owasp-nhi-2025',
    title: 'Insecure authentication',
    asks: 'Do not let non-human identities authenticate with deprecated or weak methods.',
    coverage: 'none',
    how: 'Tenure does not see how a non-human identity authenticates (protocols, flows, key strength).',
    codes: [],
    evidence: [],
  },
  {
    id: 'NHI5',
    framework: 'owasp-nhi-2025',
    title: 'Overprivileged NHI',
    asks: 'Give non-human identities only the privileges their function needs.',
    coverage: 'partial',
    how: 'Non-human identities get access only through roles, as people do, so what each may hold is declared, owned and reviewable; reviews can be scoped to NHI owners; drift finds access an NHI holds that the policy does not grant.',
    limits: 'Tenure knows the entitlements the policy declares, not the fine-grained cloud permissions behind them.',
    codes: [],
    nonHumanCodes: ['drift.unmanaged_grant', 'drift.undeclared_entitlement', 'sod.identity_conflict'],
    evidence: ['roles_owned', 'access_reviews', 'drift_check'],
  },
  {
    id: 'NHI6',
    framework: 'owasp-nhi-2025',
    title: 'Insecure cloud deployment configurations',
    asks: 'Configure CI/CD pipelines and cloud trust relationships so that their identities cannot be misused.',
    coverage: 'none',
    how: 'Pipeline and cloud trust configuration (federation claims, role trust policies) are outside Tenure.',
    codes: [],
    evidence: [],
  },
  {
    id: 'NHI7',
    framework: 'owasp-nhi-2025',
    title: 'Long-lived secrets',
    asks: 'Do not let credentials live long or never expire; rotate them.',
    coverage: 'partial',
    how: 'policies.non_human.max_credential_age_days makes an old credential a finding and rotation due; connectors that can rotate do so and the rotation is recorded; expired credentials are findings.',
    limits: 'Tenure reads credential dates from the inventory; it does not issue short-lived credentials.',
    codes: ['nhi.credential_too_old', 'nhi.credential_expired'],
    evidence: ['credential_age'],
  },
  {
    id: 'NHI8',
    framework: 'owasp-nhi-2025',
    title: 'Environment isolation',
    asks: 'Keep the identities of production, test and development apart.',
    coverage: 'none',
    how: 'Tenure does not know which environment an identity or entitlement belongs to. Separation-of-duties rules could keep declared production and test entitlements apart, but nothing checks this by default.',
    codes: [],
    evidence: [],
  },
  {
    id: 'NHI9',
    framework: 'owasp-nhi-2025',
    title: 'NHI reuse',
    asks: 'Give each application and service its own identity instead of sharing one.',
    coverage: 'none',
    how: 'Tenure cannot see whether one credential is used by several applications.',
    codes: [],
    evidence: [],
  },
  {
    id: 'NHI10',
    framework: 'owasp-nhi-2025',
    title: 'Human use of NHI',
    asks: 'Keep people from signing in or working as a service account.',
    coverage: 'none',
    how: 'Tenure does not observe sign-ins, so it cannot tell a person using a non-human identity; an accountable owner is all it offers here.',
    codes: [],
    evidence: [],
  },
];

// ---------------------------------------------------------------------------------------------
// Input: what the policy, the store and the targets show.
// ---------------------------------------------------------------------------------------------

/** What the state store holds, as the command line read it. Absent when there is no store yet. */
export interface StoreEvidence {
  readonly audit: { readonly records: number; readonly intact: boolean; readonly problem?: string };
  readonly imports: { readonly applied: number; readonly stopped: number };
  /** Approvals recorded by a person for what a breaker stopped. */
  readonly approvals: { readonly leavers: number; readonly deprovision: number };
  readonly events: Readonly<Partial<Record<EventKind, number>>>;
  readonly exceptions: readonly AccessException[];
  readonly campaigns: readonly ReviewCampaign[];
  readonly reviewItems: readonly ReviewItem[];
  readonly denials: readonly Denial[];
  readonly custody: readonly Custody[];
  readonly rotations: readonly CredentialRotation[];
}

/** What reading the targets showed: the current plan's guardrails and the drift. Absent when skipped. */
export interface TargetEvidence {
  readonly targets: number;
  readonly accounts: number;
  readonly driftFindings: number;
  /** Separation-of-duties conflicts the current plan would create (apply refuses it while any exist). */
  readonly sodConflicts: number;
  /** Targets whose deprovisioning breaker holds the current plan back. */
  readonly deprovisionBlocked: readonly string[];
}

export interface ComplianceInput {
  readonly policy: Policy;
  /** The identities plans work from (`planningIdentities`). */
  readonly identities: readonly Identity[];
  /** Lint findings, and drift findings when the targets were read. */
  readonly findings: readonly Finding[];
  readonly store?: StoreEvidence;
  readonly targets?: TargetEvidence;
  readonly asOf: Date;
  /** Findings shown per control (default 5); counts always cover all. */
  readonly examples?: number;
}

// ---------------------------------------------------------------------------------------------
// Output: the report value.
// ---------------------------------------------------------------------------------------------

export type ControlStatus = 'met' | 'attention' | 'not_covered';

/** `supports`: evidence the control is enforced; `missing`: nothing recorded yet; `failing`: evidence against it. */
export type EvidenceState = 'supports' | 'missing' | 'failing';

export interface EvidenceItem {
  readonly id: EvidenceId;
  readonly label: string;
  readonly state: EvidenceState;
  readonly detail: string;
}

export interface FindingCounts {
  readonly total: number;
  readonly bySeverity: Readonly<Record<FindingSeverity, number>>;
  readonly byCode: Readonly<Record<string, number>>;
}

/** A control as the report shows it: its definition's words, with the verdict and what backs it. */
export interface ControlResult extends Pick<
  ControlDefinition,
  'id' | 'framework' | 'title' | 'asks' | 'coverage' | 'how' | 'limits'
> {
  readonly status: ControlStatus;
  /** Why this status, in one sentence. */
  readonly reason: string;
  readonly evidence: readonly EvidenceItem[];
  readonly findings: FindingCounts & { readonly examples: readonly Finding[] };
  /** What this report could not check for the control. */
  readonly notes: readonly string[];
}

export interface ComplianceReport {
  readonly formatVersion: 1;
  readonly policy: string;
  readonly asOf: string;
  readonly checked: { readonly lint: true; readonly drift: boolean; readonly store: boolean };
  /** What the report could not check, for every control. */
  readonly notes: readonly string[];
  readonly summary: {
    readonly controls: number;
    readonly met: number;
    readonly attention: number;
    readonly notCovered: number;
    readonly findings: FindingCounts;
  };
  readonly frameworks: typeof FRAMEWORKS;
  readonly controls: readonly ControlResult[];
  /** Findings no control takes: none unless a new check was added without a mapping. */
  readonly unmapped: FindingCounts & { readonly examples: readonly Finding[] };
}

/** Codes some control takes (an NHI-only code counts: other controls take it for people). */
const MAPPED_CODES: ReadonlySet<string> = new Set(CONTROLS.flatMap((c) => [...c.codes, ...(c.nonHumanCodes ?? [])]));

/** A severity at or above this keeps a control from `met`. */
const ATTENTION_FROM: FindingSeverity = 'medium';
const DEFAULT_EXAMPLES = 5;

/**
 * Maps findings and the evidence of the controls Tenure enforces onto the frameworks. Pure: the
 * store and the targets were read by the caller; time is `asOf`.
 *
 * A control Tenure does not address is `not_covered`, whatever else is true. One it addresses is
 * `attention` when a finding at medium or above counts against it, when its evidence is failing
 * (a broken audit chain), or when it has no evidence at all; otherwise it is `met`.
 */
export function buildComplianceReport(input: ComplianceInput): ComplianceReport {
  const { policy, asOf } = input;
  const limit = input.examples ?? DEFAULT_EXAMPLES;
  const findings = sortFindings(input.findings);
  const nonHuman = new Set(input.identities.filter((i) => isNonHuman(i.kind)).map((i) => i.id));
  const evidence = evidenceItems(input);
  const notes: string[] = [];
  if (!input.targets)
    notes.push(
      "Drift was not checked (--skip-drift): the targets were not read, so findings about the accounts they hold, and the current plan's guardrails, are missing.",
    );
  if (!input.store)
    notes.push('There is no state store yet: nothing has been imported or recorded, so recorded evidence is missing.');

  const controls = CONTROLS.map((c): ControlResult => {
    const codes = new Set(c.codes);
    const nhiCodes = new Set(c.nonHumanCodes ?? []);
    const against = findings.filter(
      (f) => codes.has(f.code) || (nhiCodes.has(f.code) && nonHuman.has(subjectIdentity(f) ?? '')),
    );
    const items = c.evidence.map((id) => evidence[id]);
    const counts = countFindings(against);
    const controlNotes: string[] = [];
    const driftCodes = [...codes, ...nhiCodes].some((x) => x.startsWith('drift.'));
    if (!input.targets && driftCodes)
      controlNotes.push('drift was not checked: findings about target accounts are missing');
    const { status, reason } = statusOf(c, counts, items);
    return {
      id: c.id,
      framework: c.framework,
      title: c.title,
      asks: c.asks,
      coverage: c.coverage,
      how: c.how,
      ...(c.limits !== undefined ? { limits: c.limits } : {}),
      status,
      reason,
      evidence: items,
      findings: { ...counts, examples: against.slice(0, limit) },
      notes: controlNotes,
    };
  });
  const unmapped = findings.filter((f) => !MAPPED_CODES.has(f.code));

  return {
    formatVersion: 1,
    policy: policy.name,
    asOf: asOf.toISOString(),
    checked: { lint: true, drift: input.targets !== undefined, store: input.store !== undefined },
    notes,
    summary: {
      controls: controls.length,
      met: controls.filter((c) => c.status === 'met').length,
      attention: controls.filter((c) => c.status === 'attention').length,
      notCovered: controls.filter((c) => c.status === 'not_covered').length,
      findings: countFindings(findings),
    },
    frameworks: FRAMEWORKS,
    controls,
    unmapped: { ...countFindings(unmapped), examples: unmapped.slice(0, limit) },
  };
}

function statusOf(
  c: ControlDefinition,
  counts: FindingCounts,
  items: readonly EvidenceItem[],
): { status: ControlStatus; reason: string } {
  if (c.coverage === 'none') return { status: 'not_covered', reason: 'outside what Tenure does' };
  const serious = FINDING_SEVERITIES.filter((s) => severityRank(s) >= severityRank(ATTENTION_FROM)).reduce(
    (n, s) => n + counts.bySeverity[s],
    0,
  );
  const failing = items.filter((e) => e.state === 'failing');
  const reasons: string[] = [];
  if (serious > 0) reasons.push(`${serious} open finding${serious === 1 ? '' : 's'} at ${ATTENTION_FROM} or above`);
  for (const e of failing) reasons.push(`${e.label.toLowerCase()}: ${e.detail}`);
  if (reasons.length > 0) return { status: 'attention', reason: reasons.join('; ') };
  if (!items.some((e) => e.state === 'supports'))
    return { status: 'attention', reason: 'enforced, but no evidence is recorded yet' };
  const minor = counts.total > 0 ? ` (${counts.total} at low or info)` : '';
  return { status: 'met', reason: `enforced, with evidence, and nothing above low open${minor}` };
}

/** The identity a finding is about: its subject, or for an account the identity it belongs to. */
function subjectIdentity(f: Finding): string | undefined {
  if (f.subject.startsWith('identity:')) return f.subject.slice('identity:'.length);
  const related = f.related?.find((r) => r.startsWith('identity:'));
  return f.subject.startsWith('account:') && related ? related.slice('identity:'.length) : undefined;
}

export function countFindings(findings: readonly Finding[]): FindingCounts {
  const bySeverity = Object.fromEntries(FINDING_SEVERITIES.map((s) => [s, 0])) as Record<FindingSeverity, number>;
  const byCode: Record<string, number> = {};
  for (const f of findings) {
    bySeverity[f.severity]++;
    byCode[f.code] = (byCode[f.code] ?? 0) + 1;
  }
  return { total: findings.length, bySeverity, byCode };
}

// ---------------------------------------------------------------------------------------------
// Evidence: one item per enforced control, counted from the policy, the store and the targets.
// ---------------------------------------------------------------------------------------------

const LABELS: Record<EvidenceId, string> = {
  audit_chain: 'Audit log',
  imports: 'Authoritative sources',
  lifecycle_events: 'Lifecycle events',
  mass_leaver_breaker: 'Mass-leaver breaker',
  deprovision_breaker: 'Deprovisioning breaker',
  leaver_rules: 'Leaver rules',
  roles_owned: 'Roles as code, with owners',
  dynamic_policy: 'Access computed from identity state',
  sod_rules: 'Separation-of-duties rules',
  sod_guardrail: 'Separation-of-duties guardrail',
  exceptions_bounded: 'Time-bound exceptions',
  access_reviews: 'Access reviews',
  nhi_ownership: 'NHI ownership',
  nhi_custody: 'NHI custody hand-overs',
  credential_age: 'Credential age and rotation',
  drift_check: 'Drift check',
};

function evidenceItems(input: ComplianceInput): Record<EvidenceId, EvidenceItem> {
  const { policy, store, targets, asOf } = input;
  const p = policy.policies;
  const item = (id: EvidenceId, state: EvidenceState, detail: string): EvidenceItem => ({
    id,
    label: LABELS[id],
    state,
    detail,
  });
  const noStore = 'nothing recorded: no state store yet (tenure import creates it)';
  const notRead = 'not checked: the targets were not read (--skip-drift)';
  const nhis = input.identities.filter((i) => isNonHuman(i.kind) && i.status !== 'terminated');
  const owned = nhis.filter((i) => i.owner !== undefined).length;
  const roles = policy.roles.length;
  const rolesOwned = policy.roles.filter((r) => r.businessOwner && r.technicalOwner).length;
  const rules = policy.roles.filter((r) => r.when !== undefined).length;

  const audit = ((): EvidenceItem => {
    if (!store) return item('audit_chain', 'missing', noStore);
    const a = store.audit;
    if (!a.intact) return item('audit_chain', 'failing', `hash chain broken: ${a.problem ?? 'verification failed'}`);
    if (a.records === 0) return item('audit_chain', 'missing', 'no audit records yet');
    return item('audit_chain', 'supports', `${count(a.records, 'record')}, hash chain verified`);
  })();

  const imports = ((): EvidenceItem => {
    const from = `${count(policy.sources.length, 'source')} (${policy.sources.map((s) => s.id).join(', ')})`;
    if (!store) return item('imports', 'missing', `${from} declared; ${noStore}`);
    if (store.imports.applied === 0) return item('imports', 'missing', `${from} declared; none imported yet`);
    return item('imports', 'supports', `${from}; ${count(store.imports.applied, 'import')} applied`);
  })();

  const events = ((): EvidenceItem => {
    if (!store) return item('lifecycle_events', 'missing', noStore);
    const e = store.events;
    const total = Object.values(e).reduce((a, b) => a + (b ?? 0), 0);
    if (total === 0) return item('lifecycle_events', 'missing', 'no lifecycle events recorded yet');
    const kinds = (Object.entries(e) as [EventKind, number][])
      .filter(([, n]) => n > 0)
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
      .map(([k, n]) => `${n} ${k.replaceAll('_', ' ')}`);
    return item('lifecycle_events', 'supports', `${count(total, 'event')} recorded: ${kinds.join(', ')}`);
  })();

  const massLeaver = ((): EvidenceItem => {
    const rule = `an import that would make ${breaker(p.guardrails.massLeaver)} identities leave stops for a person`;
    if (!store) return item('mass_leaver_breaker', 'supports', `${rule}; nothing recorded yet`);
    const s = store.imports.stopped;
    const a = store.approvals.leavers;
    return item(
      'mass_leaver_breaker',
      'supports',
      `${rule}; ${count(s, 'import')} stopped, ${count(a, 'approval')} by a person recorded`,
    );
  })();

  const deprovision = ((): EvidenceItem => {
    const own = policy.targets.filter((t) => t.deprovisionBreaker).length;
    const rule = `a plan that would take access from ${breaker(p.guardrails.deprovision)} accounts of a target stops for a person${own > 0 ? ` (${count(own, 'target')} with its own limits)` : ''}`;
    const parts = [rule];
    if (targets)
      parts.push(
        targets.deprovisionBlocked.length > 0
          ? `it holds back the current plan for ${targets.deprovisionBlocked.join(', ')}`
          : 'the current plan is within the limits',
      );
    if (store) parts.push(`${count(store.approvals.deprovision, 'approval')} by a person recorded`);
    return item('deprovision_breaker', 'supports', parts.join('; '));
  })();

  const leaver = ((): EvidenceItem => {
    const l = p.leaver;
    const disable = l.disable === 'immediately' ? 'disabled as soon as they leave' : 'disabled at their end date';
    const del = l.deleteAfterDays === undefined ? 'kept disabled' : `deleted after ${l.deleteAfterDays} days`;
    const overrides = Object.keys(l.targets).length;
    return item(
      'leaver_rules',
      'supports',
      `leavers' accounts are ${disable} and ${del}${overrides > 0 ? ` (${count(overrides, 'target')} with its own timing)` : ''}; a mover keeps old access for ${l.moverGraceDays} days`,
    );
  })();

  const rolesItem =
    roles === 0
      ? item('roles_owned', 'missing', 'the policy declares no roles')
      : item(
          'roles_owned',
          'supports',
          `${count(roles, 'role')} over ${count(policy.entitlements.length, 'declared entitlement')}; ${rolesOwned} with both a business and a technical owner`,
        );

  const dynamic =
    rules === 0
      ? item('dynamic_policy', 'missing', 'no role has a membership rule')
      : item(
          'dynamic_policy',
          'supports',
          `${count(rules, 'membership rule')} evaluated over ${count(input.identities.length, 'identity', 'identities')} as of ${asOf.toISOString().slice(0, 10)}; only active identities receive access`,
        );

  const sodRules =
    p.separationOfDuties.length === 0
      ? item('sod_rules', 'missing', 'the policy declares no separation-of-duties rules')
      : item(
          'sod_rules',
          'supports',
          `${count(p.separationOfDuties.length, 'rule')} (${p.separationOfDuties.map((r) => r.id).join(', ')}), checked in every role and every identity's grants`,
        );

  const sodGuardrail = ((): EvidenceItem => {
    if (p.separationOfDuties.length === 0)
      return item('sod_guardrail', 'missing', 'no rules, so no plan is ever held back');
    if (!targets) return item('sod_guardrail', 'missing', notRead);
    return item(
      'sod_guardrail',
      'supports',
      targets.sodConflicts > 0
        ? `the current plan would create ${count(targets.sodConflicts, 'conflict')}; apply refuses it`
        : 'the current plan creates no conflict; apply refuses any plan that would',
    );
  })();

  const exceptions = ((): EvidenceItem => {
    const rule = `at most ${p.exceptions.maxDays} days, with a reason and an approver other than the holder`;
    if (!store) return item('exceptions_bounded', 'supports', `${rule}; ${noStore}`);
    const all = store.exceptions;
    const inForce = all.filter((e) => exceptionActive(e, asOf)).length;
    const revoked = all.filter((e) => e.revokedAt !== undefined && e.revokedAt.getTime() <= asOf.getTime()).length;
    return item(
      'exceptions_bounded',
      'supports',
      `${rule}; ${count(all.length, 'exception')} recorded, ${inForce} in force, ${revoked} revoked early`,
    );
  })();

  const reviews = ((): EvidenceItem => {
    if (!store) return item('access_reviews', 'missing', noStore);
    const c = store.campaigns;
    if (c.length === 0) return item('access_reviews', 'missing', 'no access review recorded (tenure review start)');
    const closed = c.filter((x) => x.state === 'closed').length;
    const nhiScope = c.filter((x) => x.scope === 'nhi-owners').length;
    const items = store.reviewItems;
    const decided = items.filter((i) => i.decision !== undefined).length;
    const revoked = items.filter((i) => i.decision === 'revoke').length;
    const denials = store.denials.filter((d) => denialActive(d, asOf)).length;
    return item(
      'access_reviews',
      'supports',
      `${count(c.length, 'campaign')} (${closed} closed${nhiScope > 0 ? `, ${nhiScope} of NHI owners` : ''}); ${decided} of ${count(items.length, 'item')} decided, ${revoked} revoked; ${count(denials, 'denial')} in force`,
    );
  })();

  const ownership = ((): EvidenceItem => {
    const held = `${owned} of ${count(nhis.length, 'non-human identity', 'non-human identities')} have an owner`;
    return p.nonHuman.ownerRequired
      ? item('nhi_ownership', 'supports', `every non-human identity must have a human owner; ${held}`)
      : item('nhi_ownership', 'missing', `policies.non_human.owner_required is off; ${held}`);
  })();

  const custody = ((): EvidenceItem => {
    const rule = p.nonHuman.onOwnerLeaving;
    if (rule.reassignTo === 'nobody')
      return item('nhi_custody', 'missing', 'reassign_to: nobody: no hand-over is offered when an owner leaves');
    const offer = `when an owner leaves, their manager has ${rule.confirmDays} days to take each NHI over, else it is suspended`;
    if (!store) return item('nhi_custody', 'supports', `${offer}; ${noStore}`);
    const c = store.custody;
    const lapsed = c.filter((x) => custodyLapsed(x, asOf)).length;
    // Confirmed by asOf; a hand-over confirmed later was still pending (or lapsed) then.
    const confirmed = c.filter(
      (x) => x.state === 'confirmed' && x.decidedAt !== undefined && x.decidedAt.getTime() <= asOf.getTime(),
    ).length;
    const pending = c.length - confirmed - lapsed;
    const revocations = store.rotations.filter((r) => r.purpose === 'revocation').length;
    return item(
      'nhi_custody',
      'supports',
      `${offer}; ${count(c.length, 'hand-over')} recorded: ${confirmed} confirmed, ${pending} pending, ${lapsed} lapsed; ${count(revocations, 'credential')} revoked`,
    );
  })();

  const credentials = ((): EvidenceItem => {
    const max = p.nonHuman.maxCredentialAgeDays;
    const unused = p.nonHuman.unusedAfterDays;
    if (max === undefined)
      return item('credential_age', 'missing', 'policies.non_human.max_credential_age_days is not set: no age limit');
    const rule = `credentials older than ${max} days are findings and due for rotation${unused !== undefined ? `; unused for ${unused} days, a finding` : ''}`;
    if (!store) return item('credential_age', 'supports', `${rule}; ${noStore}`);
    const rotations = store.rotations.filter((r) => r.purpose === 'rotation').length;
    return item('credential_age', 'supports', `${rule}; ${count(rotations, 'rotation')} carried out by Tenure`);
  })();

  const drift = targets
    ? item(
        'drift_check',
        'supports',
        `${count(targets.accounts, 'account')} in ${count(targets.targets, 'target')} compared with the policy: ${count(targets.driftFindings, 'finding')}`,
      )
    : item('drift_check', 'missing', notRead);

  return {
    audit_chain: audit,
    imports,
    lifecycle_events: events,
    mass_leaver_breaker: massLeaver,
    deprovision_breaker: deprovision,
    leaver_rules: leaver,
    roles_owned: rolesItem,
    dynamic_policy: dynamic,
    sod_rules: sodRules,
    sod_guardrail: sodGuardrail,
    exceptions_bounded: exceptions,
    access_reviews: reviews,
    nhi_ownership: ownership,
    nhi_custody: custody,
    credential_age: credentials,
    drift_check: drift,
  };
}

/** `more than 10% (if at least 5) or more than 50`: the breaker's rule in words. */
function breaker(b: BreakerSettings): string {
  return `more than ${b.maxPercent}% (if at least ${b.minCount}) or more than ${b.maxCount}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
