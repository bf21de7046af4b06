import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder } from '../../test/cli-harness.js';
import { hr, people, policy } from '../../test/org-fixture.js';
import { UserError } from './errors.js';
import { recordedEvents } from './events.js';
import { importSources } from './import.js';
import { Workspace } from './workspace.js';

// The lifecycle events two imports recorded, read back as `tenure events` lists them.
describe('recordedEvents', () => {
  const dir = folder({ 'tenure.yaml': policy, 'hr.csv': hr(people(3)) });
  const state = join(dir, 'state.db');
  const at = (day: string) => new Workspace({ config: join(dir, 'tenure.yaml'), state, asOf: new Date(day) });
  const summary = (e: { at: Date; kind: string; identity: string }) =>
    `${e.at.toISOString().slice(0, 10)} ${e.kind} ${e.identity}`;

  it('says there is no store rather than making one', async () => {
    await assert.rejects(recordedEvents(at('2026-11-01')), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /^no state store at .*state\.db$/);
      return true;
    });
    assert.equal(existsSync(state), false);
  });

  it('lists every event oldest first, or those of one identity, since a date, or the first few', async () => {
    await importSources(at('2026-11-01'), {});
    // E003 leaves and E004 joins.
    writeFileSync(
      join(dir, 'hr.csv'),
      hr([
        ...people(2),
        'E003,Employee,Terminated,Engineering,Developer,2024-01-01,2026-11-10',
        'E004,Employee,Active,Finance,Analyst,2026-11-10,',
      ]),
    );
    await importSources(at('2026-11-10'), {});
    const ws = at('2026-11-11');

    const all = await recordedEvents(ws);
    assert.deepEqual(all.map(summary), [
      '2026-11-01 joiner E001',
      '2026-11-01 joiner E002',
      '2026-11-01 joiner E003',
      '2026-11-10 leaver E003',
      '2026-11-10 joiner E004',
    ]);
    assert.deepEqual(
      all.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    assert.equal(all[0]!.importSeq, 1);
    assert.equal(all[4]!.importSeq, 2);

    assert.deepEqual((await recordedEvents(ws, { identity: 'E003' })).map(summary), [
      '2026-11-01 joiner E003',
      '2026-11-10 leaver E003',
    ]);
    assert.deepEqual((await recordedEvents(ws, { since: new Date('2026-11-05') })).map(summary), [
      '2026-11-10 leaver E003',
      '2026-11-10 joiner E004',
    ]);
    assert.deepEqual((await recordedEvents(ws, { limit: 2 })).map(summary), [
      '2026-11-01 joiner E001',
      '2026-11-01 joiner E002',
    ]);
    assert.deepEqual(await recordedEvents(ws, { identity: 'E999' }), []);
  });
});
