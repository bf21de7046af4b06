import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Checked, Diagnostic, SourcePosition } from '../model/diagnostic.js';
import { parseEntitlement, type Entitlement } from '../model/entitlement.js';
import type { Policy, Role, SodRule, SourceDefinition, TargetDefinition } from '../model/policy.js';
import { JOB_NAMES, type JobName, type ScheduledJob } from '../model/schedule.js';
import { compileRule, type CompiledRule, type RuleError } from './compile-rule.js';
import { cronProblem } from './cron-expression.js';
import {
  entitlementSchema,
  policyFileSchema,
  roleSchema,
  scheduleSchema,
  sourceSchema,
  targetSchema,
  type PolicyFile,
} from './policy-schema.js';
import { resolveYaml } from './resolve-yaml.js';
import { buildRuleEnvironment, type RuleEnvironment } from './rule-environment.js';
import { didYouMean } from './suggest.js';
import { YamlLocator, type YamlPath } from './yaml-locator.js';

/** A validated policy with its rules compiled against the typed identity environment. */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly environment: RuleEnvironment;
  /** Role id → compiled `when` rule (roles without a rule are absent). */
  readonly rules: ReadonlyMap<string, CompiledRule>;
  /** Target id → compiled `account_name` expression. */
  readonly accountNames: ReadonlyMap<string, CompiledRule>;
  /** Target id → attribute → compiled expression. */
  readonly accountAttributes: ReadonlyMap<string, ReadonlyMap<string, CompiledRule>>;
}

const SECRET_KEY = /(^|_)(password|passwd|secret|token|api_?key|bearer|private_?key|credentials?)$/i;

/**
 * Parses and validates a policy file's text. Pure: the caller reads the file. Every problem is
 * reported at once with file:line:col; the result is undefined when any of them is an error.
 */
