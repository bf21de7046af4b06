import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { chain, hashRecord, verifyChain } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';
import { auditKeyFrom } from './audit-key.js';
import { createHash } from 'node:crypto';

const at = new Date('2026-11-01T00:00:00Z');
const entries = [1, 2, 3].map((n) => ({
  at,
  actor: 'ana',
  action: 'plan.saved' as const,
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
    assert.deepEqual(verifyChain(all), { ok: true, records: 3, head: { seq: 3, hash: all[2]!.hash } });
    assert.equal(verifyChain([all[0]!, { ...all[1]!, reason: 'edited' }, all[2]!]).firstBad?.seq, 2);
    assert.match(verifyChain([all[0]!, all[2]!]).firstBad!.problem, /record 2 is missing/);
    assert.match(verifyChain([all[1]!, all[0]!, all[2]!]).firstBad!.problem, /record 2 is out of order|missing/);
    assert.equal(verifyChain([all[0]!, { ...all[1]!, previousHash: all[0]!.previousHash }, all[2]!]).firstBad?.seq, 2);
  });

  it('keys the chain with HMAC: checked with the key, unchecked without it, and a rebuild without it fails', () => {
    const key = auditKeyFrom('correct horse battery staple')!;
    const plain = chain(undefined, entries.slice(0, 1));
    const keyed = chain(plain[0], entries.slice(1), key);
    const all = [...plain, ...keyed];
    assert.equal(keyed[0]!.keyId, key.id);
    assert.equal(verifyChain(all, key).ok, true);
    const without = verifyChain(all);
    assert.deepEqual(
      [without.ok, without.firstBad, without.keyed],
      [false, undefined, { from: 2, keyId: key.id, checked: false }],
    );
    // Someone without the key edits record 2 and rebuilds the chain from there with plain SHA-256.
    const rebuilt = [...plain, ...chain(plain[0], [{ ...entries[1]!, reason: 'edited' }, entries[2]!])];
    assert.equal(verifyChain(rebuilt).ok, true, 'without the key the rebuild looks whole: that is why the key exists');
    assert.match(verifyChain(rebuilt, key).firstBad!.problem, /no record is chained with TENURE_AUDIT_KEY/);
    // Keeping a keyed record and appending unkeyed ones after it is found too.
    const mixed = [...plain, keyed[0]!, ...chain(keyed[0], entries.slice(2))];
    assert.match(verifyChain(mixed, key).firstBad!.problem, /not keyed, but the chain is keyed from record 2/);
    // The keyed hash itself cannot be recomputed without the secret.
    const forged = [...plain, { ...keyed[0]!, reason: 'edited' }, keyed[1]!];
    assert.match(verifyChain(forged, key).firstBad!.problem, /keyed hash/);
    assert.match(
      verifyChain(all, auditKeyFrom('another key')).firstBad!.problem,
      /chained with audit key .* not with the TENURE_AUDIT_KEY given/,
    );
  });
});
