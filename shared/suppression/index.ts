/**
 * The suppression list (docs/privacy.md). Two shapes of the same list, in the privacy table:
 *
 * - `sup#<hash>`, one item per identifier of an erased person, `hash` = the deployment's keyed hash
 *   of the normalised `type:value` (hash.ts: HMAC-SHA256 with the suppression key; the list holds no
 *   raw identifier and no hash an outsider can recompute): the erasure id, the time, the hash version
 *   (`kv`, absent on v1 items written before the key) and the drop set — the source of truth, and
 *   where drops are counted (a set of message-id hashes: a retried batch counts nothing twice).
 * - a compact copy that every pipeline container holds in memory: 256 bucket items `supset#<xx>`
 *   (`xx` = the hash's first two hex digits; spilled into `supset#<xx>#<n>` past DynamoDB's 400 KB)
 *   holding a string set of 16 hex digits of the hash each, and one `supmeta` item with a change
 *   counter per bucket (`b<xx>`) and its chunk count (`n<xx>`). A container reads `supmeta` at most
 *   once per refresh interval and re-reads only the buckets whose counter moved.
 *
 * normalize and resolve call `dropSuppressed` once per batch: an in-memory lookup per identifier, no
 * read per identifier. A hit is confirmed by the conditional write that counts the drop on its
 * `sup#` item (a truncated-hash collision, or an item deleted by hand, keeps the message).
 * Its own room, below normalize and resolve (which read it) and privacy (which writes it). Every
 * call names the privacy table (`table`: CAIRN_PRIVACY_TABLE); the refresh interval
 * (CAIRN_SUPPRESSION_REFRESH_MS) and the hasher (the key from CAIRN_SUPPRESSION_KEY_ID's secret) come
 * from the caller: functions/ read them.
 */
import { createHash } from 'node:crypto';
import { BatchGetCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchGet, countItems } from '../aws/batch';
import { documentClient as doc } from '../aws/clients';
import { CairnError } from '../errors';
import type { IdentityConfig } from '../identity';
import type { NormalizedMessage } from '../message';
import { log } from '../log';
import { SUPPRESSION_HASH_VERSION, type SuppressionHasher } from './hash';
import { isRaw, listedHashes, messageKeys, type RawMessage, rawMessageKeys } from './keys';

export {
  hasherOf,
  lookupHashes,
  MIN_KEY_LENGTH,
  SUPPRESSION_HASH_VERSION,
  suppressionHasher,
  unkeyedSuppressionHash,
  type SuppressionHasher,
} from './hash';
export { listedHashes, looseMessage, messageHashes, messageKeys, rawMessageHashes, rawMessageKeys, type RawMessage } from './keys';

export const SUPPRESSION_PREFIX = 'sup#';
/** Bucket items of the in-memory copy: `supset#<xx>`, spilled into `supset#<xx>#<n>`. */
export const SET_PREFIX = 'supset#';
/** The item holding a change counter and a chunk count per bucket. */
export const META_KEY = 'supmeta';

/** Short hash of a messageId, as counted in a suppression item's drop set. */
export const dropId = (messageId: string): string => createHash('sha256').update(messageId).digest('hex').slice(0, 16);

/** Bucket of a hash: its first two hex digits (256 buckets). */
export const bucketOf = (hash: string): string => hash.slice(0, 2);
/** What a bucket holds of a hash: the 16 hex digits after the bucket's (72 bits with the bucket). */
export const entryOf = (hash: string): string => hash.slice(2, 18);
/** Key of chunk `n` of a bucket (chunk 0 is the bucket item itself). */
export const chunkKey = (bucket: string, n: number): string => (n === 0 ? SET_PREFIX + bucket : `${SET_PREFIX}${bucket}#${n}`);
/** Chunks one bucket may spill into before `suppression_list_full` (each ≈ 25,000 identifiers). */
export const MAX_CHUNKS = 64;

