import { strict as assert } from 'node:assert';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder } from '../../test/cli-harness.js';
import { hr, people, policy } from '../../test/org-fixture.js';
import { UserError } from './errors.js';
import { importSources } from './import.js';
import { complianceReport } from './report.js';
import { Workspace } from './workspace.js';

// The compliance report's model, before any rendering: what was checked, the findings from lint
// and drift, and the evidence the store holds.
function world() {
  const snapshot = {
    accounts: [
      { id: '1', name: 'E001', enabled: true, entitlements: ['directory:group/staff', 'directory:group/engineering'] },
      // Nobody in the feed explains this one.
      { id: '9', name: 'X999', enabled: true, entitlements: ['directory:group/finance'] },
    ],
  };
  const dir = folder({
    'tenure.yaml': policy.replace(
      '    kind: memory\n',
      '    kind: memory\n    connection: { snapshot: directory.json }\n',
    ),
    'hr.csv': hr(people(3)),
    'directory.json': JSON.stringify(snapshot),
  });
  const state = join(dir, 'state.db');
  const ws = () => new Workspace({ config: join(dir, 'tenure.yaml'), state, asOf: new Date('2026-11-01') });
  return { dir, state, ws };
}

const control = (report: Awaited<ReturnType<typeof complianceReport>>['report'], id: string) => {
  const c = report.controls.find((x) => x.id === id);
  assert.ok(c, `no control ${id}`);
  return c;
};

describe('complianceReport', () => {
  it('reports lint alone without a store or the targets, says so, and creates no store', async () => {
    const w = world();
    const { report, warnings } = await complianceReport(w.ws(), { skipDrift: true });
    assert.deepEqual(warnings, []);
    assert.deepEqual([report.policy, report.asOf], ['Import test', '2026-11-01T00:00:00.000Z']);
    assert.deepEqual(report.checked, { lint: true, drift: false, store: false });
    assert.match(report.notes[0]!, /^Drift was not checked/);
    assert.match(report.notes[1]!, /^There is no state store yet/);
    // Three roles without owners: lint's findings, and nothing from drift.
    assert.equal(report.summary.findings.byCode['role.no_business_owner'], 3);
    assert.deepEqual(
      Object.keys(report.summary.findings.byCode).filter((c) => c.startsWith('drift.')),
      [],
    );
    assert.equal(existsSync(w.state), false);
  });

  it('adds drift from the targets and the store’s evidence once there is a store', async () => {
    const w = world();
    await importSources(w.ws(), {});
    const { report } = await complianceReport(w.ws());
    assert.deepEqual(report.checked, { lint: true, drift: true, store: true });
    assert.deepEqual(report.notes, []);
    const byCode = report.summary.findings.byCode;
    assert.deepEqual(
      [byCode['drift.orphan_account'], byCode['drift.missing_account']],
      [1, 2],
      'X999 is unexplained; E002 and E003 have no account yet',
    );
    assert.equal(control(report, 'T6').findings.byCode['drift.orphan_account'], 1);
    const evidence = Object.fromEntries(control(report, 'T7').evidence.map((e) => [e.id, e.detail]));
    assert.match(evidence.audit_chain!, /^\d+ records, hash chain verified$/);
    assert.equal(evidence.lifecycle_events, '3 events recorded: 3 joiner');
    assert.equal(report.summary.controls, report.summary.met + report.summary.attention + report.summary.notCovered);
  });

  it('points at skipDrift when a target cannot be read, and reports without it', async () => {
    const w = world();
    rmSync(join(w.dir, 'directory.json'));
    await assert.rejects(complianceReport(w.ws()), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /directory\.json/);
      assert.match(e.hint ?? '', /run with --skip-drift to report without reading the targets$/);
      return true;
    });
    const { report } = await complianceReport(w.ws(), { skipDrift: true });
    assert.equal(report.checked.drift, false);
  });
});
