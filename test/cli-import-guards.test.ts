import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { org, people } from './org-fixture.js';

interface WhoHas {
  readonly holders: readonly { readonly identity: string }[];
}

const holders = async (o: ReturnType<typeof org>, asOf: string): Promise<string[]> => {
  const r = await o.run('--as-of', asOf, '--json', 'who-has', 'directory:group/engineering');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as WhoHas).holders.map((h) => h.identity).sort();
};

const eventKinds = async (o: ReturnType<typeof org>, identity: string): Promise<string[]> => {
  const r = await o.run('--json', 'events', '--identity', identity);
  return (JSON.parse(r.stdout) as { events: { kind: string }[] }).events.map((e) => e.kind);
};

// What the store lets in must never take access away by accident: a row skipped for a typo, a
// start date moved into the future by mistake.
describe('import guards', () => {
  it('keeps an identity whose row was skipped as last imported: no leaver, and the summary names it', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    // E002's row now has an impossible date; with --skip-invalid the rest of the feed goes in.
    o.write([...people(1), 'E002,Employee,Active,Engineering,Developer,2024-02-30,', people(3)[2]!]);
    const r = await o.run('--as-of', '2026-11-02', 'import', '--skip-invalid');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kept as last imported \(their rows were skipped\): E002/);
    assert.doesNotMatch(r.stdout, /leaver/);
    assert.deepEqual(await eventKinds(o, 'E002'), ['joiner'], 'no leaver event for E002');
    assert.deepEqual(await holders(o, '2026-11-02'), ['E001', 'E002', 'E003'], 'E002 keeps its access');
  });

  it('makes nobody a leaver when a skipped row has no readable key', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    // E003's key is blank: whose row it is cannot be known, so nobody missing from the feed leaves.
    o.write([...people(1), ',Employee,Active,Engineering,Developer,2024-01-01,']);
    const r = await o.run('--as-of', '2026-11-02', 'import', '--skip-invalid');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kept as last imported \(their rows were skipped\): E002, E003/);
    assert.deepEqual(await eventKinds(o, 'E003'), ['joiner']);
    assert.deepEqual(await holders(o, '2026-11-02'), ['E001', 'E002', 'E003']);
  });

  it('holds an active person whose start date moves into the future until a person approves it', async () => {
    const o = org(people(3));
    assert.equal((await o.run('--as-of', '2026-11-01', 'import')).code, 0);
    // A typo: E002 started in 2024, and the new export says 2027.
    o.write([people(3)[0]!, 'E002,Employee,Active,Engineering,Developer,2027-01-01,', people(3)[2]!]);
    const held = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(held.code, 3, held.stderr);
    assert.match(
      held.stderr,
      /HELD E002: start date moved 2024-01-01 → 2027-01-01 while active.*tenure approve start-date E002/,
    );
    assert.deepEqual(await holders(o, '2026-11-02'), ['E001', 'E002', 'E003'], 'E002 keeps its access');
    const audit = (await o.run('audit', 'export')).stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; subject: string });
    assert.ok(audit.some((a) => a.action === 'import.start_date_held' && a.subject === 'E002'));

    const noReason = await o.run('approve', 'start-date', 'E002');
    assert.equal(noReason.code, 2);
    const approve = await o.run('--as', 'E001', 'approve', 'start-date', 'E002', '--reason', 'rehired in January');
    assert.equal(approve.code, 0, approve.stderr);
    const taken = await o.run('--as-of', '2026-11-02', 'import');
    assert.equal(taken.code, 0, taken.stderr);
    assert.deepEqual(await holders(o, '2026-11-02'), ['E001', 'E003'], 'approved: E002 waits for its start');
    // The approval is used once: another move is held again.
    o.write([
      people(3)[0]!,
      'E002,Employee,Active,Engineering,Developer,2027-01-01,',
      people(3)[2]!.replace('2024-01-01', '2028-01-01'),
    ]);
    assert.equal((await o.run('--as-of', '2026-11-03', 'import')).code, 3);
  });
});
