/** Waiting in tests: one sleep, and one poll that fails loudly, naming what it waited for. */

import { sleep } from '#shared/lang';

// The one sleep (shared/lang.ts); tests take it from here with the poll.
export { sleep };

export interface UntilOptions {
  /** How long to wait before failing (default 20 s). */
  ms?: number;
  /** Pause between reads (default 100 ms). */
  every?: number;
}

/**
 * Reads `get` until `ok` holds and returns that value; after `ms` it throws, naming `what` and the
 * last value read, so a timeout reads as what was awaited rather than as a later assertion on stale data.
 */
export async function until<T>(what: string, get: () => T | Promise<T>, ok: (v: T) => boolean, opts: UntilOptions | number = {}): Promise<T> {
  const { ms = 20_000, every = 100 } = typeof opts === 'number' ? { ms: opts } : opts;
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; last value: ${preview(v)}`);
    await sleep(every);
  }
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 500 ? `${s.slice(0, 500)}…` : s;
}
