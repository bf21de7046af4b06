import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Engine } from '../engine/engine.js';
import type { Account } from '../model/actual-state.js';
import type { Identity } from '../model/identity.js';
import { loadPolicy } from '../policy/load-policy.js';
import { computePlan, type PlanInput } from './compute-plan.js';
import { CONNECTOR_KINDS } from '../connectors/kinds.js';

// Non-human identities in the planner: a suspension (nobody took one over when its owner left)
// disables its accounts and revokes the credential once; a credential older than the policy
// allows is rotated where the target can rotate, and not again once Tenure has rotated it.
const loaded = loadPolicy(
  `version: 1
name: NHI plan test
sources:
  - id: nhi
    format: json
    path: nhi.json
    key: name
    kind: { field: type }
    status: { constant: active }
    owner: owner_id
    credential: { created: created_at, last_rotated: rotated_at }
targets:
  - id: db
    kind: memory
entitlements:
  - id: db:role/loader
roles:
  - id: loaders
    when: identity.kind == "service_account"
    grants: [db:role/loader]
policies:
  non_human:
    max_credential_age_days: 90
`,
  'tenure.yaml',
).result!;
const asOf = new Date('2026-11-20T00:00:00Z');
const svc = (rotated: string): Identity => ({
  id: 'svc-a',
  kind: 'service_account',
  status: 'active',
  attributes: {},
  owner: 'E1',
  credential: { created: new Date('2025-01-01T00:00:00Z'), lastRotated: new Date(rotated) },
  source: 'nhi',
});
const account: Account = { id: '1', name: 'svc-a', identity: 'svc-a', enabled: true, entitlements: ['db:role/loader'] };

function plan(identity: Identity, extra: Partial<PlanInput>) {
  const desired = new Engine(loaded).desiredState([identity], asOf);
  const r = computePlan({
    loaded,
    identities: [identity],
    imported: new Set([identity.id]),
    desired,
    actual: { targets: [{ target: 'db', accounts: [account] }] },
    asOf,
    kinds: CONNECTOR_KINDS,
    ...extra,
  });
  return r.result.targets[0]!.changes.map((c) => [c.action, c.purpose ?? '', c.reason]);
}
const rotatable = (last?: Date) => ({ rotatable: new Set(['db']), lastRotated: () => last });

describe('credentials of non-human identities in the plan', () => {
  it('rotates a credential older than the policy allows, where the target can', () => {
    assert.deepEqual(plan(svc('2026-07-01T00:00:00Z'), { credentials: rotatable() }), [
      [
        'rotate_credential',
        'rotation',
        'credential last rotated 2026-07-01, 142 days ago; the most allowed is 90 (policy non_human.max_credential_age_days)',
      ],
    ]);
  });

  it('does nothing for a young credential, a target that cannot rotate, or one Tenure rotated lately', () => {
    assert.deepEqual(plan(svc('2026-10-01T00:00:00Z'), { credentials: rotatable() }), []);
    assert.deepEqual(plan(svc('2026-07-01T00:00:00Z'), { credentials: { ...rotatable(), rotatable: new Set() } }), []);
    assert.deepEqual(
      plan(svc('2026-07-01T00:00:00Z'), { credentials: rotatable(new Date('2026-11-01T00:00:00Z')) }),
      [],
    );
  });

  it('suspends: memberships removed, credential revoked once, account disabled, each with the reason', () => {
    const since = new Date('2026-11-10T00:00:00Z');
    const suspended = () => ({ reason: 'svc-a is suspended: nobody took it over', since });
    assert.deepEqual(plan(svc('2026-10-01T00:00:00Z'), { suspended, credentials: rotatable() }), [
      ['remove_membership', '', 'svc-a is suspended: nobody took it over'],
      ['rotate_credential', 'revocation', 'revoked: svc-a is suspended: nobody took it over'],
      ['disable_account', '', 'svc-a is suspended: nobody took it over'],
    ]);
    const revoked = plan(svc('2026-10-01T00:00:00Z'), {
      suspended,
      credentials: rotatable(new Date('2026-11-11T00:00:00Z')),
    });
    assert.ok(!revoked.some(([a]) => a === 'rotate_credential'), 'revoked already after the suspension began');
  });
});
