/**
 * The AWS-API emulators the local stack runs in-process: dynalite (DynamoDB), kinesalite (Kinesis)
 * and s3rver (S3), each persisting under the data directory so state survives a restart.
 * `createResources` makes the streams, tables and bucket from the same definitions the CDK stack
 * uses (shared/config/resources.ts), idempotently.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, type KeySchemaElement, type AttributeDefinition } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { dynamodb, kinesis, s3 } from '#shared/aws/clients';
import { LAKE, STREAMS, TABLES, type TableDef } from '#shared/config';
import { log } from '#shared/log';

const require = createRequire(import.meta.url);
// kinesalite's empty reads keep their position, as Kinesis's do (it could skip a stream's first record): see kinesalite-fix.cjs.
require('./kinesalite-fix.cjs');
// Its sequence numbers and hash keys with BigInt instead of bignumber.js (same values, a fraction of the CPU): see kinesalite-seq.cjs.
require('./kinesalite-seq.cjs');
// dynalite's LevelDB reads without a thread-pool round trip each (same reads, far less CPU): see dynalite-reads.cjs.
require('./dynalite-reads.cjs');
// BatchExecuteStatement (the INSERT subset λ resolve sends), which dynalite lacks: see dynalite-partiql.cjs.
const { withPartiql } = require('./dynalite-partiql.cjs') as { withPartiql: (s: Server) => Server };
// CommonJS packages without types.
const dynalite = require('dynalite') as (o: object) => Server;
const kinesalite = require('kinesalite') as (o: object) => Server;
const S3rver = require('s3rver') as new (o: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
// s3rver's PUT made atomic, as S3's is (a partial object is never served): see s3rver-atomic.cjs.
require('./s3rver-atomic.cjs');
// The tags of a PUT (x-amz-tagging) kept as S3 keeps them: see s3rver-tagging.cjs.
require('./s3rver-tagging.cjs');

export interface Emulators {
  endpoints: { dynamodb: string; kinesis: string; s3: string };
  /** Directory where s3rver keeps objects: `<s3Dir>/<bucket>/<key>._S3rver_object`. */
  s3Dir: string;
  /**
   * Resolves once `onS3Event` has been called for every PUT or DELETE answered before this call
   * (the emulator thread sends an event before it answers, but the answer can reach its client first).
   */
  syncEvents(): Promise<void>;
  close(): Promise<void>;
}

