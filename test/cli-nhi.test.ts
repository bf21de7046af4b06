import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, tenure } from './cli-harness.js';

// The non-human identity lifecycle: when an owner leaves, their service accounts are offered to
// the owner's manager with a deadline; only that person can confirm.
const policy = `version: 1
name: NHI test
sources:
  - id: hr
    format: csv
    path: hr.csv
    key: id
    kind: { constant: employee }
    status: { field: status, values: { Active: active, Terminated: terminated } }
    manager: manager
    attributes:
      department: { field: department, type: string, required: true }
  - id: nhi
    format: json
    path: nhi.json
    key: name
    kind: { field: type }
    status: { constant: active }
    owner: owner_id
    credential: { created: created_at, last_rotated: rotated_at }
targets:
  - id: warehouse
    kind: memory
entitlements:
  - id: warehouse:role/loader
roles:
  - id: loaders
    when: identity.kind == "service_account"
    grants: [warehouse:role/loader]
policies:
  non_human:
    max_credential_age_days: 90
    on_owner_leaving: { reassign_to: manager, confirm_days: 7 }
`;
const hr = (ownerStatus: string) => `id,status,department,manager
M001,Active,Data,
E001,${ownerStatus},Data,M001
E002,Active,Data,M001
`;
const nhi = JSON.stringify([
  { name: 'svc-loader', type: 'service_account', owner_id: 'E001', created_at: '2026-01-01', rotated_at: '2026-10-01' },
  { name: 'svc-old', type: 'service_account', owner_id: 'E002', created_at: '2025-01-01', rotated_at: null },
]);

describe('tenure nhi', () => {
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr('Active'), 'nhi.json': nhi });
  const run = (asOf: string, ...args: string[]) =>
    tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', asOf, ...args);

  it('offers the NHIs of an owner who left to the owner’s manager, with a deadline', async () => {
    assert.equal((await run('2026-11-01', 'import')).code, 0);
    const quiet = await run('2026-11-01', 'nhi', 'list');
    assert.match(
      quiet.stdout,
      /svc-old \(service_account\): owner E002 \(active\); credential \d+ days old — rotation due \(max 90\)/,
    );
    assert.doesNotMatch(quiet.stdout, /svc-loader/, 'an NHI with an active owner and a fresh credential is fine');
    writeFileSync(join(dir, 'hr.csv'), hr('Terminated'));
    const imported = await run('2026-11-02', 'import');
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /owner_gone\s+svc-loader: owner E001 is terminated/);
    const list = await run('2026-11-02', 'nhi', 'list');
    assert.match(
      list.stdout,
      /svc-loader \(service_account\): owner E001 \(terminated\); E001 left; M001 must confirm by 2026-11-09 \(tenure nhi confirm svc-loader --as M001\)/,
    );
    const audit = (await run('2026-11-02', 'audit', 'export')).stdout;
    assert.match(audit, /"action":"nhi\.custody_proposed".*M001 is asked to take it over by 2026-11-09/);
  });

  it('lets only the person asked confirm, and says what else is wrong', async () => {
    const wrong = await run('2026-11-03', 'nhi', 'confirm', 'svc-loader', '--as', 'E002');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /M001 was asked to take over svc-loader, not E002/);
    const none = await run('2026-11-03', 'nhi', 'confirm', 'svc-olt', '--as', 'M001');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /svc-olt has no hand-over waiting for a confirmation/);
    const ok = await run('2026-11-03', '--json', 'nhi', 'confirm', 'svc-loader', '--as', 'M001');
    assert.equal(ok.code, 0, ok.stderr);
    const list = JSON.parse((await run('2026-11-03', '--json', 'nhi', 'list', '--all')).stdout) as {
      identities: { id: string; owner: string; ownerStatus: string; custody: { state: string } | null }[];
    };
    const loader = list.identities.find((i) => i.id === 'svc-loader')!;
    assert.deepEqual([loader.owner, loader.ownerStatus, loader.custody?.state], ['M001', 'active', 'confirmed']);
    const again = await run('2026-11-03', 'nhi', 'confirm', 'svc-loader', '--as', 'M001');
    assert.equal(again.code, 1, 'nothing is waiting any more');
  });
});
