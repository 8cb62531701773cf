/** Every field optional, recursively: what an environment may override. Arrays are replaced whole. */
export type Overrides<T> = {
  readonly [K in keyof T]?: NonNullable<T[K]> extends readonly unknown[]
    ? T[K]
    : NonNullable<T[K]> extends object ? Overrides<NonNullable<T[K]>> | undefined : T[K];
};

/** The keys of `T` that are not optional. */
export type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

/**
 * Overrides `O`, as written, checked against the settings `T`: a key that `T` requires and `O` sets
 * to `undefined` (which would remove it) becomes `never`, so `web: undefined` for a required `web`
 * does not compile. {@link Overrides} alone cannot say this: without `exactOptionalPropertyTypes`
 * an optional property always accepts `undefined`, so the check needs the literal's own type.
 */
export type CheckedOverrides<O, T> = {
  readonly [K in keyof O]: K extends keyof T
    ? undefined extends O[K]
      ? K extends RequiredKeys<T> ? never : O[K]
      : NonNullable<T[K]> extends readonly unknown[] ? O[K]
        : O[K] extends object ? NonNullable<T[K]> extends object ? CheckedOverrides<O[K], NonNullable<T[K]>> : O[K] : O[K]
    : O[K];
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
