import { z } from 'zod';
import type { Severity } from '../model/diagnostic.js';
import type { NameComparison, TargetDefinition, TargetKind } from '../model/policy.js';
import { didYouMean } from '../policy/suggest.js';
import { ConnectorError, type Connector, type ConnectorCapabilities } from './connector.js';
import type { ConnectorContext } from './secrets.js';
import type { CheckNeeds, KindCheck } from './target-check.js';

/**
 * Everything Tenure knows about one kind of target before it talks to one (after Kysely's
 * dialects and Logto's connector kit): the settings its `connection` takes, how its account names
 * compare, what it can do, and how to make a connector. One object per kind, in one registry
 * (kinds.ts); nothing else switches on a kind.
 */
export interface ConnectorKind<S = unknown> {
  readonly kind: TargetKind;
  /**
   * The `connection` settings: a strict object, so a key the kind does not read is an error, with
   * defaults applied. Field errors say what the value must be (`must be a positive whole number`);
   * errors about the whole connection are sentences of their own (`connection needs ...`).
   */
  readonly settings: z.ZodType<S, Readonly<Record<string, unknown>>>;
  readonly names: NameComparison;
  /**
   * What is wrong with an account name for a target of these settings (Active Directory's sAMAccountName: at most 20
   * characters, some characters refused), as a sentence that follows the name; undefined when the target takes it.
   */
  nameProblem?(settings: S, name: string): string | undefined;
  /** How the kind compares an attribute's held and computed values, when not as equal strings (TargetKindTraits). */
  sameValue?(attribute: string, held: string, wanted: string): boolean;
  /** What a connector of this kind can do at most; an instance may do less (PostgreSQL rotates only with a secret sink). */
  readonly capabilities: ConnectorCapabilities;
  /** Warnings about settings that parse but are unwise (a password inside a URL); messages start at `connection`. */
  advise?(settings: S): readonly SettingsProblem[];
  /** A connector for valid settings. No I/O: files, secrets and servers are touched on first use. */
  create(target: string, settings: S, context: ConnectorContext): Connector;
  /**
   * What the credentials given can do on the target (`tenure targets check`): read-only questions to the server,
   * and with `needs.probe` a throwaway account made and removed. `connector` is the one `create` made for these
   * settings. Problems the target reports are items, not throws.
   */
  check?(connector: Connector, settings: S, needs: CheckNeeds, context: ConnectorContext): Promise<KindCheck>;
}

/** One problem with a target's `connection`, where in it, and what to do. */
export interface SettingsProblem {
  readonly severity: Severity;
  /** `policy.unknown_connection_key`, `policy.missing_connection_setting`, `policy.invalid_connection_setting`, `policy.url_password`. */
  readonly code: string;
  /** Inside `connection`: `['page_size']`, `['oauth', 'client_id']`; empty for the whole connection. */
  readonly path: readonly (string | number)[];
  /** Whether `path` names a key that is absent (a missing setting): then the position is its parent's. */
  readonly missing?: boolean;
  /** Whether `path` names a key that should not be there. */
  readonly unknown?: boolean;
  readonly message: string;
  readonly hint?: string;
}

export interface CheckedSettings<S> {
  /** Undefined when any problem is an error. */
  readonly settings: S | undefined;
  readonly problems: readonly SettingsProblem[];
}

/** The part of a kind that checks settings. */
export type KindSettings<S> = Pick<ConnectorKind<S>, 'kind' | 'settings' | 'advise'>;

/** A hint carried by a custom issue (`ctx.addIssue({ ..., params: { hint } })`). */
interface HintParams {
  readonly hint?: string;
}

