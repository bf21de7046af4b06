import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { samAccountNameProblem } from './sam-account-name.js';

describe('sAMAccountName', () => {
  test('ordinary logon names are fine', () => {
    for (const name of [
      'jdoe',
      'ana.lima',
      'o_brien-2',
      "o'brien",
      'Zoë',
      'svc-backup$',
      'a b',
      '12345678901234567890',
      'x.y',
    ]) {
      assert.equal(samAccountNameProblem(name), undefined, name);
    }
  });

  test('more than 20 characters is refused, saying how many', () => {
    assert.equal(
      samAccountNameProblem('abcdefghijklmnopqrstuvw'),
      'is 23 characters; AD allows at most 20 in sAMAccountName',
    );
  });

  test('each character AD forbids is named', () => {
    for (const c of '"/\\[]:;|=,+*?<>') {
      assert.equal(samAccountNameProblem(`a${c}b`), `contains "${c}", which AD does not allow in sAMAccountName`, c);
    }
  });

  test('control characters, names of only periods and spaces, and a final period are refused', () => {
    assert.equal(
      samAccountNameProblem('a\tb'),
      'contains the control character U+0009, which AD does not allow in sAMAccountName',
    );
    assert.match(samAccountNameProblem('a\u007fb') ?? '', /U\+007F/);
    assert.match(samAccountNameProblem('a\u0000') ?? '', /U\+0000/);
    assert.equal(samAccountNameProblem('   '), 'is only periods and spaces, which AD does not allow in sAMAccountName');
    assert.equal(samAccountNameProblem('. .'), 'is only periods and spaces, which AD does not allow in sAMAccountName');
    assert.equal(samAccountNameProblem('jdoe.'), 'ends with a period, which AD does not allow in sAMAccountName');
    assert.equal(samAccountNameProblem(''), 'is empty; AD needs a sAMAccountName');
  });

  test('"@" is stored by AD but breaks logons, so it is reported', () => {
    assert.match(samAccountNameProblem('r@cameron') ?? '', /^contains "@": AD stores it, but nobody can log on/);
  });
});
