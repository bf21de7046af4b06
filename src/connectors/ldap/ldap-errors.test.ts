import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  UnknownStatusCodeError,
  type ResultCodeError,
} from 'ldapts';
import { dnOf, ldapResultError, onDn, resultName, serverDiagnostic } from './ldap-errors.js';

const WHERE = 'target "directory" (ldap://dir:389)';

describe('LDAP result errors', () => {
  test('the server text is kept; the client library canned sentence and its Code suffix are not', () => {
    assert.equal(serverDiagnostic(new ConstraintViolationError('mail: value #0 too long')), 'mail: value #0 too long');
    assert.equal(serverDiagnostic(new NoSuchObjectError()), undefined);
    assert.equal(serverDiagnostic(new NoSuchObjectError('')), undefined);
    assert.equal(serverDiagnostic(new UnknownStatusCodeError(99)), undefined);
    assert.equal(serverDiagnostic(new UnknownStatusCodeError(99, 'odd')), 'odd');
  });

  test('result names follow RFC 4511; an unknown code still reads as a name', () => {
    assert.equal(resultName(32), 'noSuchObject');
    assert.equal(resultName(50), 'insufficientAccessRights');
    assert.equal(resultName(19), 'constraintViolation');
    assert.equal(resultName(99), 'result99');
  });

  const cases: [string, ResultCodeError, string | undefined, string, string, RegExp][] = [
    [
      'noSuchObject',
      new NoSuchObjectError(),
      'cn=x,ou=groups,dc=t',
      'not_found',
      `${WHERE}: cannot add "a" to directory:group/x: noSuchObject (LDAP result 32) on cn=x,ou=groups,dc=t`,
      /does not exist: check connection.people_base \/ groups_base .* or the entitlement name/,
    ],
    [
      'insufficientAccessRights with text',
      new InsufficientAccessError('no write access to parent'),
      'uid=a,ou=people,dc=t',
      'permission_denied',
      `${WHERE}: cannot add "a" to directory:group/x: insufficientAccessRights (LDAP result 50) on uid=a,ou=people,dc=t: server said "no write access to parent"`,
      /bind DN \(connection.bind_dn\) lacks rights on uid=a,ou=people,dc=t/,
    ],
    [
      'invalidCredentials',
      new InvalidCredentialsError(),
      'cn=admin,dc=t',
      'permission_denied',
      `${WHERE}: cannot add "a" to directory:group/x: invalidCredentials (LDAP result 49) on cn=admin,dc=t`,
      /^bad credentials: check connection.bind_dn and connection.bind_password$/,
    ],
    [
      'constraintViolation without a DN',
      new ConstraintViolationError('attribute "mail" too long'),
      undefined,
      'invalid_input',
      `${WHERE}: cannot add "a" to directory:group/x: constraintViolation (LDAP result 19): server said "attribute \\"mail\\" too long"`,
      /schema refused an attribute value: check the target's attributes/,
    ],
  ];
  for (const [name, error, dn, code, message, hint] of cases) {
    test(`${name} reads as what, result name, DN, server text, with a hint`, () => {
      const e = ldapResultError('directory', WHERE, 'add "a" to directory:group/x', error, dn);
      assert.equal(e.code, code);
      assert.equal(e.message, message);
      assert.match(e.hint ?? '', hint);
      assert.equal(e.retryable, false);
    });
  }

  test('onDn tags a result error with the DN of the call that failed first', async () => {
    const error = new NoSuchObjectError();
    await assert.rejects(
      onDn('cn=outer', () =>
        onDn('cn=inner', () => {
          throw error;
        }),
      ),
    );
    assert.equal(dnOf(error), 'cn=inner');
    await assert.rejects(
      onDn('cn=x', () => Promise.reject(new Error('plain'))),
      /plain/,
    );
  });
});
