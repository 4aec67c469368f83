/**
 * DynamoDB BatchWriteItem / BatchGetItem with the retry every caller needs: requests cut into
 * chunks of the API's limits (25 writes, 100 keys), the items DynamoDB leaves unprocessed sent again
 * after an exponential backoff with full jitter (a random wait in [0, min(cap, base·2^round)) ),
 * a bounded number of rounds per chunk, and what is STILL unprocessed after the bound returned to the
 * caller — who decides whether that is an error (most throw, with their own code).
 *
 * The helpers take a `send` function, not a client: the caller builds the command (document client
 * or the plain one), adds `ReturnConsumedCapacity` and accounts the capacity of every response it
 * sees. A chunk whose request throws lets the other chunks finish before the error is rethrown, so
 * nothing of this call is still being written once the caller sees it fail. And the create-only
 * statement of a BatchExecuteStatement (`insertStatement`), which λ resolve and λ normalize send.
 */
import type { BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { sleep as realSleep } from '../lang';

export const WRITE_CHUNK = 25;
export const GET_CHUNK = 100;

export interface BatchRetry {
  /** Requests per chunk, the first included (default 8). */
  maxRounds?: number;
  /** Backoff before round r (r ≥ 1): random · min(capMs, baseMs · 2^r). Defaults 25 ms, no cap. */
  baseMs?: number;
  capMs?: number;
  /** Chunks in flight at once (default: all). */
  concurrency?: number;
  /** For tests. */
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

/** The backoff before round `round` (0 for the first). */
export function backoffMs(round: number, o: Pick<BatchRetry, 'baseMs' | 'capMs' | 'random'> = {}): number {
  if (round <= 0) return 0;
  return (o.random ?? Math.random)() * Math.min(o.capMs ?? Infinity, (o.baseMs ?? 25) * 2 ** round);
}

type Tables<T> = Record<string, T>;

/** Splits per-table lists into chunks of at most `size` entries in all, keeping each entry's table. */
function chunked<E>(items: Tables<E[]>, size: number): Tables<E[]>[] {
  const flat = Object.entries(items).flatMap(([table, list]) => list.map((e) => [table, e] as const));
  const out: Tables<E[]>[] = [];
  for (let i = 0; i < flat.length; i += size) {
    const chunk: Tables<E[]> = {};
    for (const [table, e] of flat.slice(i, i + size)) (chunk[table] ??= []).push(e);
    out.push(chunk);
  }
  return out;
}

const count = (t: Tables<unknown[] | undefined> | undefined): number => Object.values(t ?? {}).reduce((n, l) => n + (l?.length ?? 0), 0);

function merge<E>(into: Tables<E[]>, from: Tables<E[]>): void {
  for (const [table, list] of Object.entries(from)) if (list.length) (into[table] ??= []).push(...list);
}

/** Runs `f` on every chunk, `concurrency` at a time; every chunk settles before the first error is rethrown. */
async function eachChunk<C>(chunks: C[], concurrency: number | undefined, f: (c: C) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Math.max(1, Math.min(concurrency ?? chunks.length, chunks.length));
  const results = await Promise.allSettled(
    Array.from({ length: lanes }, async () => {
      while (next < chunks.length) await f(chunks[next++]!);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A write request of the document client (PutRequest / DeleteRequest with native values). */
export type DocWriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

export type BatchWriteSend<R> = (requestItems: Tables<R[]>) => Promise<{ UnprocessedItems?: Tables<R[]> | undefined }>;

/**
 * Writes `requestItems` (table → PutRequest/DeleteRequest list) in chunks of 25, retrying what
 * DynamoDB leaves unprocessed. Returns what is still unprocessed after `maxRounds` (empty: all written).
 */
export async function batchWrite<R>(send: BatchWriteSend<R>, requestItems: Tables<R[]>, o: BatchRetry = {}): Promise<Tables<R[]>> {
  const left: Tables<R[]> = {};
  const pause = o.sleep ?? realSleep;
  await eachChunk(chunked(requestItems, WRITE_CHUNK), o.concurrency, async (chunk) => {
    let pending = chunk;
    for (let round = 0; count(pending) > 0; round++) {
      if (round >= (o.maxRounds ?? 8)) return merge(left, pending);
      if (round > 0) await pause(backoffMs(round, o));
      pending = (await send(pending)).UnprocessedItems ?? {};
    }
  });
  return left;
}

/** Per table: the keys and the read's parameters (ConsistentRead, ProjectionExpression, …). */
export type KeysAndParams<K> = { Keys: K[] } & Record<string, unknown>;
export type BatchGetSend<K, I> = (
  requestItems: Tables<KeysAndParams<K>>,
) => Promise<{ Responses?: Tables<I[]> | undefined; UnprocessedKeys?: Tables<{ Keys?: K[] | undefined }> | undefined }>;

export interface BatchGetResult<K, I> {
  /** Items read, per table (order not kept, as DynamoDB does not keep it). */
  items: Tables<I[]>;
  /** Keys still unprocessed after `maxRounds`, per table (empty: all read). */
  unprocessed: Tables<K[]>;
}

/**
 * Reads `requestItems` (table → keys and read parameters) in chunks of 100 keys, retrying the keys
 * DynamoDB leaves unprocessed (with the same parameters). Returns the items and what is still unread.
 */
export async function batchGet<K, I>(send: BatchGetSend<K, I>, requestItems: Tables<KeysAndParams<K>>, o: BatchRetry = {}): Promise<BatchGetResult<K, I>> {
  const params = (table: string) => {
    const { Keys: _, ...rest } = requestItems[table]!;
    return rest;
  };
  const keys = Object.fromEntries(Object.entries(requestItems).map(([t, r]) => [t, r.Keys]));
  const out: BatchGetResult<K, I> = { items: {}, unprocessed: {} };
  const pause = o.sleep ?? realSleep;
  await eachChunk(chunked(keys, GET_CHUNK), o.concurrency, async (chunk) => {
    let pending = chunk;
    for (let round = 0; count(pending) > 0; round++) {
      if (round >= (o.maxRounds ?? 8)) return merge(out.unprocessed, pending);
      if (round > 0) await pause(backoffMs(round, o));
      const request = Object.fromEntries(Object.entries(pending).map(([t, Keys]) => [t, { ...params(t), Keys }]));
      const res = await send(request);
      merge(out.items, res.Responses ?? {});
      pending = Object.fromEntries(Object.entries(res.UnprocessedKeys ?? {}).map(([t, r]) => [t, r.Keys ?? []]));
    }
  });
  return out;
}

/** Total entries in a per-table result (`batchWrite`'s or `batchGet`'s unprocessed). */
export const countItems = (t: Tables<unknown[]>): number => count(t);

/**
 * The PartiQL statement that creates `item` in `table` unless an item with its key exists
 * (`INSERT … VALUE {…}`, every value a parameter): one statement of a BatchExecuteStatement, answered
 * on its own (`DuplicateItem` when the key exists) at a single write's units. `V`: the value type of
 * the client (AttributeValue, or plain values with the document client).
 */
export function insertStatement<V>(table: string, item: Record<string, V>): { Statement: string; Parameters: V[] } {
  const names = Object.keys(item);
  return { Statement: `INSERT INTO "${table}" VALUE {${names.map((n) => `'${n}': ?`).join(', ')}}`, Parameters: names.map((n) => item[n]!) };
}
