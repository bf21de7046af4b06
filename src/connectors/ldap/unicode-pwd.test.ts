import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomPassword, unicodePwdValue } from './unicode-pwd.js';

// AD's default complexity rule, as Microsoft documents it: three of upper-case, lower-case, digits and these symbols.
const AD_SPECIAL = /[~!@#$%^&*_\-+=`|\\(){}[\]:;"'<>,.?/]/;
function adCategories(password: string): number {
  return [/[A-Z]/, /[a-z]/, /[0-9]/, AD_SPECIAL].filter((group) => group.test(password)).length;
}

/** A byte source that hands out the given buffers in turn. */
function bytesFrom(...chunks: Buffer[]): (size: number) => Buffer {
  return (size) => {
    const chunk = chunks.shift();
    assert.ok(chunk !== undefined && chunk.length === size, 'asked for bytes the test did not plan');
    return chunk;
  };
}

/** The bytes that pick `text` from the password alphabet. */
function picking(text: string): Buffer {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.+=@:';
  return Buffer.from(
    [...text].map((c) => {
      assert.ok(alphabet.includes(c), `${c} is not in the alphabet`);
      // The top two bits are noise the password must not depend on.
      return alphabet.indexOf(c) + 64 * (c.charCodeAt(0) % 4);
    }),
  );
}

describe('unicodePwd', () => {
  test('the value is the password in double quotes, UTF-16LE', () => {
    assert.deepEqual(unicodePwdValue('new'), Buffer.from([0x22, 0, 0x6e, 0, 0x65, 0, 0x77, 0, 0x22, 0]));
    assert.equal(unicodePwdValue('Zoë€"x').toString('utf16le'), '"Zoë€"x"');
    assert.deepEqual(unicodePwdValue('😀').subarray(2, 6), Buffer.from([0x3d, 0xd8, 0x00, 0xde]));
    assert.equal(unicodePwdValue('').length, 4);
  });
});

describe('random passwords', () => {
  test('24 characters from the safe alphabet, every group present, AD complexity met, never the same', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const password = randomPassword();
      assert.match(password, /^[A-HJ-NP-Za-km-z2-9\-_.+=@:]{24}$/);
      assert.equal(adCategories(password), 4, password);
      seen.add(password);
    }
    assert.equal(seen.size, 500);
  });

  test('a longer password when asked; fewer than 16 characters is refused', () => {
    assert.equal(randomPassword({ length: 40 }).length, 40);
    assert.throws(() => randomPassword({ length: 15 }), RangeError);
    assert.throws(() => randomPassword({ length: 20.5 }), RangeError);
  });

  test('the byte source is read six bits a character', () => {
    const password = 'Abcdefgh2345-_.+=@:XYZwxy';
    assert.equal(randomPassword({ length: 25, random: bytesFrom(picking(password)) }), password);
  });

  test('a draw that misses a group is drawn again', () => {
    const noSymbol = 'AbcdefghJK2345678mnopqrst';
    const good = 'AbcdefghJK2345678mnopqr-t';
    assert.equal(randomPassword({ length: 25, random: bytesFrom(picking(noSymbol), picking(good)) }), good);
  });

  test("a draw that holds the account's name or a 3+ letter part of its display name is drawn again", () => {
    const withName = 'AbJdoegh2345-_.+=@:XYZwxy';
    const withToken = 'AbcdefGh2345-_.+=@:XYkimA';
    const good = 'Abcdefgh2345-_.+=@:XYZwxy';
    const random = bytesFrom(picking(withName), picking(withToken), picking(good));
    assert.equal(randomPassword({ length: 25, avoid: ['jdoe', 'Ana Kim'], random }), good);
  });

  test('names and parts shorter than three letters do not count, as in AD', () => {
    const password = 'AbcdefghAn45-_.+=@:XBowxy';
    const random = bytesFrom(picking(password));
    assert.equal(randomPassword({ length: 25, avoid: ['An Bo', 'ab'], random }), password);
  });
});
