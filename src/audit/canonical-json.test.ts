import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, parseCanonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys, drops undefined members and tags dates and ints', () => {
    assert.equal(
      canonicalJson({
        b: 1,
        a: [new Date('2026-11-01T00:00:00Z'), 7n, undefined],
        c: undefined,
        d: { z: 'x', y: null },
      }),
      '{"a":[{"$date":"2026-11-01T00:00:00.000Z"},{"$int":"7"},null],"b":1,"d":{"y":null,"z":"x"}}',
    );
  });

  it('gives the same text whatever the key order, and round-trips', () => {
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.bigInt(),
        fc.date({ noInvalidDate: true }),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__'),
          tie('v'),
          { maxKeys: 4 },
        ),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        const text = canonicalJson(v);
        const back = parseCanonicalJson(text);
        assert.equal(canonicalJson(back), text);
        if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
          const reversed = Object.fromEntries(Object.entries(v).reverse());
          assert.equal(canonicalJson(reversed), text);
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
