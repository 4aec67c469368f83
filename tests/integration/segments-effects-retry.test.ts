/**
 * Segment effects are at least once across λ resolve's retries (the members index on dynalite, the
 * identity store in memory so a conflict or a failure can be placed exactly):
 *
 * - a batch attempt that writes some profiles and then hits a conflict: the re-run does not rewrite
 *   those profiles (their messages are applied already), yet their membership is published and indexed;
 * - a batch that writes its profiles and then fails before the effects: the re-delivered batch
 *   (all duplicates, nothing to write) publishes and indexes them;
 * - a writer that does not settle membership (an unmerge's last write) lands between the effects'
 *   publish and their record: what was published is recorded on its record, never published again;
 * - two appliers publishing the same transition from the same record give it the same id
 *   (`detail.messageId`, which λ journey dedupes on); the person's next transitions get new ones.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { messageStream, useEmulators } from '#tests/support/segment-batches';
import { loadDefinitions } from '#shared/definitions';
import type { BusEvent, Publisher } from '#shared/identity/bus';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type ResolverDeps } from '#shared/identity/process';
import { segmentHooks } from '#shared/segments/hooks';
import { applyEffects } from '#shared/segments/effects';
import { newProfile } from '#shared/identity/profile';
import type { ProfileRecord } from '#shared/identity/types';
import { listMembers } from '#shared/segments/members';
import { segmentMembersTableFromEnv } from '#functions/env';
import { compileRuntime, fixedRuntimeLoader } from '#shared/segments/runtime';

process.env.CAIRN_LOG_LEVEL = 'error';
const EXAMPLES = join(__dirname, '..', '..', 'examples');
const rt = compileRuntime(loadDefinitions(['computed-traits.yaml', 'segments.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') }))));
useEmulators('segfx');
const { T, msg, records } = messageStream('fx', 1_000_000);
/** A high-value customer (revenue ≥ 1000 and email consent) in two messages. */
const highValue = (userId: string) => [
  msg({ type: 'identify', userId, traits: { email: `${userId}@example.com` }, context: { consent: { email: true } } }),
  msg({ type: 'track', userId, event: 'Order Completed', properties: { total: 1200, store_id: 'SH-009' } }),
];

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

function deps(store: MemoryStore, bus: BusEvent[], extra: Partial<ResolverDeps> = {}): ResolverDeps {
  const publisher: Publisher = { publish: async (e) => void bus.push(...e) };
  return {
    store,
    config: identityConfig(),
    cache: new ResolveCache(),
    hooks: segmentHooks({ loader: fixedRuntimeLoader(rt), publisher, membersTable: segmentMembersTableFromEnv(), schedules: false }),
    ...extra,
  };
}
const profileOf = (store: MemoryStore, userId: string) =>
  [...store.profiles.values()].find((p) => !p.mergedInto && p.identities.some((i) => i.type === 'user_id' && i.value === userId))!;
const members = async () => (await listMembers(segmentMembersTableFromEnv(), 'high-value', { limit: 1000 })).members.map((m) => m.profileId);
const entered = (bus: BusEvent[], profileId: string) =>
  bus.filter((e) => e.detailType === 'segment.entered' && (e.detail as { profileId: string }).profileId === profileId).length;

