/**
 * What λ resolve publishes is at least once across its retries (in-memory store, so a conflict or a
 * failure can be placed exactly): every message applied in any attempt of a delivery gets its bus
 * event, every merge its `profile.merged`, every profile written its lake snapshot — also when the
 * invocation failed after the writes and the records are delivered again (then everything is a
 * duplicate). A duplicate the collector sent (same messageId, a new record) is not published again.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BusEvent, Publisher } from '#shared/identity/bus';
import { identityConfig } from '#shared/identity/config';
import { InjectedCrash, MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type LakeSink, type ResolverDeps } from '#shared/identity/process';
import type { BatchRecord } from '#shared/identity/resolve';
import { profileIdFor } from '#shared/identity/profile';
import type { ProfileRecord } from '#shared/identity/types';
import type { NormalizedMessage } from '#shared/message/types';
import { messagesOf, NOW, rng } from '#shared/identity/testing/sim';
import { evArbitrary } from '../support/identity-arbitraries';
import { messageStream } from '../support/segment-batches';

process.env.CAIRN_LOG_LEVEL ??= 'error';
const config = identityConfig();

const { T, msg, records } = messageStream('bus', 1_000_000, Date.UTC(2024, 0, 1));

/** The identity store, where another shard's batch runs just before a chosen identifier is claimed. */
class RacingStore extends MemoryStore {
  race: { key: string; run: () => Promise<unknown> } | undefined;
  override async claimIdentity(key: string, to: string, from: string | null): Promise<boolean> {
    const r = this.race;
    if (r && key === r.key) {
      this.race = undefined;
      await r.run();
    }
    return super.claimIdentity(key, to, from);
  }
}

interface Sink {
  bus: BusEvent[];
  lake: ProfileRecord[][];
}
const sink = (): Sink => ({ bus: [], lake: [] });
function deps(store: MemoryStore, s: Sink, extra: Partial<ResolverDeps> = {}): ResolverDeps {
  const publisher: Publisher = { publish: async (e) => void s.bus.push(...structuredClone(e)) };
  const lake: LakeSink = async (b) => void s.lake.push(structuredClone(b.changed));
  return { store, config, cache: new ResolveCache(), publisher, lake, now: () => new Date(T + 86_400_000), ...extra };
}
const failing: Publisher = {
  publish: async () => {
    throw new Error('bus unavailable');
  },
};

const published = (s: Sink, m: NormalizedMessage) => s.bus.filter((e) => e.detailType === m.type && e.detail.messageId === m.messageId);
const mergedAway = (s: Sink) => new Set(s.bus.filter((e) => e.detailType === 'profile.merged').flatMap((e) => e.detail.merged as string[]));
const snapshotted = (s: Sink) => new Set(s.lake.flat().map((p) => `${p.profileId}@${p.version}`));
const profileOf = (store: MemoryStore, userId: string) =>
  [...store.profiles.values()].find((p) => !p.mergedInto && p.identities.some((i) => i.type === 'user_id' && i.value === userId))!;
const anonProfile = (store: MemoryStore, anon: string) => store.profiles.get(store.identities.get(`anonymous_id:${anon}`)!.profileId)!;

