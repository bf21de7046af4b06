import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Attribute, SearchEntry } from 'ldapts';
import { RangedValuesError, readRangedValues } from './ranged-values.js';

const GROUP = 'CN=Engineering,OU=Groups,DC=example,DC=com';

function members(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `CN=User ${from + i},OU=People,DC=example,DC=com`);
}

/** The entry object ldapts builds from a search result entry, for the attributes the search asked for. */
function entry(asked: string, sent: Record<string, string[]>): Record<string, unknown> {
  const attributes = Object.entries(sent).map(([type, values]) => new Attribute({ type, values }));
  return new SearchEntry({ messageId: 1, name: GROUP, attributes }).toObject([asked], []);
}

/** A server that answers range requests from a recorded table, and records what it was asked. */
function server(answers: Record<string, Record<string, string[]>>) {
  const asked: string[] = [];
  const fetch = (spec: string): Promise<Record<string, unknown>> => {
    asked.push(spec);
    const sent = answers[spec];
    if (sent === undefined) return Promise.reject(new Error(`unexpected request ${spec}`));
    return Promise.resolve(entry(spec, sent));
  };
  return { asked, fetch };
}

describe('ranged attribute values', () => {
  test('ldapts sets an empty member beside the ranged one (why the plain key cannot be trusted alone)', () => {
    const first = entry('member', { 'member;range=0-1499': members(0, 1499) });
    assert.deepEqual(first.member, []);
    assert.equal((first['member;range=0-1499'] as string[]).length, 1500);
  });

  test('a plain attribute is all there is: nothing more is asked', async () => {
    const { asked, fetch } = server({});
    assert.deepEqual(
      await readRangedValues('member', entry('member', { member: members(0, 2) }), fetch),
      members(0, 2),
    );
    assert.deepEqual(
      await readRangedValues('member', entry('member', { member: members(0, 0) }), fetch),
      members(0, 0),
    );
    assert.deepEqual(asked, []);
  });

  test('a missing attribute has no values', async () => {
    const { asked, fetch } = server({});
    assert.deepEqual(await readRangedValues('member', entry('member', { cn: ['Engineering'] }), fetch), []);
    assert.deepEqual(await readRangedValues('member', { dn: GROUP }, fetch), []);
    assert.deepEqual(asked, []);
  });

  test('Windows: 3200 members come in 1500, 1500 and 200, asked from each high bound on', async () => {
    const { asked, fetch } = server({
      'member;range=1500-*': { 'member;range=1500-2999': members(1500, 2999) },
      'member;range=3000-*': { 'member;range=3000-*': members(3000, 3199) },
    });
    const first = entry('member', { 'member;range=0-1499': members(0, 1499) });
    const values = await readRangedValues('member', first, fetch);
    assert.deepEqual(values, members(0, 3199));
    assert.deepEqual(asked, ['member;range=1500-*', 'member;range=3000-*']);
  });

  test('exactly 3000 members: the last range comes back empty, and that is the end', async () => {
    const { asked, fetch } = server({
      'member;range=1500-*': { 'member;range=1500-2999': members(1500, 2999) },
      'member;range=3000-*': { 'member;range=3000-*': [] },
    });
    const values = await readRangedValues(
      'member',
      entry('member', { 'member;range=0-1499': members(0, 1499) }),
      fetch,
    );
    assert.equal(values.length, 3000);
    assert.deepEqual(asked, ['member;range=1500-*', 'member;range=3000-*']);
  });

  test('a follow-up answer without the attribute at all is the end too', async () => {
    const { fetch } = server({ 'member;range=1500-*': { cn: ['Engineering'] } });
    const values = await readRangedValues(
      'member',
      entry('member', { 'member;range=0-1499': members(0, 1499) }),
      fetch,
    );
    assert.deepEqual(values, members(0, 1499));
  });

  test('keys in another case are read, and the next request is spelled as the caller spells the attribute', async () => {
    const { asked, fetch } = server({
      'member;range=2-*': { 'Member;Range=2-*': members(2, 3) },
    });
    const values = await readRangedValues('member', entry('member', { 'Member;Range=0-1': members(0, 1) }), fetch);
    assert.deepEqual(values, members(0, 3));
    assert.deepEqual(asked, ['member;range=2-*']);
  });

  test('a server with another step (MaxValRange 1000) is followed by its own bounds', async () => {
    const { asked, fetch } = server({
      'member;range=1000-*': { 'member;range=1000-1999': members(1000, 1999) },
      'member;range=2000-*': { 'member;range=2000-*': members(2000, 2499) },
    });
    const values = await readRangedValues('member', entry('member', { 'member;range=0-999': members(0, 999) }), fetch);
    assert.deepEqual(values, members(0, 2499));
    assert.deepEqual(asked, ['member;range=1000-*', 'member;range=2000-*']);
  });

  test('one value per answer still ends', async () => {
    const { fetch } = server({
      'member;range=1-*': { 'member;range=1-1': members(1, 1) },
      'member;range=2-*': { 'member;range=2-*': members(2, 2) },
    });
    assert.deepEqual(
      await readRangedValues('member', entry('member', { 'member;range=0-0': members(0, 0) }), fetch),
      members(0, 2),
    );
  });

  test('a range that does not advance is an error, not a loop', async () => {
    const { asked, fetch } = server({ 'member;range=5-*': { 'member;range=5-3': members(5, 5) } });
    await assert.rejects(
      readRangedValues('member', entry('member', { 'member;range=0-4': members(0, 4) }), fetch),
      (e: unknown) => e instanceof RangedValuesError && /member;range=5-3 does not advance/.test(e.message),
    );
    assert.deepEqual(asked, ['member;range=5-*']);
  });

  test('with a step, asks for that many values at a time, and a range without values is the end', async () => {
    const { asked, fetch } = server({
      'member;range=3-5': { 'member;range=3-5': members(3, 5) },
      'member;range=6-8': { 'member;range=6-*': [] },
    });
    const first = entry('member;range=0-2', { 'member;range=0-2': members(0, 2) });
    const values = await readRangedValues('member', first, fetch, 3);
    assert.deepEqual(values, members(0, 5));
    assert.deepEqual(asked, ['member;range=3-5', 'member;range=6-8']);
  });

  test('a server that answers the whole rest to a bounded request (Samba) is followed to the end', async () => {
    const { asked, fetch } = server({});
    // Asked for member;range=0-6 of a group of 2: the server sends member;range=0-*, ldapts adds the empty 0-6.
    const first = entry('member;range=0-6', { 'member;range=0-*': members(0, 1) });
    assert.deepEqual(await readRangedValues('member', first, fetch, 7), members(0, 1));
    assert.deepEqual(asked, []);
  });

  test('an answer for other values than asked is an error', async () => {
    const { fetch } = server({ 'member;range=1500-*': { 'member;range=0-1499': members(0, 1499) } });
    await assert.rejects(
      readRangedValues('member', entry('member', { 'member;range=0-1499': members(0, 1499) }), fetch),
      /asked for member;range=1500-\*, the server answered member;range=0-1499/,
    );
  });

  test('a first range that does not start at 0, or beside plain values, is an error', async () => {
    const { fetch } = server({});
    await assert.rejects(
      readRangedValues('member', entry('member', { 'member;range=10-19': members(10, 19) }), fetch),
      /came as member;range=10-19, not from 0/,
    );
    await assert.rejects(
      readRangedValues('member', { member: members(0, 1), 'member;range=0-1': members(0, 1) }, fetch),
      /holds both member and member;range=0-1/,
    );
  });

  test('a follow-up answered with the plain attribute is an error, not a silent end', async () => {
    const { fetch } = server({ 'member;range=2-*': { member: members(0, 3) } });
    await assert.rejects(
      readRangedValues('member', entry('member', { 'member;range=0-1': members(0, 1) }), fetch),
      /answered member without a range/,
    );
  });

  test('other attributes and other options are ignored', async () => {
    const { fetch } = server({});
    const first = {
      dn: GROUP,
      memberOf: 'CN=All,OU=Groups,DC=example,DC=com',
      'member;binary': 'x',
      member: members(0, 0)[0],
    };
    assert.deepEqual(await readRangedValues('member', first, fetch), members(0, 0));
  });
});