describe('segment effects survive resolve retries', () => {
  it('profiles written by an attempt that then conflicted are published and indexed', async () => {
    const store = new RacingStore();
    const bus: BusEvent[] = [];
    const users = ['fx-a1', 'fx-a2', 'fx-a3'];
    // The first attempt writes all three profiles, then finds fx-a3's email claimed by the other
    // shard (a till sale with the same email): the re-run merges fx-a3 and leaves the others as written.
    store.race = {
      key: 'email:fx-a3@example.com',
      run: () =>
        processBatch(
          deps(store, bus),
          'shardId-000000000001',
          records([msg({ type: 'identify', anonymousId: 'pos-a3', traits: { email: 'fx-a3@example.com' } })]),
        ),
    };
    const res = await processBatch(deps(store, bus), 'shardId-000000000000', records(users.flatMap(highValue)));
    expect(res.ok).toBe(true);
    expect(res.attempts).toBe(2);
    expect(res.plan!.merges).toHaveLength(1);
    const ids = users.map((u) => profileOf(store, u).profileId);
    for (const u of users) expect(profileOf(store, u).extra?.segments).toEqual(['high-value']);
    expect((await members()).filter((m) => ids.includes(m)).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(entered(bus, id)).toBe(1);
    for (const u of users) expect(JSON.parse(String(profileOf(store, u).extra?.segPub)).s).toEqual(['high-value']);
  });

  it('a batch that wrote its profiles and failed before the effects gets them on re-delivery', async () => {
    const store = new MemoryStore();
    const bus: BusEvent[] = [];
    const batch = records(highValue('fx-b1'));
    const failing: Publisher = {
      publish: async () => {
        throw new Error('bus unavailable');
      },
    };
    await expect(processBatch(deps(store, bus, { publisher: failing }), 'shardId-000000000001', batch)).rejects.toThrow('bus unavailable');
    const id = profileOf(store, 'fx-b1').profileId;
    expect(profileOf(store, 'fx-b1').extra?.segments).toEqual(['high-value']);
    expect(await members()).not.toContain(id);
    // Lambda retries the same records (a new container: a cold cache).
    const again = await processBatch(deps(store, bus), 'shardId-000000000001', batch);
    expect(again.ok).toBe(true);
    expect(again.plan!.profiles).toHaveLength(0); // all duplicates: nothing rewritten
    expect(await members()).toContain(id);
    expect(entered(bus, id)).toBe(1);
    // Published once: a third delivery changes nothing.
    await processBatch(deps(store, bus), 'shardId-000000000001', batch);
    expect(entered(bus, id)).toBe(1);
  });
  it('a write that leaves membership alone, between the publish and its record, does not get the transition published twice', async () => {
    // The unmerge's last write (λ admin) lands while λ recheck is between publishing and recording.
    class Interleaved extends MemoryStore {
      between: (() => Promise<unknown>) | undefined;
      override async putProfile(rec: ProfileRecord, expected: number | null): Promise<boolean> {
        const run = this.between;
        if (run && rec.extra?.segPub !== undefined) {
          this.between = undefined;
          await run();
        }
        return super.putProfile(rec, expected);
      }
    }
    const store = new Interleaved();
    const p: ProfileRecord = {
      ...newProfile('p-interleaved', new Date(T).toISOString()),
      extra: { segments: ['buyers'], segPub: JSON.stringify({ s: ['buyers', 'repeat-buyers'], r: null }) },
    };
    expect(await store.putProfile(p, null)).toBe(true);
    const bus: BusEvent[] = [];
    const fx = { publisher: { publish: async (e: BusEvent[]) => void bus.push(...e) }, membersTable: segmentMembersTableFromEnv(), schedules: false as const };
    store.between = async () => {
      const cur = (await store.read({ profiles: [p.profileId] })).profiles.get(p.profileId)!;
      expect(await store.putProfile({ ...cur, version: cur.version + 1, mergedFrom: [] }, cur.version)).toBe(true);
    };
    await applyEffects(p, store, fx, new Date());
    expect(bus.map((e) => `${e.detailType} ${e.detail.segment}`)).toEqual(['segment.exited repeat-buyers']);
    // The next applier (a recheck, the person's next event) finds nothing left to publish.
    const latest = (await store.read({ profiles: [p.profileId] })).profiles.get(p.profileId)!;
    await applyEffects(latest, store, fx, new Date());
    expect(bus).toHaveLength(1);
    expect(JSON.parse(String(latest.extra?.segPub)).s).toEqual(['buyers']);
  });

  it('two appliers racing publish one transition under one id; the next transitions get new ids', async () => {
    const store = new MemoryStore();
    const p: ProfileRecord = { ...newProfile('p-twice', new Date(T).toISOString()), extra: { segments: ['buyers'] } };
    expect(await store.putProfile(p, null)).toBe(true);
    const bus: BusEvent[] = [];
    const fx = { publisher: { publish: async (e: BusEvent[]) => void bus.push(...e) }, membersTable: segmentMembersTableFromEnv(), schedules: false as const };
    // λ recheck and λ resolve both read the record before either recorded what it published.
    await Promise.all([applyEffects(p, store, fx, new Date()), applyEffects(p, store, fx, new Date())]);
    const ids = (type: string) => bus.filter((e) => e.detailType === type).map((e) => (e.detail as { messageId: string }).messageId);
    expect(ids('segment.entered')).toHaveLength(2);
    expect(new Set(ids('segment.entered')).size).toBe(1);
    const first = ids('segment.entered')[0]!;
    expect(first).toMatch(/^seg-[0-9a-f]{32}$/);
    // She leaves and comes back: each a transition of its own.
    const write = async (segments: string[]) => {
      const cur = (await store.read({ profiles: [p.profileId] })).profiles.get(p.profileId)!;
      const next = { ...cur, version: cur.version + 1, extra: { ...cur.extra, segments } };
      expect(await store.putProfile(next, cur.version)).toBe(true);
      await applyEffects(next, store, fx, new Date());
    };
    await write([]);
    await write(['buyers']);
    expect(bus.map((e) => e.detailType)).toEqual(['segment.entered', 'segment.entered', 'segment.exited', 'segment.entered']);
    const all = bus.map((e) => (e.detail as { messageId: string }).messageId);
    expect(new Set(all).size).toBe(3);
    expect(all[3]).not.toBe(first);
  });
});
