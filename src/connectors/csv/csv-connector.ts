import { randomUUID } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import type { Account } from '../../model/actual-state.js';
import type { TargetDefinition } from '../../model/policy.js';
import {
  ConnectorError,
  type AccountSpec,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorErrorCode,
} from '../connector.js';
import { settingsOrThrow } from '../connector-kind.js';
import { GroupCommit, NO_CHANGE } from '../group-commit.js';
import type { ConnectorContext } from '../secrets.js';
import { csvSettings, type CsvSettings } from './csv-settings.js';

/** The columns every accounts.csv has, in this order when Tenure creates the file. */
const RESERVED = ['id', 'name', 'identity', 'enabled'] as const;
/** Attribute columns Tenure maps; added to the header when missing. Other columns are kept. */
const KNOWN_ATTRIBUTES = ['givenName', 'sn', 'mail', 'displayName'] as const;
const MEMBERSHIP_HEADER = ['account', 'entitlement'] as const;

interface Row {
  readonly id: string;
  /** Changed by a rename. */
  name: string;
  /** Set by linkAccount. */
  identity?: string;
  enabled: boolean;
  /** Every non-reserved column's value, by column name. */
  readonly attributes: Record<string, string>;
  /** Insertion-ordered, no duplicates. */
  readonly entitlements: Set<string>;
}

interface State {
  /** Attribute columns in file order (without the reserved ones). */
  columns: string[];
  /** The header as read (reserved and attribute columns in their file order), or undefined for a new file. */
  header: string[] | undefined;
  readonly accounts: Map<string, Row>;
}

export interface CsvConnectionConfig {
  readonly accounts: string;
  readonly memberships: string;
}

/** What every csv target can do. */
export const CSV_CAPABILITIES: ConnectorCapabilities = {
  read: true,
  write: true,
  disable: true,
  delete: true,
  memberships: true,
  rotate: false,
  rename: true,
};

/**
 * A target that is a pair of CSV files a legacy application imports: `accounts.csv`
 * (`id,name,identity,enabled,<attributes...>`) and `memberships.csv` (`account,entitlement`, the
 * account by name, the entitlement as a full Tenure id). Every write replaces a file atomically
 * (temp file in the same folder, fsync, rename). The state is cached and read again when either
 * file changed on disk since this instance last read or wrote it.
 */
export class CsvConnector implements Connector {
  readonly kind = 'csv';
  readonly capabilities: ConnectorCapabilities = CSV_CAPABILITIES;
  readonly target: string;
  /** Absolute paths of the two files. */
  readonly files: { readonly accounts: string; readonly memberships: string };
  /**
   * The state of both files: operations run one at a time on it (read again if a file changed on
   * disk); those queued while a write is in flight share the next write (a group commit), so a busy
   * apply rewrites each file once per batch, not once per change. Every operation's promise
   * settles only after the write that holds its change.
   */
  private readonly store: GroupCommit<State, Write>;

  constructor(target: string, files: { readonly accounts: string; readonly memberships: string }) {
    this.target = target;
    this.files = files;
    this.store = new GroupCommit<State, Write>({
      files: [files.accounts, files.memberships],
      parse: ([accounts, memberships]) => this.parseState(accounts, memberships),
      // A delete writes memberships before accounts, creates the other way round (never a
      // membership of an account the file lacks): a delete therefore runs in a batch of its own.
      alone: (w) => w === 'both',
      render: (s, writes) => {
        const accounts = (): [string, string] => [files.accounts, accountsText(s)];
        const memberships = (): [string, string] => [files.memberships, membershipsText(s)];
        if (writes.includes('both')) return [memberships(), accounts()];
        return [
          ...(writes.some((w) => w !== 'memberships') ? [accounts()] : []),
          ...(writes.some((w) => w !== 'accounts') ? [memberships()] : []),
        ];
      },
      fsync: true,
      ioError: (path, action, e) => this.ioError(path, action === 'read' ? 'cannot be read' : 'cannot be written', e),
    });
  }

  async listAccounts(): Promise<readonly Account[]> {
    return this.store.run(false, (s) => [...s.accounts.values()].map(toAccount));
  }

  async readAccount(name: string): Promise<Account | undefined> {
    return this.store.run(false, (s) => {
      const r = s.accounts.get(name);
      return r ? toAccount(r) : undefined;
    });
  }

