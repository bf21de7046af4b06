// Escaping for LDAP distinguished names (RFC 4514) and search filters (RFC 4515), and a small DN parser so that DNs
// the server returns can be compared by meaning rather than by spelling.

const DN_SPECIAL = new Set([',', '+', '"', '<', '>', ';', '=']);

/**
 * Escapes one attribute value for use in a DN (RFC 4514 §2.4): `,` `+` `"` `<` `>` `;` `=` get a backslash, a
 * leading `#` or space and a trailing space get a backslash, NUL becomes `\00`, and a backslash becomes `\5C` (the
 * hex form, which RFC 4514 allows as well: it keeps "\," meaning exactly an escaped comma, which ldapts' modifyDN
 * relies on when it splits a new DN into RDN and superior). Other characters, non-ASCII included, stay as they are.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((c, i) => {
    if (c === '\\') out += '\\5C';
    else if (c === '\0') out += '\\00';
    else if (DN_SPECIAL.has(c)) out += `\\${c}`;
    else if (i === 0 && (c === ' ' || c === '#')) out += `\\${c}`;
    else if (i === chars.length - 1 && c === ' ') out += '\\ ';
    else out += c;
  });
  return out;
}

/**
 * Escapes a value for use inside a search filter (RFC 4515 §3): `*` `(` `)` `\` and NUL become `\2a` `\28` `\29`
 * `\5c` `\00`. Other characters, non-ASCII included, stay as they are (UTF-8 on the wire).
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One attribute type and value of an RDN, the value unescaped. */
export interface Ava {
  readonly type: string;
  readonly value: string;
}

/** Parses a DN string (RFC 4514) into RDNs, each a list of AVAs with unescaped values; throws on a malformed DN. */
export function parseDn(dn: string): Ava[][] {
  const rdns: Ava[][] = [];
  if (dn.trim() === '') return rdns;
  let rdn: Ava[] = [];
  let i = 0;
  const n = dn.length;
  const skipSpaces = (): void => {
    while (i < n && dn[i] === ' ') i++;
  };
  for (;;) {
    skipSpaces();
    const typeStart = i;
    while (i < n && dn[i] !== '=') i++;
    if (i >= n) throw new SyntaxError(`malformed DN (no "=" after the attribute type): ${dn}`);
    const type = dn.slice(typeStart, i).trim();
    if (type === '') throw new SyntaxError(`malformed DN (empty attribute type): ${dn}`);
    i++; // '='
    skipSpaces(); // unescaped leading spaces are not part of the value
    const bytes: number[] = [];
    let lastSignificant = 0; // bytes.length after the last escaped or non-space character
    const pushText = (text: string): void => {
      bytes.push(...Buffer.from(text, 'utf8'));
    };
    while (i < n && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
      const c = dn[i]!;
      if (c === '\\') {
        const hex = dn.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(hex)) {
          bytes.push(Number.parseInt(hex, 16));
          i += 3;
        } else if (i + 1 < n) {
          const cp = dn.codePointAt(i + 1)!;
          const ch = String.fromCodePoint(cp);
          pushText(ch);
          i += 1 + ch.length;
        } else {
          throw new SyntaxError(`malformed DN (trailing backslash): ${dn}`);
        }
        lastSignificant = bytes.length;
      } else {
        const cp = dn.codePointAt(i)!;
        const ch = String.fromCodePoint(cp);
        pushText(ch);
        i += ch.length;
        if (ch !== ' ') lastSignificant = bytes.length;
      }
    }
    // Unescaped trailing spaces are not part of the value (RFC 4514 §3).
    rdn.push({ type, value: Buffer.from(bytes.slice(0, lastSignificant)).toString('utf8') });
    if (i >= n) break;
    const sep = dn[i];
    i++;
    if (sep !== '+') {
      rdns.push(rdn);
      rdn = [];
    }
  }
  rdns.push(rdn);
  return rdns;
}

function normaliseValue(value: string): string {
  return value.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * A comparable form of a DN: types and values lower-cased, values unescaped and their spaces folded, multi-valued
 * RDNs sorted. Equal for two spellings of the same DN whose attributes match case-insensitively (uid, cn, ou, dc).
 */
export function normaliseDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map((ava) => `${ava.type.toLowerCase()}=${escapeDnValue(normaliseValue(ava.value))}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

/** The parent of a DN in normalised form (everything after the first RDN); '' for a one-RDN DN. */
export function normalisedParent(dn: string): string {
  const rdns = parseDn(dn).slice(1);
  return rdns.length === 0
    ? ''
    : normaliseDn(rdns.map((rdn) => rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join('+')).join(','));
}

/**
 * A DN split at its first unescaped comma into the first RDN and the parent, both as written (`uid=a\,b,ou=p` →
 * `uid=a\,b` and `ou=p`); the parent is '' for a one-RDN DN.
 */
export function splitRdn(dn: string): [rdn: string, parent: string] {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',') return [dn.slice(0, i), dn.slice(i + 1)];
  }
  return [dn, ''];
}

/** Whether two DNs name the same entry (normaliseDn); a text that is no DN equals only itself. */
export function sameDn(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return normaliseDn(a) === normaliseDn(b);
  } catch {
    return false;
  }
}
