/**
 * Segment enter/exit events are about a person (docs/segments.md, Merges): when two profiles of one
 * person merge, the survivor inherits what was published for the merged-away one — no second
 * `segment.entered` for a segment the person was already in, the members index lists the survivor
 * only, and `segment.exited` when the merged person no longer qualifies. The members index on
 * dynalite, the identity store in memory.
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
import type { NormalizedMessage } from '#shared/message/types';
import type { ProfileRecord } from '#shared/identity/types';
import { segmentHooks } from '#shared/segments/hooks';
import { listMembers } from '#shared/segments/members';
import { compileRuntime, fixedRuntimeLoader } from '#shared/segments/runtime';
import { inheritedOf } from '#shared/segments/state';
import { applyEffectsBatch, type EffectsDeps } from '#shared/segments/effects';
import { segmentMembersTableFromEnv } from '#functions/env';
import { newProfile } from '#shared/identity/profile';

process.env.CAIRN_LOG_LEVEL = 'error';
const EXAMPLES = join(__dirname, '..', '..', 'examples');
const rt = compileRuntime(loadDefinitions(['computed-traits.yaml', 'segments.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') }))));
useEmulators('segmerge');
const { T, msg, records } = messageStream('mg', 2_000_000);
const order = (ids: Partial<NormalizedMessage>, total: number) =>
  msg({ type: 'track', event: 'Order Completed', properties: { total, store_id: 'SH-009' }, ...ids });
const consent = (ids: Partial<NormalizedMessage>, email: boolean) => msg({ type: 'identify', context: { consent: { email } }, ...ids });
/** The message that tells resolve the web user and the till's customer are one person. */
const link = (userId: string, pos: string) => msg({ type: 'identify', userId, anonymousId: pos });

/** The identity store, where recording what was published (`segPub`) can fail once (a crash after the index writes). */
class FlakyStore extends MemoryStore {
  failRecord = false;
  override async putProfile(rec: ProfileRecord, expected: number | null): Promise<boolean> {
    if (this.failRecord && rec.extra?.segPub !== this.profiles.get(rec.profileId)?.extra?.segPub) {
      this.failRecord = false;
      throw new Error('store unavailable');
    }
    return super.putProfile(rec, expected);
  }
}

function deps(store: MemoryStore, bus: BusEvent[], publisher?: Publisher): ResolverDeps {
  return {
    store,
    config: identityConfig(),
    cache: new ResolveCache(),
    hooks: segmentHooks({
      loader: fixedRuntimeLoader(rt),
      publisher: publisher ?? { publish: async (e) => void bus.push(...e) },
      membersTable: segmentMembersTableFromEnv(),
      schedules: false,
    }),
  };
}
const live = (store: MemoryStore, type: string, value: string) =>
  [...store.profiles.values()].find((p) => !p.mergedInto && p.identities.some((i) => i.type === type && i.value === value))!;
const members = async (ids: string[]) =>
  (await listMembers(segmentMembersTableFromEnv(), 'high-value', { limit: 1000 })).members
    .map((m) => m.profileId)
    .filter((m) => ids.includes(m))
    .sort();
const events = (bus: BusEvent[], type: string) =>
  bus
    .filter((e) => e.detailType === type && (e.detail as { segment: string }).segment === 'high-value')
    .map((e) => (e.detail as { profileId: string }).profileId);
const published = (store: MemoryStore, id: string) => JSON.parse(String(store.profiles.get(id)!.extra?.segPub)).s as string[];

/** Two profiles of one person: a till customer `pos` (created first: the survivor) and a web user. */
async function twoProfiles(tag: string, first: NormalizedMessage[], second: NormalizedMessage[]) {
  const store = new FlakyStore();
  const bus: BusEvent[] = [];
  const ids = { pos: `pos-${tag}`, user: `web-${tag}` };
  await processBatch(deps(store, bus), 'shardId-000000000000', records(first));
  await processBatch(deps(store, bus), 'shardId-000000000000', records(second));
  const b = live(store, 'anonymous_id', ids.pos).profileId;
  const a = live(store, 'user_id', ids.user).profileId;
  expect(a).not.toBe(b);
  return { store, bus, ids, a, b };
}

