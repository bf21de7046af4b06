import type { TargetKind } from '../model/policy.js';
import type { ConnectorKind } from './connector-kind.js';
import { csvKind } from './csv/index.js';
import { ldapKind } from './ldap/index.js';
import { memoryKind } from './memory/index.js';
import { postgresKind } from './postgres/index.js';
import { scimKind } from './scim/index.js';

/**
 * Every target kind the policy accepts, and its connector kind. Typed by the policy's kind union:
 * a kind added to `TargetKind` without an entry here does not compile. It is also the
 * `TargetKindTraits` the planner and drift receive (how each kind compares account names).
 */
export const CONNECTOR_KINDS: { readonly [K in TargetKind]: ConnectorKind } = {
  memory: memoryKind,
  csv: csvKind,
  scim: scimKind,
  ldap: ldapKind,
  postgres: postgresKind,
};

/** The kinds, in the order the policy schema lists them. */
export const TARGET_KINDS = Object.keys(CONNECTOR_KINDS) as TargetKind[];
