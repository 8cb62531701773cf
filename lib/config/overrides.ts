/** Every field optional, recursively: what an environment may override. Arrays are replaced whole. */
export type Overrides<T> = {
  readonly [K in keyof T]?: NonNullable<T[K]> extends readonly unknown[]
    ? T[K]
    : NonNullable<T[K]> extends object ? Overrides<NonNullable<T[K]>> | undefined : T[K];
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `base` with `overrides` laid over it: objects merge key by key, everything else (numbers,
 * strings, arrays) is replaced, and a key set to `undefined` removes the default (`autoscaling:
 * undefined` turns autoscaling off in that environment). Neither input is modified.
 */
export function applyOverrides<T>(base: T, overrides: Overrides<T> | undefined): T {
  if (overrides === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides as T;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) {
      delete result[key];
      continue;
    }
    result[key] = isPlainObject(value) && isPlainObject(result[key]) ? applyOverrides<Record<string, unknown>>(result[key] as Record<string, unknown>, value as Overrides<Record<string, unknown>>) : value;
  }
  return result as T;
}