export function loadPolicy(text: string, file: string): Checked<LoadedPolicy | undefined> {
  const diagnostics: Diagnostic[] = [];
  const error = (code: string, message: string, position: SourcePosition, hint?: string): void => {
    diagnostics.push({ severity: 'error', code, message, position, ...(hint ? { hint } : {}) });
  };

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = new YamlLocator(file, doc, lines);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const message = e.message.split('\n')[0] ?? e.message;
      error(
        e.code === 'DUPLICATE_KEY' ? 'policy.duplicate_key' : 'policy.yaml_syntax',
        message.replace(/ at line \d+, column \d+:?$/, ''),
        at.offset(e.pos[0]),
        e.code === 'DUPLICATE_KEY'
          ? 'remove one of the two keys'
          : 'fix the YAML syntax; indentation and quoting are the usual causes',
      );
    }
    return { result: undefined, diagnostics };
  }
  const resolved = resolveYaml(doc, at);
  if (resolved.diagnostic) return { result: undefined, diagnostics: [resolved.diagnostic] };
  const raw = resolved.value;
  if (raw === null || raw === undefined) {
    error('policy.empty', 'the policy file is empty', { file }, 'start with `version: 1`; see docs/policy.md');
    return { result: undefined, diagnostics };
  }

  const top = policyFileSchema.safeParse(raw);
  if (!top.success) {
    schemaDiagnostics(top.error, [], at, diagnostics);
    if (top.error.issues.some((i) => i.path.length === 0 || typeof raw !== 'object')) {
      return { result: undefined, diagnostics };
    }
  }
  const file0 = (
    top.success ? top.data : (policyFileSchema.partial().safeParse(raw).data ?? {})
  ) as Partial<PolicyFile>;

  const each = <S extends z.ZodType>(section: string, schema: S, items: unknown[] | undefined): z.infer<S>[] => {
    const out: z.infer<S>[] = [];
    (items ?? []).forEach((item, i) => {
      let r = schema.safeParse(item);
      if (!r.success) {
        schemaDiagnostics(r.error, [section, i], at, diagnostics);
        // Unknown keys are reported; the entry is still checked further without them, so one
        // typo does not hide the entry's other problems.
        if (r.error.issues.every((issue) => issue.code === 'unrecognized_keys'))
          r = schema.safeParse(withoutKeys(item, r.error.issues));
      }
      if (r.success) out.push(Object.assign(r.data as object, { __index: i }) as z.infer<S>);
    });
    return out;
  };
  const indexOf = (x: object): number => (x as { __index: number }).__index;

  // Ids of entries that failed the schema still count as declared, so one bad entry does not
  // cascade into "unknown entitlement" errors everywhere it is used.
  const rawIds = (items: unknown[] | undefined): Set<string> =>
    new Set(
      (items ?? [])
        .map((x) => (x && typeof x === 'object' ? (x as { id?: unknown }).id : undefined))
        .filter((x): x is string => typeof x === 'string'),
    );
  const declaredEntitlementIds = rawIds(file0.entitlements);
  const declaredRoleIds = rawIds(file0.roles);
  const declaredTargetIds = rawIds(file0.targets);

  const sourceEntries = each('sources', sourceSchema, file0.sources);
  const targetEntries = each('targets', targetSchema, file0.targets);
  const entitlementEntries = each('entitlements', entitlementSchema, file0.entitlements);
  const roleEntries = each('roles', roleSchema, file0.roles);

  // Duplicate ids: the second occurrence is the error, pointing back at the first.
  const unique = <T extends { id: string }>(section: string, what: string, items: T[]): Map<string, T> => {
    const seen = new Map<string, T>();
    for (const item of items) {
      const first = seen.get(item.id);
      if (first) {
        const p = at.at([section, indexOf(first), 'id']);
        error(
          `policy.duplicate_${what.replace(/ /g, '_')}`,
          `${what} "${item.id}" is declared twice (first at line ${p.line})`,
          at.at([section, indexOf(item), 'id']),
          `give each ${what} its own id`,
        );
      } else seen.set(item.id, item);
    }
    return seen;
  };
  const sourcesById = unique('sources', 'source', sourceEntries);
  const targetsById = unique('targets', 'target', targetEntries);
  const entitlementsById = unique('entitlements', 'entitlement', entitlementEntries);
  const rolesById = unique('roles', 'role', roleEntries);

  const sources: SourceDefinition[] = [...sourcesById.values()].map((s) => ({
    id: s.id,
    format: s.format,
    path: s.path,
    key: s.key,
    ...(s.delimiter !== undefined ? { delimiter: s.delimiter } : {}),
    ...(s.quote !== undefined ? { quote: s.quote } : {}),
    kind: s.kind,
    status: s.status,
    attributes: Object.fromEntries(
      Object.entries(s.attributes).map(([name, m]) => [
        name,
        {
          field: m.field,
          type: m.type,
          required: m.required,
          ...(m.format !== undefined ? { format: m.format } : {}),
          ...(m.separator !== undefined ? { separator: m.separator } : {}),
        },
      ]),
    ),
    ...(s.manager !== undefined ? { manager: s.manager } : {}),
    ...(s.start_date !== undefined ? { startDate: s.start_date } : {}),
    ...(s.end_date !== undefined ? { endDate: s.end_date } : {}),
    ...(s.no_end !== undefined ? { noEnd: s.no_end } : {}),
    ...(s.owner !== undefined ? { owner: s.owner } : {}),
    ...(s.credential
      ? {
          credential: {
            ...(s.credential.created !== undefined ? { created: s.credential.created } : {}),
            ...(s.credential.expires !== undefined ? { expires: s.credential.expires } : {}),
            ...(s.credential.last_rotated !== undefined ? { lastRotated: s.credential.last_rotated } : {}),
            ...(s.credential.last_used !== undefined ? { lastUsed: s.credential.last_used } : {}),
          },
        }
      : {}),
    position: at.at(['sources', indexOf(s)]),
  }));

  // Delimiter and quote describe CSV; on a JSON feed they are a mistake, not something to ignore.
  for (const s of sourcesById.values()) {
    if (s.format === 'csv') continue;
    for (const key of ['delimiter', 'quote'] as const) {
      if (s[key] === undefined) continue;
      error(
        'policy.csv_only',
        `source "${s.id}": ${key} applies to CSV feeds only, and this one is ${s.format}`,
        at.key(['sources', indexOf(s)], key),
        `remove ${key}, or set format: csv if the feed is CSV`,
      );
    }
  }
  for (const s of sourcesById.values()) {
    const quote = s.quote ?? '"';
    if (s.format === 'csv' && s.delimiter?.includes(quote)) {
      error(
        'policy.invalid_value',
        `source "${s.id}": the delimiter ${JSON.stringify(s.delimiter)} contains the quote character ${JSON.stringify(quote)}`,
        at.at(['sources', indexOf(s), 'delimiter']),
        'a field separator and the quote must differ; set quote to another character if the feed needs it',
      );
    }
  }

  // Secrets are referenced, never inline.
  for (const t of targetsById.values())
    findInlineSecrets(t.connection, ['targets', indexOf(t), 'connection'], at, diagnostics);

  const entitlements: Entitlement[] = [];
  for (const e of entitlementsById.values()) {
    const address = parseEntitlement(e.id);
    const p = at.at(['entitlements', indexOf(e), 'id']);
    if (!address) {
      error(
        'policy.entitlement_address',
        `entitlement "${e.id}" is not an address of the form target:kind/name (or target:account)`,
        p,
        'for example directory:group/engineers or warehouse:role/analytics_ro',
      );
      continue;
    }
    if (!targetsById.has(address.target) && !declaredTargetIds.has(address.target)) {
      error(
        'policy.unknown_target',
        `entitlement "${e.id}" names target "${address.target}", which is not declared`,
        p,
        didYouMean(address.target, targetsById.keys()) ??
          `declare it under targets: (${[...targetsById.keys()].join(', ') || 'none yet'})`,
      );
      continue;
    }
    entitlements.push({
      id: e.id,
      address,
      risk: e.risk,
      description: e.description,
      position: at.at(['entitlements', indexOf(e)]),
    });
  }
  entitlements.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const declared = new Set(entitlements.map((e) => e.id));

  // Roles: grants must be declared entitlements, parents must exist, inheritance must not cycle.
  for (const r of rolesById.values()) {
    r.grants.forEach((g, j) => {
      if (declared.has(g) || declaredEntitlementIds.has(g)) return;
      const address = parseEntitlement(g);
      const hint =
        address && !targetsById.has(address.target)
          ? `target "${address.target}" is not declared${didYouMean(address.target, targetsById.keys()) ? `; ${didYouMean(address.target, targetsById.keys())}` : ''}`
          : (didYouMean(g, entitlementsById.keys()) ?? 'declare it under entitlements:');
      error(
        'policy.unknown_entitlement',
        `role "${r.id}" grants "${g}", which is not a declared entitlement`,
        at.at(['roles', indexOf(r), 'grants', j]),
        hint,
      );
    });
    r.inherits.forEach((parent, j) => {
      if (!rolesById.has(parent) && !declaredRoleIds.has(parent)) {
        error(
          'policy.unknown_role',
          `role "${r.id}" inherits "${parent}", which is not a declared role`,
          at.at(['roles', indexOf(r), 'inherits', j]),
          didYouMean(parent, rolesById.keys()) ?? 'declare the parent role, or remove it from inherits',
        );
      }
    });
  }
  for (const cycle of findCycles(rolesById)) {
    const first = rolesById.get(cycle[0]!)!;
    error(
      'policy.inheritance_cycle',
      `role inheritance forms a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
      at.at(['roles', indexOf(first), 'inherits']),
      'a role cannot inherit itself, directly or through its parents; remove one link of the cycle',
    );
  }

  const policiesRaw = file0.policies;
  const sod: SodRule[] = [];
  if (policiesRaw) {
    policiesRaw.separation_of_duties.forEach((s, i) => {
      s.conflicting.forEach((c, j) => {
        const isRole = c.startsWith('role:') && rolesById.has(c.slice(5));
        if (!isRole && !declared.has(c) && !declaredEntitlementIds.has(c)) {
          error(
            'policy.unknown_entitlement',
            `separation-of-duties rule "${s.id}" names "${c}", which is not a declared entitlement or role:ID`,
            at.at(['policies', 'separation_of_duties', i, 'conflicting', j]),
            didYouMean(c, entitlementsById.keys()) ?? 'declare the entitlement, or write role:ID for a role',
          );
        }
      });
      sod.push({ ...s, position: at.at(['policies', 'separation_of_duties', i]) });
    });
    for (const t of Object.keys(policiesRaw.leaver.targets)) {
      if (!targetsById.has(t)) {
        error(
          'policy.unknown_target',
          `leaver rules name target "${t}", which is not declared`,
          at.key(['policies', 'leaver', 'targets'], t),
          didYouMean(t, targetsById.keys()),
        );
      }
    }
  }

  // Rules compile against the typed environment the sources define.
  const built = buildRuleEnvironment(sources);
  diagnostics.push(...built.diagnostics);
  const rules = new Map<string, CompiledRule>();
  const roles: Role[] = [];
  for (const r of rolesById.values()) {
    const path: YamlPath = ['roles', indexOf(r), 'when'];
    if (r.when !== undefined) {
      const compiled = compileRule(built.environment, r.when, 'bool');
      if (compiled.error)
        ruleDiagnostic(compiled.error, `role "${r.id}"`, path, r.when, text, at, built.environment, diagnostics);
      else rules.set(r.id, compiled.rule!);
    }
    roles.push({
      id: r.id,
      description: r.description,
      ...(r.business_owner !== undefined ? { businessOwner: r.business_owner } : {}),
      ...(r.technical_owner !== undefined ? { technicalOwner: r.technical_owner } : {}),
      ...(r.when !== undefined ? { when: r.when, whenPosition: at.at(path) } : {}),
      grants: r.grants,
      inherits: r.inherits,
      risk: r.risk,
      position: at.at(['roles', indexOf(r)]),
    });
  }
  const accountNames = new Map<string, CompiledRule>();
  const accountAttributes = new Map<string, ReadonlyMap<string, CompiledRule>>();
  const targets: TargetDefinition[] = [];
  for (const t of targetsById.values()) {
    const path: YamlPath = ['targets', indexOf(t), 'account_name'];
    const compiled = compileRule(built.environment, t.account_name, 'string');
    if (compiled.error)
      ruleDiagnostic(
        compiled.error,
        `target "${t.id}" account_name`,
        path,
        t.account_name,
        text,
        at,
        built.environment,
        diagnostics,
      );
    else accountNames.set(t.id, compiled.rule!);
    const attributes = new Map<string, CompiledRule>();
    for (const [attribute, expression] of Object.entries(t.attributes)) {
      const c = compileRule(built.environment, expression, 'string');
      if (c.error) {
        ruleDiagnostic(
          c.error,
          `target "${t.id}" attribute ${attribute}`,
          ['targets', indexOf(t), 'attributes', attribute],
          expression,
          text,
          at,
          built.environment,
          diagnostics,
        );
      } else attributes.set(attribute, c.rule!);
    }
    accountAttributes.set(t.id, attributes);
    targets.push({
      id: t.id,
      kind: t.kind,
      description: t.description,
      accountName: t.account_name,
      attributes: t.attributes,
      ...(t.deprovision_breaker ? { deprovisionBreaker: breaker(t.deprovision_breaker) } : {}),
      connection: t.connection,
      position: at.at(['targets', indexOf(t)]),
    });
  }

  const schedule = scheduledJobs(file0.schedule, at, diagnostics);

  if (diagnostics.some((d) => d.severity === 'error') || !policiesRaw)
    return { result: undefined, diagnostics: sortDiagnostics(diagnostics) };
  const p = policiesRaw;
  const policy: Policy = {
    version: 1,
    name: file0.name ?? 'unnamed',
    file,
    sources,
    targets,
    entitlements,
    roles: roles.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    policies: {
      separationOfDuties: sod,
      guardrails: {
        deprovision: breaker(p.guardrails.deprovision),
        massLeaver: breaker(p.guardrails.mass_leaver),
      },
      nonHuman: {
        ownerRequired: p.non_human.owner_required,
        ...(p.non_human.max_credential_age_days !== undefined
          ? { maxCredentialAgeDays: p.non_human.max_credential_age_days }
          : {}),
        ...(p.non_human.unused_after_days !== undefined ? { unusedAfterDays: p.non_human.unused_after_days } : {}),
        onOwnerLeaving: {
          reassignTo: p.non_human.on_owner_leaving.reassign_to,
          confirmDays: p.non_human.on_owner_leaving.confirm_days,
        },
      },
      leaver: {
        disable: p.leaver.disable,
        ...(p.leaver.delete_after_days !== undefined ? { deleteAfterDays: p.leaver.delete_after_days } : {}),
        minDisabledDays: p.leaver.min_disabled_days,
        moverGraceDays: p.leaver.mover_grace_days,
        targets: Object.fromEntries(
          Object.entries(p.leaver.targets).map(([k, v]) => [
            k,
            {
              ...(v.delete_after_days !== undefined ? { deleteAfterDays: v.delete_after_days } : {}),
              ...(v.mover_grace_days !== undefined ? { moverGraceDays: v.mover_grace_days } : {}),
            },
          ]),
        ),
      },
      exceptions: { maxDays: p.exceptions.max_days },
      joiner: { accessDaysBeforeStart: p.joiner.access_days_before_start },
      lint: { birthrightShare: p.lint.birthright_share, maxRoleEntitlements: p.lint.max_role_entitlements },
      reviews: { noResponse: p.reviews.no_response },
    },
    ...(schedule.length > 0 ? { schedule } : {}),
  };
  return {
    result: { policy, environment: built.environment, rules, accountNames, accountAttributes },
    diagnostics: sortDiagnostics(diagnostics),
  };
}

function withoutKeys(item: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(item) as Record<string, unknown>;
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let node: unknown = copy;
    for (const k of issue.path) node = (node as Record<PropertyKey, unknown>)[k];
    for (const k of issue.keys) delete (node as Record<string, unknown>)[k];
  }
  return copy;
}

/**
 * `schedule:`: each job's cron expression and time zone checked here, where they are written, so
 * a mistyped one stops `tenure validate` and `tenure serve` at its line rather than never firing.
 * A job given twice is the YAML duplicate key error.
 */
function scheduledJobs(raw: unknown, at: YamlLocator, diagnostics: Diagnostic[]): ScheduledJob[] {
  if (raw === undefined || raw === null) return [];
  const parsed = scheduleSchema.safeParse(raw);
  if (!parsed.success) {
    schemaDiagnostics(parsed.error, ['schedule'], at, diagnostics);
    return [];
  }
  const jobs: ScheduledJob[] = [];
  for (const job of JOB_NAMES) {
    const entry = parsed.data[job];
    if (entry === undefined) continue;
    const { cron, timezone } = typeof entry === 'string' ? { cron: entry, timezone: undefined } : entry;
    const cronPath: YamlPath = typeof entry === 'string' ? ['schedule', job] : ['schedule', job, 'cron'];
    if (timezone !== undefined && cronProblem('* * * * *', timezone)) {
      diagnostics.push({
        severity: 'error',
        code: 'policy.invalid_timezone',
        message: `schedule.${job}.timezone: unknown time zone "${timezone}"`,
        hint: 'an IANA time zone name such as "Europe/Paris" or "America/New_York"; leave it out for UTC',
        position: at.at(['schedule', job, 'timezone']),
      });
      continue;
    }
    const problem = cronProblem(cron, timezone);
    if (problem) {
      diagnostics.push({
        severity: 'error',
        code: 'policy.invalid_cron',
        message: `schedule.${job}: "${cron}" is not a cron expression Tenure runs: ${problem}`,
        hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "*/15 * * * *" or "0 6 * * 1-5"',
        position: at.at(cronPath),
      });
      continue;
    }
    jobs.push({
      job: job satisfies JobName,
      cron,
      ...(timezone !== undefined ? { timezone } : {}),
      position: at.at(cronPath),
    });
  }
  return jobs;
}

function breaker(b: { max_percent: number; min_count: number; max_count: number }) {
  return { maxPercent: b.max_percent, minCount: b.min_count, maxCount: b.max_count };
}

/** Turns schema issues into positioned diagnostics in the policy's own words. */
function schemaDiagnostics(err: z.ZodError, base: YamlPath, at: YamlLocator, out: Diagnostic[]): void {
  for (const issue of err.issues) {
    const path = [...base, ...(issue.path as (string | number)[])];
    const where = path.length > 0 ? path.join('.') : 'the policy file';
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          severity: 'error',
          code: 'policy.unknown_key',
          message: `unknown ${path[0] === 'schedule' && path.length === 1 ? 'job' : 'key'} "${key}" in ${where}`,
          hint:
            path[0] === 'schedule' && path.length === 1
              ? `the jobs are ${JOB_NAMES.join(' and ')}${didYouMean(key, JOB_NAMES) ? `; ${didYouMean(key, JOB_NAMES)}` : ''}`
              : 'remove it or fix its spelling; see docs/policy.md for the keys each section takes',
          position: at.key(path, key),
        });
      }
      continue;
    }
    const node = at.node(path);
    const missing =
      node === undefined && path.length > 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
    out.push({
      severity: 'error',
      code: missing ? 'policy.missing_key' : 'policy.invalid_value',
      message: missing ? `${where} is required` : `${where}: ${plainZodMessage(issue)}`,
      position: at.at(path),
      ...(issue.code === 'invalid_union' && path[0] === 'schedule'
        ? { hint: 'write a cron expression in quotes, or { cron: "...", timezone: ZONE }' }
        : issue.code === 'invalid_union'
          ? { hint: 'write { constant: VALUE } or { field: NAME, values: { RAW: VALUE } }' }
          : {}),
    });
  }
}

function plainZodMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, found ${issue.message.replace(/^.*received /, '')}`;
    case 'invalid_value':
      return issue.values.length > 1
        ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
        : issue.message;
    case 'invalid_union':
      return 'does not match any accepted form';
    default:
      return issue.message
        .replace(/^Invalid input: /, '')
        .replace(/^Too small: /, '')
        .replace(/^Too big: /, '');
  }
}

