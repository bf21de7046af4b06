import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeDnValue, escapeFilterValue, normaliseDn, normalisedParent, parseDn, splitRdn } from './ldap-escape.js';

describe('escapeDnValue (RFC 4514)', () => {
  const cases: [string, string, string][] = [
    ['plain', 'ana', 'ana'],
    // RFC 4514 §4: CN=James \"Jim\" Smith\, III
    ['RFC 4514 example: quotes and comma', 'James "Jim" Smith, III', 'James \\"Jim\\" Smith\\, III'],
    ['plus (multi-valued RDN separator)', 'a+b', 'a\\+b'],
    ['equals', 'uid=x', 'uid\\=x'],
    ['angle brackets and semicolon', '<a>;b', '\\<a\\>\\;b'],
    ['backslash in hex form', 'C:\\dir', 'C:\\5Cdir'],
    ['leading sharp', '#04024869', '\\#04024869'],
    ['sharp elsewhere is plain', 'a#b', 'a#b'],
    ['leading and trailing space', ' padded ', '\\ padded\\ '],
    ['two leading spaces: only the first is escaped', '  x', '\\  x'],
    ['a single space', ' ', '\\ '],
    ['NUL', 'a\0b', 'a\\00b'],
    ['non-ASCII stays UTF-8 (RFC 4514 example Lučić)', 'Lučić', 'Lučić'],
    ['empty', '', ''],
    ['hostile name 1', "O'Brien, Zoë (admin)*\\", "O'Brien\\, Zoë (admin)*\\5C"],
    ['hostile name 2', '*)(uid=*))(|(uid=*', '*)(uid\\=*))(|(uid\\=*'],
  ];
  for (const [label, input, expected] of cases) {
    test(`${label}: ${JSON.stringify(input)}`, () => {
      assert.equal(escapeDnValue(input), expected);
      // Whatever we escape parses back to the same value.
      assert.deepEqual(parseDn(`uid=${escapeDnValue(input)},ou=people`), [
        [{ type: 'uid', value: input }],
        [{ type: 'ou', value: 'people' }],
      ]);
    });
  }
});

describe('escapeFilterValue (RFC 4515)', () => {
  const cases: [string, string, string][] = [
    ['plain', 'ana', 'ana'],
    // RFC 4515 §4 examples
    [
      'parentheses',
      'Parens R Us (for all your parenthetical needs)',
      'Parens R Us \\28for all your parenthetical needs\\29',
    ],
    ['asterisk', '*', '\\2a'],
    ['backslash', 'C:\\MyFile', 'C:\\5cMyFile'],
    ['NUL bytes', '\0\0\0\x04', '\\00\\00\\00\x04'],
    ['non-ASCII stays UTF-8 (Lučić)', 'Lučić', 'Lučić'],
    ['hostile name 1', "O'Brien, Zoë (admin)*\\", "O'Brien, Zoë \\28admin\\29\\2a\\5c"],
    ['injection attempt', '*)(uid=*))(|(uid=*', '\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a'],
  ];
  for (const [label, input, expected] of cases) {
    test(`${label}: ${JSON.stringify(input)}`, () => {
      const escaped = escapeFilterValue(input);
      assert.equal(escaped, expected);
      assert.doesNotMatch(escaped, /[()*]/, 'no filter metacharacter survives');
    });
  }
});

describe('parseDn and normaliseDn', () => {
  test('reads hex escapes as UTF-8 and backslash-character escapes', () => {
    assert.deepEqual(parseDn('CN=Lu\\C4\\8Di\\C4\\87,DC=example'), [
      [{ type: 'CN', value: 'Lučić' }],
      [{ type: 'DC', value: 'example' }],
    ]);
    assert.deepEqual(parseDn('CN=Before\\0DAfter')[0], [{ type: 'CN', value: 'Before\rAfter' }]);
    assert.deepEqual(parseDn('OU=Sales+CN=J. Smith,DC=example')[0], [
      { type: 'OU', value: 'Sales' },
      { type: 'CN', value: 'J. Smith' },
    ]);
  });

  test('two spellings of one DN normalise alike; different DNs do not', () => {
    assert.equal(
      normaliseDn('UID=O\\27Brien\\2C Zoë,OU=People, dc=Example'),
      normaliseDn("uid=o'brien\\, zoë,ou=people,dc=example"),
    );
    assert.equal(normaliseDn('uid=a\\5Cb,ou=x'), normaliseDn('uid=a\\\\b,ou=x'));
    assert.notEqual(normaliseDn('uid=a\\,b,ou=x'), normaliseDn('uid=a,b=,ou=x'));
    assert.equal(normaliseDn('ou=Sales+cn=J,dc=x'), normaliseDn('CN=j+OU=sales,DC=X'));
  });

  test('parent of a DN', () => {
    assert.equal(normalisedParent('uid=a\\,b,ou=People,dc=example'), normaliseDn('ou=people,dc=example'));
    assert.equal(normalisedParent('dc=example'), '');
  });

  test('rejects a malformed DN', () => {
    assert.throws(() => parseDn('uid'), SyntaxError);
    assert.throws(() => parseDn('uid=a\\'), SyntaxError);
  });
});

describe('splitRdn', () => {
  test('splits at the first unescaped comma, keeping both parts as written', () => {
    assert.deepEqual(splitRdn('uid=a\\,b,ou=people,dc=x'), ['uid=a\\,b', 'ou=people,dc=x']);
    assert.deepEqual(splitRdn(`uid=${escapeDnValue("O'Brien, Zoë (admin)*\\")},ou=p`), [
      `uid=${escapeDnValue("O'Brien, Zoë (admin)*\\")}`,
      'ou=p',
    ]);
    assert.deepEqual(splitRdn('cn=x\\\\,ou=p'), ['cn=x\\\\', 'ou=p']);
    assert.deepEqual(splitRdn('dc=org'), ['dc=org', '']);
  });
});
