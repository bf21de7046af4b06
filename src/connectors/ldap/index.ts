import type { ConnectorKind } from '../connector-kind.js';
import { checkLdap } from './ldap-check.js';
import { LDAP_CAPABILITIES, ldapConnector } from './ldap-connector.js';
import { adviseLdap, ldapSettings, type LdapSettings } from './ldap-settings.js';

/** `kind: ldap`: person entries and groups (groupOfNames, groupOfUniqueNames, posixGroup) of an LDAP directory; names ignore case. */
export const ldapKind: ConnectorKind<LdapSettings> = {
  kind: 'ldap',
  settings: ldapSettings,
  names: 'case-insensitive',
  capabilities: LDAP_CAPABILITIES,
  advise: adviseLdap,
  create: ldapConnector,
  check: checkLdap,
};
