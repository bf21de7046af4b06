// Range retrieval (MS-ADTS 3.1.1.3.1.3.3): AD returns at most MaxValRange values of a multi-valued attribute in one
// search (1500 by default, an administrator can change it). Beyond that the entry holds `member;range=0-1499`
// instead of `member`, and the client asks again for `member;range=1500-*`; the answer is `member;range=1500-2999`
// (more to come) or `member;range=1500-*` (the last values). Samba ranges only when asked for a range.

/** A server whose ranges do not add up; the caller turns it into a ConnectorError. */
export class RangedValuesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RangedValuesError';
  }
}

interface Chunk {
  readonly key: string;
  readonly low: number;
  /** undefined for `*`: these are the last values. */
  readonly high: number | undefined;
  readonly values: string[];
}

const RANGE_OPTION = /^range=(\d+)-(\d+|\*)$/i;

function valuesOf(value: unknown, key: string): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    throw new TypeError(`attribute ${key} holds a ${typeof v}, not strings or buffers`);
  });
}

/** The entry's values of `attribute` without options, whatever the key's case. */
function plainValues(attribute: string, entry: Record<string, unknown>): string[] | undefined {
  const wanted = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : valuesOf(entry[key], key);
}

/** Every `attribute;range=LOW-HIGH` key of the entry, whatever its case. */
function chunksOf(attribute: string, entry: Record<string, unknown>): Chunk[] {
  const chunks: Chunk[] = [];
  for (const key of Object.keys(entry)) {
    const [type = '', ...options] = key.split(';');
    if (type.toLowerCase() !== attribute.toLowerCase()) continue;
    for (const option of options) {
      const range = RANGE_OPTION.exec(option);
      if (range === null) continue;
      const [, low = '', high = ''] = range;
      chunks.push({
        key,
        low: Number(low),
        high: high === '*' ? undefined : Number(high),
        values: valuesOf(entry[key], key),
      });
    }
  }
  return chunks;
}

/**
 * The one chunk of an answer. ldapts adds every requested attribute the server did not return, empty, so an answer
 * to `member;range=1500-*` can hold the server's `member;range=1500-2999` and an empty `member;range=1500-*` beside it,
 * and one to `member;range=0-6` the server's `member;range=0-*` beside an empty `member;range=0-6`. The chunk with
 * values is the server's; when none has values, the values have ended.
 */
function chunkOf(chunks: Chunk[], asked: string): Chunk | undefined {
  if (chunks.length <= 1) return chunks[0];
  const sent = chunks.filter((c) => c.values.length > 0);
  if (sent.length === 1) return sent[0];
  if (sent.length === 0) return chunks.find((c) => c.high === undefined) ?? chunks[0];
  throw new RangedValuesError(`the answer to ${asked} holds ${chunks.map((c) => c.key).join(', ')}: which is it?`);
}

/**
 * Every value of a multi-valued attribute (`member`) of an entry, following AD's ranges to the end.
 *
 * Ask for the plain attribute first (`member`): a server answers with `member` when all its values fit, and AD with
 * `member;range=0-1499` when they do not. `first` is that entry's attributes as ldapts returns them (keys in any case,
 * values a string or an array of strings); `fetch` reads the same entry again asking for one attribute, e.g.
 * `member;range=1500-*`, and returns its attributes. Each answer's high bound says where the next request starts, so
 * a server with another MaxValRange is followed as well. An attribute the entry lacks has no values; a range the
 * server answers without values is the end.
 */
export async function readRangedValues(
  attribute: string,
  first: Record<string, unknown>,
  fetch: (rangeSpec: string) => Promise<Record<string, unknown>>,
  /** Values to ask for at once after the first answer; undefined asks for the rest (`N-*`) and takes what comes. */
  step?: number,
): Promise<string[]> {
  const plain = plainValues(attribute, first);
  let chunk = chunkOf(chunksOf(attribute, first), attribute);
  if (chunk === undefined) return plain ?? [];
  if (plain !== undefined && plain.length > 0)
    throw new RangedValuesError(`the entry holds both ${attribute} and ${chunk.key}: which is it?`);
  if (chunk.low !== 0) throw new RangedValuesError(`the first values of ${attribute} came as ${chunk.key}, not from 0`);
  if (chunk.values.length === 0) return [];
  const values = [...chunk.values];
  while (chunk.high !== undefined) {
    // A high bound below the low one would ask for the same values again, for ever.
    if (chunk.high < chunk.low) throw new RangedValuesError(`${chunk.key} does not advance`);
    const low = chunk.high + 1;
    const asked = `${attribute};range=${low}-${step === undefined ? '*' : low + step - 1}`;
    const entry = await fetch(asked);
    if ((plainValues(attribute, entry) ?? []).length > 0)
      throw new RangedValuesError(`asked for ${asked}, the server answered ${attribute} without a range`);
    const next = chunkOf(chunksOf(attribute, entry), asked);
    if (next === undefined) break;
    if (next.low !== low) throw new RangedValuesError(`asked for ${asked}, the server answered ${next.key}`);
    // A range without values: they ended where the last one did (whatever bound ldapts or the server put on it).
    if (next.values.length === 0) break;
    values.push(...next.values);
    chunk = next;
  }
  return values;
}
