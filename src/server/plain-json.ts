/**
 * A value as JSON carries it, with Tenure's conventions (those of `--json`): dates as ISO text,
 * big integers as numbers when safe, absent fields left out. What a route returns is this, so the
 * API and the command line give the same document.
 */
export function plainJson<T>(value: T): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint')
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
      return v;
    }),
  ) as unknown;
}
