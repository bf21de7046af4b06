import type { ConnectorKind } from '../connector-kind.js';
import { activeDirectoryConnector } from './active-directory-connector.js';
import { checkLdap } from './ldap-check.js';
import { sameDn } from './ldap-escape.js';
import { samAccountNameProblem } from './sam-account-name.js';
import { LDAP_CAPABILITIES, ldapConnector } from './ldap-connector.js';
import { adviseLdap, ldapSettings, type LdapSettings } from './ldap-settings.js';

/**
 * `kind: ldap`: person entries and groups (groupOfNames, groupOfUniqueNames, posixGroup) of an LDAP directory, or with
 * `flavor: active_directory` users and groups of an Active Directory domain; names ignore case.
 */
export const ldapKind: ConnectorKind<LdapSettings> = {
  kind: 'ldap',
  settings: ldapSettings,
  names: 'case-insensitive',
  capabilities: LDAP_CAPABILITIES,
  // An account's `parent` (its OU, Active Directory) is a DN: equal when its parts are, however it is spaced or cased.
  sameValue: (attribute, held, wanted) => (attribute === 'parent' ? sameDn(held, wanted) : held === wanted),
  advise: adviseLdap,
  nameProblem: (settings, name) => (settings.flavor === 'active_directory' ? samAccountNameProblem(name) : undefined),
  create: (target, settings, context) =>
    settings.flavor === 'active_directory'
      ? activeDirectoryConnector(target, settings, context)
      : ldapConnector(target, settings, context),
  check: checkLdap,
};
