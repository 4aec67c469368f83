/**
 * Journey stats counters sharded by person (docs/deploy.md#known-limits-single-hot-items): the shard
 * of a person is stable, the shards spread, N follows λ journey's fan-out cap, the reader sums the
 * shards and the unsharded item of older versions, and a redelivered trigger counts nothing twice.
 * λ journey's definitions cache (one read per journey per TTL per container) is tested here too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, JOURNEYS, journeyStatsShards } from '#shared/config/resources';
import { loadDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { ProfileRecord } from '#shared/identity/types';
import { cachedJourneys, currentOnly, handleJourney, type JourneyDeps } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { journeyStats } from '#shared/journeys/stats';
import { statsKey, statsShard, stepStat } from '#shared/journeys/store';

const dir = join(__dirname, '..', '..', 'examples');
const defs = loadDefinitions(['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') })));
const coupon = defs.find((d) => d.kind === 'journey' && d.id === 'new-store-coupon') as JourneyDef;

function profile(id: string): ProfileRecord {
  const now = new Date().toISOString();
  return {
    profileId: id,
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [{ type: 'email', value: `${id}@example.com` }],
    traits: { firstName: id, email: `${id}@example.com` },
    traitK: {},
    computed: { first_seen: now, last_seen: now, event_count: 1, order_count: 1 } as ProfileRecord['computed'],
    consent: { email: { granted: true, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

function deps(store: MemoryJourneyStore, sent: string[]): JourneyDeps {
  const send = async () => {
    sent.push('x');
    return { status: 'sent' as const, result: 'msg-1' };
  };
  return {
    store,
    profiles: { get: async (id) => profile(id) },
    journey: async () => currentOnly(coupon),
    waits: { create: async () => {}, cancel: async () => {} },
    senders: { email: send, sms: send, webhook: send, traits: send, event: send },
    now: () => Date.now(),
  };
}

const trigger = (profileId: string) => ({
  journeyId: coupon.id,
  kind: 'trigger' as const,
  event: {
    id: `evt-${profileId}`,
    'detail-type': 'track',
    detail: {
      messageId: `m-${profileId}`,
      type: 'track',
      event: 'Order Completed',
      timestamp: new Date().toISOString(),
      properties: { store_id: 'SH-001', total: 600, order_id: `O-${profileId}` },
      profile: { profileId },
    },
  },
});

describe('stats shards', () => {
  it('N follows the fan-out cap: 8 at the default 50, doubling with it, never below 1', () => {
    expect(FUNCTIONS.journey.reservedConcurrency).toBe(50);
    expect(JOURNEYS.statsShards).toBe(journeyStatsShards(FUNCTIONS.journey.reservedConcurrency));
    expect(journeyStatsShards(50)).toBe(8); // 50 × 20 × 2 × 2 × 2 = 8,000 / 1,000
    expect(journeyStatsShards(100)).toBe(16);
    expect(journeyStatsShards(60)).toBe(16); // 9.6 → 10 → 16
    expect(journeyStatsShards(1)).toBe(1);
  });

  it('a person always lands on the same shard, and 10,000 people spread over all of them', () => {
    expect(statsShard('p-123')).toBe(statsShard('p-123'));
    const counts = new Array<number>(JOURNEYS.statsShards).fill(0);
    const shards = Array.from({ length: 10_000 }, (_, i) => statsShard(`profile-${i}`));
    expect(shards.every((n) => Number.isInteger(n) && n >= 0 && n < JOURNEYS.statsShards)).toBe(true);
    for (const n of shards) counts[n]!++;
    const mean = 10_000 / JOURNEYS.statsShards;
    for (const c of counts) expect(Math.abs(c - mean) / mean).toBeLessThan(0.15);
  });

  it('the reader sums every shard and the unsharded item of older versions', async () => {
    const store = new MemoryJourneyStore();
    store.stats.set(`stats#${coupon.id}`, { entered: 5, [stepStat('coupon', 'sent')]: 4 });
    await store.addStats(coupon.id, { entered: 1, [stepStat('coupon', 'sent')]: 1 }, 'a');
    await store.addStats(coupon.id, { entered: 1, capped: 1 }, 'b');
    await store.addStats(coupon.id, { entered: 1 }, 'c');
    // Another journey's counters (a prefix of this id) are not summed in.
    await store.addStats(`${coupon.id}-2`, { entered: 100 }, 'a');
    const s = await journeyStats(coupon.id, store, async () => ({ definition: coupon }));
    expect(s).toMatchObject({ entered: 8, capped: 1, completed: 0 });
    expect(s.steps.coupon).toEqual({ type: 'email', sent: 5, failed: 0, skipped: 0 });
  });

  it("a trigger delivered twice (one after the other and concurrently) counts once, on the person's shard", async () => {
    const store = new MemoryJourneyStore();
    const sent: string[] = [];
    const d = deps(store, sent);
    const people = Array.from({ length: 40 }, (_, i) => `p-${i}`);
    for (const p of people.slice(0, 20)) {
      expect((await handleJourney(trigger(p), d, 'arn:self')).outcome).toBe('entered');
      expect((await handleJourney(trigger(p), d, 'arn:self')).outcome).toBe('duplicate');
    }
    for (const p of people.slice(20)) {
      const outcomes = await Promise.all([handleJourney(trigger(p), d, 'arn:self'), handleJourney(trigger(p), d, 'arn:self')]);
      expect(outcomes.map((o) => o.outcome).sort()).toEqual(['duplicate', 'entered']);
    }
    expect(sent).toHaveLength(40);
    const s = await journeyStats(coupon.id, store, async () => ({ definition: coupon }));
    expect(s.entered).toBe(40);
    expect(s.steps.coupon).toMatchObject({ sent: 40, failed: 0 });
    // Each person's entry and send sit on that person's shard; 40 people use several shards.
    const used = new Set(people.map((p) => statsShard(p)));
    expect(used.size).toBeGreaterThan(1);
    for (const n of used) {
      const onShard = people.filter((p) => statsShard(p) === n).length;
      expect(store.stats.get(statsKey(coupon.id, n, 1))).toMatchObject({ entered: onShard, [stepStat('coupon', 'sent')]: onShard });
    }
    // Counted for the journey's version (1 here): docs/journeys.md#versions.
    expect([...store.stats.keys()].every((k) => /^stats#new-store-coupon#v1#\d+$/.test(k))).toBe(true);
  });
});

describe("λ journey's definitions cache", () => {
  it('reads a journey once per TTL, shares a read in flight, and does not keep a miss', async () => {
    let t = 0;
    const reads: string[] = [];
    let current: JourneyDef | null = coupon;
    const get = cachedJourneys(
      async (id) => {
        reads.push(id);
        await new Promise((r) => setTimeout(r, 5));
        return id === coupon.id ? current : null;
      },
      5_000,
      () => t,
    );
    const [a, b] = await Promise.all([get(coupon.id), get(coupon.id)]);
    expect(a).toBe(coupon);
    expect(b).toBe(coupon);
    expect(reads).toEqual([coupon.id]);
    current = { ...coupon, name: 'changed' };
    t = 4_999;
    expect((await get(coupon.id))?.name).toBe(coupon.name);
    expect(reads).toHaveLength(1);
    t = 5_000;
    expect((await get(coupon.id))?.name).toBe('changed');
    expect(reads).toHaveLength(2);
    expect(await get('nope')).toBeNull();
    expect(await get('nope')).toBeNull();
    expect(reads.filter((x) => x === 'nope')).toHaveLength(2);
  });

  it('a failed read is not cached', async () => {
    let fail = true;
    const get = cachedJourneys(
      async () => {
        if (fail) throw new Error('throttled');
        return coupon;
      },
      5_000,
      () => 0,
    );
    await expect(get(coupon.id)).rejects.toThrow('throttled');
    fail = false;
    expect(await get(coupon.id)).toBe(coupon);
  });
});