function findInlineSecrets(value: unknown, path: YamlPath, at: YamlLocator, out: Diagnostic[]): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const here = [...path, k];
    if (typeof v === 'string' && SECRET_KEY.test(k)) {
      out.push({
        severity: 'warning',
        code: 'policy.inline_secret',
        message: `"${k}" holds a secret inline in ${path.join('.')}`,
        hint: `reference it instead: ${k}: { env: NAME } or ${k}: { file: PATH }, and keep the value out of version control`,
        position: at.at(here),
      });
    } else if (v && typeof v === 'object' && !Array.isArray(v) && ('env' in v || 'file' in v)) {
      // A secret reference: exactly one of env or file, naming something.
      const ref = v as Record<string, unknown>;
      const keys = Object.keys(ref);
      const name = ref.env ?? ref.file;
      if (keys.length !== 1 || typeof name !== 'string' || name === '') {
        out.push({
          severity: 'error',
          code: 'policy.secret_reference',
          message: `${here.join('.')} is not a secret reference`,
          hint: 'write { env: VARIABLE_NAME } or { file: /path/to/secret }, one of the two',
          position: at.at(here),
        });
      }
    } else findInlineSecrets(v, here, at, out);
  }
}

/** Maps a CEL error's offset inside a rule to the file position of that character. */
function ruleDiagnostic(
  e: RuleError,
  owner: string,
  path: YamlPath,
  rule: string,
  text: string,
  at: YamlLocator,
  env: RuleEnvironment,
  out: Diagnostic[],
): void {
  const position = positionInScalar(at, path, rule, text, e.offset);
  if (e.kind === 'budget') {
    out.push({
      severity: 'error',
      code: e.code ?? 'policy.rule_cost',
      message: `${owner}: ${e.message}`,
      ...(e.hint ? { hint: e.hint } : {}),
      position,
    });
    return;
  }
  const unknown = /identity has no attribute "(.+)"/.exec(e.message);
  const hint = unknown
    ? (didYouMean(unknown[1]!, env.fields.keys()) ??
      `known fields: ${[...env.fields.keys()].join(', ')}; attributes come from the sources' mappings`)
    : e.kind === 'syntax'
      ? 'rules are CEL expressions, e.g. identity.department == "Sales" && identity.kind == "employee"'
      : 'check the attribute types declared in the sources: strings compare with "quoted" values, int with numbers, dates with timestamp("2024-01-01T00:00:00Z")';
  out.push({
    severity: 'error',
    code: e.kind === 'syntax' ? 'policy.rule_syntax' : unknown ? 'policy.unknown_attribute' : 'policy.rule_type',
    message: `${owner}: ${e.message}`,
    hint,
    position,
  });
}