/** Default refresh interval of a container's copy of the list. */
export const DEFAULT_REFRESH_MS = 15_000;
/**
 * Upper bound of CAIRN_SUPPRESSION_REFRESH_MS: λ erase waits SETTLE_SECONDS (180 s) after suppression,
 * which must exceed this plus the longest pipeline timeout (resolve, 120 s).
 */
export const MAX_REFRESH_MS = 30_000;
/** Refresh interval from its setting (`CAIRN_SUPPRESSION_REFRESH_MS`): ms, ≤ MAX_REFRESH_MS, else DEFAULT_REFRESH_MS. */
export function refreshMs(setting: string | undefined): number {
  const v = Number(setting);
  return Number.isFinite(v) && v > 0 ? Math.min(v, MAX_REFRESH_MS) : DEFAULT_REFRESH_MS;
}

/** Per bucket: its change counter and how many chunk items it spans. */
export type SuppressionMeta = Map<string, { version: number; chunks: number }>;
/** Where a container's copy of the list comes from (DynamoDB; a fake in unit tests). */
export interface SuppressionReader {
  /** The `supmeta` item, read strongly consistently (buckets never written are absent). */
  meta(): Promise<SuppressionMeta>;
  /** Entries of chunk items by key, read strongly consistently (absent items: no entry). */
  chunks(keys: string[]): Promise<Map<string, Iterable<string>>>;
}

export function parseMeta(item: Record<string, unknown> | undefined): SuppressionMeta {
  const out: SuppressionMeta = new Map();
  for (const [k, v] of Object.entries(item ?? {})) {
    const m = /^([bn])([0-9a-f]{2})$/.exec(k);
    if (!m) continue;
    const e = out.get(m[2]!) ?? { version: 0, chunks: 1 };
    if (m[1] === 'b') e.version = Number(v);
    else e.chunks = Math.max(1, Number(v));
    out.set(m[2]!, e);
  }
  return out;
}

/** Reads the list from the privacy table `table`. */
export const dynamoReader = (table: string): SuppressionReader => ({
  async meta() {
    const res = await doc().send(new GetCommand({ TableName: table, Key: { pk: META_KEY }, ConsistentRead: true }));
    return parseMeta(res.Item);
  },
  async chunks(keys) {
    const out = new Map<string, Iterable<string>>();
    const { items, unprocessed } = await batchGet<Record<string, unknown>, Record<string, unknown>>(
      async (RequestItems) => doc().send(new BatchGetCommand({ RequestItems })),
      { [table]: { Keys: keys.map((pk) => ({ pk })), ConsistentRead: true, ProjectionExpression: 'pk, h' } },
      { maxRounds: 11, concurrency: 1 },
    );
    if (countItems(unprocessed)) throw new Error('suppression: BatchGetItem left keys unprocessed after 10 rounds');
    for (const item of items[table] ?? []) out.set(String(item.pk), (item.h as Set<string> | undefined) ?? []);
    return out;
  },
});

/**
 * A container's copy of the suppression list. `fresh()` re-reads `supmeta` when the copy is older
 * than the refresh interval (one GetItem), and then only the buckets whose counter moved; `has()` is
 * a pure lookup. Every batch checked at time t ≥ s + interval sees a suppression completed at s.
 */
