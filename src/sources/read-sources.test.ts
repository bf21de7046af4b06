import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { Policy, SourceDefinition } from '../model/policy.js';
import { readSources } from './read-sources.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/sources/', import.meta.url));
const position = { file: 'tenure.yaml', line: 1, column: 1 };

const hr: SourceDefinition = {
  id: 'hr',
  format: 'csv',
  path: 'hr.csv',
  key: 'employee_id',
  kind: { field: 'worker_type', values: { Employee: 'employee', Contractor: 'contractor' } },
  status: {
    field: 'status',
    values: { Active: 'active', Leave: 'leave', Terminated: 'terminated', Pending: 'pre_hire' },
  },
  attributes: { department: { field: 'department', type: 'string', required: true } },
  position,
};

const contractors: SourceDefinition = {
  ...hr,
  id: 'contractors',
  path: 'contractors.csv',
  position: { ...position, line: 20 },
};

const nhi: SourceDefinition = {
  id: 'nhi',
  format: 'jsonl',
  path: 'nhi.jsonl',
  key: 'name',
  kind: { field: 'type' },
  status: { constant: 'active' },
  owner: 'owner.id',
  attributes: {},
  position,
};

function policy(sources: SourceDefinition[]): Policy {
  return {
    version: 1,
    name: 'Test',
    file: path.join(fixtures, 'tenure.yaml'),
    sources,
    targets: [],
    entitlements: [],
    roles: [],
    policies: {
      separationOfDuties: [],
      guardrails: {
        deprovision: { maxPercent: 10, minCount: 10, maxCount: 500 },
        massLeaver: { maxPercent: 10, minCount: 10, maxCount: 500 },
      },
      nonHuman: { ownerRequired: true, onOwnerLeaving: { reassignTo: 'manager', confirmDays: 14 } },
      leaver: { disable: 'immediately', minDisabledDays: 7, moverGraceDays: 0, targets: {} },
      exceptions: { maxDays: 90 },
      joiner: { accessDaysBeforeStart: 0 },
      lint: { birthrightShare: 0.5, maxRoleEntitlements: 25 },
      reviews: { noResponse: 'revoke' },
    },
  };
}

describe('readSources', () => {
  it('reads every source relative to the policy file, sources in policy order', () => {
    const { result, diagnostics } = readSources(policy([hr, nhi]), { skipInvalid: false });
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      result.identities.map((i) => [i.source, i.id]),
      [
        ['hr', 'E1001'],
        ['hr', 'E1002'],
        ['hr', 'E1003'],
        ['nhi', 'svc-backup'],
        ['nhi', 'ci-token'],
      ],
    );
    assert.deepEqual(
      result.reads.map((r) => [r.source, r.rows, r.identities.length]),
      [
        ['hr', 3, 3],
        ['nhi', 2, 2],
      ],
    );
  });

  it('reports an identity that two sources provide, naming both records', () => {
    const { result, diagnostics } = readSources(policy([hr, contractors]), { skipInvalid: false });
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code, d.message, d.position, d.subject]),
      [
        [
          'error',
          'source.duplicate_identity',
          `identity "E1001" comes from two sources: "hr" (${path.join(fixtures, 'hr.csv')} row 2) and "contractors" (${path.join(fixtures, 'contractors.csv')} row 2)`,
          { file: path.join(fixtures, 'contractors.csv'), line: 2 },
          'E1001',
        ],
      ],
    );
    // The first source keeps the id, so the list stays unique.
    assert.deepEqual(
      result.identities.map((i) => [i.source, i.id]),
      [
        ['hr', 'E1001'],
        ['hr', 'E1002'],
        ['hr', 'E1003'],
        ['contractors', 'C3001'],
      ],
    );
  });

  it('still reads the other sources when one is refused, and reports why', () => {
    const { result, diagnostics } = readSources(policy([{ ...hr, path: 'missing.csv' }, nhi]), { skipInvalid: false });
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.position]),
      [['source.not_found', position]],
    );
    assert.deepEqual(
      result.reads.map((r) => [r.source, r.identities.length]),
      [
        ['hr', 0],
        ['nhi', 2],
      ],
    );
  });

  it('warns once per source about managers no source has, with the count and the first few', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenure-managers-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const head = 'employee_id,worker_type,status,department,manager_id\n';
    writeFileSync(
      path.join(dir, 'hr.csv'),
      head +
        'E1,Employee,Active,Sales,\n' +
        'E2,Employee,Active,Sales,E1\n' +
        'E3,Employee,Active,Sales,X9\n' +
        'E4,Employee,Active,Sales,C1\n' +
        'E5,Employee,Active,Sales,X8\n' +
        'E6,Employee,Active,Sales,X9\n' +
        'E7,Employee,Active,Sales,X7\n',
    );
    writeFileSync(path.join(dir, 'contractors.csv'), head + 'C1,Contractor,Active,Support,E2\n');
    const sources = [
      { ...hr, manager: 'manager_id' },
      { ...contractors, manager: 'manager_id' },
    ];
    const p = { ...policy(sources), file: path.join(dir, 'tenure.yaml') };
    const { diagnostics } = readSources(p, { skipInvalid: false, checkManagers: true });
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code, d.message, d.position]),
      [
        [
          'warning',
          'source.unknown_manager',
          'source "hr": 4 identities name managers that no source has: "X9" (row 4, E3), "X8" (row 6, E5), "X9" (row 7, E6), and 1 more',
          { file: path.join(dir, 'hr.csv'), line: 4 },
        ],
      ],
    );
    // Import does not ask: validate is where the warning belongs.
    assert.deepEqual(readSources(p, { skipInvalid: false }).diagnostics, []);
  });
});
