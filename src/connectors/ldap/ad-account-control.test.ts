import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UAC, UAC_NEW_USER_DEFAULT, formatUac, isDisabled, parseUac, withDisabled } from './ad-account-control.js';

describe('userAccountControl', () => {
  test('values read as AD sends them, as ldapts returns them', () => {
    assert.equal(parseUac('512'), 0x200);
    assert.equal(parseUac('514'), 0x202);
    assert.equal(parseUac(['66048']), 0x10200);
    assert.equal(parseUac(Buffer.from('546')), 0x222);
    assert.equal(parseUac(' 512 '), 512);
  });

  test('a negative value (the top bit set) reads as the unsigned flags', () => {
    assert.equal(parseUac('-2147483136'), 0x80000200);
    assert.equal(parseUac('-1'), 0xffffffff);
    assert.equal(parseUac('4294967295'), 0xffffffff);
  });

  test('anything but one 32-bit integer reads as undefined', () => {
    for (const bad of [undefined, [], ['512', '514'], '', 'abc', '5.12', '0x200', '4294967296', '-2147483649', 512]) {
      assert.equal(parseUac(bad), undefined, JSON.stringify(bad));
    }
  });

  test('values are written back signed, as the Integer syntax wants', () => {
    assert.equal(formatUac(0x200), '512');
    assert.equal(formatUac(0x80000200), '-2147483136');
    assert.equal(parseUac(formatUac(0x80000202)), 0x80000202);
  });

  test('disabled is ACCOUNTDISABLE (0x2) alone', () => {
    assert.equal(isDisabled(0x200), false);
    assert.equal(isDisabled(0x202), true);
    assert.equal(isDisabled(UAC_NEW_USER_DEFAULT), true);
    assert.equal(isDisabled(UAC.LOCKOUT | UAC.NORMAL_ACCOUNT), false);
  });

  test('withDisabled flips ACCOUNTDISABLE and keeps every other bit', () => {
    const flags = (UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD | UAC.SMARTCARD_REQUIRED | 0x80000000) >>> 0;
    const off = withDisabled(flags, true);
    assert.equal(off, flags + 0x2);
    assert.equal(withDisabled(off, false), flags);
    assert.equal(withDisabled(off, true), off, 'disabling twice changes nothing');
    assert.equal(withDisabled(flags, false), flags, 'enabling an enabled account changes nothing');
    assert.equal(formatUac(withDisabled(UAC_NEW_USER_DEFAULT, false)), '544');
  });
});
