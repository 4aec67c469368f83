/**
 * Small language helpers every room uses: one `sleep`, one plain-object guard. Nothing here knows
 * about AWS or the CDP.
 */

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Whether `v` is a plain object: its prototype is Object.prototype or null. Arrays, class instances
 * (Date, Map, Set, Buffer…) and functions are not. JSON.parse only makes plain objects (a `"__proto__"`
 * key becomes an own property, the prototype stays Object.prototype), so for parsed JSON this is
 * "a JSON object"; reading properties through it never reaches a prototype someone swapped in.
 * `T` narrows further for a caller that knows more (parsed JSON: `isPlainObject<JsonObject>(v)`).
 */
export function isPlainObject<T extends object = Record<string, unknown>>(v: unknown): v is T {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
