import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TargetDefinition } from '../../model/policy.js';
import { checkSettings } from '../connector-kind.js';
import { ConnectorError } from '../connector.js';
import { ldapKind } from './index.js';
import { accountNameRules } from '../open-connector.js';

const base = {
  bind_dn: 'cn=tenure,dc=example,dc=org',
  bind_password: { env: 'P' },
  people_base: 'ou=people,dc=example,dc=org',
  groups_base: 'ou=groups,dc=example,dc=org',
  disable_method: 'attribute',
};

function target(connection: Record<string, unknown>): TargetDefinition {
  return {
    id: 'directory',
    kind: 'ldap',
    description: '',
    accountName: 'identity.id',
    attributes: {},
    position: { file: 'tenure.yaml' },
    connection: { ...base, ...connection },
  };
}

const check = (connection: Record<string, unknown>) => checkSettings(ldapKind, target(connection));

describe('ldap TLS settings', () => {
  test('start_tls is off by default, and no CA file is read', () => {
    const r = check({ url: 'ldap://dir.example.org' });
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings?.start_tls, false);
    assert.equal(r.settings?.ca_file, undefined);
  });

  test('start_tls with an ldap:// URL and a CA file is accepted', () => {
    const r = check({ url: 'ldap://dir.example.org:389', start_tls: true, ca_file: 'certs/ca.pem' });
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings?.start_tls, true);
    assert.equal(r.settings?.ca_file, 'certs/ca.pem');
  });

  test('a CA file with ldaps:// is accepted', () => {
    assert.deepEqual(check({ url: 'ldaps://dir.example.org', ca_file: 'ca.pem' }).problems, []);
  });

  const problems = (connection: Record<string, unknown>) =>
    check(connection).problems.map((p) => [p.severity, p.path.join('.'), p.message, p.hint]);

  test('start_tls with ldaps:// is refused, saying why', () => {
    assert.deepEqual(problems({ url: 'ldaps://dir.example.org', start_tls: true }), [
      [
        'error',
        'start_tls',
        'target "directory": connection.start_tls is for ldap:// URLs; an ldaps:// connection is encrypted from the start',
        'remove start_tls, or use an ldap:// URL (usually port 389)',
      ],
    ]);
  });

  test('a CA file without TLS is refused: the connection would not be encrypted', () => {
    const p = problems({ url: 'ldap://dir.example.org', ca_file: 'ca.pem' });
    assert.equal(p.length, 1);
    assert.equal(p[0]![1], 'ca_file');
    assert.match(String(p[0]![2]), /is used only with TLS/);
  });

  test('start_tls must be a boolean and ca_file a path', () => {
    assert.deepEqual(
      problems({ url: 'ldap://dir.example.org', start_tls: 'yes', ca_file: '' }).map((p) => [p[1], p[2]]),
      [
        ['start_tls', 'target "directory": connection.start_tls must be true or false'],
        ['ca_file', 'target "directory": connection.ca_file must be a file path'],
      ],
    );
  });

  test('ca_file is read relative to the policy folder, at the first operation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-ldap-ca-'));
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const settings = check({ url: 'ldap://127.0.0.1:1', start_tls: true, ca_file: 'missing-ca.pem' }).settings!;
    const connector = ldapKind.create('directory', settings, { baseDir: dir, env: { P: 'x' } });
    try {
      await assert.rejects(connector.listAccounts(), (e: unknown) => {
        assert.ok(e instanceof ConnectorError);
        assert.equal(e.code, 'invalid_input');
        assert.equal(e.message, 'target "directory": connection.ca_file missing-ca.pem cannot be read (ENOENT)');
        assert.match(e.hint ?? '', /relative to the policy file/);
        return true;
      });
    } finally {
      await connector.close();
    }
    // The file beside the policy is found (whatever the working directory): the failure is the server's absence.
    const found = ldapKind.create(
      'directory',
      check({ url: 'ldap://127.0.0.1:1', start_tls: true, ca_file: 'ca.pem' }).settings!,
      { baseDir: dir, env: { P: 'x' } },
    );
    try {
      await assert.rejects(
        found.listAccounts(),
        (e: unknown) => e instanceof ConnectorError && e.code === 'unreachable',
      );
    } finally {
      await found.close();
    }
  });
});

