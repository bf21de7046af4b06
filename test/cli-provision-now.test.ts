import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tenure } from './cli-harness.js';

interface PlanJson {
  plan: {
    onlyIdentities?: string[];
    summary: { changes: number; identitiesAffected: number };
    targets: { changes: { identity?: string }[] }[];
  };
}

// "Provision now": a plan and an apply for some identities only (`--identity`), on the acme example. Only their
// changes are made; everyone else's wait for the next full apply, which then does exactly the rest.
describe('tenure plan and apply --identity', () => {
  const setup = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenure-provision-now-'));
    cpSync('examples/acme', dir, { recursive: true });
    const run = (...args: string[]) =>
      tenure('-c', join(dir, 'tenure.yaml'), '--state', join(dir, 'state.db'), '--as-of', '2026-11-01', ...args);
    assert.equal((await run('import')).code, 0);
    return { dir, run };
  };
  const planOf = async (run: (...a: string[]) => ReturnType<typeof tenure>, ...args: string[]) => {
    const r = await run('--json', 'plan', ...args);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PlanJson;
  };
  const identitiesOf = (p: PlanJson) =>
    [...new Set(p.plan.targets.flatMap((t) => t.changes.map((c) => c.identity)))].sort();

  it('plans and applies one identity, then the full plan does exactly the rest', async () => {
    const { run } = await setup();
    const full = await planOf(run);
    const [one, two] = identitiesOf(full) as [string, string];
    const scoped = await planOf(run, '--identity', one, '--identity', two);
    assert.deepEqual(scoped.plan.onlyIdentities, [one, two].sort());
    assert.deepEqual(identitiesOf(scoped), [one, two].sort());
    const text = await run('plan', '--identity', one);
    assert.match(text.stdout, new RegExp(`^Plan for .* — for ${one} only$`, 'm'));

    const applied = await run('apply', '--identity', one);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((await planOf(run, '--identity', one)).plan.summary.changes, 0, `${one} is done`);
    const rest = await planOf(run);
    assert.ok(!identitiesOf(rest).includes(one), 'the full plan no longer has anything for it');
    assert.equal(rest.plan.summary.identitiesAffected, full.plan.summary.identitiesAffected - 1);
    assert.equal(
      rest.plan.summary.changes,
      full.plan.summary.changes -
        scoped.plan.targets.flatMap((t) => t.changes.filter((c) => c.identity === one)).length,
    );
    assert.equal((await run('audit', 'verify')).code, 0);
  });

  it('a saved plan of one identity is applied for that identity, even as other identities change', async () => {
    const { dir, run } = await setup();
    const [one] = identitiesOf(await planOf(run)) as [string];
    const file = join(dir, 'one.json');
    assert.equal((await run('plan', '--identity', one, '--out', file)).code, 0);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { onlyIdentities?: string[] };
    assert.deepEqual(saved.onlyIdentities, [one]);
    const applied = await run('apply', file);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((await planOf(run, '--identity', one)).plan.summary.changes, 0);
    const both = await run('apply', file, '--identity', one);
    assert.equal(both.code, 2, 'a saved plan carries its own identities');
    assert.match(both.stderr, /a saved plan is applied for the identities it was made for/);
  });

  it('an unknown identity is refused, naming the closest one; nothing is applied', async () => {
    const { run } = await setup();
    const r = await run('apply', '--identity', 'E00001');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /identity "E00001" is not known: no source has it and Tenure never imported it/);
    assert.match(r.stderr, /did you mean "E0000\d\d"\?/);
    const blank = await run('plan', '--identity', ' ');
    assert.equal(blank.code, 2);
    assert.match(blank.stderr, /--identity cannot be empty/);
    assert.ok((await planOf(run)).plan.summary.changes > 0, 'nothing was applied');
  });
});
