/**
 * Canonical JSON: object keys sorted, no white space, dates as `{"$date": ISO}` and bigints as
 * `{"$int": "7"}`, undefined members dropped. The same value always gives the same text, which
 * is what hashing (the audit chain) and change detection (identity versions) need. Written as a
 * direct serialiser: imports encode hundreds of thousands of records.
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

function write(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `{"$int":"${value.toString()}"}`;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  if (value instanceof Date) return `{"$date":"${value.toISOString()}"}`;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (write(value[i]) ?? 'null');
    return out + ']';
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write((toJSON as () => unknown).call(value));
  const keys = Object.keys(value as object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = write((value as Record<string, unknown>)[key]);
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + v;
    first = false;
  }
  return out + '}';
}

/** Parses canonical JSON back, restoring dates and bigints. */
export function parseCanonicalJson<T = unknown>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === '$date') return new Date((v as { $date: string }).$date);
      if (keys.length === 1 && keys[0] === '$int') return BigInt((v as { $int: string }).$int);
    }
    return v;
  }) as T;
}