describe('ldap layout settings', () => {
  const problems = (connection: Record<string, unknown>) =>
    check({ url: 'ldap://dir.example.org', ...connection }).problems.map((p) => [p.path.join('.'), p.message]);

  test("the defaults are today's layout: uid, inetOrgPerson, employeeNumber, one level, groupOfNames", () => {
    const r = check({ url: 'ldap://dir.example.org' });
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings?.link_attribute, 'employeeNumber');
    assert.equal(r.settings?.naming_attribute, 'uid');
    assert.deepEqual(r.settings?.object_classes, ['top', 'person', 'organizationalPerson', 'inetOrgPerson']);
    assert.equal(r.settings?.account_scope, 'one');
    assert.equal(r.settings?.group_kind, 'groupOfNames');
  });

  test('another layout is accepted as written', () => {
    const r = check({
      url: 'ldap://dir.example.org',
      link_attribute: 'hrEmployeeId',
      naming_attribute: 'cn',
      object_classes: ['top', 'inetOrgPerson', 'hrPerson'],
      account_scope: 'sub',
      group_kind: 'posixGroup',
    });
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings?.group_kind, 'posixGroup');
    assert.equal(r.settings?.account_scope, 'sub');
  });

  test('each bad value says what it must be', () => {
    assert.deepEqual(
      problems({
        link_attribute: 'employee number',
        naming_attribute: '',
        object_classes: [],
        account_scope: 'subtree',
        group_kind: 'groupOfPeople',
      }),
      [
        [
          'link_attribute',
          'target "directory": connection.link_attribute must be an attribute name (letters, digits and hyphens, starting with a letter) or an OID',
        ],
        [
          'naming_attribute',
          'target "directory": connection.naming_attribute must be an attribute name (letters, digits and hyphens, starting with a letter) or an OID',
        ],
        ['object_classes', 'target "directory": connection.object_classes must name at least one object class'],
        ['account_scope', 'target "directory": connection.account_scope must be one or sub'],
        [
          'group_kind',
          'target "directory": connection.group_kind must be one of groupOfNames, groupOfUniqueNames, posixGroup (or group, with flavor: active_directory)',
        ],
      ],
    );
    assert.deepEqual(problems({ object_classes: 'inetOrgPerson' }), [
      ['object_classes', 'target "directory": connection.object_classes must be a list of object class names'],
    ]);
    assert.deepEqual(problems({ object_classes: ['top', 'inet orgperson'] }), [
      [
        'object_classes.1',
        'target "directory": connection.object_classes.1 must be an object class name (letters, digits and hyphens, starting with a letter)',
      ],
    ]);
  });

  test('the link cannot be the name, nor the disabled mark', () => {
    assert.deepEqual(problems({ link_attribute: 'CN', naming_attribute: 'cn' }), [
      [
        'link_attribute',
        'target "directory": connection.link_attribute must differ from naming_attribute (both are cn): the name and the identity id are two values',
      ],
    ]);
    assert.deepEqual(problems({ link_attribute: 'employeeType' }), [
      [
        'disabled_attribute',
        'target "directory": connection.disabled_attribute must differ from link_attribute (both are employeeType)',
      ],
    ]);
  });
});

describe('ldap settings checked across keys', () => {
  test('a check across settings still runs when another setting is wrong, so every problem is said at once', () => {
    const r = check({ url: 'ldap://dir.example.org', page_size: 0, disable_method: 'move' });
    assert.deepEqual(
      r.problems.map((p) => p.path.join('.')),
      ['page_size', 'disabled_base'],
    );
  });

  test('but not when a setting it reads is itself wrong', () => {
    const r = check({ url: 'ldap://dir.example.org', disable_method: 'hide' });
    assert.deepEqual(
      r.problems.map((p) => p.path.join('.')),
      ['disable_method'],
    );
  });
});