  async createAccount(spec: AccountSpec): Promise<Account> {
    return this.store.run('accounts', (s) => {
      if (spec.name === '') throw this.error('invalid_input', 'an account name cannot be empty');
      if (s.accounts.has(spec.name)) {
        throw this.error('already_exists', `account "${spec.name}" already exists in target "${this.target}"`);
      }
      const row: Row = {
        id: randomUUID(),
        name: spec.name,
        ...(spec.identity !== '' ? { identity: spec.identity } : {}),
        enabled: true,
        attributes: {},
        entitlements: new Set(),
      };
      this.setAttributes(s, row, spec.attributes);
      s.accounts.set(row.name, row);
      return toAccount(row);
    });
  }

  async updateAccount(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    return this.store.run('accounts', (s) => {
      this.setAttributes(s, this.get(s, name), attributes);
    });
  }

  async disableAccount(name: string): Promise<void> {
    return this.store.run('accounts', (s) => {
      this.get(s, name).enabled = false;
    });
  }

  async enableAccount(name: string): Promise<void> {
    return this.store.run('accounts', (s) => {
      this.get(s, name).enabled = true;
    });
  }

  /** Writes memberships first, then accounts: a crash between leaves an account with less access, never a dangling membership. */
  async deleteAccount(name: string): Promise<void> {
    return this.store.run('both', (s) => {
      this.get(s, name);
      s.accounts.delete(name);
    });
  }

  /**
   * Memberships name accounts, so a rename touches both files. Written in three steps, memberships
   * taken away first and given back last: a crash in between leaves the account with less access
   * (the next plan adds what is missing), never a membership naming an account the file lacks.
   */
  async renameAccount(name: string, newName: string, identity: string): Promise<void> {
    const held = await this.store.run(false, (s) => {
      const row = s.accounts.get(name);
      const taken = s.accounts.get(newName);
      if (row === undefined) {
        if (taken !== undefined && taken.identity === identity) return undefined;
        throw this.error('not_found', `account "${name}" does not exist in target "${this.target}"`);
      }
      if (taken !== undefined && name !== newName) {
        throw this.error('already_exists', `account "${newName}" already exists in target "${this.target}"`);
      }
      return name === newName ? undefined : [...row.entitlements];
    });
    if (held === undefined) return;
    if (held.length > 0) await this.store.run('memberships', (s) => this.get(s, name).entitlements.clear());
    await this.store.run('accounts', (s) => {
      const row = this.get(s, name);
      if (s.accounts.has(newName)) {
        throw this.error('already_exists', `account "${newName}" already exists in target "${this.target}"`);
      }
      s.accounts.delete(name);
      row.name = newName;
      s.accounts.set(newName, row);
    });
    if (held.length > 0) {
      await this.store.run('memberships', (s) => {
        const row = this.get(s, newName);
        for (const e of held) row.entitlements.add(e);
      });
    }
  }

  async linkAccount(name: string, identity: string): Promise<void> {
    return this.store.run('accounts', (s) => {
      const row = this.get(s, name);
      if (row.identity === identity) return NO_CHANGE;
      row.identity = identity;
    });
  }

  async listMembers(entitlement: string): Promise<readonly string[]> {
    this.checkEntitlement(entitlement);
    return this.store.run(false, (s) =>
      [...s.accounts.values()].filter((r) => r.entitlements.has(entitlement)).map((r) => r.name),
    );
  }

  async addMembership(name: string, entitlement: string): Promise<void> {
    this.checkEntitlement(entitlement);
    return this.store.run('memberships', (s) => {
      const row = this.get(s, name);
      if (row.entitlements.has(entitlement)) return NO_CHANGE;
      row.entitlements.add(entitlement);
    });
  }

  async removeMembership(name: string, entitlement: string): Promise<void> {
    this.checkEntitlement(entitlement);
    return this.store.run('memberships', (s) => {
      const row = this.get(s, name);
      if (!row.entitlements.delete(entitlement)) return NO_CHANGE;
    });
  }

