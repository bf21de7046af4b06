import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

// API tokens from the command line, against examples/acme with a store of the test's own.
const state = join(folder({}), 'state.db');
const acme = (...args: string[]) => tenure('-c', 'examples/acme/tenure.yaml', '--state', state, ...args);

describe('tenure token', () => {
  before(async () => {
    const r = await acme('import', '--limit', '0');
    assert.equal(r.code, 0, r.stderr);
  });

  it('prints a new token once; the store, the list and the audit log never hold it', async () => {
    const r = await acme('token', 'create', '--name', 'ci', '--scopes', 'governance:read, identities:read');
    assert.equal(r.code, 0, r.stderr);
    const secret = r.stdout.trim();
    assert.match(secret, /^tnr_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /API token ci \(#\d+\): governance:read, identities:read; expires/);
    assert.match(r.stderr, /only time it is shown/);
    const list = await acme('token', 'list');
    assert.match(list.stdout, /#\d+ ci \[live\] governance:read,identities:read; expires \S+; never used; created by /);
    const json = await acme('--json', 'token', 'list');
    const audit = await acme('audit', 'export');
    for (const text of [list.stdout, json.stdout, audit.stdout, readFileSync(state).toString('latin1')])
      assert.equal(text.includes(secret), false);
    const [token] = (JSON.parse(json.stdout) as { tokens: { name: string; state: string; expiresAt: string }[] })
      .tokens;
    assert.equal(token?.state, 'live');
    // Ninety days unless told otherwise.
    const days = (Date.parse(token.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, `expires in ${days} days`);
    assert.match(audit.stdout, /"action":"token\.created"/);
  });

  it('gives the token with --json, and keeps --expires and the bound identity', async () => {
    const r = await acme(
      '--json',
      'token',
      'create',
      '--name',
      'reviewer-e47',
      '--scopes',
      'reviews:decide',
      '--identity',
      'E000047',
      '--expires',
      '2030-01-01',
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { token: string; identity: string; expiresAt: string; scopes: string[] };
    assert.match(doc.token, /^tnr_/);
    assert.equal(doc.identity, 'E000047');
    assert.equal(doc.expiresAt, '2030-01-01T00:00:00.000Z');
    assert.deepEqual(doc.scopes, ['reviews:decide']);
  });

  it('refuses an unknown scope with exit 2 and the closest one, creating nothing', async () => {
    const r = await acme('token', 'create', '--name', 'typo', '--scopes', 'governance:read,identites:read');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown scope "identites:read"/);
    assert.match(r.stderr, /did you mean "identities:read"\?/);
    assert.doesNotMatch((await acme('token', 'list')).stdout, /typo/);
  });

  it('refuses a live name twice, an expiry in the past and an identity nobody imported', async () => {
    const twice = await acme('token', 'create', '--name', 'ci', '--scopes', 'plans:read');
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /a live API token is already named ci/);
    const past = await acme('token', 'create', '--name', 'old', '--scopes', 'plans:read', '--expires', '2020-01-01');
    assert.equal(past.code, 2);
    assert.match(past.stderr, /--expires 2020-01-01T00:00:00.000Z is not after the token's creation/);
    const nobody = await acme('token', 'create', '--name', 'x', '--scopes', 'plans:read', '--identity', 'E999999');
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /no identity "E999999" in the store/);
    assert.doesNotMatch((await acme('token', 'list')).stdout, /\b(old|x) \[/);
  });

  it('revokes by name or number, audits it, and frees the name', async () => {
    const r = await acme('--as', 'ana', 'token', 'revoke', 'ci');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /API token ci \(#1\) revoked/);
    assert.match((await acme('token', 'list')).stdout, /#1 ci \[revoked\] .*revoked \S+ by ana/);
    const again = await acme('token', 'revoke', '1');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already revoked/);
    const unknown = await acme('token', 'revoke', 'cj');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no API token cj/);
    const reuse = await acme('token', 'create', '--name', 'ci', '--scopes', 'plans:read');
    assert.equal(reuse.code, 0, reuse.stderr);
    const verify = await acme('audit', 'verify');
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /governed rows: \d+ checked, 0 tampered/);
    assert.match(
      (await acme('audit', 'export')).stdout,
      /"action":"token\.revoked".*"actor":"ana"|"actor":"ana".*"action":"token\.revoked"/,
    );
  });

  it('lists a token made for an earlier day (--as-of) as expired', async () => {
    const r = await acme('--as-of', '2020-01-01', 'token', 'create', '--name', 'past', '--scopes', 'plans:read');
    assert.equal(r.code, 0, r.stderr);
    assert.match((await acme('token', 'list')).stdout, /past \[expired\] plans:read; expired 2020-03-31T00:00:00.000Z/);
  });
});
