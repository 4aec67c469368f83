/**
 * The local Kinesis event-source mapping reproduces Lambda's semantics: batches in shard order,
 * partial batch responses, retries with bisection, the on-failure destination (lake `failed/`),
 * record age, and checkpoints that survive a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent } from 'aws-lambda';
import { kinesis, s3 } from '#shared/aws/clients';
import { compareSeq } from '#shared/normalize/index';
import { LAKE, STREAMS, type KinesisSourceDef } from '#shared/config/resources';
import { startTestStack, type TestStack } from '../support/stack';
import { until as untilWithin } from '../support/wait';
import type { Handler, LocalFunctionDef } from '#local/lambda';

// Function errors are the point of several tests here: keep their warnings out of the output.
process.env.CAIRN_LOG_LEVEL ??= 'error';

const stacks: TestStack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close({ drainTimeoutMs: 2000 })));
});

const source = (over: Partial<KinesisSourceDef> = {}): KinesisSourceDef => ({
  stream: 'raw',
  batchSize: 10,
  maxBatchingWindowMs: 300,
  retryAttempts: 2,
  maxRecordAgeSeconds: 3600,
  bisectOnError: true,
  parallelization: 1,
  ...over,
});

const probe = (handler: Handler, kin: KinesisSourceDef): Record<string, LocalFunctionDef> => ({
  probe: { id: 'Probe', entry: '(inline)', memoryMb: 128, timeoutSeconds: 5, kinesis: kin, handler },
});

async function start(dataDir: string, functions: Record<string, LocalFunctionDef>): Promise<TestStack> {
  const stack = await startTestStack({
    dataDir,
    functions: [],
    extraFunctions: functions,
    routes: [],
    services: [],
    tuning: { idleMinMs: 20, idleMaxMs: 50, retryBaseDelayMs: 5, retryMaxDelayMs: 20 },
  });
  stacks.push(stack);
  return stack;
}

/** Puts `datas` in order on one shard (same partition key), in one request. */
async function put(datas: string[], partitionKey = 'pk-1'): Promise<string[]> {
  const out = await kinesis().send(
    new PutRecordsCommand({ StreamName: STREAMS.raw.name, Records: datas.map((d) => ({ PartitionKey: partitionKey, Data: Buffer.from(d) })) }),
  );
  expect(out.FailedRecordCount ?? 0).toBe(0);
  return out.Records!.map((r) => r.SequenceNumber!);
}

const decode = (e: KinesisStreamEvent) => e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  await untilWithin(what, cond, (ok) => ok, { ms, every: 20 });
};

async function failedObjects(): Promise<Record<string, any>[]> {
  const list = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.failedPrefix }));
  const out: Record<string, any>[] = [];
  for (const o of list.Contents ?? []) {
    const got = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }));
    out.push({ key: o.Key, ...JSON.parse(await got.Body!.transformToString()) });
  }
  return out;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'cairn-rt-'));

