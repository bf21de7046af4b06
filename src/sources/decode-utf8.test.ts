import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeUtf8, firstInvalidUtf8 } from './decode-utf8.js';

describe('firstInvalidUtf8', () => {
  it('points at the first byte of each kind of invalid sequence', () => {
    const cases: [string, number[], number][] = [
      ['valid ASCII and multi-byte', [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], -1],
      ['lone continuation byte', [0x61, 0x80], 1],
      ['truncated two-byte sequence at the end', [0x61, 0xc3], 1],
      ['two-byte lead followed by ASCII', [0xc3, 0x28], 0],
      ['overlong encoding of "/"', [0xc0, 0xaf], 0],
      ['UTF-16 surrogate', [0x61, 0xed, 0xa0, 0x80], 1],
      ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
      ['invalid byte 0xFF', [0x61, 0xff, 0x62], 1],
    ];
    for (const [name, bytes, expected] of cases) assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), expected, name);
  });

  it('agrees with the fatal TextDecoder on any bytes', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    // Random bytes are nearly always invalid; real text with one byte changed exercises the rest.
    const mutatedText = fc
      .tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([text, at, byte]) => {
        const bytes = Uint8Array.from(Buffer.from(text, 'utf8'));
        if (bytes.length > 0 && at % 2 === 0) bytes[at % bytes.length] = byte;
        return bytes;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), mutatedText), (bytes) => {
        const offset = firstInvalidUtf8(bytes);
        let valid = true;
        try {
          decoder.decode(bytes);
        } catch {
          valid = false;
        }
        assert.equal(offset === -1, valid);
        // Everything before the reported byte is valid UTF-8.
        if (offset >= 0) decoder.decode(bytes.subarray(0, offset));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decodeUtf8', () => {
  it('decodes valid UTF-8 and drops a BOM', () => {
    assert.deepEqual(decodeUtf8(Buffer.from('\uFEFFZoë', 'utf8'), 'x'), { result: 'Zoë', diagnostics: [] });
  });
});
