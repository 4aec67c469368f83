/** The per-person lake index and the timeline expiry (shared/identity/lake-index.ts, dynamo-store.ts). */
import { describe, expect, it } from 'vitest';
import { isLakeIndexSk, lakeKeysOf, lakeIndexEntries, lakeIndexItem, TIMELINE_SK_BOUND, UNATTACHED, withLakeKeys } from '#shared/identity/lake-index';
import type { TimelineItem } from '#shared/identity/types';
import { timelineExpiry } from '#shared/identity/dynamo-store';
import { MemoryStore } from '#shared/identity/memory-store';

describe('lake index', () => {
  it('one entry per profile with its distinct keys; unattached messages under UNATTACHED; messages without a key skipped', () => {
    const e = lakeIndexEntries([
      { profileId: 'p1', key: 'events/dt=2024-01-01/b.json.gz' },
      { profileId: 'p1', key: 'events/dt=2024-01-01/a.json.gz' },
      { profileId: 'p1', key: 'events/dt=2024-01-01/a.json.gz' },
      { profileId: 'p2', key: undefined },
      { profileId: null, key: 'events/dt=2024-01-01/c.json.gz' },
    ]);
    expect(e).toEqual([
      { profileId: 'p1', keys: ['events/dt=2024-01-01/a.json.gz', 'events/dt=2024-01-01/b.json.gz'] },
      { profileId: UNATTACHED, keys: ['events/dt=2024-01-01/c.json.gz'] },
    ]);
  });

  it('the item key is a hash of the sorted keys: a retried batch rewrites the same item, a different key set adds one', () => {
    const a = lakeIndexItem({ profileId: 'p', keys: ['k2', 'k1'] });
    expect(a).toEqual(lakeIndexItem({ profileId: 'p', keys: ['k1', 'k2', 'k1'] }));
    expect(a.k).toEqual(['k1', 'k2']);
    expect(a.sk).toMatch(/^lake#[0-9a-f]{16}$/);
    expect(lakeIndexItem({ profileId: 'p', keys: ['k1'] }).sk).not.toBe(a.sk);
    expect(isLakeIndexSk(a.sk)).toBe(true);
    expect(isLakeIndexSk('2024-01-01T00:00:00.000Z#m1')).toBe(false);
    expect(
      lakeKeysOf([a, { profileId: 'p', sk: '2024-01-01T00:00:00.000Z#m1', k: ['not-index'] }, lakeIndexItem({ profileId: 'p', keys: ['k0', 'k1'] })]),
    ).toEqual(['k0', 'k1', 'k2']);
  });

  it('index items sort after every event sort key (timeline readers bound their queries by it)', () => {
    for (const ts of ['0001-01-01T00:00:00.000Z', '2024-05-01T12:00:00.000Z', '9999-12-31T23:59:59.999Z']) expect(`${ts}#m` < TIMELINE_SK_BOUND).toBe(true);
  });

  it('the memory store keeps index items apart from the events queryTimeline answers', async () => {
    const s = new MemoryStore();
    await s.putTimeline(
      [
        {
          profileId: 'p',
          sk: '2024-01-01T00:00:00.000Z#m1',
          messageId: 'm1',
          type: 'track',
          timestamp: '2024-01-01T00:00:00.000Z',
          receivedAt: '2024-01-01T00:00:00.000Z',
        },
      ],
      [{ profileId: 'p', keys: ['k'] }],
    );
    expect((await s.queryTimeline('p', { limit: 10 })).map((t) => t.messageId)).toEqual(['m1']);
    expect([...s.lakeIndex.get('p')!.values()]).toEqual([['k']]);
  });
});

describe('timeline expiry', () => {
  it('is event time + the retention, in epoch seconds', () => {
    expect(timelineExpiry('2024-01-01T00:00:00.000Z', 30)).toBe(Date.UTC(2024, 0, 31) / 1000);
    expect(timelineExpiry('2024-01-01T00:00:00.900Z', 1)).toBe(Date.UTC(2024, 0, 2) / 1000);
  });
});

describe('lake keys on timeline items (no extra write per event)', () => {
  const item = (profileId: string, messageId: string): TimelineItem => ({
    profileId,
    sk: `2024-01-01T00:00:00.000Z#${messageId}`,
    messageId,
    type: 'track',
    timestamp: '2024-01-01T00:00:00.000Z',
    receivedAt: '2024-01-01T00:00:01.000Z',
  });
  it("each item carries its message's object; the first item of each changed profile also the snapshot object; a changed profile without items gets an index entry", () => {
    const keys = new Map([
      ['m1', 'events/a'],
      ['m2', 'events/a'],
      ['m3', 'events/b'],
    ]);
    const { timeline, index } = withLakeKeys([item('p1', 'm1'), item('p1', 'm2'), item('p2', 'm3'), item('p3', 'm4')], keys, ['p1', 'p2', 'p9'], 'profiles/s');
    expect(timeline.map((t) => t.lakeKeys)).toEqual([['events/a', 'profiles/s'], ['events/a'], ['events/b', 'profiles/s'], undefined]);
    expect(index).toEqual([{ profileId: 'p9', keys: ['profiles/s'] }]);
    expect(lakeKeysOf([{ lk: ['events/a', 'profiles/s'] }, { lk: ['events/b'] }, { sk: 'x' }])).toEqual(['events/a', 'events/b', 'profiles/s']);
  });
  it('without a snapshot object (no lake) nothing but the events keys', () => {
    const { timeline, index } = withLakeKeys([item('p1', 'm1')], new Map([['m1', 'events/a']]), ['p1'], undefined);
    expect(timeline[0]!.lakeKeys).toEqual(['events/a']);
    expect(index).toEqual([]);
  });
  it('the store hands the keys back with the timeline (the export reads them); the API views drop them', async () => {
    const s = new MemoryStore();
    await s.putTimeline([{ ...item('p', 'm1'), lakeKeys: ['events/a'] }]);
    expect((await s.queryTimeline('p', { limit: 10 }))[0]!.lakeKeys).toEqual(['events/a']);
  });
});
