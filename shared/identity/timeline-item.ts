/**
 * How an event's timeline item holds its fields (timeline table, dynamo-store.ts): deflated JSON in
 * `z` (first byte: the format), without `messageId` and `timestamp`, which its sort key
 * (`<timestamp>#<messageId>`) already holds. The timeline keeps an item per event for
 * `cairn:timelineDays` (10 years by default), so it is the store that grows most over time: the
 * fields of a session event are ~250 bytes of JSON and ~70 deflated, a third less per item with its
 * keys and DynamoDB's per-item overhead (docs/cost.md). Items written before hold the JSON in `data`,
 * and are still read.
 */
import { deflatedJson } from '../deflated';
import type { TimelineItem } from './types';

/** An event's fields as stored: the item but its keys and lake index. */
export type TimelineData = Omit<TimelineItem, 'profileId' | 'sk' | 'lakeKeys'>;

/** Preset dictionary of format 1: names and fragments event fields repeat (never change it; add a format instead). */
const EVENT = deflatedJson(
  1,
  '{"type":"identify","traits":{"email":"","first_name":"","last_name":"","phone":"+1","plan":""},"type":"page","name":"Home",' +
    '"type":"track","event":"Order Completed","event":"Product Viewed","receivedAt":"2026-01-01T00:00:00.000Z",' +
    '"properties":{"order_id":"","total":,"revenue":,"currency":"USD","product_id":"","sku":"","price":,"category":"","path":"/","url":"https://"},' +
    '"sourceId":"","ids":["user_id:","anonymous_id:","email:","phone:+1"],"refused":["consent:email","trait:email"],"truncated":true}',
);

/** The sort key's parts: `<timestamp>#<messageId>` (a timestamp has no `#`). */
function keyParts(sk: string): { timestamp: string; messageId: string } | undefined {
  const i = sk.indexOf('#');
  return i > 0 ? { timestamp: sk.slice(0, i), messageId: sk.slice(i + 1) } : undefined;
}

/** The `z` attribute of an event's item (its sort key `sk` spares messageId and timestamp when it holds them). */
export function packTimelineData(sk: string, data: TimelineData): Buffer {
  const k = keyParts(sk);
  const { messageId, timestamp, ...rest } = data;
  const body = k?.messageId === messageId && k.timestamp === timestamp ? rest : data;
  return EVENT.pack(body);
}

/** An event's fields from its item: `z` (with messageId and timestamp from the sort key) or, written before, `data`. */
export function timelineDataOf(item: Record<string, unknown>): TimelineData {
  const z = item.z;
  if (z instanceof Uint8Array) {
    const body = EVENT.unpack<Partial<TimelineData>>(z, `timeline item ${String(item.profileId)} ${String(item.sk)}`);
    return { ...keyParts(String(item.sk)), ...body } as TimelineData;
  }
  return JSON.parse(String(item.data ?? '{}')) as TimelineData;
}
