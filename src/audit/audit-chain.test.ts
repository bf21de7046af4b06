import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { chain, hashRecord, verifyChain } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';
import { createHash } from 'node:crypto';

const at = new Date('2026-11-01T00:00:00Z');
const entries = [1, 2, 3].map((n) => ({
  at,
  actor: 'ana',
  action: 'test.step',
  subject: `S${n}`,
  reason: `step "${n}"`,
  details: { n: BigInt(n), when: at, list: ['a', 'b'] },
}));

describe('audit chain', () => {
  it('hashes the canonical JSON of each record after the previous hash', () => {
    const records = chain(undefined, entries);
    const { hash: _h, previousHash, detailsJson: _d, ...body } = records[1]!;
    const expected = createHash('sha256').update(previousHash).update('\n').update(canonicalJson(body)).digest('hex');
    assert.equal(records[1]!.hash, expected);
    assert.equal(hashRecord(previousHash, body), expected);
    assert.equal(records[1]!.previousHash, records[0]!.hash);
  });

  it('continues a chain and verifies it, and finds each kind of tampering', () => {
    const first = chain(undefined, entries.slice(0, 2));
    const all = [...first, ...chain(first.at(-1), entries.slice(2))];
    assert.deepEqual(verifyChain(all), { ok: true, records: 3 });
    assert.equal(verifyChain([all[0]!, { ...all[1]!, reason: 'edited' }, all[2]!]).firstBad?.seq, 2);
    assert.match(verifyChain([all[0]!, all[2]!]).firstBad!.problem, /record 2 is missing/);
    assert.match(verifyChain([all[1]!, all[0]!, all[2]!]).firstBad!.problem, /record 2 is out of order|missing/);
    assert.equal(verifyChain([all[0]!, { ...all[1]!, previousHash: all[0]!.previousHash }, all[2]!]).firstBad?.seq, 2);
  });
});