/** Checks a target's `connection` against its kind's settings: every problem, in the order of the keys. */
export function checkSettings<S>(kind: KindSettings<S>, target: TargetDefinition): CheckedSettings<S> {
  const r = kind.settings.safeParse(target.connection);
  if (r.success) {
    const advice = (kind.advise?.(r.data) ?? []).map((p) => ({ ...p, message: `target "${target.id}": ${p.message}` }));
    return { settings: r.data, problems: advice };
  }
  const known = knownKeys(kind.settings);
  const problems: SettingsProblem[] = [];
  for (const issue of r.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const where = (p: readonly (string | number)[]) => (p.length === 0 ? 'connection' : `connection.${p.join('.')}`);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const candidates = path.length === 0 ? known : [];
        problems.push({
          severity: 'error',
          code: 'policy.unknown_connection_key',
          path: [...path, key],
          unknown: true,
          message: `target "${target.id}": ${where([...path, key])} is not a setting of a ${kind.kind} target`,
          hint:
            didYouMean(key, candidates) ??
            (path.length === 0
              ? `its settings are ${known.join(', ')} (docs/connectors.md)`
              : 'see docs/connectors.md'),
        });
      }
      continue;
    }
    const hint = (issue.code === 'custom' ? (issue.params as HintParams | undefined)?.hint : undefined) ?? undefined;
    const missing = path.length > 0 && valueAt(target.connection, path) === undefined;
    if (missing && issue.code === 'invalid_type') {
      problems.push({
        severity: 'error',
        code: 'policy.missing_connection_setting',
        path,
        missing: true,
        message: `target "${target.id}": ${where(path)} is required for a ${kind.kind} target`,
        hint: hint ?? `set ${where(path)} in the policy (docs/connectors.md)`,
      });
      continue;
    }
    problems.push({
      severity: 'error',
      code: missing ? 'policy.missing_connection_setting' : 'policy.invalid_connection_setting',
      path,
      ...(missing ? { missing: true } : {}),
      message: `target "${target.id}": ${path.length === 0 ? issue.message : `${where(path)} ${issue.message}`}`,
      ...(hint ? { hint } : {}),
    });
  }
  // A misspelt key comes first: it usually explains the missing setting reported after it.
  return {
    settings: undefined,
    problems: [...problems.filter((p) => p.unknown), ...problems.filter((p) => !p.unknown)],
  };
}

/** The connector for a target of this kind; the first error in its settings is an `invalid_input` ConnectorError. */
export function openWithKind<S>(
  kind: ConnectorKind<S>,
  target: TargetDefinition,
  context: ConnectorContext,
): Connector {
  return kind.create(target.id, settingsOrThrow(kind, target), context);
}

/** The target's valid settings, or an `invalid_input` ConnectorError naming the first problem. */
export function settingsOrThrow<S>(kind: KindSettings<S>, target: TargetDefinition): S {
  const { settings, problems } = checkSettings(kind, target);
  if (settings !== undefined) return settings;
  const first = problems.find((p) => p.severity === 'error')!;
  throw new ConnectorError(target.id, 'invalid_input', first.message, first.hint);
}

/** The settings a kind reads (`.superRefine` keeps the object schema in zod 4). */
function knownKeys(schema: z.ZodType): string[] {
  // Settings that apply defaults after checking (an LDAP flavor's) are a pipe from the object as written.
  if (schema instanceof z.ZodPipe) return knownKeys(schema.in as z.ZodType);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Setting types, each with the sentence its error reads as (`connection.page_size must be ...`).

/** A non-empty string. */
export function text(what = 'a non-empty string'): z.ZodString {
  return z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });
}

/** A whole number in [min, max]. */
export function wholeNumber(min: number, what: string, max = Number.MAX_SAFE_INTEGER): z.ZodNumber {
  const error = `must be ${what}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

export function flag(): z.ZodBoolean {
  return z.boolean({ error: 'must be true or false' });
}

/** A secret: `{ env: NAME }` or `{ file: PATH }` (a plain string is accepted; the policy loader warns about it). */
export const secretRef = z.union(
  [z.string(), z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })],
  { error: 'must be { env: NAME } or { file: PATH }' },
);
export type SecretValue = z.infer<typeof secretRef>;

/**
 * For a check across settings (`.superRefine(check, whenValid('url', 'host'))`): it runs even when
 * other settings fail, as long as the ones it reads are valid, so `validate` reports every problem
 * at once instead of the next one after each fix.
 */
export function whenValid(...keys: readonly string[]): {
  when: (payload: { readonly issues: readonly { readonly path?: readonly PropertyKey[] }[] }) => boolean;
} {
  return {
    when: (payload) => !payload.issues.some((i) => i.path !== undefined && keys.includes(String(i.path[0]))),
  };
}

/** A password inside a URL's user information (`postgres://u:secret@host`). */
export function urlPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}
