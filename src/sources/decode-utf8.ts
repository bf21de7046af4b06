import type { Checked, Diagnostic } from '../model/diagnostic.js';

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a feed as UTF-8, refusing it when it is not: a Latin-1 export decoded leniently would
 * silently turn "Zoë" into "Zo\uFFFD" and change identities. The BOM, if any, is dropped.
 */
export function decodeUtf8(input: Uint8Array, file: string): Checked<string | undefined> {
  try {
    return { result: fatalDecoder.decode(input), diagnostics: [] };
  } catch {
    return { result: undefined, diagnostics: [invalidUtf8(input, file)] };
  }
}

function invalidUtf8(input: Uint8Array, file: string): Diagnostic {
  const offset = firstInvalidUtf8(input);
  const hint =
    'Save the file as UTF-8 (in Excel: "CSV UTF-8"). A file saved as Latin-1 or Windows-1252 shows this error at its first accented letter.';
  if (offset < 0) {
    return {
      severity: 'error',
      code: 'source.invalid_utf8',
      message: `${file} is not valid UTF-8`,
      hint,
      position: { file },
    };
  }
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (input[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  // Everything before the bad byte is valid, so it decodes (a leading BOM is dropped, as an editor
  // hides it); the column counts characters, not bytes.
  const before = new TextDecoder('utf-8').decode(input.subarray(lineStart, offset));
  let column = 1;
  for (const _ of before) column++;
  const byte = input[offset]!.toString(16).toUpperCase().padStart(2, '0');
  return {
    severity: 'error',
    code: 'source.invalid_utf8',
    message: `${file} is not valid UTF-8: byte 0x${byte} at line ${line}, column ${column} (byte offset ${offset}) does not start a valid character`,
    hint,
    position: { file, line, column },
  };
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (WHATWG rules), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) [need, lower] = [2, 0xa0];
    else if (b === 0xed) [need, upper] = [2, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) need = 2;
    else if (b === 0xf0) [need, lower] = [3, 0x90];
    else if (b === 0xf4) [need, upper] = [3, 0x8f];
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < lower || c > upper) return i;
      lower = 0x80;
      upper = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}
