// Quoting for PostgreSQL DDL. CREATE ROLE, GRANT, COMMENT ON and ALTER ROLE cannot take bind parameters, so every name
// and value that reaches such a statement goes through these two functions: they are the line of defence against SQL
// injection through account names, group names, identities and attributes. Everything else uses $1 parameters.

/** PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 = 63 bytes; we refuse them instead. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Why a name cannot be a PostgreSQL identifier as given, or undefined when it can. */
export function identifierProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.includes('\0')) return 'contains a NUL character';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    return `is ${bytes} bytes long; PostgreSQL would truncate it to ${MAX_IDENTIFIER_BYTES} bytes`;
  }
  return undefined;
}

/**
 * A double-quoted identifier: `"` doubled, nothing else changed (inside double quotes PostgreSQL gives no other
 * character a meaning). Throws a TypeError for a name that cannot be an identifier (callers check first).
 */
export function quoteIdent(name: string): string {
  const problem = identifierProblem(name);
  if (problem !== undefined) throw new TypeError(`identifier ${JSON.stringify(name)} ${problem}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string literal: `'` doubled; when the value holds a backslash, an escape string E'...' with backslashes doubled,
 * so the result means the same whether or not standard_conforming_strings is on. NUL cannot be in a PostgreSQL
 * string and is refused with a TypeError.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new TypeError('a PostgreSQL string literal cannot contain a NUL character');
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
