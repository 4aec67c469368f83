/**
 * Publishing a batch's outcomes (events.ts) to the Cairn EventBridge bus (docs/api.md#events-on-the-bus).
 * PutEvents takes at most 10 entries and 256 KB per call. By default only the events some rule of the
 * bus can match are put (docs/eventbridge.md "What is published"): the rules are listed (ListRules)
 * at most every `refreshMs` per container and matched here with EventBridge's pattern semantics.
 */
import { ListRulesCommand, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '../aws/clients';
import { BUS } from '../config';
import { CairnError } from '../errors';
import { busAudience, type BusEnvelope, type BusRule } from '../eventbridge';
import { log } from '../log';
import type { BusEvent, Publisher } from './events';

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

/** Every rule of the bus (all pages of ListRules). */
export async function listBusRules(busName: string): Promise<BusRule[]> {
  const out: BusRule[] = [];
  let NextToken: string | undefined;
  do {
    const page = await eventBridge().send(new ListRulesCommand({ EventBusName: busName, NextToken, Limit: 100 }));
    for (const r of page.Rules ?? [])
      out.push({ ...(r.Name ? { name: r.Name } : {}), ...(r.EventPattern ? { eventPattern: r.EventPattern } : {}), ...(r.State ? { state: r.State } : {}) });
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** What events reach: `all` puts every event; `matched` only those some enabled rule of the bus can match. */
export type BusPublishMode = 'all' | 'matched';

/**
 * Whether an event can reach anyone on the bus, from its rules as last listed (every `refreshMs` at
 * most). A listing that fails lets everything through until the next one succeeds (never drops an
 * event a rule would have matched because the rules could not be read).
 */
export function busRulesAudience(busName: string, refreshMs: number, list: (bus: string) => Promise<BusRule[]> = listBusRules, now = () => Date.now()) {
  let matches: ((e: BusEnvelope) => boolean) | undefined;
  let at = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;
  const refresh = async () => {
    try {
      matches = busAudience(await list(busName));
    } catch (e) {
      log('warn', 'bus rules could not be listed; publishing every event', { bus: busName, error: (e as Error).message, errorName: (e as Error).name });
      matches = () => true;
    }
    at = now();
  };
  return {
    async filter(events: BusEvent[]): Promise<BusEvent[]> {
      if (!events.length) return events;
      if (now() - at >= refreshMs) await (loading ??= refresh().finally(() => (loading = undefined)));
      const m = matches ?? (() => true);
      return events.filter((e) => m({ source: BUS.source, 'detail-type': e.detailType, detail: e.detail }));
    },
  };
}

/**
 * Publisher on an EventBridge bus through the shared client; retries entries EventBridge rejects.
 * `mode` `matched` (with `refreshMs`, the longest a new rule waits to be seen) drops the events no
 * rule of the bus can match before putting the rest.
 */
export function eventBridgePublisher(busName: string, opts: { attempts?: number; mode?: BusPublishMode; refreshMs?: number } = {}): Publisher {
  const attempts = opts.attempts ?? 4;
  const audience = opts.mode === 'matched' ? busRulesAudience(busName, opts.refreshMs ?? BUS.rulesRefreshMs) : undefined;
  return {
    async publish(all) {
      const events = audience ? await audience.filter(all) : all;
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
