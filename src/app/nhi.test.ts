import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, UserError } from './errors.js';
import { importSources } from './import.js';
import { confirmCustody, listNonHumanIdentities } from './nhi.js';
import { Workspace } from './workspace.js';
import { hr, nhi, policy } from '../../test/fixtures/nhi-organisation.js';

// Non-human identities through the application layer: an owner leaves, their service account is
// offered to the owner's manager, and only that person can take it over.
const day = (text: string) => new Date(`${text}T00:00:00Z`);

type At = (when: string, as?: string) => Workspace;

/** An organisation imported on 2026-11-01; `at` gives a workspace for a day and an actor. */
async function organisation(): Promise<{ at: At; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-app-nhi-'));
  writeFileSync(join(dir, 'tenure.yaml'), policy);
  writeFileSync(join(dir, 'hr.csv'), hr('Active'));
  writeFileSync(join(dir, 'nhi.json'), nhi);
  const at: At = (when, as = 'operator') =>
    new Workspace({ config: join(dir, 'tenure.yaml'), state: join(dir, 'state.db'), asOf: day(when), as });
  await importSources(at('2026-11-01'), {});
  return { at, dir };
}

/** The same, imported again on 2026-11-02 after E001 (owner of svc-loader) left: M001 is asked to confirm by 2026-11-09. */
async function ownerLeft(): Promise<At> {
  const { at, dir } = await organisation();
  writeFileSync(join(dir, 'hr.csv'), hr('Terminated'));
  await importSources(at('2026-11-02'), {});
  return at;
}

function auditOf(ws: Workspace) {
  return ws.withStore('read', (store) => store.auditRecords());
}

function userError(code: number, message: RegExp, hint?: RegExp) {
  return (e: unknown) =>
    e instanceof UserError &&
    e.exitCode === code &&
    message.test(e.message) &&
    (hint === undefined || hint.test(e.hint ?? ''));
}

describe('listNonHumanIdentities', () => {
  it('shows the owner who left, the pending hand-over with its deadline, and credential ages', async () => {
    const at = await ownerLeft();
    const listing = await listNonHumanIdentities(at('2026-11-03'));
    assert.equal(listing.asOf.toISOString(), '2026-11-03T00:00:00.000Z');
    assert.equal(listing.maxCredentialAgeDays, 90);
    const [loader, old] = listing.identities;
    assert.deepEqual(
      [loader?.id, loader?.owner, loader?.ownerStatus, loader?.custody?.state, loader?.custody?.record.proposedOwner],
      ['svc-loader', 'E001', 'terminated', 'pending', 'M001'],
    );
    assert.equal(loader?.custody?.record.deadline.toISOString(), '2026-11-09T00:00:00.000Z');
    assert.deepEqual([loader?.credentialAgeDays, loader?.rotationDue], [33, false]);
    // svc-old: active owner, but its credential is 671 days old (created 2025-01-01, never rotated).
    assert.deepEqual(
      [old?.id, old?.owner, old?.ownerStatus, old?.custody, old?.credentialAgeDays, old?.rotationDue],
      ['svc-old', 'E002', 'active', undefined, 671, true],
    );
    assert.equal(listing.identities.length, 2);
    // Past the deadline, the unconfirmed hand-over stands as a suspension.
    const late = await listNonHumanIdentities(at('2026-11-10'));
    assert.equal(late.identities.find((i) => i.id === 'svc-loader')?.custody?.state, 'suspended');
  });

  it('leaves out an identity with an active owner and a fresh credential, unless asked for all', async () => {
    const { at } = await organisation();
    const quiet = await listNonHumanIdentities(at('2026-11-01'));
    assert.deepEqual(
      quiet.identities.map((i) => i.id),
      ['svc-old'],
    );
    const all = await listNonHumanIdentities(at('2026-11-01'), { all: true });
    assert.deepEqual(
      all.identities.map((i) => [i.id, i.owner, i.ownerStatus, i.custody, i.credentialAgeDays, i.rotationDue]),
      [
        ['svc-loader', 'E001', 'active', undefined, 31, false],
        ['svc-old', 'E002', 'active', undefined, 669, true],
      ],
    );
  });

  it('names whoever confirmed a hand-over as the owner', async () => {
    const at = await ownerLeft();
    await confirmCustody(at('2026-11-03', 'M001'), { nhi: 'svc-loader', owner: 'M001' });
    const listing = await listNonHumanIdentities(at('2026-11-03'));
    // svc-loader still shows: its hand-over is on record, now confirmed.
    assert.deepEqual(
      listing.identities.map((i) => [i.id, i.owner, i.ownerStatus, i.custody?.state]),
      [
        ['svc-loader', 'M001', 'active', 'confirmed'],
        ['svc-old', 'E002', 'active', undefined],
      ],
    );
  });
});

describe('confirmCustody', () => {
  it('lets the person asked take over, with its audit record', async () => {
    const at = await ownerLeft();
    const ws = at('2026-11-03', 'M001');
    const confirmed = await confirmCustody(ws, { nhi: 'svc-loader', owner: 'M001' });
    assert.deepEqual(confirmed, { nhi: 'svc-loader', owner: 'M001', custody: 1, lapsed: false });
    const [custody] = await ws.withStore('read', (s) => s.custody('svc-loader'));
    assert.deepEqual(
      [custody?.state, custody?.decidedBy, custody?.decidedAt],
      ['confirmed', 'M001', day('2026-11-03')],
    );
    const record = (await auditOf(ws)).at(-1)!;
    assert.deepEqual(
      [record.action, record.subject, record.actor, record.details.owner, record.details.lapsed],
      ['nhi.custody_confirmed', 'svc-loader', 'M001', 'M001', false],
    );
    assert.equal(record.details.actorSource, 'flag');
    await assert.rejects(
      confirmCustody(at('2026-11-03', 'M001'), { nhi: 'svc-loader', owner: 'M001' }),
      userError(EXIT.invalid, /^svc-loader has no hand-over waiting for a confirmation$/),
      'nothing is waiting any more',
    );
  });

  it('says when the confirmation came after the deadline', async () => {
    const at = await ownerLeft();
    const confirmed = await confirmCustody(at('2026-11-12', 'M001'), { nhi: 'svc-loader', owner: 'M001' });
    assert.equal(confirmed.lapsed, true);
    assert.equal((await auditOf(at('2026-11-12'))).at(-1)?.details.lapsed, true);
  });

  it('refuses anyone but the person asked, and an identity with nothing waiting, recording nothing', async () => {
    const at = await ownerLeft();
    const ws = at('2026-11-03', 'E002');
    const before = (await auditOf(ws)).length;
    await assert.rejects(
      confirmCustody(ws, { nhi: 'svc-loader', owner: 'E002' }),
      userError(EXIT.invalid, /^M001 was asked to take over svc-loader, not E002$/),
    );
    await assert.rejects(
      confirmCustody(ws, { nhi: 'svc-loadr', owner: 'M001' }),
      userError(EXIT.invalid, /^svc-loadr has no hand-over waiting/, /did you mean "svc-loader"\?/),
    );
    assert.equal((await auditOf(ws)).length, before);
    const [custody] = await ws.withStore('read', (s) => s.custody('svc-loader'));
    assert.equal(custody?.state, 'pending');
  });
});
