/**
 * Canonical JSON: object keys sorted, no white space, dates as `{"$date": ISO}` and bigints as
 * `{"$int": "7"}`, undefined members dropped. The same value always gives the same text, which
 * is what hashing (the audit chain) and change detection (identity versions) need.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(tag(value));
}

function tag(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return { $int: value.toString() };
    return value;
  }
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : tag(v)));
  const source =
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  if (source !== value) return tag(source);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = tag(v);
  }
  return out;
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