export class SuppressionView {
  private readonly entries = new Map<string, Set<string>>();
  private readonly versions = new Map<string, number>();
  private refreshedAt = -Infinity;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly reader: SuppressionReader,
    private readonly clock: () => number = Date.now,
    private readonly interval: () => number = () => DEFAULT_REFRESH_MS,
  ) {}

  /** Makes the copy no older than the refresh interval (as of the start of its last meta read). */
  fresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    const now = this.clock();
    if (now - this.refreshedAt < this.interval()) return Promise.resolve();
    this.inflight = this.refresh(now).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async refresh(startedAt: number): Promise<void> {
    const meta = await this.reader.meta();
    const changed = [...meta].filter(([b, m]) => this.versions.get(b) !== m.version);
    if (changed.length) {
      const got = await this.reader.chunks(changed.flatMap(([b, m]) => Array.from({ length: m.chunks }, (_, n) => chunkKey(b, n))));
      for (const [b, m] of changed) {
        const s = new Set<string>();
        for (let n = 0; n < m.chunks; n++) for (const e of got.get(chunkKey(b, n)) ?? []) s.add(e);
        this.entries.set(b, s);
        this.versions.set(b, m.version);
      }
    }
    for (const b of [...this.versions.keys()]) if (!meta.has(b)) this.versions.delete(b), this.entries.delete(b);
    this.refreshedAt = startedAt;
    if (changed.length) log('debug', 'privacy.suppression_refreshed', { buckets: changed.length, size: this.size });
  }

  /** Whether the hash is (probably: 72 bits) on the list. */
  has(hash: string): boolean {
    return this.entries.get(bucketOf(hash))?.has(entryOf(hash)) ?? false;
  }

  /** Adds hashes this container itself suppressed (the next refresh re-reads their buckets anyway). */
  add(hashes: Iterable<string>): void {
    for (const h of hashes) {
      let s = this.entries.get(bucketOf(h));
      if (!s) this.entries.set(bucketOf(h), (s = new Set()));
      s.add(entryOf(h));
    }
  }

  /** Identifiers held (approximately: distinct truncated hashes). */
  get size(): number {
    let n = 0;
    for (const s of this.entries.values()) n += s.size;
    return n;
  }
}

const sharedViews = new Map<string, SuppressionView>();
/** This container's copy of the list in `table`, refreshed every `intervalMs()` (made on the first call). */
export function suppressionView(table: string, intervalMs: () => number): SuppressionView {
  let view = sharedViews.get(table);
  if (!view) sharedViews.set(table, (view = new SuppressionView(dynamoReader(table), Date.now, intervalMs)));
  return view;
}
/** For tests: forget the container's copy (the next check reads the whole list again). */
export function resetSuppressionCache(): void {
  sharedViews.clear();
}

/** The list a batch is checked against: its privacy table, the container's copy of it, and its key. */
export interface SuppressionList {
  table: string;
  view: SuppressionView;
  /** The deployment's hasher (its key read once per container; rejects with `secret_unavailable`). */
  hasher: () => Promise<SuppressionHasher>;
  /** Records drops and confirms hits (default: `recordDrops` on `table`; a fake in unit tests). */
  record?: (drops: Map<string, Set<string>>) => Promise<Set<string>>;
}

/** What normalize and resolve take to drop the messages of erased people (`dropSuppressed` over one list). */
export type DropSuppressed = <T>(
  items: T[],
  messageOf: (t: T) => NormalizedMessage | RawMessage,
  config: IdentityConfig,
  stage: 'normalize' | 'resolve',
) => Promise<{ kept: T[]; dropped: number }>;

/** `dropSuppressed` over the container's copy of the list in `table` (functions/ build it from the environment). */
export const suppressionFilter =
  (table: string, intervalMs: () => number, hasher: () => Promise<SuppressionHasher>): DropSuppressed =>
  (items, messageOf, config, stage) =>
    dropSuppressed(items, messageOf, config, stage, { table, view: suppressionView(table, intervalMs), hasher });

/**
 * Splits `items` into those to keep and those carrying a suppressed identifier, and records the
 * drops (idempotently) on the suppression items. No DynamoDB request unless the container's copy is
 * due for a refresh (one GetItem) or a message hits the list (one conditional UpdateItem per hit
 * identifier, which both confirms the hit and counts the drops).
 */