const listen = (server: Server, port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

export interface EmulatorOptions {
  /**
   * Run the emulators in worker threads (still in this process, still the real emulators on their
   * own loopback ports): dynalite in one, kinesalite and s3rver in another. Their CPU work (LevelDB,
   * request parsing, JSON) then runs on other cores than the thread serving HTTP and running the
   * handlers. Default false (in the calling thread).
   */
  threads?: boolean;
  /**
   * S3 object events of s3rver (ObjectCreated:Put/Post/Copy, ObjectRemoved:Delete) whose key starts
   * with `s3EventPrefix`, in S3 event notification form (`toS3NotificationEvent`). Default: none.
   */
  onS3Event?: (event: S3NotificationEvent) => void;
  /** Key prefix of the S3 events passed to `onS3Event` (default: every key). */
  s3EventPrefix?: string;
}

/** An S3 event notification (the aws-lambda `S3Event` shape). */
export interface S3NotificationEvent {
  Records: {
    eventName: string;
    eventSource: string;
    awsRegion: string;
    s3: { bucket: { name: string; arn: string }; object: { key: string; size?: number; eTag?: string; sequencer?: string } };
  }[];
}

/**
 * s3rver's event as S3 sends it: keys URL-encoded the way S3 notifications encode them (spaces as
 * `+`, other reserved characters as %XX, `/` kept), the region of the stack, the bucket's ARN.
 */
export function toS3NotificationEvent(e: S3NotificationEvent, region = process.env.AWS_REGION ?? 'us-east-1'): S3NotificationEvent {
  return {
    Records: e.Records.map((r) => ({
      ...r,
      awsRegion: region,
      s3: {
        ...r.s3,
        bucket: { ...r.s3.bucket, arn: `arn:aws:s3:::${r.s3.bucket.name}` },
        object: { ...r.s3.object, key: encodeURIComponent(r.s3.object.key).replace(/%2F/g, '/').replace(/%20/g, '+') },
      },
    })),
  };
}

const keyOf = (e: S3NotificationEvent) => e.Records?.[0]?.s3?.object?.key ?? '';

type EmulatorName = 'dynamodb' | 'kinesis' | 's3';

/** Starts the three emulators on free loopback ports, persisting under `dataDir` (in memory when omitted). */
export async function startEmulators(dataDir?: string, opts: EmulatorOptions = {}): Promise<Emulators> {
  const dir = (name: string) => {
    if (!dataDir) return undefined;
    const d = join(dataDir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const s3Dir = dir('s3') ?? join((await import('node:os')).tmpdir(), `cairn-s3-${process.pid}-${Date.now()}`);
  mkdirSync(s3Dir, { recursive: true });
  const options = {
    dynamodb: { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: dir('dynamodb') },
    kinesis: { createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100, path: dir('kinesis') },
    s3: { port: 0, address: '127.0.0.1', directory: s3Dir, silent: true, allowMismatchedSignatures: true },
  };
  const endpoints = (ports: Record<EmulatorName, number>) => ({
    dynamodb: `http://127.0.0.1:${ports.dynamodb}`,
    kinesis: `http://127.0.0.1:${ports.kinesis}`,
    s3: `http://127.0.0.1:${ports.s3}`,
  });

  if (opts.threads) {
    const groups: EmulatorName[][] = [['dynamodb'], ['kinesis', 's3']];
    const onS3 = opts.onS3Event ? (e: S3NotificationEvent) => opts.onS3Event!(toS3NotificationEvent(e)) : undefined;
    const started = await Promise.allSettled(
      groups.map((services) => startWorker(services, options, services.includes('s3') ? onS3 : undefined, opts.s3EventPrefix)),
    );
    const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.close()));
      throw failed.reason;
    }
    const ports = Object.assign({}, ...workers.map((w) => w.ports)) as Record<EmulatorName, number>;
    return {
      endpoints: endpoints(ports),
      s3Dir,
      syncEvents: async () => void (await Promise.all(workers.map((w) => w.sync()))),
      close: async () => void (await Promise.all(workers.map((w) => w.close()))),
    };
  }

  const ddb = withPartiql(dynalite(options.dynamodb));
  const kin = kinesalite(options.kinesis);
  const s3srv = new S3rver(options.s3);
  if (opts.onS3Event) {
    const prefix = opts.s3EventPrefix ?? '';
    (s3srv as unknown as { on(ev: 'event', cb: (e: S3NotificationEvent) => void): void }).on('event', (e) => {
      if (keyOf(e).startsWith(prefix)) opts.onS3Event!(toS3NotificationEvent(e));
    });
  }
  const [ddbPort, kinPort, s3Addr] = await Promise.all([listen(ddb), listen(kin), s3srv.run()]);
  return {
    endpoints: endpoints({ dynamodb: ddbPort, kinesis: kinPort, s3: s3Addr.port }),
    s3Dir,
    // In this thread an object event is handled before the PUT is answered.
    syncEvents: async () => undefined,
    async close() {
      await Promise.all([closeServer(ddb), closeServer(kin), s3srv.close()]);
    },
  };
}

/** One emulator worker thread (local/emulator-worker.mjs) running `services`. */
function startWorker(
  services: EmulatorName[],
  options: object,
  onS3Event?: (e: S3NotificationEvent) => void,
  s3EventPrefix?: string,
): Promise<{ ports: Partial<Record<EmulatorName, number>>; sync(): Promise<void>; close(): Promise<void> }> {
  const worker = new Worker(new URL('./emulator-worker.mjs', import.meta.url), {
    // The worker forwards s3rver's object events under the prefix as `{ type: 's3event', event }`.
    workerData: { services, options, ...(onS3Event ? { s3Events: { prefix: s3EventPrefix ?? '' } } : {}) },
    // No loader flags (the worker needs none, or registers its own); CPU profiling flags are passed on.
    execArgv: process.execArgv.filter((a) => a.startsWith('--cpu-prof')),
    // A young generation larger than V8's default: far fewer scavenges and promotions under load.
    resourceLimits: { maxYoungGenerationSizeMb: 48 },
  });
  let closing: Promise<void> | undefined;
  let syncs = 0;
  /** A round trip through the worker: every message it posted before (s3 events) has been handled here. */
  const sync = () =>
    closing
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const id = ++syncs;
          const onMessage = (m: { type?: string; id?: number }) => m?.type === 'synced' && m.id === id && done();
          const done = () => {
            worker.off('message', onMessage);
            worker.off('exit', done);
            resolve();
          };
          worker.on('message', onMessage);
          worker.once('exit', done);
          worker.postMessage({ type: 'sync', id });
        });
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        void worker.terminate().then(
          () => resolve(),
          () => resolve(),
        );
      };
      // Closing flushes LevelDB; bounded so a stuck emulator cannot hang shutdown.
      const timer = setTimeout(done, 10_000);
      worker.once('exit', done);
      worker.on('message', (m: { type?: string }) => m?.type === 'closed' && done());
      worker.postMessage({ type: 'close' });
    }));
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      void worker.terminate();
      reject(e);
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`emulator worker (${services.join(', ')}) exited with code ${code} before it was ready`)));
    worker.once('message', (m: { type: string; ports?: Record<EmulatorName, number>; message?: string }) => {
      worker.removeAllListeners('exit');
      worker.removeAllListeners('error');
      worker.on('error', (e) => log('error', 'emulator worker failed', { emulators: services.join(','), error: e.message }));
      worker.on('exit', (code) => {
        if (!closing) log('error', 'emulator worker exited unexpectedly', { emulators: services.join(','), code });
      });
      if (onS3Event)
        worker.on('message', (msg: { type?: string; event?: S3NotificationEvent }) => msg?.type === 's3event' && msg.event && onS3Event(msg.event));
      if (m.type === 'ready' && m.ports) resolve({ ports: m.ports, sync, close });
      else fail(new Error(`emulator worker (${services.join(', ')}) failed to start: ${m.message ?? 'unknown error'}`));
    });
  });
}

