import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BerWriter, FilterParser, type Filter } from 'ldapts';
import { guidFilter, guidFilterValue, guidToBytes, guidToString } from './object-guid.js';

const BYTES = Buffer.from('3374e879e78bfc49ae0030cb04281a1b', 'hex');
const TEXT = '79e87433-8be7-49fc-ae00-30cb04281a1b';

describe('objectGUID', () => {
  test('bytes read as AD shows them: the first three groups little-endian', () => {
    assert.equal(guidToString(BYTES), TEXT);
  });

  test('the string form reads back to the same bytes, with or without braces, in either case', () => {
    assert.deepEqual(guidToBytes(TEXT), BYTES);
    assert.deepEqual(guidToBytes(`{${TEXT.toUpperCase()}}`), BYTES);
    assert.deepEqual(guidToBytes(` ${TEXT} `), BYTES);
  });

  test('every GUID survives the round trip', () => {
    for (let i = 0; i < 256; i += 17) {
      const bytes = Buffer.from(Array.from({ length: 16 }, (_, j) => (i + j * 31) % 256));
      assert.deepEqual(guidToBytes(guidToString(bytes)), bytes);
    }
  });

  test('anything but a GUID is refused', () => {
    for (const bad of [
      '',
      '79e87433-8be7-49fc-ae00',
      `{${TEXT}`,
      `${TEXT}}`,
      TEXT.replace('a', 'g'),
      TEXT.replaceAll('-', ''),
    ]) {
      assert.throws(() => guidToBytes(bad), SyntaxError, bad);
    }
    assert.throws(() => guidToString(Buffer.alloc(15)), /16 bytes, not 15/);
    assert.throws(() => guidFilterValue(Buffer.alloc(17)), /16 bytes, not 17/);
  });

  test('the filter value escapes every byte (RFC 4515), from bytes or from the string form', () => {
    const expected = '\\33\\74\\e8\\79\\e7\\8b\\fc\\49\\ae\\00\\30\\cb\\04\\28\\1a\\1b';
    assert.equal(guidFilterValue(BYTES), expected);
    assert.equal(guidFilterValue(`{${TEXT}}`), expected);
    assert.doesNotMatch(
      guidFilterValue(Buffer.from('2a28295c002a28295c002a28295c0000', 'hex')),
      /[*()\0]|\\(?![0-9a-f]{2})/,
    );
  });

  test('the filter ldapts sends carries the 16 bytes as they are; the parsed string form would not', () => {
    const wire = (filter: Filter): Buffer => {
      const writer = new BerWriter();
      filter.write(writer);
      return writer.buffer;
    };
    assert.ok(wire(guidFilter(BYTES)).includes(BYTES));
    assert.ok(wire(guidFilter(TEXT)).includes(BYTES));
    assert.equal(wire(FilterParser.parseString(`(objectGUID=${guidFilterValue(BYTES)})`)).includes(BYTES), false);
  });
});
