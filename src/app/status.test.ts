import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder } from '../../test/cli-harness.js';
import { hr, people, policy } from '../../test/org-fixture.js';
import { UserError } from './errors.js';
import { importSources } from './import.js';
import { storeStatus } from './status.js';
import { Workspace } from './workspace.js';

// What `tenure status` shows, as values: counts by kind and status, the imports, what is held back.
describe('storeStatus', () => {
  const rows = [
    ...people(30),
    'C001,Contractor,Active,Finance,Analyst,2024-01-01,',
    'E900,Employee,Terminated,Finance,Clerk,2020-01-01,2025-01-01',
  ];
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr(rows) });
  const state = join(dir, 'state.db');
  const at = (day: string) => new Workspace({ config: join(dir, 'tenure.yaml'), state, asOf: new Date(day) });

  it('says there is no store rather than making one', async () => {
    await assert.rejects(storeStatus(at('2026-11-01')), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /^no state store at .*state\.db$/);
      return true;
    });
    assert.equal(existsSync(state), false);
  });

  it('counts identities by kind and status, and lists the last import', async () => {
    await importSources(at('2026-11-01'), {});
    const s = await storeStatus(at('2026-11-02'));
    assert.equal(s.location, state);
    assert.equal(s.dialect, 'sqlite');
    assert.match(s.schema, /\S/);
    assert.equal(s.identities, 32);
    assert.deepEqual(s.byKind, { contractor: { active: 1 }, employee: { active: 30, terminated: 1 } });
    assert.deepEqual(
      s.lastImports.map((i) => [i.seq, i.source, i.outcome, i.rows, i.asOf.toISOString().slice(0, 10)]),
      [[1, 'hr', 'applied', 32, '2026-11-01']],
    );
    assert.deepEqual(s.heldBack, []);
  });

  it('names an import the mass-leaver breaker held back, newest first, with the identities unchanged', async () => {
    // A truncated export: 25 of 32 identities would leave at once.
    writeFileSync(join(dir, 'hr.csv'), hr(people(5)));
    const outcome = await importSources(at('2026-11-03'), {});
    assert.equal(outcome.outcomes[0]!.outcome, 'stopped');
    const s = await storeStatus(at('2026-11-03'));
    assert.equal(s.identities, 32, 'nothing was recorded');
    assert.deepEqual(
      s.lastImports.map((i) => [i.seq, i.outcome]),
      [
        [2, 'stopped'],
        [1, 'applied'],
      ],
    );
    assert.deepEqual(
      s.heldBack.map((i) => [i.seq, i.source]),
      [[2, 'hr']],
    );
  });
});
