/**
 * `stack.drain()` answers true only once everything written to the streams before the call has been
 * processed, whoever wrote it: a writer the stack does not see (`cairn replay` puts records on the
 * stream itself), an HTTP request still under way, a service delivery (EventBridge, scheduler)
 * whose function wrote to a stream. Each case is built so that a drain deciding from reads that
 * started before the write would answer true with the record unprocessed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { kinesis } from '#shared/aws/clients';
import { STREAMS } from '#shared/config/resources';
import { startTestStack, type TestStack } from '../support/stack';
import { sleep } from '../support/wait';
import type { LocalFunctionDef } from '#local/lambda';
import type { LocalService, ServiceContext } from '#local/services';

const stacks: TestStack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close({ drainTimeoutMs: 2000 })));
});

async function put(data: string): Promise<void> {
  const out = await kinesis().send(new PutRecordsCommand({ StreamName: STREAMS.raw.name, Records: [{ PartitionKey: 'pk-drain', Data: Buffer.from(data) }] }));
  expect(out.FailedRecordCount ?? 0).toBe(0);
}

/** A stack whose only stream consumer records what it is handed; idle readers back off up to 10 s. */
async function start(
  extra: {
    functions?: Record<string, LocalFunctionDef>;
    routes?: { method: 'POST'; path: string; fn: string; auth: 'writeKey' }[];
    services?: LocalService[];
  } = {},
) {
  const received: string[] = [];
  const stack = await startTestStack({
    name: 'drain',
    functions: [],
    extraFunctions: {
      probe: {
        id: 'Probe',
        entry: '(inline)',
        memoryMb: 128,
        timeoutSeconds: 5,
        kinesis: {
          stream: 'raw',
          batchSize: 10,
          maxBatchingWindowMs: 0,
          retryAttempts: 2,
          maxRecordAgeSeconds: 3600,
          bisectOnError: false,
          parallelization: 1,
        },
        handler: async (e: KinesisStreamEvent) => void received.push(...e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString())),
      },
      ...extra.functions,
    },
    routes: extra.routes ?? [],
    services: extra.services ?? [],
    tuning: { idleMinMs: 20, idleMaxMs: 10_000 },
  });
  stacks.push(stack);
  return { stack, received };
}

describe('stack.drain()', () => {
  it('processes records a writer outside the stack put on the stream before the call (cairn replay)', async () => {
    const { stack, received } = await start();
    // Let the shard readers find the stream empty a few times and back off (seconds between reads).
    await sleep(2_000);
    await put('from-outside');
    expect(await stack.drain(10_000)).toBe(true);
    expect(received).toEqual(['from-outside']);
  });

  it('waits for an HTTP request under way, and for what it writes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    const { stack, received } = await start({
      functions: {
        slow: {
          id: 'Slow',
          entry: '(inline)',
          memoryMb: 128,
          timeoutSeconds: 10,
          handler: async () => {
            started();
            await gate;
            await put('from-request');
            return { statusCode: 200, body: '{}' };
          },
        },
      },
      routes: [{ method: 'POST', path: '/slow', fn: 'slow', auth: 'writeKey' }],
    });
    await sleep(500);
    const request = fetch(`${stack.url}/slow`, { method: 'POST', body: '{}' });
    await inHandler;
    let settled = false;
    const drained = stack.drain(10_000).finally(() => (settled = true));
    await sleep(300);
    expect(settled).toBe(false);
    release();
    expect(await drained).toBe(true);
    expect(received).toEqual(['from-request']);
    expect((await request).status).toBe(200);
  });

  it('processes what a service delivery wrote, even when asked the moment the delivery ends', async () => {
    let ctx!: ServiceContext;
    let busy = 0;
    const fake: LocalService = {
      name: 'fake',
      start(c) {
        ctx = c;
        return { close() {}, idle: () => busy === 0 };
      },
    };
    const { stack, received } = await start({
      functions: { writer: { id: 'Writer', entry: '(inline)', memoryMb: 128, timeoutSeconds: 5, handler: async () => void (await put('from-delivery')) } },
      services: [fake],
    });
    await sleep(500);
    // A delivery (as the local EventBridge or scheduler makes one), and a drain as soon as it is over.
    busy++;
    await ctx.invoke('writer', {});
    busy--;
    expect(await stack.drain(10_000)).toBe(true);
    expect(received).toEqual(['from-delivery']);
  });
});