export async function dropSuppressed<T>(
  items: T[],
  messageOf: (t: T) => NormalizedMessage | RawMessage,
  config: IdentityConfig,
  stage: 'normalize' | 'resolve',
  list: SuppressionList,
): Promise<{ kept: T[]; dropped: number }> {
  const { view } = list;
  if (!items.length) return { kept: items, dropped: 0 };
  // The key first: without it nothing can be checked, and the batch fails rather than pass unchecked.
  const hash = await list.hasher();
  await view.fresh();
  // Candidate hits per message, in the order messageKeys gives (a retry picks the same hash).
  const candidates = new Map<number, string[]>();
  items.forEach((t, i) => {
    const m = messageOf(t);
    const hits = listedHashes(view, hash, isRaw(m) ? rawMessageKeys(m.raw, config) : messageKeys(m, config));
    if (hits.length) candidates.set(i, hits);
  });
  if (!candidates.size) return { kept: items, dropped: 0 };

  const dropped = new Set<number>();
  const refuted = new Set<string>();
  let pending = [...candidates.keys()];
  while (pending.length) {
    const drops = new Map<string, { ids: Set<string>; items: number[] }>();
    for (const i of pending) {
      const h = candidates.get(i)!.find((c) => !refuted.has(c));
      if (h === undefined) continue; // every candidate refuted: kept
      let d = drops.get(h);
      if (!d) drops.set(h, (d = { ids: new Set(), items: [] }));
      const m = messageOf(items[i]!);
      d.ids.add(dropId(isRaw(m) ? m.dropKey : m.messageId));
      d.items.push(i);
    }
    if (!drops.size) break;
    const record = list.record ?? ((d: Map<string, Set<string>>) => recordDrops(list.table, d));
    const confirmed = await record(new Map([...drops].map(([h, d]) => [h, d.ids])));
    pending = [];
    for (const [h, d] of drops) {
      if (confirmed.has(h)) for (const i of d.items) dropped.add(i);
      else refuted.add(h), pending.push(...d.items);
    }
  }
  if (!dropped.size) return { kept: items, dropped: 0 };
  const kept = items.filter((_, i) => !dropped.has(i));
  log('info', 'privacy.suppressed', { stage, dropped: dropped.size });
  return { kept, dropped: dropped.size };
}

/**
 * Adds message-id hashes to the drop sets of suppression items (set union: a retry adds nothing).
 * Returns the hashes whose `sup#` item exists (the others are not suppressed: nothing recorded).
 */
export async function recordDrops(table: string, drops: Map<string, Set<string>>): Promise<Set<string>> {
  const confirmed = new Set<string>();
  await Promise.all(
    [...drops].map(async ([hash, ids]) => {
      const Key = { pk: SUPPRESSION_PREFIX + hash };
      try {
        await doc().send(
          new UpdateCommand({
            TableName: table,
            Key,
            UpdateExpression: 'ADD d :ids',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':ids': new Set(ids) },
          }),
        );
        confirmed.add(hash);
      } catch (e) {
        const name = (e as Error).name;
        if (name === 'ConditionalCheckFailedException') return;
        if (name !== 'ValidationException') throw e;
        // Item too large (a very busy erased identifier): count without identities from here on.
        await doc().send(
          new UpdateCommand({
            TableName: table,
            Key,
            UpdateExpression: 'ADD overflow :n',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':n': ids.size },
          }),
        );
        confirmed.add(hash);
      }
    }),
  );
  return confirmed;
}

const isItemTooLarge = (e: unknown): boolean => (e as Error).name === 'ValidationException' && /size/i.test((e as Error).message);

/**
 * Puts identifiers on the suppression list, as v2 (keyed) hashes (a hash already there keeps its first erasure id):
 * the `sup#` items, then the bucket sets, then the bucket counters of `supmeta` — in that order, so
 * a container that sees a counter move reads a bucket holding the hash, whose item exists. Every
 * step is idempotent; a retry repairs a call interrupted half-way. Returns how many were new.
 */
