import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TargetKind } from '../src/model/policy.js';
import { folder, tenure } from './cli-harness.js';

// `tenure validate` checks each target's `connection` against its kind's settings schema and says
// what `plan` would refuse, where it is in the file. The target is the last entry of the policy,
// so the connection's keys start on line 9 (one key per line, at column 7).
const policy = (kind: TargetKind, connection: readonly string[]) => `version: 1
name: Connection settings
sources:
  - { id: hr, format: csv, path: hr.csv, key: id, kind: { constant: employee } }
targets:
  - id: app
    kind: ${kind}
    connection:
${connection.map((line) => `      ${line}`).join('\n')}
`;
const csv = 'id\nE1\n';

interface Diagnostic {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly position: { readonly line: number; readonly column?: number };
}

async function validate(kind: TargetKind, connection: readonly string[]) {
  const dir = folder({ 'tenure.yaml': policy(kind, connection), 'hr.csv': csv });
  const r = await tenure('-c', join(dir, 'tenure.yaml'), '--json', 'validate');
  const doc = JSON.parse(r.stdout) as { ok: boolean; diagnostics: Diagnostic[] };
  const shown = (d: Diagnostic) =>
    `${d.position.line}:${d.position.column ?? '-'} ${d.severity} ${d.code}: ${d.message}`;
  return { code: r.code, doc, shown: doc.diagnostics.map(shown), hints: doc.diagnostics.map((d) => d.hint) };
}

const LDAP = [
  'url: ldap://ldap.example.org',
  'bind_dn: cn=tenure,dc=example,dc=org',
  'bind_password: { env: LDAP_PASSWORD }',
  'people_base: ou=people,dc=example,dc=org',
  'groups_base: ou=groups,dc=example,dc=org',
  'disabled_base: ou=disabled,dc=example,dc=org',
];

describe('tenure validate: connection settings, per kind', () => {
  it('accepts a complete connection of every kind', async () => {
    const complete: Record<TargetKind, readonly string[]> = {
      memory: ['snapshot: actual.json'],
      csv: ['accounts: out/accounts.csv', 'memberships: out/memberships.csv'],
      ldap: LDAP,
      postgres: ['url: postgres://tenure@db.example.org/app', 'password: { env: PG_PASSWORD }'],
      scim: ['url: https://scim.example.org/v2', 'token: { env: SCIM_TOKEN }', 'page_size: 200'],
    };
    for (const [kind, connection] of Object.entries(complete)) {
      const r = await validate(kind as TargetKind, connection);
      assert.deepEqual(r.shown, [], kind);
      assert.equal(r.code, 0, kind);
    }
  });

  it('reports a missing required setting: an LDAP target without url, a CSV target without memberships', async () => {
    const ldap = await validate('ldap', LDAP.slice(1));
    assert.equal(ldap.code, 1);
    assert.deepEqual(ldap.shown, [
      '9:7 error policy.missing_connection_setting: target "app": connection.url is required for a ldap target',
    ]);
    const csvTarget = await validate('csv', ['accounts: out/accounts.csv']);
    assert.deepEqual(csvTarget.shown, [
      '9:7 error policy.missing_connection_setting: target "app": connection.memberships is required for a csv target',
    ]);
    const scim = await validate('scim', ['url: https://scim.example.org/v2']);
    assert.deepEqual(scim.shown, [
      '9:7 error policy.missing_connection_setting: target "app": connection.token or connection.oauth is required for a scim target',
    ]);
    const postgres = await validate('postgres', ['database: app']);
    assert.deepEqual(postgres.shown, [
      '9:7 error policy.missing_connection_setting: target "app": connection.url or connection.host is required for a postgres target',
    ]);
  });

  it('reports a misspelt setting at its target, with the closest known one', async () => {
    const r = await validate('scim', ['url: https://scim.example.org/v2', 'token: { env: T }', 'page_sise: 50']);
    assert.equal(r.code, 1);
    assert.deepEqual(r.shown, [
      '6:5 error policy.unknown_connection_key: target "app": connection.page_sise is not a setting of a scim target',
    ]);
    assert.deepEqual(r.hints, ['did you mean "page_size"?']);
  });

  it('reports a wrong type and an out-of-range number at the value, every one at once', async () => {
    const r = await validate('scim', [
      'url: https://scim.example.org/v2',
      'token: { env: T }',
      'page_size: 0',
      'membership_batch: many',
      'timeout_ms: 1.5',
    ]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.shown, [
      '11:18 error policy.invalid_connection_setting: target "app": connection.page_size must be a positive whole number',
      '12:25 error policy.invalid_connection_setting: target "app": connection.membership_batch must be a positive whole number',
      '13:19 error policy.invalid_connection_setting: target "app": connection.timeout_ms must be a positive whole number of milliseconds',
    ]);
    const pg = await validate('postgres', ['host: db', 'port: 70000', 'terminate_sessions_on_disable: "yes"']);
    assert.deepEqual(pg.shown, [
      '10:13 error policy.invalid_connection_setting: target "app": connection.port must be a port number',
      '11:38 error policy.invalid_connection_setting: target "app": connection.terminate_sessions_on_disable must be true or false',
    ]);
    const ldap = await validate('ldap', [...LDAP, 'disable_method: hide']);
    assert.deepEqual(ldap.shown, [
      '15:23 error policy.invalid_connection_setting: target "app": connection.disable_method must be one of move, attribute, strip (or account_control, with flavor: active_directory)',
    ]);
    const memory = await validate('memory', ['snapshot: 42']);
    assert.deepEqual(memory.shown, [
      '9:17 error policy.invalid_connection_setting: target "app": connection.snapshot must be a file path',
    ]);
  });

  it('refuses in plan what validate reports', async () => {
    const dir = folder({ 'tenure.yaml': policy('csv', ['accounts: out/accounts.csv']), 'hr.csv': csv });
    const r = await tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), 'plan');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /target "app": connection\.memberships is required for a csv target/);
  });

  it('warns about a password inside a PostgreSQL or LDAP URL, pointing at secret references', async () => {
    const pg = await validate('postgres', ['url: postgres://tenure:secret@db.example.org/app']);
    assert.equal(pg.code, 0, 'a warning does not fail validation');
    assert.deepEqual(pg.shown, ['9:12 warning policy.url_password: target "app": connection.url holds a password']);
    assert.match(pg.hints[0] ?? '', /password: \{ env: NAME \} or \{ file: PATH \}/);
    const ldap = await validate('ldap', ['url: ldaps://admin:secret@ldap.example.org', ...LDAP.slice(1)]);
    assert.deepEqual(ldap.shown, ['9:12 warning policy.url_password: target "app": connection.url holds a password']);
    assert.match(ldap.hints[0] ?? '', /bind_password: \{ env: NAME \}/);
    const none = await validate('postgres', ['url: postgres://tenure@db.example.org/app']);
    assert.deepEqual(none.shown, []);
  });
});
