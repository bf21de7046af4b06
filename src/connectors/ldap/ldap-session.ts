import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client, ResultCodeError, type Entry } from 'ldapts';
import { ConnectorError } from '../connector.js';
import { resolveSecret, type ConnectorContext } from '../secrets.js';
import { dnOf, ldapResultError, onDn } from './ldap-errors.js';
import type { LdapSettings } from './ldap-settings.js';

/** How to reach and bind to one directory. */
export interface SessionOptions {
  readonly url: string;
  /** Upgrade an ldap:// connection with StartTLS (RFC 4513) before binding. */
  readonly startTls: boolean;
  /** The CA certificate(s) to trust instead of Node's, read at the first connection; undefined for Node's. */
  readonly ca?: () => Buffer;
  readonly bindDn: string;
  readonly bindPassword: () => string;
  readonly pageSize: number;
  readonly timeoutMs: number;
}

/** How to reach and bind, from valid settings: the CA file and the bind password are read at the first connection. */
export function sessionOptionsOf(target: string, s: LdapSettings, context: ConnectorContext): SessionOptions {
  const caFile = s.ca_file === undefined ? undefined : resolve(context.baseDir, s.ca_file);
  return {
    url: s.url,
    startTls: s.start_tls,
    ...(caFile === undefined ? {} : { ca: () => readCa(target, s.ca_file!, caFile) }),
    bindDn: s.bind_dn,
    bindPassword: () =>
      resolveSecret(target, 'connection.bind_password', s.bind_password, context.baseDir, context.env),
    pageSize: s.page_size,
    timeoutMs: s.timeout_ms,
  };
}

