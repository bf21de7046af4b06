import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { Identity } from '../model/identity.js';
import { loadPolicy } from '../policy/load-policy.js';
import { computePlan } from './compute-plan.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';

// Directories and SCIM apps compare account names without regard to case: an account `ana`
// already is the account `Ana`, and the plan must not try to create it again on every run.
function plan(kind: string) {
  const loaded = loadPolicy(
    `version: 1
name: Case test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    attributes:
      login: { field: login, type: string }
targets:
  - id: t
    kind: ${kind}
    account_name: identity.login
entitlements:
  - id: t:group/staff
roles:
  - id: staff
    when: identity.kind == "employee"
    grants: [t:group/staff]
`,
    'tenure.yaml',
  ).result!;
  const ana: Identity = { id: 'E1', kind: 'employee', status: 'active', attributes: { login: 'Ana' }, source: 'hr' };
  const asOf = new Date('2026-11-01T00:00:00Z');
  const r = computePlan({
    loaded,
    identities: [ana],
    imported: new Set(['E1']),
    desired: new Engine(loaded).desiredState([ana], asOf),
    actual: { targets: [{ target: 't', accounts: [{ id: '1', name: 'ana', enabled: true, entitlements: [] }] }] },
    asOf,
    kinds: CONNECTOR_KINDS,
  });
  return r.result.targets[0]!.changes.map((c) => `${c.action} ${c.account}`);
}

describe('linking accounts by name', () => {
  it('ignores case where the target does (ldap, scim)', () => {
    // Adopted by its name, the account gets the link recorded.
    assert.deepEqual(plan('ldap'), ['link_account ana', 'add_membership ana']);
    assert.deepEqual(plan('scim'), ['link_account ana', 'add_membership ana']);
  });
  it('keeps case where the target does (csv, postgres, memory)', () => {
    assert.deepEqual(plan('csv'), ['create_account Ana', 'add_membership Ana']);
    assert.deepEqual(plan('postgres'), ['create_account Ana', 'add_membership Ana']);
  });
});
