import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { identifierProblem, MAX_IDENTIFIER_BYTES, quoteIdent, quoteLiteral } from './quote.js';

describe('quoteIdent', () => {
  const cases: [string, string][] = [
    ['ana', '"ana"'],
    ['Robert"); DROP ROLE x;--', '"Robert""); DROP ROLE x;--"'],
    ["O'Brien, Zoë (admin)*\\", '"O\'Brien, Zoë (admin)*\\"'],
    ['back\\slash\\', '"back\\slash\\"'],
    ['""', '""""""'],
    ['  padded name ', '"  padded name "'],
    ['a'.repeat(63), `"${'a'.repeat(63)}"`],
  ];
  for (const [input, expected] of cases) {
    it(`quotes ${JSON.stringify(input)}`, () => assert.equal(quoteIdent(input), expected));
  }

  const refused: [string, RegExp][] = [
    ['', /empty/],
    ['a\0b', /NUL/],
    ['a'.repeat(64), /64 bytes/],
    ['ü'.repeat(32), /64 bytes/], // 32 characters, 64 bytes in UTF-8
    [`${'é'.repeat(31)}x`, /^$/], // 63 bytes: allowed
  ];
  for (const [input, problem] of refused) {
    it(`checks the length and content of ${JSON.stringify(input.slice(0, 12))}… (${Buffer.byteLength(input)} bytes)`, () => {
      const found = identifierProblem(input) ?? '';
      assert.match(found, problem);
      if (found !== '') assert.throws(() => quoteIdent(input), TypeError);
    });
  }

  it('limits identifiers to 63 bytes', () => assert.equal(MAX_IDENTIFIER_BYTES, 63));
});

describe('quoteLiteral', () => {
  const cases: [string, string][] = [
    ['plain', "'plain'"],
    ["O'Brien", "'O''Brien'"],
    ["'); DROP ROLE x;--", "'''); DROP ROLE x;--'"],
    ['back\\slash', "E'back\\\\slash'"],
    ["O'Brien, Zoë (admin)*\\", "E'O''Brien, Zoë (admin)*\\\\'"],
    ["\\'; DROP ROLE x;--", "E'\\\\''; DROP ROLE x;--'"],
    ['{"tenure":{"identity":"a\\"b"}}', 'E\'{"tenure":{"identity":"a\\\\"b"}}\''],
    ['', "''"],
  ];
  for (const [input, expected] of cases) {
    it(`quotes ${JSON.stringify(input)}`, () => assert.equal(quoteLiteral(input), expected));
  }

  it('refuses NUL, which no PostgreSQL string can hold', () => {
    assert.throws(() => quoteLiteral('a\0b'), TypeError);
  });
});