export async function suppress(table: string, hashes: Iterable<string>, erasureId: string, at: string): Promise<number> {
  const all = [...new Set(hashes)];
  if (!all.length) return 0;
  let added = 0;
  await Promise.all(
    all.map(async (h) => {
      try {
        await doc().send(
          new PutCommand({
            TableName: table,
            Item: { pk: SUPPRESSION_PREFIX + h, erasureId, at, kv: SUPPRESSION_HASH_VERSION },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        added++;
      } catch (e) {
        if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      }
    }),
  );

  const byBucket = new Map<string, Set<string>>();
  for (const h of all) {
    let s = byBucket.get(bucketOf(h));
    if (!s) byBucket.set(bucketOf(h), (s = new Set()));
    s.add(entryOf(h));
  }
  const meta = await dynamoReader(table).meta();
  await Promise.all(
    [...byBucket].map(async ([b, entries]) => {
      const start = meta.get(b)?.chunks ?? 1;
      for (let n = start - 1; ; n++) {
        if (n >= MAX_CHUNKS) {
          throw new CairnError('suppression_list_full', `suppression list bucket ${b} is full (${MAX_CHUNKS} chunks of 400 KB): see docs/privacy.md`, 500);
        }
        try {
          await doc().send(
            new UpdateCommand({ TableName: table, Key: { pk: chunkKey(b, n) }, UpdateExpression: 'ADD h :e', ExpressionAttributeValues: { ':e': entries } }),
          );
        } catch (e) {
          if (isItemTooLarge(e)) continue; // this chunk is full: spill into the next
          throw e;
        }
        if (n + 1 > start) {
          // Record the new chunk count before the counter moves (never lowering it).
          try {
            await doc().send(
              new UpdateCommand({
                TableName: table,
                Key: { pk: META_KEY },
                UpdateExpression: 'SET #n = :n',
                ConditionExpression: 'attribute_not_exists(#n) OR #n < :n',
                ExpressionAttributeNames: { '#n': `n${b}` },
                ExpressionAttributeValues: { ':n': n + 1 },
              }),
            );
          } catch (e) {
            if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
          }
        }
        return;
      }
    }),
  );

  const buckets = [...byBucket.keys()];
  await doc().send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: META_KEY },
      UpdateExpression: `ADD #v :one, ${buckets.map((_, i) => `#b${i} :one`).join(', ')}`,
      ExpressionAttributeNames: { '#v': 'v', ...Object.fromEntries(buckets.map((b, i) => [`#b${i}`, `b${b}`])) },
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
  sharedViews.get(table)?.add(all);
  return added;
}

/**
 * The erasure that suppressed any of these hashes (the first in the order given), or undefined:
 * one strongly consistent BatchGetItem on the `sup#` items (the API stops serving a person the
 * moment their erasure is accepted, docs/privacy.md).
 */
export async function erasureOf(table: string, hashes: string[]): Promise<string | undefined> {
  const keys = [...new Set(hashes)];
  if (!keys.length) return undefined;
  const { items, unprocessed } = await batchGet<Record<string, unknown>, Record<string, unknown>>(
    async (RequestItems) => doc().send(new BatchGetCommand({ RequestItems })),
    { [table]: { Keys: keys.map((h) => ({ pk: SUPPRESSION_PREFIX + h })), ConsistentRead: true, ProjectionExpression: 'pk, erasureId' } },
    { maxRounds: 11, concurrency: 1 },
  );
  // Failing closed: an unanswered key may be a suppressed one.
  if (countItems(unprocessed)) throw new Error('suppression: BatchGetItem left keys unprocessed after 10 rounds');
  const found = new Map((items[table] ?? []).map((i) => [String(i.pk).slice(SUPPRESSION_PREFIX.length), String(i.erasureId)]));
  return keys.map((h) => found.get(h)).find((e) => e !== undefined);
}

/** Messages dropped for these suppressed hashes so far (distinct messages, plus any overflow count). */
export async function droppedCount(table: string, hashes: string[]): Promise<number> {
  let n = 0;
  // Keys still unprocessed after 10 rounds are left out of the count (it is a report, not a decision).
  const { items } = await batchGet<Record<string, unknown>, Record<string, unknown>>(
    async (RequestItems) => doc().send(new BatchGetCommand({ RequestItems })),
    { [table]: { Keys: hashes.map((h) => ({ pk: SUPPRESSION_PREFIX + h })), ConsistentRead: true } },
    { maxRounds: 10, concurrency: 1 },
  );
  for (const item of items[table] ?? []) n += ((item.d as Set<string> | undefined)?.size ?? 0) + Number(item.overflow ?? 0);
  return n;
}