  async rotateCredential(name: string): Promise<void> {
    return this.store.run(false, (s) => {
      this.get(s, name);
      throw this.error('invalid_input', 'csv targets hold no credentials');
    });
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  // --- internals -------------------------------------------------------------------------------

  private parseState(accountsBuf: Buffer | undefined, membershipsBuf: Buffer | undefined): State {
    const state: State = { columns: [...KNOWN_ATTRIBUTES], header: undefined, accounts: new Map() };
    const accountsPath = this.files.accounts;
    const aRecords = accountsBuf ? this.parseCsv(accountsPath, accountsBuf) : [];
    const [head, ...rows] = aRecords;
    if (head) {
      const header = head.record;
      const seen = new Set<string>();
      for (const c of header) {
        if (c === '') throw this.fileError(accountsPath, head.line, 'the header has an empty column name');
        if (seen.has(c)) throw this.fileError(accountsPath, head.line, `the header names column "${c}" twice`);
        seen.add(c);
      }
      const missing = RESERVED.filter((c) => !seen.has(c));
      if (missing.length > 0) {
        throw this.fileError(
          accountsPath,
          head.line,
          `the header lacks column(s) ${missing.join(', ')}`,
          `the header is ${[...RESERVED, ...KNOWN_ATTRIBUTES].join(',')} (other columns are kept)`,
        );
      }
      state.header = header;
      state.columns = header.filter((c) => !(RESERVED as readonly string[]).includes(c));
      for (const k of KNOWN_ATTRIBUTES) if (!state.columns.includes(k)) state.columns.push(k);
      const ids = new Set<string>();
      for (const { record, line } of rows) {
        const cell: Record<string, string> = {};
        header.forEach((c, i) => (cell[c] = record[i] ?? ''));
        const id = cell.id!;
        const name = cell.name!;
        if (id === '') throw this.fileError(accountsPath, line, 'the id is empty');
        if (name === '') throw this.fileError(accountsPath, line, 'the name is empty');
        if (ids.has(id)) throw this.fileError(accountsPath, line, `a second account has id "${id}"`);
        if (state.accounts.has(name)) throw this.fileError(accountsPath, line, `a second account is named "${name}"`);
        ids.add(id);
        const enabledText = cell.enabled!.trim().toLowerCase();
        if (enabledText !== 'true' && enabledText !== 'false') {
          throw this.fileError(accountsPath, line, `enabled is "${cell.enabled}", not true or false`);
        }
        const attributes: Record<string, string> = {};
        for (const c of state.columns) attributes[c] = cell[c] ?? '';
        state.accounts.set(name, {
          id,
          name,
          ...(cell.identity !== '' ? { identity: cell.identity! } : {}),
          enabled: enabledText === 'true',
          attributes,
          entitlements: new Set(),
        });
      }
    }

    const membershipsPath = this.files.memberships;
    const mRecords = membershipsBuf ? this.parseCsv(membershipsPath, membershipsBuf) : [];
    const [mHead, ...mRows] = mRecords;
    if (mHead) {
      if (mHead.record.join(',') !== MEMBERSHIP_HEADER.join(',')) {
        throw this.fileError(
          membershipsPath,
          mHead.line,
          `the header is "${mHead.record.join(',')}"`,
          `the header is ${MEMBERSHIP_HEADER.join(',')}`,
        );
      }
      for (const { record, line } of mRows) {
        const [account, entitlement] = record as [string, string];
        const row = state.accounts.get(account);
        if (!row) {
          // Refused rather than skipped: kept, it would grant access to whoever is created under that name.
          throw this.fileError(membershipsPath, line, `account "${account}" is not in ${basename(accountsPath)}`);
        }
        if (!this.isEntitlement(entitlement)) {
          throw this.fileError(
            membershipsPath,
            line,
            `"${entitlement}" is not an entitlement of target "${this.target}"`,
            `expected ${this.target}:KIND/NAME`,
          );
        }
        row.entitlements.add(entitlement);
      }
    }
    return state;
  }

  /** Records with the line each starts on; CSV syntax errors name the file and line. */
  private parseCsv(path: string, buf: Buffer): { record: string[]; line: number }[] {
    let parsed: { record: string[]; info: { bytes: number } }[];
    try {
      parsed = parse(buf, { bom: true, info: true, skip_empty_lines: true }) as unknown as typeof parsed;
    } catch (e) {
      if (e instanceof CsvError) {
        const line = typeof e.lines === 'number' ? e.lines : undefined;
        throw this.fileError(path, line, e.message.replace(/ at line \d+| on line \d+/, ''));
      }
      throw this.fileError(path, undefined, (e as Error).message);
    }
    const lineAt = lineCounter(buf);
    let start = 0;
    return parsed.map(({ record, info }) => {
      const line = lineAt(start);
      start = info.bytes;
      return { record, line };
    });
  }

  private setAttributes(s: State, row: Row, attributes: Readonly<Record<string, string>>): void {
    // Checked before anything changes: an operation that throws leaves the cached state as it was.
    for (const k of Object.keys(attributes)) {
      if ((RESERVED as readonly string[]).includes(k)) {
        throw this.error('invalid_input', `"${k}" is a column Tenure manages itself, not an attribute`);
      }
    }
    for (const [k, v] of Object.entries(attributes)) {
      // Attributes the file has no column for are not mapped (the contract: "maps what it knows").
      if (s.columns.includes(k)) row.attributes[k] = v;
    }
  }

  private get(s: State, name: string): Row {
    const r = s.accounts.get(name);
    if (!r) throw this.error('not_found', `account "${name}" does not exist in target "${this.target}"`);
    return r;
  }

  private isEntitlement(entitlement: string): boolean {
    const prefix = `${this.target}:`;
    return entitlement.startsWith(prefix) && /^[^/]+\/.+$/s.test(entitlement.slice(prefix.length));
  }

  private checkEntitlement(entitlement: string): void {
    if (!this.isEntitlement(entitlement)) {
      throw this.error(
        'invalid_input',
        `"${entitlement}" is not an entitlement of target "${this.target}"`,
        `expected ${this.target}:KIND/NAME`,
      );
    }
  }

  private error(code: ConnectorErrorCode, message: string, hint?: string): ConnectorError {
    return new ConnectorError(this.target, code, message, hint);
  }

  private fileError(path: string, line: number | undefined, message: string, hint?: string): ConnectorError {
    return this.error('invalid_input', `${path}${line !== undefined ? `:${line}` : ''}: ${message}`, hint);
  }

  private ioError(path: string, what: string, e: unknown): ConnectorError {
    const code = (e as NodeJS.ErrnoException).code;
    return this.error(
      code === 'EACCES' || code === 'EPERM' ? 'permission_denied' : 'unreachable',
      `${path} ${what} (${code ?? (e as Error).message})`,
    );
  }
}

/** Which files an operation writes: deletes write both, memberships first. */
type Write = 'accounts' | 'memberships' | 'both';

/** The connector for a `kind: csv` target; `connection` is `{ accounts: PATH, memberships: PATH }`. */
export function createCsvConnector(target: TargetDefinition, context: ConnectorContext): CsvConnector {
  return csvConnector(target.id, settingsOrThrow({ kind: 'csv', settings: csvSettings }, target), context);
}

/** A CSV target on valid settings; the files are read at the first operation. */
export function csvConnector(target: string, settings: CsvSettings, context: ConnectorContext): CsvConnector {
  return new CsvConnector(target, {
    accounts: resolve(context.baseDir, settings.accounts),
    memberships: resolve(context.baseDir, settings.memberships),
  });
}

function toAccount(r: Row): Account {
  return {
    id: r.id,
    name: r.name,
    ...(r.identity !== undefined ? { identity: r.identity } : {}),
    enabled: r.enabled,
    entitlements: [...r.entitlements],
    // Every attribute column, so the planner can see an account whose values drifted from the policy.
    attributes: { ...r.attributes },
  };
}

/** One RFC 4180 field: quoted iff it holds a comma, a quote, CR or LF; quotes inside doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** RFC 4180 records, CRLF-terminated. */
export function csvText(records: readonly (readonly string[])[]): string {
  return records.map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

function accountsText(s: State): string {
  // Keep the file's own column order; known attribute columns it lacked go at the end.
  const header = s.header
    ? [...s.header, ...s.columns.filter((c) => !s.header!.includes(c))]
    : [...RESERVED, ...s.columns];
  const records: string[][] = [header];
  for (const r of s.accounts.values()) {
    records.push(
      header.map((c) => {
        switch (c) {
          case 'id':
            return r.id;
          case 'name':
            return r.name;
          case 'identity':
            return r.identity ?? '';
          case 'enabled':
            return r.enabled ? 'true' : 'false';
          default:
            return r.attributes[c] ?? '';
        }
      }),
    );
  }
  return csvText(records);
}

function membershipsText(s: State): string {
  const records: string[][] = [[...MEMBERSHIP_HEADER]];
  for (const r of s.accounts.values()) for (const e of r.entitlements) records.push([r.name, e]);
  return csvText(records);
}

/**
 * Maps a byte offset to the 1-based line of the first non-empty line at or after it (CRLF, LF or
 * CR breaks). Offsets must be asked in increasing order (counting resumes where it stopped).
 */
function lineCounter(buf: Buffer): (offset: number) => number {
  const isBreak = (i: number) => buf[i] === 0x0a || (buf[i] === 0x0d && buf[i + 1] !== 0x0a);
  let pos = 0;
  let line = 1;
  return (offset) => {
    for (; pos < offset && pos < buf.length; pos++) if (isBreak(pos)) line++;
    // Skip the empty lines csv-parse skipped before the record.
    let i = pos;
    let skipped = 0;
    for (; i < buf.length && (buf[i] === 0x0a || buf[i] === 0x0d); i++) if (isBreak(i)) skipped++;
    return line + skipped;
  };
}
