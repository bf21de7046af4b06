import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Identity } from '../model/identity.js';
import { loadPolicy } from '../policy/load-policy.js';
import { fixConflictingRoles } from './fix-conflicting-roles.js';

const text = `version: 1
name: t
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    status: { constant: active }
    attributes:
      team: { field: team, type: string }
targets:
  - id: erp
    kind: memory
entitlements:
  - id: erp:role/create
  - id: erp:role/approve
  - id: erp:role/view
roles:
  # Payments in London: grants both sides (the mistake)
  - id: london
    when: identity.team == "london"
    grants: [erp:role/create, erp:role/approve, erp:role/view]
  - id: clerks
    when: identity.team == "clerks"
    grants: [erp:role/create]
  - id: approvers
    inherits: [clerk-approvals]
    when: identity.team == "clerks"
  - id: clerk-approvals
    grants: [erp:role/approve]
`;
const person = (id: string, team: string): Identity => ({
  id,
  kind: 'employee',
  status: 'active',
  attributes: { team },
  source: 'hr',
});
const asOf = new Date('2026-11-01T00:00:00Z');

describe('fixConflictingRoles', () => {
  const loaded = loadPolicy(text, 'tenure.yaml').result!;
  const conflict = (identity: string) => ({
    rule: 'pay',
    identity,
    entitlements: ['erp:role/create', 'erp:role/approve'],
    severity: 'critical',
  });

  it('takes the later entitlement from a role that grants both, keeping comments and the rest', () => {
    const r = fixConflictingRoles(text, loaded, [conflict('E1')], [person('E1', 'london')], asOf);
    assert.deepEqual(r.fixes, [{ role: 'london', entitlement: 'erp:role/approve', rule: 'pay' }]);
    assert.match(r.text, /# Payments in London: grants both sides \(the mistake\)/);
    const fixed = loadPolicy(r.text, 'tenure.yaml').result!;
    assert.deepEqual(fixed.policy.roles.find((x) => x.id === 'london')!.grants, ['erp:role/create', 'erp:role/view']);
    assert.deepEqual(fixed.policy.roles.find((x) => x.id === 'clerk-approvals')!.grants, ['erp:role/approve']);
  });

  it('otherwise takes it from the role at the end of the chain that grants it to the identity', () => {
    const r = fixConflictingRoles(text, loaded, [conflict('E2')], [person('E2', 'clerks')], asOf);
    assert.deepEqual(r.fixes, [{ role: 'clerk-approvals', entitlement: 'erp:role/approve', rule: 'pay' }]);
    const fixed = loadPolicy(r.text, 'tenure.yaml').result!;
    assert.deepEqual(fixed.policy.roles.find((x) => x.id === 'clerk-approvals')!.grants, []);
    assert.deepEqual(fixed.policy.roles.find((x) => x.id === 'clerks')!.grants, ['erp:role/create']);
  });
});