function positionInScalar(
  at: YamlLocator,
  path: YamlPath,
  value: string,
  text: string,
  offset: number,
): SourcePosition {
  const src = at.scalarSource(path, text);
  if (!src) return at.at(path);
  const direct = src.raw.indexOf(value);
  if (direct >= 0) return at.offset(src.start + direct + offset);
  // Block or folded scalar: find the value's line among the source lines, then the column in it.
  const before = value.slice(0, offset);
  const lineIndex = before.split('\n').length - 1;
  const column = offset - (before.lastIndexOf('\n') + 1);
  const wanted = value.split('\n')[lineIndex] ?? '';
  let cursor = src.start;
  for (const line of src.raw.split('\n')) {
    const i = wanted.length > 0 ? line.indexOf(wanted) : -1;
    if (i >= 0) return at.offset(cursor + i + column);
    cursor += line.length + 1;
  }
  return at.at(path);
}

/** Roles' inheritance cycles, each reported once, starting at its smallest role id. */
function findCycles(roles: ReadonlyMap<string, { inherits: readonly string[] }>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const parent of roles.get(id)?.inherits ?? []) {
      if (!roles.has(parent)) continue;
      const s = state.get(parent);
      if (s === 'visiting') {
        const cycle = stack.slice(stack.indexOf(parent));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const normal = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = normal.join('>');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(normal);
        }
      } else if (s === undefined) visit(parent);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of [...roles.keys()].sort()) if (!state.has(id)) visit(id);
  return cycles;
}

function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort(
    (a, b) =>
      (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.column ?? 0) - (b.position?.column ?? 0),
  );
}
