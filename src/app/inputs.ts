import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Entitlement } from '../model/entitlement.js';
import { didYouMean } from '../policy/suggest.js';
import { hasErrors } from '../model/diagnostic.js';
import type { Identity } from '../model/identity.js';
import type { Account, ActualState, TargetState } from '../model/actual-state.js';
import { loadPolicy, type LoadedPolicy } from '../policy/load-policy.js';
import type { SourceRead } from '../sources/read-source.js';
import { readSources } from '../sources/read-sources.js';
import { ConnectorError } from '../connectors/connector.js';
import { parseSnapshot } from '../connectors/memory/memory-connector.js';
import { openConnector } from '../connectors/open-connector.js';
import type { Connector } from '../connectors/connector.js';
import { withKeptLinks, type LinkBook } from '../connectors/kept-links.js';
import { StoredLinkBook } from './kept-links.js';
import { EXIT, UserError } from './errors.js';

/** Reads and validates the policy file; a UserError with every diagnostic when it is invalid. */
export function openPolicy(configPath: string): { loaded: LoadedPolicy; warnings: readonly Diagnostic[] } {
  const file = resolve(configPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `policy file not found: ${configPath}`
        : `policy file cannot be read: ${configPath} (${code})`,
      EXIT.invalid,
      [],
      code === 'ENOENT'
        ? 'pass -c PATH, or run in a folder with tenure.yaml (try: tenure demo generate --out demo)'
        : undefined,
    );
  }
  const shown = configPath.startsWith('/') ? configPath : configPath.replace(/^\.\//, '');
  const r = loadPolicy(text, shown);
  if (!r.result)
    throw new UserError(
      `the policy has ${r.diagnostics.filter((d) => d.severity === 'error').length} error(s)`,
      EXIT.invalid,
      r.diagnostics,
    );
  // Paths in the policy are relative to its folder, whatever the working directory.
  return { loaded: { ...r.result, policy: { ...r.result.policy, file } }, warnings: r.diagnostics };
}

export function openIdentities(
  loaded: LoadedPolicy,
  skipInvalid = false,
  /** The run's time: feed dates more than 50 years after it are refused as typos. */
  now?: Date,
): { identities: readonly Identity[]; diagnostics: readonly Diagnostic[]; reads: readonly SourceRead[] } {
  const r = readSources(loaded.policy, { skipInvalid, ...(now ? { now } : {}) });
  if (hasErrors(r.diagnostics)) {
    throw new UserError(
      `the sources have ${r.diagnostics.filter((d) => d.severity === 'error').length} problem(s); nothing was loaded`,
      EXIT.invalid,
      r.diagnostics,
      skipInvalid ? undefined : 'fix the rows, or pass --skip-invalid to load the valid rows and report the rest',
    );
  }
  return { identities: r.result.identities, diagnostics: r.diagnostics, reads: r.result.reads };
}

/**
 * A connector for every target of the policy; problems become messages a user can act on. A target that holds no link
 * reads and records its links in `links`.
 */
export function openTargets(loaded: LoadedPolicy, links: LinkBook): Map<string, Connector> {
  const declared = (target: string) =>
    loaded.policy.entitlements.filter((e) => e.address.target === target).map((e) => e.id);
  return new Map(
    loaded.policy.targets.map((t) => {
      const c = wrap(() => openConnector(t, loaded.policy.file, process.env, declared(t.id)));
      return [t.id, c.capabilities.linkKeptByTenure ? withKeptLinks(c, links) : c];
    }),
  );
}

/**
 * Actual state: a combined snapshot file when given, else read through each target's connector.
 * `sleep` waits between retries (injected by tests).
 */
