import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TargetDefinition, TargetKind } from '../model/policy.js';
import { ConnectorError } from './connector.js';
import { CONNECTOR_KINDS } from './kinds.js';
import { openConnector } from './open-connector.js';

// Settings that are valid, but whose files, secrets and servers do not exist: a connector made from
// them must not notice until its first operation.
const nothingThere: Record<TargetKind, Readonly<Record<string, unknown>>> = {
  memory: { snapshot: 'missing/snapshot.json' },
  csv: { accounts: 'missing/accounts.csv', memberships: 'missing/memberships.csv' },
  ldap: {
    url: 'ldap://127.0.0.1:1',
    bind_dn: 'cn=tenure,dc=example,dc=org',
    bind_password: { file: 'missing/ldap-secret' },
    people_base: 'ou=people,dc=example,dc=org',
    groups_base: 'ou=groups,dc=example,dc=org',
    disable_method: 'strip',
    timeout_ms: 500,
  },
  postgres: { host: '127.0.0.1', port: 1, password: { file: 'missing/pg-secret' }, connect_timeout_ms: 500 },
  scim: { url: 'http://127.0.0.1:1/scim', token: { file: 'missing/scim-token' }, timeout_ms: 500 },
};

const target = (kind: TargetKind): TargetDefinition => ({
  id: 'app',
  kind,
  description: '',
  accountName: 'identity.id',
  attributes: {},
  connection: nothingThere[kind],
  position: { file: 'tenure.yaml', line: 1 },
});

describe('connector kinds', () => {
  for (const kind of Object.keys(CONNECTOR_KINDS) as TargetKind[]) {
    it(`${kind}: creating a connector reads, writes and connects to nothing; its first use does`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tenure-kind-'));
      try {
        const c = openConnector(target(kind), join(dir, 'tenure.yaml'), {});
        assert.equal(c.kind, kind);
        assert.deepEqual(readdirSync(dir), []);
        if (kind === 'csv') assert.deepEqual(await c.listAccounts(), [], 'missing CSV files are an empty target');
        else await assert.rejects(c.listAccounts(), (e: unknown) => e instanceof ConnectorError && e.target === 'app');
        await c.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('says which kinds ignore case in account names', () => {
    const names = Object.entries(CONNECTOR_KINDS).map(([k, v]) => [k, v.names]);
    assert.deepEqual(names, [
      ['memory', 'exact'],
      ['csv', 'exact'],
      ['scim', 'case-insensitive'],
      ['ldap', 'case-insensitive'],
      ['postgres', 'exact'],
    ]);
  });

  it('lists the settings each kind reads, as the policy would misspell them', () => {
    assert.throws(
      () => openConnector({ ...target('csv'), connection: { acounts: 'a.csv', memberships: 'm.csv' } }, 'tenure.yaml'),
      (e: unknown) =>
        e instanceof ConnectorError &&
        e.code === 'invalid_input' &&
        e.message === 'target "app": connection.acounts is not a setting of a csv target' &&
        e.hint === 'did you mean "accounts"?',
    );
  });
});
