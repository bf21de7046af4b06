// objectGUID is 16 bytes. AD shows it as {79e87433-8be7-49fc-ae00-30cb04281a1b}, a Windows GUID whose first three
// groups are little-endian numbers (MS-DTYP 2.3.4): the bytes 33 74 e8 79 are the group 79e87433. ldapts returns the
// value as a Buffer only when the search names it in explicitBufferAttributes (['objectGUID'], spelled as AD does).
import { EqualityFilter } from 'ldapts';

const GUID = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

function swapped(hex: string): string {
  return hex.match(/../g)!.reverse().join('');
}

/** The GUID as AD shows it, lower-case and without braces: `79e87433-8be7-49fc-ae00-30cb04281a1b`. */
export function guidToString(bytes: Buffer): string {
  const hex = guidBytes(bytes).toString('hex');
  return [
    swapped(hex.slice(0, 8)),
    swapped(hex.slice(8, 12)),
    swapped(hex.slice(12, 16)),
    hex.slice(16, 20),
    hex.slice(20),
  ].join('-');
}

/** The 16 bytes of a GUID in its string form, with or without braces, in either case; throws on anything else. */
export function guidToBytes(guid: string): Buffer {
  const groups = GUID.exec(guid.trim());
  if (groups === null || guid.trim().startsWith('{') !== guid.trim().endsWith('}'))
    throw new SyntaxError(`not a GUID: ${JSON.stringify(guid)}`);
  const [, a = '', b = '', c = '', d = '', e = ''] = groups;
  return Buffer.from(swapped(a) + swapped(b) + swapped(c) + d + e, 'hex');
}

function guidBytes(guid: Buffer | string): Buffer {
  const bytes = typeof guid === 'string' ? guidToBytes(guid) : guid;
  if (bytes.length !== 16) throw new RangeError(`an objectGUID is 16 bytes, not ${bytes.length}`);
  return bytes;
}

/**
 * The filter `(objectGUID=...)` to hand ldapts' search. Not the string form: ldapts parses `\e8` in a filter string
 * into the character U+00E8 and sends it as UTF-8 (c3 a8), so a GUID with a byte above 7f would never match.
 */
export function guidFilter(guid: Buffer | string): EqualityFilter {
  return new EqualityFilter({ attribute: 'objectGUID', value: guidBytes(guid) });
}

/**
 * The value for a filter `(objectGUID=...)` as text (for logs, or a client that sends escapes as bytes): every byte
 * escaped as `\xx` (RFC 4515 §3), since a GUID is binary and any byte may be `*`, `(`, `)`, `\` or NUL.
 */
export function guidFilterValue(guid: Buffer | string): string {
  return [...guidBytes(guid)].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}
