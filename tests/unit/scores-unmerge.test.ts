/**
 * λ scores after an unmerge (shared/scores/unmerge.ts): the daily run reuses a profile's last-order
 * date while its order count is the one it was looked up for. The survivor of a merge, scored with
 * the other person's later order as its last, is unmerged and then orders again (an order dated
 * between the two): back at the cached count, it must not keep the other person's date.
 */
import { describe, expect, it } from 'vitest';
import { composeUnmergeHooks, type ProfileRecord } from '#shared/identity';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache } from '#shared/identity/process';
import { live } from '#shared/identity/testing/sim';
import { unmergeProfile } from '#shared/identity/unmerge';
import { identityConfig } from '#shared/identity/config';
import type { NormalizedMessage } from '#shared/message/types';
import { runScores, SCORES_ORDERS_ATTR, scoresUnmergeHooks, storedScores, type ScoresDeps } from '#shared/scores';
import { EMPTY_RUNTIME, fixedRuntimeLoader, segmentUnmergeHooks, type RuntimeLoader } from '#shared/segments';

process.env.CAIRN_LOG_LEVEL ??= 'error';
const config = identityConfig();
const NOW = Date.parse('2024-04-01T00:00:00.000Z');
let n = 0;
const msg = (m: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>): NormalizedMessage => {
  const at = new Date(Date.UTC(2024, 3, 1) + ++n * 1000).toISOString();
  return { messageId: `m-${n}`, properties: {}, traits: {}, context: {}, timestamp: at, receivedAt: at, sourceId: 'crm', trust: 'server', ...m };
};
const order = (userId: string, timestamp: string) => msg({ type: 'track', event: 'Order Completed', userId, timestamp, properties: { revenue: 10 } });

describe('λ scores after an unmerge', () => {
  it("forgets both sides' cached last-order date: the next run looks it up on each side's own timeline", async () => {
    const store = new MemoryStore();
    let seq = 0;
    const send = async (ms: NormalizedMessage[]) =>
      expect(
        (
          await processBatch(
            { store, config, cache: new ResolveCache() },
            's',
            ms.map((message) => ({ message, seq: String(++seq).padStart(8, '0') })),
          )
        ).ok,
      ).toBe(true);
    const loader: RuntimeLoader = fixedRuntimeLoader(EMPTY_RUNTIME);
    const deps: ScoresDeps = {
      store,
      loader,
      effects: { membersTable: 'none', schedules: false },
      profiles: async (_segments, each) => {
        for (const p of live(store)) each(p);
      },
    };
    const holder = (id: string): ProfileRecord => live(store).find((p) => p.identities.some((i) => i.value === id))!;
    const lastOrder = (id: string) => storedScores(holder(id)).last_order_at;

    await send([msg({ type: 'identify', userId: 'ada' }), order('ada', '2024-01-01T00:00:00.000Z')]);
    await send([msg({ type: 'identify', userId: 'bob' }), order('bob', '2024-03-01T00:00:00.000Z')]);
    // The wrong link: Bob merged into Ada's profile, which the daily run then scores with Bob's order as its last.
    await send([msg({ type: 'alias', userId: 'ada', previousId: 'bob' })]);
    await runScores(deps, { now: NOW });
    expect(lastOrder('ada')).toBe('2024-03-01T00:00:00.000Z');
    expect(holder('ada').extra?.[SCORES_ORDERS_ATTR]).toBe(2);

    const recheck = async () => {};
    const hooks = composeUnmergeHooks(segmentUnmergeHooks({ loader, schedules: false, recheck }), scoresUnmergeHooks());
    await unmergeProfile({ store, config, hooks }, 'user_id:bob');
    expect(holder('ada').profileId).not.toBe(holder('bob').profileId);
    for (const id of ['ada', 'bob']) expect(holder(id).extra?.[SCORES_ORDERS_ATTR]).toBeUndefined();

    // Ada orders again (an order dated in February): two orders, the count the cached date was for.
    await send([order('ada', '2024-02-01T00:00:00.000Z')]);
    expect(holder('ada').computed.order_count).toBe(2);
    const r = await runScores(deps, { now: NOW });
    expect(lastOrder('ada')).toBe('2024-02-01T00:00:00.000Z');
    expect(lastOrder('bob')).toBe('2024-03-01T00:00:00.000Z');
    expect(r.lookups).toBe(2);
  });
});
