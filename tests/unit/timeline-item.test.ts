/**
 * An event's timeline item holds its fields deflated, without the messageId and timestamp its sort key
 * already holds (shared/identity/timeline-item.ts): the same event comes back (through the store's
 * reader), items written before (JSON in `data`) are still read, an unknown format is refused, and a
 * session event's item is a third smaller.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timelineItem } from '#shared/identity';
import { timelineFromItem } from '#shared/identity/dynamo-store';
import { packTimelineData, timelineDataOf, type TimelineData } from '#shared/identity/timeline-item';
import type { NormalizedMessage } from '#shared/message';

const profileId = 'p_0123456789abcdef01234567';
const message: NormalizedMessage = {
  messageId: '5f0c2b1e-8a7d-4e3c-9b2a-1f0e9d8c7b6a',
  type: 'track',
  event: 'Product Viewed',
  userId: 'cu-264',
  anonymousId: 'ca-264',
  properties: { sku: 's-42', category: 'c-2', price: 19.99 },
  traits: {},
  context: {},
  timestamp: '2026-12-06T10:15:02.123Z',
  receivedAt: '2026-12-06T10:15:02.456Z',
  sourceId: 'web',
};
const event = timelineItem(profileId, message, ['user_id:cu-264', 'anonymous_id:ca-264']);
const { profileId: _p, sk, lakeKeys: _k, ...data } = event;
const lk = ['events/dt=2026-12-06/shardId-000000000000-49650000000000000000000000000000000000000000000000000001.json.gz'];

/** DynamoDB's size of an item: attribute names plus values (strings and binary by length, numbers ~ digits/2 + 1, lists by element), plus 100 bytes per item stored. */
const storedBytes = (item: Record<string, unknown>) =>
  100 +
  Object.entries(item).reduce(
    (n, [k, v]) =>
      n +
      Buffer.byteLength(k) +
      (v instanceof Uint8Array
        ? v.length
        : Array.isArray(v)
          ? v.reduce((m: number, x) => m + Buffer.byteLength(String(x)) + 1, 3)
          : typeof v === 'number'
            ? Math.ceil(String(v).length / 2) + 1
            : Buffer.byteLength(String(v))),
    0,
  );

describe('timeline items', () => {
  it('come back as they were written, messageId and timestamp from the sort key', () => {
    const z = packTimelineData(sk, data);
    expect(timelineDataOf({ profileId, sk, z })).toEqual(data);
    expect(timelineFromItem({ profileId, sk, z, expiresAt: 2_000_000_000, lk })).toEqual({ ...event, lakeKeys: lk });
    // The sort key's parts are not stored twice.
    expect(z.length).toBeLessThan(JSON.stringify(data).length - message.messageId.length - message.timestamp.length);
  });

  it('any messageId (with `#` in it) and fields the sort key does not hold round-trip', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.boolean(), (messageId, matches) => {
        const d: TimelineData = { ...data, messageId };
        const key = matches ? `${d.timestamp}#${messageId}` : `2020-01-01T00:00:00.000Z#other`;
        expect(timelineDataOf({ profileId, sk: key, z: packTimelineData(key, d) })).toEqual(d);
      }),
    );
  });

  it('items written before, with the JSON in `data`, are still read', () => {
    expect(timelineFromItem({ profileId, sk, data: JSON.stringify(data), expiresAt: 2_000_000_000, lk })).toEqual({ ...event, lakeKeys: lk });
  });

  it('an unknown format is refused, never read as something else', () => {
    const z = packTimelineData(sk, data);
    z[0] = 9;
    expect(() => timelineDataOf({ profileId, sk, z })).toThrow(/unknown item format 9/);
  });

  it("a session event's item is at least a quarter smaller stored", () => {
    const before = storedBytes({ profileId, sk, data: JSON.stringify(data), expiresAt: 2_000_000_000, lk });
    const after = storedBytes({ profileId, sk, z: packTimelineData(sk, data), expiresAt: 2_000_000_000, lk });
    expect(after).toBeLessThan(before * 0.75);
  });
});