export async function openActualState(
  loaded: LoadedPolicy,
  actualFile?: string,
  connectors?: ReadonlyMap<string, Connector>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<ActualState> {
  const targets: TargetState[] = [];
  if (actualFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(actualFile, 'utf8'));
    } catch (e) {
      throw new UserError(`actual-state file cannot be read: ${actualFile}: ${(e as Error).message}`);
    }
    const byTarget = (raw as { targets?: Record<string, unknown> } | null)?.targets;
    if (!byTarget || typeof byTarget !== 'object') {
      throw new UserError(`${actualFile}: expected { "targets": { "<target>": { "accounts": [...] } } }`);
    }
    for (const [target, state] of Object.entries(byTarget)) {
      targets.push({ target, accounts: wrap(() => parseSnapshot(target, actualFile, JSON.stringify(state))) });
    }
    return { targets };
  }
  // Without connectors from the caller (who has the store), no link kept by Tenure is known.
  const open =
    connectors ?? openTargets(loaded, new StoredLinkBook(() => Promise.resolve({ links: [], tampered: [] })));
  for (const [target, connector] of open) {
    try {
      const accounts = await withRetries(() => connector.listAccounts(), sleep);
      // Listed only when the policy grants something there beyond the account: a users-only policy reads no groups.
      const existing =
        connector.listEntitlements && grantsBeyondAccounts(loaded, target)
          ? await withRetries(() => connector.listEntitlements!(), sleep)
          : undefined;
      targets.push({ target, accounts, ...(existing ? entitlementsOf(loaded, target, connector, existing) : {}) });
    } catch (e) {
      if (e instanceof ConnectorError) {
        const message = e.message.includes(`target "${target}"`) ? e.message : `target "${target}": ${e.message}`;
        throw new UserError(message, EXIT.invalid, [], e.hint);
      }
      throw e;
    } finally {
      if (!connectors) await connector.close();
    }
  }
  return { targets };
}

/**
 * Reading a target rides out what the executor rides out: a retryable error (a 500, a 429, a
 * timeout) is tried again after a short backoff, or after the Retry-After the target asked for.
 */
async function withRetries<T>(read: () => Promise<T>, sleep: (ms: number) => Promise<void>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (e) {
      if (!(e instanceof ConnectorError) || !e.retryable || i >= attempts) throw e;
      const delay = Math.max(e.retryAfterMs ?? 0, 250 * 2 ** (i - 1));
      await sleep(Math.min(delay, 30_000));
    }
  }
}

function grantsBeyondAccounts(loaded: LoadedPolicy, target: string): boolean {
  return loaded.policy.entitlements.some((e) => e.address.target === target && e.address.kind !== 'account');
}

/** The entitlements a target reports having, with where it keeps the policy's (for the plan's messages). */
function entitlementsOf(
  loaded: LoadedPolicy,
  target: string,
  connector: Connector,
  existing: readonly string[],
): Pick<TargetState, 'entitlements' | 'locations'> {
  const locations: Record<string, string> = {};
  for (const e of loaded.policy.entitlements) {
    if (e.address.target !== target || e.address.kind === 'account') continue;
    const where = connector.locateEntitlement?.(e.id);
    if (where !== undefined) locations[e.id] = where;
  }
  return { entitlements: [...existing].sort(), locations };
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConnectorError) throw new UserError(e.message, EXIT.invalid, [], e.hint);
    throw e;
  }
}

/** The declared entitlement with this id, or a UserError suggesting the closest one. */
export function declaredEntitlement(loaded: LoadedPolicy, id: string): Entitlement {
  const found = loaded.policy.entitlements.find((e) => e.id === id);
  if (found) return found;
  const ids = loaded.policy.entitlements.map((e) => e.id);
  throw new UserError(
    `"${id}" is not a declared entitlement`,
    EXIT.invalid,
    [],
    didYouMean(id, ids) ?? 'entitlements are written target:kind/name',
  );
}

/** A connector whose account listing is read once and shared by every later caller. */
export function listedOnce(c: Connector): Connector {
  let listed: Promise<readonly Account[]> | undefined;
  return new Proxy(c, {
    get(target, key) {
      if (key === 'listAccounts') return () => (listed ??= target.listAccounts());
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