/** Points this process's AWS clients (shared/aws/clients.ts) at the emulators. */
export function useEndpoints(endpoints: Partial<Record<'dynamodb' | 'kinesis' | 's3' | 'events' | 'scheduler', string>>): void {
  for (const [service, url] of Object.entries(endpoints)) if (url) process.env[`CAIRN_ENDPOINT_${service.toUpperCase()}`] = url;
}

function tableInput(t: TableDef) {
  const attrs = new Map<string, AttributeDefinition>();
  const key = (pk: string, sk?: string): KeySchemaElement[] => {
    attrs.set(pk, { AttributeName: pk, AttributeType: 'S' });
    if (sk) attrs.set(sk, { AttributeName: sk, AttributeType: 'S' });
    return sk
      ? [
          { AttributeName: pk, KeyType: 'HASH' },
          { AttributeName: sk, KeyType: 'RANGE' },
        ]
      : [{ AttributeName: pk, KeyType: 'HASH' }];
  };
  const KeySchema = key(t.partitionKey, t.sortKey);
  const GlobalSecondaryIndexes = t.globalIndexes?.map((g) => ({
    IndexName: g.name,
    KeySchema: key(g.partitionKey, g.sortKey),
    Projection: { ProjectionType: 'ALL' as const },
  }));
  return {
    TableName: t.name,
    KeySchema,
    AttributeDefinitions: [...attrs.values()],
    // Always on-demand locally, whatever `cairn:dynamoDbCapacity` deploys: dynalite emulates no capacity
    // (it neither throttles nor scales), so ProvisionedThroughput would only be numbers it stores.
    BillingMode: 'PAY_PER_REQUEST' as const,
    ...(GlobalSecondaryIndexes?.length ? { GlobalSecondaryIndexes } : {}),
  };
}

/** Creates every stream, table and the lake bucket if missing. Safe to call on every start. */
export async function createResources(): Promise<void> {
  await Promise.all([
    ...Object.values(TABLES).map(async (t: TableDef) => {
      try {
        await dynamodb().send(new DescribeTableCommand({ TableName: t.name }));
      } catch (e) {
        if ((e as Error).name !== 'ResourceNotFoundException') throw e;
        await dynamodb().send(new CreateTableCommand(tableInput(t)));
      }
    }),
    ...Object.values(STREAMS).map(async (s) => {
      try {
        await kinesis().send(new DescribeStreamSummaryCommand({ StreamName: s.name }));
      } catch (e) {
        if ((e as Error).name !== 'ResourceNotFoundException') throw e;
        await kinesis().send(new CreateStreamCommand({ StreamName: s.name, ShardCount: s.shards }));
      }
    }),
    (async () => {
      try {
        await s3().send(new HeadBucketCommand({ Bucket: LAKE.localBucket }));
      } catch {
        await s3().send(new CreateBucketCommand({ Bucket: LAKE.localBucket }));
      }
    })(),
  ]);
  // kinesalite creates streams asynchronously even with createStreamMs 0: wait until ACTIVE.
  for (const s of Object.values(STREAMS)) {
    for (let i = 0; i < 100; i++) {
      const d = await kinesis().send(new DescribeStreamSummaryCommand({ StreamName: s.name }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
