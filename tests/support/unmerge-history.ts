/** The unmerge property tests' history: a link message and resolution in crashing, replayed batches. */
import { InjectedCrash, type MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type ResolveHooks } from '#shared/identity/process';

import type { NormalizedMessage } from '#shared/message/types';
import { config, NOW, rng } from '#shared/identity/testing/sim';

/** The alias that merges u1 with a0-0, the i-th message of a run. */
export const link = (i: number): NormalizedMessage =>
  ({
    messageId: `link-${i}`,
    type: 'alias',
    userId: 'u1',
    previousId: 'a0-0',
    properties: {},
    traits: {},
    context: {},
    timestamp: new Date(Date.UTC(2024, 4, 1, 0, 3)).toISOString(),
    receivedAt: new Date(Date.UTC(2024, 4, 2) + i * 1000 + 500).toISOString(),
    sourceId: 'src',
  }) as NormalizedMessage;

/** Sequential batches of random sizes, cut before the link; some replayed, some crashed and retried. */
export async function run(store: MemoryStore, msgs: NormalizedMessage[], seed: number, cut: number, hooks?: ResolveHooks) {
  const rand = rng(seed);
  let cache = new ResolveCache();
  let seq = 0;
  const recs = msgs.map((message) => ({ message, seq: String(49_000_000_000 + ++seq) }));
  for (let pos = 0; pos < recs.length; ) {
    const end = Math.min(recs.length, pos + 1 + rand(5), pos < cut ? cut : recs.length);
    const batch = recs.slice(pos, end);
    if (rand(6) === 0) store.crashAfter = rand(6);
    try {
      const res = await processBatch({ store, config, cache, now: NOW, ...(hooks ? { hooks } : {}) }, 'shardId-0', batch);
      if (res.ok && rand(6) !== 0) pos = end;
    } catch (e) {
      if (!(e instanceof InjectedCrash)) throw e;
      if (rand(2) === 0) cache = new ResolveCache();
    }
  }
  store.crashAfter = undefined;
}