function readCa(target: string, shown: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConnectorError(
      target,
      'invalid_input',
      `target "${target}": connection.ca_file ${shown} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'ca_file is relative to the policy file; it holds the PEM certificate of the authority that signed the directory certificate',
    );
  }
}

/**
 * Turns a result error into a ConnectorError when the directory's flavor knows better than RFC 4511 (Active
 * Directory's Win32 codes); undefined leaves it to the generic mapping.
 */
export type ResultMapper = (
  where: string,
  what: string,
  e: ResultCodeError,
  dn: string | undefined,
) => ConnectorError | undefined;

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Node's certificate verification failures: the server is there, but is not the one the settings trust. */
const CERTIFICATE_ERRORS = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/**
 * One bound connection to a directory, shared by every operation of a connector: connecting, StartTLS, binding, paged
 * searches, and every failure turned into a ConnectorError naming the target, the URL, the step and the DN. Each
 * directory flavor's connector is built on one.
 */
export class LdapSession {
  private clientInstance: Client | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    readonly target: string,
    private readonly options: SessionOptions,
    private readonly mapResult?: ResultMapper,
  ) {}

  /** Whether what is sent travels encrypted (ldaps://, or StartTLS): passwords are sent only then. */
  get encrypted(): boolean {
    return this.options.startTls || /^ldaps:/i.test(this.options.url);
  }

  get url(): string {
    return this.options.url;
  }

  /**
   * The client, connected and bound. ldapts connects again by itself inside any call that finds the connection gone,
   * but two of its connects at once leave one of the calls waiting forever (ldapts/ldapts#256), and the executor runs
   * several operations at once on this one client: so every call comes through here, where one connect (with its
   * bind) serves every call waiting for it.
   */
  async connected(): Promise<Client> {
    if (!this.client.isBound) {
      this.connecting ??= this.connectAndBind().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    return this.client;
  }

  /** One LDAP call on the entry `dn`, on the connected client; a result error remembers the DN for its message. */
  async ldap<T>(dn: string, call: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connected();
    return onDn(dn, () => call(client));
  }

  /** Binds when needed, runs the operation, and turns every failure into a ConnectorError. */
  async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      await this.connected();
      return await operation();
    } catch (e) {
      throw this.mapError(what, e);
    }
  }

  /** A paged search (RFC 2696) under base: the base itself, one level down, or the whole subtree. */
  async search(
    base: string,
    filter: string,
    attributes: string[],
    scope: 'base' | 'one' | 'sub' = 'one',
    explicitBufferAttributes: string[] = [],
  ): Promise<Entry[]> {
    const { searchEntries } = await this.ldap(base, (client) =>
      client.search(base, {
        scope,
        filter,
        attributes,
        ...(explicitBufferAttributes.length > 0 ? { explicitBufferAttributes } : {}),
        ...(scope === 'base' ? {} : { paged: { pageSize: this.options.pageSize } }),
      }),
    );
    return searchEntries;
  }

  /** Runs an LDAP call, treating some result codes as success (typeOrValueExists on add, noSuchAttribute on delete). */
  async ignoring(codes: number | readonly number[], call: () => Promise<unknown>): Promise<void> {
    const ignored = typeof codes === 'number' ? [codes] : codes;
    try {
      await call();
    } catch (e) {
      if (!(e instanceof ResultCodeError && ignored.includes(e.code))) throw e;
    }
  }

  /**
   * Writes the identity into an account entry's link attribute (`linkAccount` of either flavor): done when it holds
   * that identity already; a `conflict` when it holds another, which Tenure never overwrites.
   */
  async writeLink(entry: Entry, linkAttribute: string, name: string, identity: string): Promise<void> {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === linkAttribute.toLowerCase() && k !== 'dn');
    const held = key === undefined ? undefined : entry[key];
    const link = (held === undefined ? [] : Array.isArray(held) ? held : [held]).map((v) => v.toString());
    if (link.length === 1 && link[0] === identity) return;
    if (link.length > 0) {
      throw new ConnectorError(
        this.target,
        'conflict',
        `target "${this.target}": account "${name}" is already linked to ${link.join(', ')} (${linkAttribute}); it is not linked to ${identity}`,
        'correct the link in the directory, or leave the account to the system that wrote it',
      );
    }
    await this.ldap(entry.dn, (client) =>
      client.modify(entry.dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: linkAttribute, values: [identity] }) }),
      ]),
    );
  }

  mapError(what: string, e: unknown): ConnectorError {
    if (e instanceof ConnectorError) return e;
    const where = `target "${this.target}" (${this.options.url})`;
    if (e instanceof ResultCodeError) {
      const dn = dnOf(e);
      return this.mapResult?.(where, what, e, dn) ?? ldapResultError(this.target, where, what, e, dn);
    }
    const err = e as NodeJS.ErrnoException;
    const message = err instanceof Error ? err.message : String(e);
    if (err.code !== undefined && CERTIFICATE_ERRORS.has(err.code)) {
      return new ConnectorError(
        this.target,
        'invalid_input',
        `${where}: cannot ${what}: the directory's TLS certificate was refused: ${message} (${err.code})`,
        err.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? "the certificate does not name the URL's host: use the host name it was issued for in connection.url"
          : 'set connection.ca_file to the PEM certificate of the authority that signed it (relative to the policy file)',
      );
    }
    if (
      (err.code !== undefined && CONNECTION_ERRORS.has(err.code)) ||
      /connection timeout|socket error|connection closed|socket connection not established/i.test(message)
    ) {
      return new ConnectorError(
        this.target,
        'unreachable',
        `${where}: cannot ${what}: ${message}`,
        'check connection.url and that the directory is running',
      );
    }
    if (/operation timed out/i.test(message)) {
      return new ConnectorError(this.target, 'timeout', `${where}: cannot ${what}: ${message}`);
    }
    return new ConnectorError(this.target, 'internal', `${where}: cannot ${what}: ${message}`);
  }

  async close(): Promise<void> {
    await this.clientInstance?.unbind().catch(() => undefined);
  }

  /**
   * The client, made at the first operation (the CA file is read then). Node checks the server's certificate and
   * that it names the URL's host, for ldaps:// and for StartTLS alike.
   */
  private get client(): Client {
    if (this.clientInstance === undefined) {
      const tls = this.tlsOptions();
      this.clientInstance = new Client({
        url: this.options.url,
        timeout: this.options.timeoutMs,
        connectTimeout: Math.min(this.options.timeoutMs, 10_000),
        // ldapts never replays a bind made after StartTLS on a fresh connection (it would go in clear): connected()
        // upgrades and binds again instead.
        autoRebind: true,
        ...(tls.ca !== undefined && !this.options.startTls ? { tlsOptions: tls } : {}),
      });
    }
    return this.clientInstance;
  }

  private tlsOptions(): ConnectionOptions {
    const host = new URL(this.options.url).hostname.replace(/^\[(.*)\]$/, '$1');
    return {
      host,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(this.options.ca ? { ca: this.options.ca() } : {}),
    };
  }

  private async connectAndBind(): Promise<void> {
    const client = this.client;
    if (this.options.startTls) {
      // A connection left upgraded but unbound (a failed bind) starts over: StartTLS cannot be asked twice.
      if (client.isConnected) await client.unbind().catch(() => undefined);
      try {
        await client.startTLS(this.tlsOptions());
      } catch (e) {
        await client.unbind().catch(() => undefined);
        if (e instanceof ResultCodeError) {
          const error = this.mapError('start TLS', e);
          throw new ConnectorError(
            this.target,
            error.code === 'unreachable' ? 'unreachable' : 'invalid_input',
            error.message,
            'the directory refused StartTLS: enable TLS on it, or use its ldaps:// URL without start_tls',
          );
        }
        throw e;
      }
    }
    await onDn(this.options.bindDn, () => client.bind(this.options.bindDn, this.options.bindPassword()));
  }
}