describe('local Kinesis event-source mapping', () => {
  it('delivers Lambda-shaped events in shard order, in batches of at most batchSize', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let first: KinesisStreamEvent | undefined;
    const stack = await start(
      tmp(),
      probe(
        async (e: KinesisStreamEvent) => {
          first ??= e;
          sizes.push(e.Records.length);
          seen.push(...decode(e));
          await new Promise((r) => setTimeout(r, 5));
          return {};
        },
        source({ batchSize: 7 }),
      ),
    );
    const datas = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const seqs = [...(await put(datas.slice(0, 15))), ...(await put(datas.slice(15)))];
    await until('seen.length >= 40', () => seen.length >= 40);
    expect(seen).toEqual(datas);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);

    const r = first!.Records[0]!;
    expect(r).toMatchObject({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventName: 'aws:kinesis:record',
      awsRegion: expect.any(String),
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\//),
      eventSourceARN: expect.stringMatching(/^arn:aws:kinesis:[\w-]+:\d{12}:stream\/cairn-raw$/),
      kinesis: { kinesisSchemaVersion: '1.0', partitionKey: 'pk-1', sequenceNumber: seqs[0], data: Buffer.from('r0').toString('base64') },
    });
    expect(r.eventID).toMatch(new RegExp(`^shardId-\\d{12}:${seqs[0]}$`));
    // approximateArrivalTimestamp is in seconds (with a fraction), like Lambda's.
    expect(Math.abs(r.kinesis.approximateArrivalTimestamp - Date.now() / 1000)).toBeLessThan(60);

    // The last batch may still be returning from the handler when `seen` fills: wait for its checkpoint.
    await until('the probe to be 0 records behind', async () => (await stack.status()).streams.raw!.consumers.probe!.recordsBehind === 0);
    const status = await stack.status();
    expect(status.streams.raw!.consumers.probe!.recordsBehind).toBe(0);
    expect(status.functions.probe!.records).toBe(40);
    expect(status.functions.probe!.errors).toBe(0);
  });

  it('retries a partial batch failure from the first failed record, checkpointing what precedes it', async () => {
    const calls: string[][] = [];
    await start(
      tmp(),
      probe(
        async (e: KinesisStreamEvent) => {
          const d = decode(e);
          calls.push(d);
          if (calls.length === 1) {
            // Report r6 and r3 as failed (unordered): Lambda retries from the lowest, r3.
            const ids = e.Records.filter((_, i) => d[i] === 'r6' || d[i] === 'r3').map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber }));
            return { batchItemFailures: ids };
          }
          return { batchItemFailures: [] };
        },
        source({ batchSize: 10 }),
      ),
    );
    const datas = Array.from({ length: 10 }, (_, i) => `r${i}`);
    await put(datas);
    await until('calls.length >= 2', () => calls.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls[0]).toEqual(datas);
    expect(calls[1]).toEqual(datas.slice(3));
    expect(calls).toHaveLength(2);
  });

  it('treats an itemIdentifier that is not in the batch as a failure of the whole batch', async () => {
    const calls: string[][] = [];
    await start(
      tmp(),
      probe(
        async (e: KinesisStreamEvent) => {
          calls.push(decode(e));
          return calls.length === 1 ? { batchItemFailures: [{ itemIdentifier: '' }] } : {};
        },
        source({ bisectOnError: false }),
      ),
    );
    await put(['a', 'b', 'c']);
    await until('calls.length >= 2', () => calls.length >= 2);
    expect(calls[1]).toEqual(['a', 'b', 'c']);
  });

  it('bisects a failing batch, isolates the bad record, retries it, then sends it to failed/', async () => {
    const calls: string[][] = [];
    const ok: string[] = [];
    await start(
      tmp(),
      probe(
        async (e: KinesisStreamEvent) => {
          const d = decode(e);
          calls.push(d);
          if (d.includes('poison')) throw new Error('cannot process');
          ok.push(...d);
        },
        source({ retryAttempts: 2, bisectOnError: true }),
      ),
    );
    const datas = ['g1', 'g2', 'g3', 'g4', 'poison', 'g6', 'g7', 'g8'];
    await put(datas);
    await until('ok.length >= 7', () => ok.length >= 7);
    // Every good record processed exactly once, in order.
    expect(ok).toEqual(datas.filter((d) => d !== 'poison'));
    // The bad record alone: first attempt + 2 retries.
    expect(calls.filter((c) => c.length === 1 && c[0] === 'poison')).toHaveLength(3);
    await until('one failed-batch object', async () => (await failedObjects()).length === 1);
    const [f] = await failedObjects();
    expect(f!.key).toMatch(/^failed\/probe\/shardId-\d+\/\d{4}\/\d{2}\/\d{2}\//);
    expect(f!.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(f!.KinesisBatchInfo.batchSize).toBe(1);
    expect(f!.error.errorMessage).toBe('cannot process');
    expect(decode(JSON.parse(f!.payload))).toEqual(['poison']);
  });

  it('without bisection, retries the whole batch retryAttempts times then sends it to failed/ and moves on', async () => {
    const calls: string[][] = [];
    await start(
      tmp(),
      probe(
        async (e: KinesisStreamEvent) => {
          const d = decode(e);
          calls.push(d);
          if (d.includes('bad')) throw new Error('nope');
        },
        source({ retryAttempts: 1, bisectOnError: false, maxBatchingWindowMs: 50 }),
      ),
    );
    await put(['x', 'bad']);
    await until('calls.length >= 2', () => calls.length >= 2);
    await until('one failed-batch object', async () => (await failedObjects()).length === 1);
    await put(['after']);
    await until('a call with the record after', () => calls.some((c) => c.includes('after')));
    expect(calls.slice(0, 2)).toEqual([
      ['x', 'bad'],
      ['x', 'bad'],
    ]);
    const [f] = await failedObjects();
    expect(decode(JSON.parse(f!.payload))).toEqual(['x', 'bad']);
  });

  it('resumes after the last processed record when the stack restarts on the same data dir', async () => {
    const dir = tmp();
    const a: string[] = [];
    let stack = await start(
      dir,
      probe(async (e: KinesisStreamEvent) => void a.push(...decode(e)), source()),
    );
    await put(['1', '2', '3']);
    await until('a.length === 3', () => a.length === 3);
    await stack.close();

    const b: string[] = [];
    stack = await start(
      dir,
      probe(async (e: KinesisStreamEvent) => void b.push(...decode(e)), source()),
    );
    await put(['4', '5']);
    await until('b.length >= 2', () => b.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(b).toEqual(['4', '5']);
    expect(a).toEqual(['1', '2', '3']);
  });

  it('never skips records that were not processed before a stop: they are delivered after the restart', async () => {
    const dir = tmp();
    let attempts = 0;
    const stack = await start(
      dir,
      probe(
        async () => {
          attempts++;
          throw new Error('downstream unavailable');
        },
        source({ retryAttempts: -1, bisectOnError: false }),
      ),
    );
    await put(['p1', 'p2']);
    await until('attempts >= 2', () => attempts >= 2);
    await stack.close({ drainTimeoutMs: 300 });
    stacks.splice(stacks.indexOf(stack), 1);

    const got: string[] = [];
    await start(
      dir,
      probe(async (e: KinesisStreamEvent) => void got.push(...decode(e)), source()),
    );
    await until('got.length >= 2', () => got.length >= 2);
    expect(got).toEqual(['p1', 'p2']);
    expect(await failedObjects()).toEqual([]);
  });

  it('sends records older than maxRecordAgeSeconds to failed/ without invoking the function', async () => {
    const dir = tmp();
    const first = await start(dir, {});
    await put(['old-1', 'old-2']);
    await first.close();
    stacks.splice(stacks.indexOf(first), 1);
    await new Promise((r) => setTimeout(r, 1500));

    const got: string[] = [];
    await start(
      dir,
      probe(async (e: KinesisStreamEvent) => void got.push(...decode(e)), source({ maxRecordAgeSeconds: 1 })),
    );
    await until('one failed-batch object', async () => (await failedObjects()).length === 1);
    const [f] = await failedObjects();
    expect(f!.requestContext.condition).toBe('RecordAgeExceeded');
    expect(decode(JSON.parse(f!.payload))).toEqual(['old-1', 'old-2']);
    await put(['fresh']);
    await until('got.length >= 1', () => got.length >= 1);
    expect(got).toEqual(['fresh']);
  });

  describe('ParallelizationFactor > 1', () => {
    /** `keys` partition keys × `per` records each, interleaved, in one request: data `<key>/<n>`. */
    async function putInterleaved(keys: number, per: number): Promise<Map<string, { seq: string; shard: string }>> {
      const entries = Array.from({ length: keys * per }, (_, i) => ({ key: `k${i % keys}`, data: `k${i % keys}/${Math.floor(i / keys)}` }));
      const out = await kinesis().send(
        new PutRecordsCommand({ StreamName: STREAMS.raw.name, Records: entries.map((e) => ({ PartitionKey: e.key, Data: Buffer.from(e.data) })) }),
      );
      expect(out.FailedRecordCount ?? 0).toBe(0);
      return new Map(entries.map((e, i) => [e.data, { seq: out.Records![i]!.SequenceNumber!, shard: out.Records![i]!.ShardId! }]));
    }
    const keyOf = (d: string) => d.slice(0, d.indexOf('/'));
    const nOf = (d: string) => Number(d.slice(d.indexOf('/') + 1));

    it('runs batches of a shard concurrently, keeps each key in order, loses and doubles nothing, and retries a failing batch on its own', async () => {
      const KEYS = 12;
      const PER = 25;
      const running = new Map<string, number>();
      let maxRunning = 0;
      const runningKeys = new Map<string, number>();
      let keyShared = false;
      /** Records of invocations that succeeded, in the order they succeeded. */
      const ok: string[] = [];
      let failures = 0;
      const bad = 'k5/3';
      const stack = await start(
        tmp(),
        probe(
          async (e: KinesisStreamEvent) => {
            const d = decode(e);
            const keys = new Set(d.map(keyOf));
            // Two batches in flight at once never hold the same partition key.
            for (const k of keys) {
              if (runningKeys.has(k)) keyShared = true;
              runningKeys.set(k, (runningKeys.get(k) ?? 0) + 1);
            }
            // Batches in flight per shard (eventID is `<shardId>:<seq>`).
            const shard = e.Records[0]!.eventID.split(':')[0]!;
            running.set(shard, (running.get(shard) ?? 0) + 1);
            maxRunning = Math.max(maxRunning, running.get(shard)!);
            try {
              await new Promise((r) => setTimeout(r, 30));
              // The batch holding `bad` fails twice (retried, bisected), then succeeds.
              if (d.includes(bad) && failures < 2) {
                failures++;
                throw new Error('downstream unavailable');
              }
              ok.push(...d);
              return {};
            } finally {
              running.set(shard, running.get(shard)! - 1);
              for (const k of keys) {
                const n = runningKeys.get(k)! - 1;
                if (n) runningKeys.set(k, n);
                else runningKeys.delete(k);
              }
            }
          },
          source({ batchSize: 10, maxBatchingWindowMs: 50, retryAttempts: 5, parallelization: 3 }),
        ),
      );
      const sent = await putInterleaved(KEYS, PER);
      await until('every record processed', () => ok.length >= KEYS * PER, 20_000);
      await until('the probe to be 0 records behind', async () => (await stack.status()).streams.raw!.consumers.probe!.recordsBehind === 0);

      expect(failures).toBe(2);
      expect(maxRunning).toBeGreaterThan(1);
      expect(maxRunning).toBeLessThanOrEqual(3);
      expect(keyShared).toBe(false);
      // Nothing lost, nothing doubled among successful invocations.
      expect([...ok].sort()).toEqual([...sent.keys()].sort());
      // Per partition key, in the order they were put.
      for (let k = 0; k < KEYS; k++) {
        const got = ok.filter((d) => keyOf(d) === `k${k}`).map(nOf);
        expect(got).toEqual(Array.from({ length: PER }, (_, i) => i));
      }
      // Each shard's checkpoint is its last record.
      const status = await stack.status();
      for (const sh of status.streams.raw!.consumers.probe!.shards) {
        const last = [...sent.values()]
          .filter((v) => v.shard === sh.shardId)
          .map((v) => v.seq)
          .sort(compareSeq)
          .pop();
        if (last) expect(sh.checkpoint).toBe(last);
      }
      expect(status.functions.probe!.records).toBe(KEYS * PER);
    });

    it('never checkpoints past a record still failing in one lane while the others go ahead; a restart re-delivers from there', async () => {
      const dir = tmp();
      const KEYS = 8;
      const PER = 10;
      const bad = 'k3/2';
      const okA: string[] = [];
      const stack = await start(
        dir,
        probe(
          async (e: KinesisStreamEvent) => {
            const d = decode(e);
            if (d.includes(bad)) throw new Error('downstream unavailable');
            okA.push(...d);
            return {};
          },
          source({ batchSize: 5, maxBatchingWindowMs: 20, retryAttempts: -1, bisectOnError: false, parallelization: 4 }),
        ),
      );
      const sent = await putInterleaved(KEYS, PER);
      const badAt = sent.get(bad)!;
      const sameShard = [...sent.entries()].filter(([, v]) => v.shard === badAt.shard);
      // Every key of that shard except the failing lane's gets through past the bad record...
      const laterOk = () => okA.some((d) => sent.get(d)!.shard === badAt.shard && compareSeq(sent.get(d)!.seq, badAt.seq) > 0);
      await until('records after the failing one processed in other lanes', laterOk);
      await new Promise((r) => setTimeout(r, 200));
      // ...but the shard's checkpoint stays before it.
      const shard = (await stack.status()).streams.raw!.consumers.probe!.shards.find((s) => s.shardId === badAt.shard)!;
      if (shard.checkpoint) expect(compareSeq(shard.checkpoint, badAt.seq)).toBeLessThan(0);
      expect(okA).not.toContain(bad);
      await stack.close({ drainTimeoutMs: 200 });
      stacks.splice(stacks.indexOf(stack), 1);

      // After a restart everything from the checkpoint on is delivered again (at least once, never skipped).
      const okB: string[] = [];
      await start(
        dir,
        probe(async (e: KinesisStreamEvent) => void okB.push(...decode(e)), source({ batchSize: 5, maxBatchingWindowMs: 20, parallelization: 4 })),
      );
      const expected = sameShard.filter(([, v]) => compareSeq(v.seq, badAt.seq) >= 0).map(([d]) => d);
      await until('the failing record and all after it re-delivered', () => expected.every((d) => okB.includes(d)));
      const all = new Set([...okA, ...okB]);
      for (const d of sent.keys()) expect(all.has(d)).toBe(true);
      expect(await failedObjects()).toEqual([]);
    });
  });
});