describe('segment membership across a merge', () => {
  it('the merged-away profile was the member: the survivor is indexed, no second segment.entered (also across a failed attempt)', async () => {
    const { store, bus, ids, a, b } = await twoProfiles(
      'm1',
      [order({ anonymousId: 'pos-m1' }, 100)],
      [consent({ userId: 'web-m1' }, true), order({ userId: 'web-m1' }, 1200)],
    );
    expect(events(bus, 'segment.entered')).toEqual([a]);
    expect(await members([a, b])).toEqual([a]);
    // The link batch's effects fail once before they are recorded, then Lambda re-delivers the records.
    const batch = records([link(ids.user, ids.pos)]);
    store.failRecord = true;
    await expect(processBatch(deps(store, bus), 'shardId-000000000000', batch)).rejects.toThrow('store unavailable');
    expect(inheritedOf(store.profiles.get(b)!)).toEqual({ s: ['high-value'], x: [a], g: ['high-value'] });
    expect(live(store, 'user_id', ids.user).profileId).toBe(b);
    expect((await processBatch(deps(store, bus), 'shardId-000000000000', batch)).ok).toBe(true);
    expect(store.profiles.get(b)!.extra?.segments).toEqual(['high-value']);
    expect(published(store, b)).toEqual(['high-value']);
    expect(store.profiles.get(b)!.extra?.segInh).toBeUndefined();
    expect(await members([a, b])).toEqual([b]);
    expect(events(bus, 'segment.entered')).toEqual([a]);
    expect(events(bus, 'segment.exited')).toEqual([]);
    // Further activity of the person publishes nothing new; once recorded, the inheritance is gone.
    await processBatch(deps(store, bus), 'shardId-000000000000', records([order({ anonymousId: ids.pos }, 50)]));
    expect(events(bus, 'segment.entered')).toEqual([a]);
  });

  it('the survivor was the member and the merged-away profile not: no event, the survivor stays indexed', async () => {
    const { store, bus, ids, a, b } = await twoProfiles(
      'm2',
      [consent({ anonymousId: 'pos-m2' }, true), order({ anonymousId: 'pos-m2' }, 1500)],
      [order({ userId: 'web-m2' }, 20)],
    );
    expect(events(bus, 'segment.entered')).toEqual([b]);
    await processBatch(deps(store, bus), 'shardId-000000000000', records([link(ids.user, ids.pos)]));
    expect(live(store, 'user_id', ids.user).profileId).toBe(b);
    expect(events(bus, 'segment.entered')).toEqual([b]);
    expect(events(bus, 'segment.exited')).toEqual([]);
    expect(await members([a, b])).toEqual([b]);
  });

  it('neither was a member but the merged person is (600 + 500 revenue): entered once, for the survivor', async () => {
    const { store, bus, ids, a, b } = await twoProfiles(
      'm3',
      [order({ anonymousId: 'pos-m3' }, 500)],
      [consent({ userId: 'web-m3' }, true), order({ userId: 'web-m3' }, 600)],
    );
    expect(events(bus, 'segment.entered')).toEqual([]);
    const batch = records([link(ids.user, ids.pos)]);
    await processBatch(deps(store, bus), 'shardId-000000000000', batch);
    await processBatch(deps(store, bus), 'shardId-000000000000', batch); // a re-delivery
    expect(store.profiles.get(b)!.extra?.computed).toMatchObject({ lifetime_revenue: 1100 });
    expect(events(bus, 'segment.entered')).toEqual([b]);
    expect(await members([a, b])).toEqual([b]);
  });

  it('the merged-away profile was the member and the merged person is not (consent withdrawn on the survivor since): segment.exited for the survivor', async () => {
    const { store, bus, ids, a, b } = await twoProfiles(
      'm4',
      [order({ anonymousId: 'pos-m4' }, 10)],
      [consent({ userId: 'web-m4' }, true), order({ userId: 'web-m4' }, 1200)],
    );
    expect(events(bus, 'segment.entered')).toEqual([a]);
    // The till's customer withdraws email consent (later than the web user gave it): the latest wins.
    await processBatch(deps(store, bus), 'shardId-000000000000', records([consent({ anonymousId: ids.pos }, false)]));
    await processBatch(deps(store, bus), 'shardId-000000000000', records([link(ids.user, ids.pos)]));
    expect(store.profiles.get(b)!.extra?.segments).toEqual([]);
    expect(events(bus, 'segment.exited')).toEqual([b]);
    expect(events(bus, 'segment.entered')).toEqual([a]);
    expect(await members([a, b])).toEqual([]);
  });
});

describe('two writers applying the effects of one profile', () => {
  /** The profile as a writer holds it: membership settled, nothing recorded as published yet. */
  const at = (id: string, version: number, segments: string[]) => ({ ...newProfile(id, new Date(T).toISOString()), version, extra: { segments } });

  it('the writer that lost the race publishes only corrections of its own transitions; the newer writer publishes the rest, once', async () => {
    const store = new MemoryStore();
    const bus: BusEvent[] = [];
    const effects: EffectsDeps = {
      publisher: { publish: async (e: BusEvent[]) => void bus.push(...e) },
      membersTable: segmentMembersTableFromEnv(),
      schedules: false,
    };
    // W1 wrote v1 (churn-risk), then W2 (another shard) wrote v2 from it (churn-risk, high-value)
    // before W1 recorded its effects: W1's record is superseded.
    const w1 = at('race-1', 1, ['churn-risk']);
    const w2 = at('race-1', 2, ['churn-risk', 'high-value']);
    expect(await store.putProfile(w1, null)).toBe(true);
    expect(await store.putProfile(w2, 1)).toBe(true);
    expect(await applyEffectsBatch([w1], store, effects, new Date())).toEqual([]);
    await applyEffectsBatch([w2], store, effects, new Date());
    // high-value was W2's transition only: published once (by W2), not also by W1 on W2's behalf.
    expect(events(bus, 'segment.entered')).toEqual(['race-1']);
    expect(published(store, 'race-1')).toEqual(['churn-risk', 'high-value']);
    expect(await members(['race-1'])).toEqual(['race-1']);
  });

  it('an entered the newer record contradicts is followed by exited', async () => {
    const store = new MemoryStore();
    const bus: BusEvent[] = [];
    const effects: EffectsDeps = {
      publisher: { publish: async (e: BusEvent[]) => void bus.push(...e) },
      membersTable: segmentMembersTableFromEnv(),
      schedules: false,
    };
    const w1 = at('race-2', 1, ['high-value']);
    const w2 = at('race-2', 2, []);
    await store.putProfile(w1, null);
    await store.putProfile(w2, 1);
    await applyEffectsBatch([w1], store, effects, new Date());
    await applyEffectsBatch([w2], store, effects, new Date());
    expect(events(bus, 'segment.entered')).toEqual(['race-2']);
    expect(events(bus, 'segment.exited')).toEqual(['race-2']);
    expect(await members(['race-2'])).toEqual([]);
  });
});
