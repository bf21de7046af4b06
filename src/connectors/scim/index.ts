import type { ConnectorKind } from '../connector-kind.js';
import { checkScim } from './scim-check.js';
import { SCIM_CAPABILITIES, scimConnector } from './scim-connector.js';
import { scimSettings, type ScimSettings } from './scim-settings.js';

/** `kind: scim`: Users and Groups of a SCIM 2.0 service. `userName` ignores case (RFC 7643). */
export const scimKind: ConnectorKind<ScimSettings> = {
  kind: 'scim',
  settings: scimSettings,
  names: 'case-insensitive',
  capabilities: SCIM_CAPABILITIES,
  create: scimConnector,
  check: checkScim,
};
export type { ScimDiscovery } from './scim-discovery.js';
export type { ScimConnector } from './scim-connector.js';
