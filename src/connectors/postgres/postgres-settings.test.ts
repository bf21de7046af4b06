import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { TargetDefinition } from '../../model/policy.js';
import { checkSettings } from '../connector-kind.js';
import { postgresKind } from './index.js';

function problems(connection: Record<string, unknown>): string[] {
  const target: TargetDefinition = {
    id: 'warehouse',
    kind: 'postgres',
    description: 'test',
    accountName: 'identity.id',
    attributes: {},
    connection,
    position: { file: 'test' },
  };
  return checkSettings(postgresKind, target).problems.map((p) => `${p.message}${p.hint ? ` (${p.hint})` : ''}`);
}

describe('postgres TLS settings', () => {
  it('takes sslmode and sslrootcert with host or url', () => {
    for (const sslmode of ['disable', 'require', 'verify-ca', 'verify-full']) {
      assert.deepEqual(problems({ host: 'db', sslmode }), [], sslmode);
    }
    assert.deepEqual(problems({ url: 'postgres://tenure@db/app', sslmode: 'verify-full', sslrootcert: 'ca.pem' }), []);
    assert.deepEqual(problems({ host: 'db', sslrootcert: 'certs/ca.pem' }), []);
  });

  it('refuses modes the driver cannot honour, and says which it can', () => {
    assert.deepEqual(problems({ host: 'db', sslmode: 'prefer' }), [
      `target "warehouse": connection.sslmode must be 'disable', 'require', 'verify-ca' or 'verify-full'`,
    ]);
    assert.deepEqual(problems({ host: 'db', sslrootcert: '' }), [
      'target "warehouse": connection.sslrootcert must be a file path',
    ]);
  });

  it('refuses TLS set both in the url and in the settings', () => {
    assert.deepEqual(problems({ url: 'postgres://tenure@db/app?sslmode=require', sslmode: 'verify-full' }), [
      `target "warehouse": connection.sslmode and the url's ?sslmode= both set TLS (set TLS in one place: take the ssl parameters out of the url and keep connection.sslmode)`,
    ]);
    assert.equal(problems({ url: 'postgres://tenure@db/app?sslrootcert=/ca.pem', sslrootcert: 'ca.pem' }).length, 1);
    assert.deepEqual(problems({ url: 'postgres://tenure@db/app?sslmode=require' }), []);
  });

  it('refuses a CA with sslmode disable', () => {
    assert.deepEqual(problems({ host: 'db', sslmode: 'disable', sslrootcert: 'ca.pem' }), [
      `target "warehouse": connection.sslrootcert is not used with sslmode 'disable' (choose sslmode 'verify-full', or remove sslrootcert)`,
    ]);
  });
});
