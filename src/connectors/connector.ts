import type { Account } from '../model/actual-state.js';

/**
 * The contract every target connector implements (after Kysely's one-interface-per-dialect).
 * This first version is the read side the planner needs; writes arrive with the executor.
 */
export interface Connector {
  readonly target: string;
  readonly kind: string;
  readonly capabilities: ConnectorCapabilities;
  /** Every account the target holds, with the managed entitlements each holds. */
  listAccounts(): Promise<readonly Account[]>;
}

export interface ConnectorCapabilities {
  readonly read: boolean;
  readonly write: boolean;
}

/** The closed set of connector error codes; the executor decides retries from the code alone. */
export const CONNECTOR_ERROR_CODES = [
  'unreachable',
  'rate_limited',
  'already_exists',
  'not_found',
  'invalid_input',
  'permission_denied',
  'conflict',
  'timeout',
  'internal',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ConnectorErrorCode> = new Set(['unreachable', 'rate_limited', 'timeout', 'internal']);

export class ConnectorError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly target: string,
    readonly code: ConnectorErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ConnectorError';
    this.retryable = RETRYABLE.has(code);
  }
}
