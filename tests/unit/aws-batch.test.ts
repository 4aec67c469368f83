/**
 * shared/aws/batch.ts against a fake DynamoDB that leaves items unprocessed on purpose: requests are
 * cut at the API's limits, unprocessed items go back after a jittered exponential backoff, the
 * number of rounds is bounded, and what is still unprocessed after the bound comes back to the caller.
 */
import { describe, expect, it } from 'vitest';
import { backoffMs, batchGet, batchWrite, countItems, insertStatement, type BatchWriteSend } from '#shared/aws/batch';

type Put = { PutRequest: { Item: { pk: string } } };
const puts = (n: number, prefix = 'k'): Put[] => Array.from({ length: n }, (_, i) => ({ PutRequest: { Item: { pk: `${prefix}${i}` } } }));
const noWait = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
};

describe('batchWrite', () => {
  it('cuts requests into chunks of at most 25 items across tables', async () => {
    const sizes: number[] = [];
    const tables: string[][] = [];
    const send: BatchWriteSend<Put> = async (items) => {
      sizes.push(countItems(items));
      tables.push(Object.keys(items));
      return {};
    };
    const left = await batchWrite(send, { a: puts(30, 'a'), b: puts(30, 'b') });
    expect(sizes).toEqual([25, 25, 10]);
    expect(tables).toEqual([['a'], ['a', 'b'], ['b']]);
    expect(left).toEqual({});
  });

  it('sends unprocessed items again after a backoff, until all are written', async () => {
    const written = new Set<string>();
    let calls = 0;
    const send: BatchWriteSend<Put> = async (items) => {
      calls++;
      // Writes the first half of what it is sent; leaves the rest unprocessed.
      const list = items.t!;
      const half = Math.ceil(list.length / 2);
      for (const r of list.slice(0, half)) written.add(r.PutRequest.Item.pk);
      return list.length > half ? { UnprocessedItems: { t: list.slice(half) } } : {};
    };
    const { waits, sleep } = noWait();
    const left = await batchWrite(send, { t: puts(20) }, { sleep, random: () => 1, baseMs: 10 });
    expect(left).toEqual({});
    expect(written.size).toBe(20);
    // Sent 20, 10, 5, 2, 1: five requests, a wait before each retry, doubling.
    expect(calls).toBe(5);
    expect(waits).toEqual([20, 40, 80, 160]);
  });

  it('returns what is still unprocessed after maxRounds, without throwing', async () => {
    let calls = 0;
    const send: BatchWriteSend<Put> = async (items) => {
      calls++;
      return { UnprocessedItems: items };
    };
    const { waits, sleep } = noWait();
    const left = await batchWrite(send, { t: puts(30) }, { sleep, maxRounds: 3 });
    expect(calls).toBe(6); // two chunks, three rounds each
    expect(waits).toHaveLength(4);
    expect(countItems(left)).toBe(30);
    expect(new Set(left.t!.map((r) => r.PutRequest.Item.pk)).size).toBe(30);
  });

  it('lets every chunk settle before rethrowing a failed request', async () => {
    const finished: number[] = [];
    const send: BatchWriteSend<Put> = async (items) => {
      const first = Number(items.t![0]!.PutRequest.Item.pk.slice(1));
      if (first === 0) throw new Error('boom');
      await new Promise((r) => setTimeout(r, 20));
      finished.push(first);
      return {};
    };
    await expect(batchWrite(send, { t: puts(75) })).rejects.toThrow('boom');
    expect(finished.sort((a, b) => a - b)).toEqual([25, 50]);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const send: BatchWriteSend<Put> = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return {};
    };
    await batchWrite(send, { t: puts(250) }, { concurrency: 3 });
    expect(most).toBe(3);
  });

  it('writes nothing for no items', async () => {
    let calls = 0;
    expect(await batchWrite(async () => (calls++, {}), { t: [] })).toEqual({});
    expect(calls).toBe(0);
  });
});

describe('batchGet', () => {
  type Key = { pk: string };
  const keys = (n: number): Key[] => Array.from({ length: n }, (_, i) => ({ pk: `k${i}` }));

  it('reads in chunks of 100 keys, keeps each table’s parameters on retries, and returns the items', async () => {
    const seen: { n: number; params: unknown }[] = [];
    let capacity = 0;
    const { sleep, waits } = noWait();
    const r = await batchGet<Key, Key>(
      async (req) => {
        const { Keys, ...params } = req.t!;
        seen.push({ n: Keys.length, params });
        capacity += Keys.length / 2; // what a caller accounting ConsumedCapacity would add up
        // Answers all but the last key of each request; that one comes back unprocessed once.
        const last = Keys[Keys.length - 1]!;
        const again = Keys.length > 1 ? [last] : [];
        return { Responses: { t: Keys.filter((k) => !again.includes(k)) }, UnprocessedKeys: again.length ? { t: { Keys: again } } : undefined };
      },
      { t: { Keys: keys(150), ConsistentRead: true, ProjectionExpression: 'pk, h' } },
      { sleep },
    );
    expect(seen.map((s) => s.n).sort((a, b) => a - b)).toEqual([1, 1, 50, 100]);
    for (const s of seen) expect(s.params).toEqual({ ConsistentRead: true, ProjectionExpression: 'pk, h' });
    expect(r.items.t!.map((k) => k.pk).sort()).toEqual(
      keys(150)
        .map((k) => k.pk)
        .sort(),
    );
    expect(r.unprocessed).toEqual({});
    expect(waits).toHaveLength(2);
    expect(capacity).toBe(76);
  });

  it('returns the keys still unread after maxRounds with the items it did read', async () => {
    const r = await batchGet<Key, Key>(
      async (req) => {
        const [first, ...rest] = req.t!.Keys;
        return { Responses: { t: first ? [first] : [] }, UnprocessedKeys: rest.length ? { t: { Keys: rest } } : undefined };
      },
      { t: { Keys: keys(10) } },
      { maxRounds: 4, sleep: async () => {} },
    );
    expect(r.items.t).toHaveLength(4);
    expect(r.unprocessed.t!.map((k) => k.pk)).toEqual(['k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
  });
});

describe('backoffMs', () => {
  it('is full jitter over an exponential bound, capped', () => {
    expect(backoffMs(0)).toBe(0);
    expect(backoffMs(3, { baseMs: 20, random: () => 1 })).toBe(160);
    expect(backoffMs(3, { baseMs: 20, random: () => 0.5 })).toBe(80);
    expect(backoffMs(10, { baseMs: 20, capMs: 1000, random: () => 1 })).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const ms = backoffMs(4);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(25 * 16);
    }
  });
});

describe('insertStatement', () => {
  it('names every attribute and passes every value as a parameter, in the same order', () => {
    expect(insertStatement('cairn-dedup', { pk: { S: 'src#web#msg#m-1' }, expiresAt: { N: '42' } })).toEqual({
      Statement: `INSERT INTO "cairn-dedup" VALUE {'pk': ?, 'expiresAt': ?}`,
      Parameters: [{ S: 'src#web#msg#m-1' }, { N: '42' }],
    });
  });
});
