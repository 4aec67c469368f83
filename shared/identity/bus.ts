/**
 * Publishing a batch's outcomes (events.ts) to the Cairn EventBridge bus (docs/api.md#events-on-the-bus).
 * PutEvents takes at most 10 entries and 256 KB per call.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '../aws/clients';
import { BUS } from '../config';
import { CairnError } from '../errors';
import type { Publisher } from './events';

// The events and the port (pure), beside the publisher that puts them on the bus.
export * from './events';

const MAX_ENTRIES = 10;
const MAX_BYTES = 250 * 1024;
const entrySize = (e: PutEventsRequestEntry) =>
  Buffer.byteLength(e.Source ?? '') + Buffer.byteLength(e.DetailType ?? '') + Buffer.byteLength(e.Detail ?? '') + 14;

/** Chunks entries into PutEvents calls (≤10 entries, ≤256 KB). */
export function chunkEntries(entries: PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const out: PutEventsRequestEntry[][] = [];
  let cur: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const n = entrySize(e);
    if (cur.length && (cur.length >= MAX_ENTRIES || bytes + n > MAX_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Publisher on an EventBridge bus through the shared client; retries entries EventBridge rejects. */
export function eventBridgePublisher(busName: string, attempts = 4): Publisher {
  return {
    async publish(events) {
      const entries: PutEventsRequestEntry[] = events.map((e) => ({
        EventBusName: busName,
        Source: BUS.source,
        DetailType: e.detailType,
        Detail: JSON.stringify(e.detail),
        ...(e.time && !Number.isNaN(Date.parse(e.time)) ? { Time: new Date(e.time) } : {}),
      }));
      await Promise.all(
        chunkEntries(entries).map(async (chunk) => {
          let pending = chunk;
          for (let i = 0; i < attempts && pending.length; i++) {
            if (i > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** i * Math.random()));
            const res = await eventBridge().send(new PutEventsCommand({ Entries: pending }));
            if (!res.FailedEntryCount) return;
            pending = pending.filter((_, j) => res.Entries?.[j]?.ErrorCode);
          }
          if (pending.length) throw new CairnError('bus_publish_failed', `EventBridge rejected ${pending.length} event(s) after ${attempts} attempts`, 500);
        }),
      );
    },
  };
}
