import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { samAccountNameProblem, upnProblem } from './sam-account-name.js';

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

describe('userPrincipalName', () => {
  test('mail-like UPNs are fine', () => {
    for (const upn of [
      'jdoe@example.com',
      'ana.lima@corp.example.co.uk',
      "o'brien+it@ex-ample.org",
      'zoë@example.com',
      'a@local',
    ]) {
      assert.equal(upnProblem(upn), undefined, upn);
    }
  });

  test('each broken rule is named', () => {
    const cases: [string, string][] = [
      ['', 'is empty'],
      ['jdoe', 'has no "@" between the name and the suffix'],
      ['r@cameron@example.com', 'has 2 "@"; a UPN has one'],
      ['@example.com', 'has nothing before "@"'],
      ['jdoe@', 'has nothing after "@"'],
      ['j doe@example.com', 'contains U+0020 before "@"; a UPN has no spaces or control characters'],
      ['j\tdoe@example.com', 'contains U+0009 before "@"; a UPN has no spaces or control characters'],
      ['j(doe)@example.com', 'contains "(" before "@", which does not belong in a UPN'],
      ['j\\doe@example.com', 'contains "\\" before "@", which does not belong in a UPN'],
      ['.jdoe@example.com', 'has a period at the start or end of the name, or two in a row'],
      ['j..doe@example.com', 'has a period at the start or end of the name, or two in a row'],
      ['jdoe.@example.com', 'has a period at the start or end of the name, or two in a row'],
      [
        'jdoe@example..com',
        'has the suffix "example..com", which is not a DNS name (letters, digits and hyphens between periods)',
      ],
      [
        'jdoe@-example.com',
        'has the suffix "-example.com", which is not a DNS name (letters, digits and hyphens between periods)',
      ],
      [
        'jdoe@exa mple.com',
        'has the suffix "exa mple.com", which is not a DNS name (letters, digits and hyphens between periods)',
      ],
      [
        'jdoe@example.com.',
        'has the suffix "example.com.", which is not a DNS name (letters, digits and hyphens between periods)',
      ],
    ];
    for (const [upn, problem] of cases) assert.equal(upnProblem(upn), problem, upn);
  });

  test('the schema limit of 1024 characters is kept', () => {
    const long = `${'a'.repeat(1020)}@b.cd`;
    assert.equal(upnProblem(long), 'is 1025 characters; AD allows at most 1024 in userPrincipalName');
  });
});