describe('ldap flavor: active_directory', () => {
  const ad = (connection: Record<string, unknown>) =>
    checkSettings(
      ldapKind,
      target({
        flavor: 'active_directory',
        url: 'ldaps://dc1.corp.example.com',
        disable_method: undefined,
        people_base: 'OU=Staff,DC=corp,DC=example,DC=com',
        groups_base: 'OU=Groups,DC=corp,DC=example,DC=com',
        ...connection,
      }),
    );
  const problems = (connection: Record<string, unknown>) =>
    ad(connection).problems.map((p) => [p.path.join('.'), p.message]);

  test("takes Active Directory's object model by default", () => {
    const r = ad({});
    assert.deepEqual(r.problems, []);
    const s = r.settings!;
    assert.equal(s.flavor, 'active_directory');
    assert.equal(s.naming_attribute, 'sAMAccountName');
    assert.equal(s.link_attribute, 'employeeNumber');
    assert.deepEqual(s.object_classes, ['top', 'person', 'organizationalPerson', 'user']);
    assert.equal(s.account_scope, 'sub');
    assert.equal(s.group_kind, 'group');
    assert.equal(s.disable_method, 'account_control');
    assert.equal(s.upn_suffix, 'corp.example.com', 'the domain of people_base');
  });

  test('a standard directory keeps its own defaults', () => {
    const s = check({ url: 'ldap://dir.example.org' }).settings!;
    assert.equal(s.flavor, 'standard');
    assert.equal(s.naming_attribute, 'uid');
    assert.equal(s.link_attribute, 'employeeNumber');
    assert.equal(s.group_kind, 'groupOfNames');
    assert.equal(s.upn_suffix, undefined);
  });

  test('refuses settings of the other model, saying what Active Directory does instead', () => {
    assert.deepEqual(
      problems({ naming_attribute: 'uid', group_kind: 'groupOfNames', disable_method: 'move', disabled_value: 'x' }),
      [
        [
          'naming_attribute',
          'target "directory": connection.naming_attribute must be sAMAccountName with flavor: active_directory (Active Directory names accounts by sAMAccountName)',
        ],
        [
          'group_kind',
          'target "directory": connection.group_kind must be group with flavor: active_directory (Active Directory groups are group objects with member values)',
        ],
        [
          'disable_method',
          'target "directory": connection.disable_method must be account_control with flavor: active_directory (Active Directory disables an account through userAccountControl)',
        ],
        [
          'disabled_value',
          'target "directory": connection.disabled_value is not used with flavor: active_directory, which disables through userAccountControl',
        ],
      ],
    );
  });

  test('refuses a link attribute AD writes itself: it cannot hold an identity id', () => {
    assert.deepEqual(problems({ link_attribute: 'objectGUID' }), [
      [
        'link_attribute',
        'target "directory": connection.link_attribute cannot be objectGUID: AD sets it (or it is the account\'s name), so it cannot hold an identity id',
      ],
    ]);
    assert.deepEqual(problems({ link_attribute: 'extensionAttribute7' }), []);
  });

  test('link_attribute: none leaves the link to Tenure, by objectGUID; only Active Directory takes it', () => {
    assert.deepEqual(problems({ link_attribute: 'none' }), []);
    const context = { baseDir: tmpdir(), env: { P: 'x' }, entitlements: [] };
    const connector = ldapKind.create('directory', ad({ link_attribute: 'none' }).settings!, context);
    assert.equal(connector.capabilities.linkKeptByTenure, true);
    const standard = check({ url: 'ldap://dir.example.org', link_attribute: 'none' }).problems;
    assert.deepEqual(
      standard.map((p) => [p.path.join('.'), p.message]),
      [
        [
          'link_attribute',
          'target "directory": connection.link_attribute none is for flavor: active_directory, where Tenure keeps the link by objectGUID',
        ],
      ],
    );
    const withLink = ldapKind.create('directory', ad({}).settings!, context);
    assert.equal(
      withLink.capabilities.linkKeptByTenure,
      undefined,
      'with a link attribute the directory holds the link',
    );
  });

  test('needs an encrypted connection: passwords travel over it', () => {
    assert.deepEqual(problems({ url: 'ldap://dc1.corp.example.com' }), [
      [
        'url',
        'target "directory": connection.url must be encrypted with flavor: active_directory: initial passwords and the bind password travel over it',
      ],
    ]);
    assert.deepEqual(problems({ url: 'ldap://dc1.corp.example.com', start_tls: true }), []);
  });

  test('needs upn_suffix when people_base names no domain', () => {
    assert.deepEqual(
      problems({ people_base: 'OU=Staff,O=Corp' }).map(([p]) => p),
      ['upn_suffix'],
    );
    assert.equal(
      ad({ people_base: 'OU=Staff,O=Corp', upn_suffix: 'corp.example' }).settings?.upn_suffix,
      'corp.example',
    );
  });

  test('upn_suffix and secret_sink are for Active Directory only', () => {
    const r = check({ url: 'ldap://dir.example.org', upn_suffix: 'example.org', secret_sink: { file: 's' } });
    assert.deepEqual(
      r.problems.map((p) => [p.path.join('.'), p.message]),
      [
        ['upn_suffix', 'target "directory": connection.upn_suffix is for flavor: active_directory'],
        ['secret_sink', 'target "directory": connection.secret_sink is for flavor: active_directory'],
      ],
    );
  });
});

describe('account names an ldap target refuses (plan time)', () => {
  test("Active Directory's sAMAccountName rules; none for a standard directory", () => {
    const ad = {
      ...target({ flavor: 'active_directory', url: 'ldaps://dc1.corp.example.com', disable_method: undefined }),
      id: 'ad',
    };
    const rules = accountNameRules([ad, target({ url: 'ldap://dir.example.org' })]);
    assert.equal(rules.get('directory')!('a.name.of/any,length*and-kind'), undefined);
    const rule = rules.get('ad')!;
    assert.equal(rule('ana.lima'), undefined);
    assert.match(rule('a.very.long.account.name')!, /^is 24 characters; AD allows at most 20 in sAMAccountName/);
    assert.match(rule('ops/admin')!, /"\/"/);
  });
});