describe('resolve publishes at least once across attempts', () => {
  it('an attempt that wrote profiles then hit a claim conflict: their messages are published and snapshotted', async () => {
    const store = new RacingStore();
    const s = sink();
    const users = ['b-a1', 'b-a2', 'b-a3'];
    store.race = {
      key: 'email:b-a3@example.com',
      run: () =>
        processBatch(
          deps(store, sink()),
          'shardId-000000000001',
          records([msg({ type: 'identify', anonymousId: 'pos-a3', traits: { email: 'b-a3@example.com' } })]),
        ),
    };
    const msgs = users.flatMap((userId) => [
      msg({ type: 'identify', userId, traits: { email: `${userId}@example.com` } }),
      msg({ type: 'track', userId, event: 'Order Completed', properties: { total: 10 } }),
    ]);
    const res = await processBatch(deps(store, s), 'shardId-000000000000', records(msgs));
    expect(res.ok).toBe(true);
    expect(res.attempts).toBe(2);
    for (const m of msgs) expect(published(s, m), m.messageId).toHaveLength(1);
    // Every profile the batch wrote (in either attempt) is in its lake snapshot, at its stored version.
    for (const u of users) expect(snapshotted(s)).toContain(`${profileOf(store, u).profileId}@${profileOf(store, u).version}`);
    expect(s.lake).toHaveLength(1);
  });

  it('a merge done by an attempt that then conflicted is published', async () => {
    const store = new RacingStore();
    const s = sink();
    await processBatch(
      deps(store, sink()),
      'shardId-000000000001',
      records([msg({ type: 'page', anonymousId: 'anon-m', name: 'Home' }), msg({ type: 'track', userId: 'u-m', event: 'Viewed' })]),
    );
    const x = anonProfile(store, 'anon-m').profileId;
    const y = profileOf(store, 'u-m').profileId;
    expect(x).not.toBe(y);
    // The login merges the anonymous profile and the user's; its new email was meanwhile claimed by
    // the store's till (another shard): the first attempt froze one profile, then lost the claim.
    store.race = {
      key: 'email:m@example.com',
      run: () =>
        processBatch(
          deps(store, sink()),
          'shardId-000000000002',
          records([msg({ type: 'identify', anonymousId: 'pos-m', traits: { email: 'm@example.com' } })]),
        ),
    };
    const login = msg({ type: 'identify', userId: 'u-m', anonymousId: 'anon-m', traits: { email: 'm@example.com' } });
    const res = await processBatch(deps(store, s), 'shardId-000000000000', records([login]));
    expect(res.ok).toBe(true);
    expect(res.attempts).toBe(2);
    const survivor = profileOf(store, 'u-m');
    const frozen = [x, y].filter((id) => id !== survivor.profileId);
    expect(frozen).toHaveLength(1);
    expect(store.profiles.get(frozen[0]!)!.mergedInto).toBe(survivor.profileId);
    expect([...mergedAway(s)]).toContain(frozen[0]);
    const ev = s.bus.find((e) => e.detailType === 'profile.merged' && (e.detail.merged as string[]).includes(frozen[0]!))!;
    expect(ev.detail).toMatchObject({ survivor: survivor.profileId, messageId: login.messageId });
    expect(published(s, login)).toHaveLength(1);
    // Both profiles' final versions are in the batch's snapshot.
    for (const id of [x, y]) expect(snapshotted(s)).toContain(`${id}@${store.profiles.get(id)!.version}`);
  });

  it('a batch that wrote everything and failed to publish publishes its messages and merges on re-delivery', async () => {
    const store = new MemoryStore();
    const s = sink();
    await processBatch(deps(store, sink()), 'shardId-000000000001', records([msg({ type: 'page', anonymousId: 'anon-r', name: 'Home' })]));
    const x = anonProfile(store, 'anon-r').profileId;
    const msgs = [
      msg({ type: 'track', userId: 'u-r', event: 'Viewed' }),
      msg({ type: 'identify', userId: 'u-r', anonymousId: 'anon-r', traits: { email: 'r@example.com' } }),
      msg({ type: 'track', userId: 'u-r', event: 'Order Completed', properties: { total: 5 } }),
    ];
    const batch = records(msgs);
    const lost = sink();
    await expect(
      processBatch(
        deps(store, lost, {
          publisher: failing,
          lake: async () => {
            throw new Error('s3 unavailable');
          },
        }),
        'shardId-000000000000',
        batch,
      ),
    ).rejects.toThrow();
    const survivor = profileOf(store, 'u-r').profileId;
    const counted = profileOf(store, 'u-r').computed.event_count;
    const frozen = [x, profileIdFor(msgs[0]!.messageId)].filter((id) => id !== survivor);
    expect(frozen).toHaveLength(1);
    // The user's profile was born and merged in this batch: never written, but merged into the survivor.
    expect(profileOf(store, 'u-r').mergedFrom).toEqual(frozen);
    // Lambda delivers the same records again (a new container: a cold cache).
    const again = await processBatch(deps(store, s), 'shardId-000000000000', batch);
    expect(again.ok).toBe(true);
    expect(again.plan!.profiles).toHaveLength(0); // all duplicates: nothing rewritten, nothing counted twice
    expect(profileOf(store, 'u-r').computed.event_count).toBe(counted);
    for (const m of msgs) expect(published(s, m), m.messageId).toHaveLength(1);
    for (const e of s.bus.filter((e) => e.detailType !== 'profile.merged')) expect((e.detail.profile as { profileId: string }).profileId).toBe(survivor);
    const ev = s.bus.find((e) => e.detailType === 'profile.merged')!;
    expect(ev?.detail).toMatchObject({ survivor, merged: frozen, messageId: msgs[1]!.messageId });
    expect(snapshotted(s)).toContain(`${survivor}@${store.profiles.get(survivor)!.version}`);
  });

  it('a duplicate the collector sent (same messageId, a new record) is not published again; a re-delivery is', async () => {
    const store = new MemoryStore();
    const s = sink();
    const m = msg({ type: 'track', userId: 'u-d', event: 'Viewed' });
    const first = records([m, msg({ type: 'page', userId: 'u-d', name: 'Home' }), { ...m }]);
    await processBatch(deps(store, s), 'shardId-000000000000', first);
    expect(published(s, m)).toHaveLength(1); // the copy in the same batch is not published
    await processBatch(deps(store, s), 'shardId-000000000000', records([{ ...m }, msg({ type: 'page', userId: 'u-d', name: 'Docs' })]));
    expect(published(s, m)).toHaveLength(1); // nor the copy in a later batch
    expect(profileOf(store, 'u-d').computed.event_count).toBe(3);
    // The first batch's records delivered again (a retry of the same Kinesis records): published again.
    const s2 = sink();
    await processBatch(deps(store, s2), 'shardId-000000000000', first);
    expect(published(s2, m)).toHaveLength(1);
  });
});

