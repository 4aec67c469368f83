/**
 * Daily snapshot layout (shared/profiles/snapshot.ts): the hash bucket of a profile id is stable and
 * spread evenly, the bucket count follows the previous run's profile count, and keys round-trip
 * (bucketed layout; the older `<segment>-<part>` layout is recognised by its date only).
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bucketsFor, dailySnapshotKey, parseDailyKey, snapshotBucket, SNAPSHOT_MAX_BUCKETS, SNAPSHOT_PART_ROWS } from '#shared/profiles/snapshot';

describe('snapshot buckets', () => {
  it('a profile id always lands in the same bucket: SHA-256 (first 32 bits) mod the bucket count', () => {
    const id = 'a3f1c2d4e5b6a7980112233445566778';
    const expected = createHash('sha256').update(id).digest().readUInt32BE(0) % 32;
    expect(snapshotBucket(id, 32)).toBe(expected);
    expect(snapshotBucket(id, 32)).toBe(snapshotBucket(id, 32));
    expect(snapshotBucket(id, 1)).toBe(0);
  });

  it('spreads ids evenly over the buckets', () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[snapshotBucket(`profile-${i}`, 16)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850); // 1,000 expected each
    for (const c of counts) expect(c).toBeLessThan(1150);
  });

  it('bucket count: the power of two ≥ profiles / rows per object, 1 to SNAPSHOT_MAX_BUCKETS', () => {
    expect(bucketsFor(0)).toBe(1);
    expect(bucketsFor(SNAPSHOT_PART_ROWS)).toBe(1);
    expect(bucketsFor(SNAPSHOT_PART_ROWS + 1)).toBe(2);
    expect(bucketsFor(1_000_000)).toBe(32);
    expect(bucketsFor(100_000_000)).toBe(SNAPSHOT_MAX_BUCKETS);
    expect(bucketsFor(10, 2, 8)).toBe(8);
  });

  it('keys round-trip; the older layout parses to its date only; other keys to nothing', () => {
    const k = dailySnapshotKey('2024-05-01', 7, 32, 'rabc123', 42);
    expect(k).toBe('profiles/dt=2024-05-01/daily-2024-05-01-b007of032-rabc123-000042.json.gz');
    expect(parseDailyKey(k)).toEqual({ date: '2024-05-01', bucket: 7, buckets: 32, run: 'rabc123', seq: 42 });
    expect(parseDailyKey('profiles/dt=2024-05-01/daily-2024-05-01-3-0.json.gz')).toEqual({ date: '2024-05-01' });
    expect(parseDailyKey('profiles/dt=2024-05-01/shardId-000000000001-4959.json.gz')).toBeUndefined();
  });
});
