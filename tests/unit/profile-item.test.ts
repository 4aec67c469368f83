/**
 * The profile item (shared/identity/dynamo-store.ts): the record's body and the stages' extras
 * travel deflated in `z`, so a profile with segment state fits one write unit (1 KB) where its
 * JSON took two or three (docs/cost.md); conditions and filters still read the plain attributes;
 * items written before are still read.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileFromItem, profileToItem } from '#shared/identity/dynamo-store';
import type { ProfileRecord } from '#shared/identity';

const h = (i: number) => createHash('sha256').update(String(i)).digest('hex').slice(0, 16);
/** Bytes of an item as DynamoDB sizes it (names + values; numbers ~1 byte per 2 digits). */
function itemBytes(item: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    n += Buffer.byteLength(k);
    if (typeof v === 'string') n += Buffer.byteLength(v);
    else if (typeof v === 'number') n += Math.ceil(String(v).replace(/[-.]/g, '').length / 2) + 1;
    else if (v instanceof Uint8Array) n += v.byteLength;
    else n += Buffer.byteLength(JSON.stringify(v)) + 3;
  }
  return n;
}

/** A known customer as resolve and 20 segments leave her: three identifiers, traits, consent, the dedupe ring, segment state. */
function customer(): ProfileRecord {
  const at = '2026-01-05T10:11:12.000Z';
  return {
    profileId: 'p_01JH4TQ8Z3K9W2M7N5X6R1V0BC',
    version: 42,
    createdAt: '2026-01-01T09:00:00.000Z',
    updatedAt: at,
    identities: [
      { type: 'user_id', value: 'cu-1234' },
      { type: 'anonymous_id', value: 'ca-1234' },
      { type: 'email', value: 'cu-1234@example.com' },
      { type: 'phone', value: '+14155551234' },
    ],
    traits: { email: 'cu-1234@example.com', phone: '+14155551234', plan: 'pro', firstName: 'N1234', vip: true },
    traitK: { email: `${at}#${h(1)}`, phone: `${at}#${h(1)}`, plan: `${at}#${h(1)}`, firstName: `${at}#${h(1)}`, vip: `${at}#${h(2)}` },
    computed: {
      first_seen: '2026-01-01T09:00:00.000Z',
      last_seen: at,
      event_count: 57,
      order_count: 4,
      revenue_e4: 2_310_000,
      last_channel: 'web',
      last_channel_k: `${at}#${h(3)}`,
    },
    consent: { email: { granted: true, timestamp: at, source: 'context.consent', k: `${at}#${h(1)}` } },
    groups: [],
    mergedFrom: [],
    dd: {
      s: {
        'shardId-000000000000': {
          f: '49660000000000000000000000000000000000000000000000000001',
          c: [h(10), h(11), h(12), h(13)],
          p: [h(14), h(15), h(16), h(17), h(18), h(19)],
          t: 1_767_608_000,
        },
      },
      r: Array.from({ length: 16 }, (_, i) => h(20 + i)),
    },
    extra: {
      computed: { lifetime_revenue: 231, orders_90d: 4, last_sku: 's-17' },
      segments: ['seg-1', 'seg-2', 'seg-5', 'seg-6', 'seg-9', 'seg-13'],
      cstate: JSON.stringify(
        Object.fromEntries(
          Array.from({ length: 10 }, (_, i) => [
            `e${i}`,
            {
              w: 86_400_000 * (1 + i),
              b: [
                [1_767_500_000_000 + i * 3_600_000, 1 + (i % 3)],
                [1_767_600_000_000, 2],
              ],
            },
          ]),
        ),
      ),
      segPub: JSON.stringify({ s: ['seg-1', 'seg-2', 'seg-5', 'seg-6', 'seg-9', 'seg-13'], r: 1_767_700_000_000 }),
      recheckAt: 1_767_700_000_000,
    },
  };
}

describe('profile item', () => {
  it('round-trips the record, extras included, and keeps the attributes conditions read', () => {
    const p = customer();
    const item = profileToItem(p);
    expect(item).toMatchObject({ pk: `profile#${p.profileId}`, profileId: p.profileId, version: 42, createdAt: p.createdAt, updatedAt: p.updatedAt });
    expect(profileFromItem(item)).toEqual(p);
    expect(profileFromItem(profileToItem({ ...p, mergedInto: 'p_other', extra: undefined }))).toEqual({ ...p, mergedInto: 'p_other', extra: undefined });
    expect(profileToItem({ ...p, mergedInto: 'p_other' }).mergedInto).toBe('p_other');
  });

  it('a profile with segment state is one write unit (≤ 1 KB), its JSON alone is over 1 KB', () => {
    const p = customer();
    const { profileId, version, createdAt, updatedAt, mergedInto, extra, ...body } = p;
    const before = itemBytes({ ...extra, pk: `profile#${profileId}`, profileId, version, createdAt, updatedAt, data: JSON.stringify(body) });
    expect(before).toBeGreaterThan(1024);
    expect(itemBytes(profileToItem(p))).toBeLessThanOrEqual(1024);
  });

  it('reads items written before (`data` and top-level extras)', () => {
    const p = customer();
    const { profileId, version, createdAt, updatedAt, mergedInto, extra, ...body } = p;
    expect(profileFromItem({ ...extra, pk: `profile#${profileId}`, profileId, version, createdAt, updatedAt, data: JSON.stringify(body) })).toEqual(p);
  });
});