describe('resolve publishes at least once (property)', () => {
  const evArb = (people: number) => evArbitrary(people);

  const historyArb = fc.integer({ min: 1, max: 4 }).chain((people) => fc.array(evArb(people), { minLength: 1, maxLength: 30 }));

  it('conflicts, crashes, failed publishes and re-deliveries: every message and merge is published, every profile snapshotted', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.integer({ min: 1, max: 3 }), fc.integer(), async (h, shardCount, seed) => {
        const msgs = messagesOf(h);
        const rand = rng(seed);
        const store = new MemoryStore();
        const s = sink();
        let sq = 0;
        // Shards with their own (stale) caches: writes of one make another's cached reads conflict.
        const shards = Array.from({ length: shardCount }, (_, i) => ({ id: `shardId-${i}`, recs: [] as BatchRecord[], pos: 0, cache: new ResolveCache() }));
        msgs.forEach((m, i) => {
          shards[((i * 7 + seed) >>> 0) % shardCount]!.recs.push({ message: m, seq: String(49_000_000 + ++sq) });
        });
        const crash = () => rand(6) === 0;
        for (let round = 0; shards.some((x) => x.pos < x.recs.length); round++) {
          if (round > 2000) throw new Error('did not converge');
          const ready = shards.filter((x) => x.pos < x.recs.length);
          const sh = ready[rand(ready.length)]!;
          const batch = sh.recs.slice(sh.pos, sh.pos + 1 + rand(6));
          if (rand(6) === 0) store.crashAfter = rand(6);
          const publisher: Publisher = {
            publish: async (e) => {
              if (crash()) throw new InjectedCrash();
              s.bus.push(...e);
            },
          };
          const lake: LakeSink = async (b) => {
            if (crash()) throw new InjectedCrash();
            s.lake.push(structuredClone(b.changed));
          };
          try {
            const res = await processBatch({ store, config, cache: sh.cache, now: NOW, publisher, lake }, sh.id, batch);
            if (res.ok) {
              if (rand(6) !== 0) sh.pos += batch.length; // else: delivered again
            } else sh.pos = sh.recs.findIndex((r) => r.seq === res.failedSeq);
          } catch (e) {
            if (!(e instanceof InjectedCrash)) throw e;
            if (rand(2) === 0) sh.cache = new ResolveCache();
          }
        }
        store.crashAfter = undefined;
        const ids = new Set(s.bus.map((e) => `${e.detailType}/${String(e.detail.messageId)}`));
        for (const m of msgs) expect(ids.has(`${m.type}/${m.messageId}`), m.messageId).toBe(true);
        const merged = mergedAway(s);
        for (const p of store.profiles.values()) if (p.mergedInto) expect(merged.has(p.profileId), `merge of ${p.profileId}`).toBe(true);
        const snaps = snapshotted(s);
        for (const p of store.profiles.values()) expect(snaps.has(`${p.profileId}@${p.version}`), `snapshot of ${p.profileId}@${p.version}`).toBe(true);
        // Each message counts once.
        const total = [...store.profiles.values()].filter((p) => !p.mergedInto).reduce((a, p) => a + p.computed.event_count, 0);
        expect(total).toBe(msgs.length);
      }),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 150) },
    );
  });
});
