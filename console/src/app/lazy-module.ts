/**
 * A module fetched once, on first use or ahead of it, whose export can then be read synchronously
 * (lazy.tsx draws a page in the same render once its module is in).
 */
export interface LazyModule<T> {
  /** The module's default export once it is in, else undefined. */
  loaded(): T | undefined;
  /** Fetches it (once; again after a failure). */
  preload(): Promise<T>;
}

export function lazyModule<T>(load: () => Promise<{ default: T }>): LazyModule<T> {
  let value: { v: T } | undefined;
  let loading: Promise<T> | undefined;
  return {
    loaded: () => value?.v,
    preload: () =>
      (loading ??= load().then(
        (m) => {
          value = { v: m.default };
          return m.default;
        },
        (e: unknown) => {
          // A failed fetch (a deploy replaced the chunk, the network dropped) is tried again.
          loading = undefined;
          throw e;
        },
      )),
  };
}
