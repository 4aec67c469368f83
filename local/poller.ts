/**
 * A Kinesis event-source mapping, reproducing what the Lambda service does for a function with a
 * Kinesis trigger (settings from `KinesisSourceDef` in shared/config/resources.ts):
 *
 * - one poller per shard, records handed to the function in shard order, never two batches of a
 *   shard at once (ParallelizationFactor 1);
 * - a batch holds up to `batchSize` records (and at most 6 MB of payload); the poller waits up to
 *   `maxBatchingWindowMs` after the first record arrives for the batch to fill;
 * - the event is exactly Lambda's Kinesis event (`Records[].kinesis`, `eventID` `shardId:seq`, ...);
 * - partial batch responses (`{ batchItemFailures: [{ itemIdentifier: seq }] }`): the records before
 *   the lowest failed sequence number are checkpointed and the batch is retried from it; an
 *   identifier that is empty or not in the batch makes the whole batch a failure, as on AWS;
 * - a thrown error (or timeout) retries the batch up to `retryAttempts` times (-1: until the records
 *   expire); with `bisectOnError` a failing batch is split in two and each half retried separately
 *   (splitting does not use up retries, so a single bad record is isolated from good ones);
 * - records older than `maxRecordAgeSeconds`, or still failing when retries run out, go to the
 *   on-failure destination: locally an S3 object under the lake's `failed/` prefix holding the
 *   invocation record (condition, error, KinesisBatchInfo) and the payload, like an S3 destination;
 * - the checkpoint moves only after a batch succeeded or went to the destination, and is persisted
 *   under the data directory: after a restart processing resumes right after the last processed
 *   record (at-least-once, never skipping).
 */
import { randomUUID } from 'node:crypto';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  DescribeStreamSummaryCommand,
  type GetRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { KinesisSourceDef } from '../shared/config/resources';
import { LAKE } from '../shared/config/resources';
import { log } from '../shared/log';
import { CheckpointStore } from './checkpoints';
import { functionError, LambdaTimeoutError, LOCAL_ACCOUNT, region, type LoadedFunction } from './lambda';
import type { Metrics } from './metrics';

/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64 * 1024;
/** Records read ahead of processing per shard (bounded so memory stays small). */
const READ_AHEAD_RECORDS = 10_000;
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

export interface PollerTuning {
  /**
   * Idle shard polling backoff, ms: doubles from min to max while a shard stays empty. A `nudge()`
   * (the stack sends one after every invocation, i.e. whenever this process may have written to a
   * stream) wakes idle readers at once, so the backoff costs no latency for in-process writes.
   */
  idleMinMs?: number;
  idleMaxMs?: number;
  /** Delay before the first retry of a failed batch; doubles per retry up to `retryMaxDelayMs`. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
}

interface Rec {
  seq: string;
  partitionKey: string;
  data: Uint8Array;
  /** approximateArrivalTimestamp, ms. */
  arrival: number;
  /** Size of the record in the event payload, bytes (approximate). */
  size: number;
}

interface Segment {
  records: Rec[];
  /** Retries used by these records (bisecting does not count). */
  attempts: number;
  /** Invoked at least once already: further invocations count as retries. */
  tried: boolean;
  /** Invocations that included these records. */
  invocations: number;
  lastError?: { errorType: string; errorMessage: string };
}

/**
 * The runtime's order of events, for `drain()`: a counter that only this (main) thread advances, so
 * "read started after that invocation finished" is exact. Wall-clock milliseconds are not: two
 * events share a millisecond, and the clock can be stepped back.
 */
let lastMark = 0;
export const nextMark = (): number => ++lastMark;

/** Wakes waiters on notify, or after a timeout. */
class Signal {
  private waiters: (() => void)[] = [];
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      const self = this;
      function done() {
        clearTimeout(t);
        self.waiters = self.waiters.filter((w) => w !== done);
        resolve();
      }
      this.waiters.push(done);
    });
  }
  notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

export interface ShardStatus {
  shardId: string;
  /** Records read from the shard but not yet processed. Exact when `exact`; a lower bound otherwise. */
  recordsBehind: number;
  exact: boolean;
  /** Age of the oldest unprocessed record, ms (0 when caught up). */
  millisBehind: number;
  checkpoint: string | null;
}

export interface MappingStatus {
  function: string;
  stream: string;
  recordsBehind: number;
  exact: boolean;
  millisBehind: number;
  shards: ShardStatus[];
}

export interface MappingOptions {
  fn: LoadedFunction;
  /**
   * Clients of the stack's own emulators. The poller plays the Lambda service, not the function:
   * it does not go through the process-wide clients of shared/aws/clients.ts (nor count as the
   * function's requests), and stays on its own stack if another one starts in the same process.
   */
  clients: { kinesis: KinesisClient; s3: S3Client };
  source: KinesisSourceDef;
  streamName: string;
  checkpoints: CheckpointStore;
  metrics: Metrics;
  /** Bucket of the on-failure destination (the lake). */
  failedBucket: string;
  /** Whether records processed here count as pipeline intake (events/s). */
  countsAsEvents?: boolean;
  /** Called after each invocation (the stack nudges every mapping: the function may have written to a stream). */
  onActivity?: () => void;
  tuning?: PollerTuning;
}

export class EventSourceMapping {
  private shards: ShardPoller[] = [];
  streamArn = '';
  constructor(readonly opts: MappingOptions) {}

  private get kinesis(): KinesisClient {
    return this.opts.clients.kinesis;
  }

  async start(): Promise<void> {
    const { streamName } = this.opts;
    const summary = await this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    this.streamArn = summary.StreamDescriptionSummary?.StreamARN ?? `arn:aws:kinesis:${region()}:${LOCAL_ACCOUNT}:stream/${streamName}`;
    const shardIds: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }));
      for (const s of page.Shards ?? []) if (s.ShardId) shardIds.push(s.ShardId);
      token = page.NextToken;
    } while (token);
    this.shards = shardIds.map((id) => new ShardPoller(this, id));
    await Promise.all(this.shards.map((s) => s.start()));
  }

  /** Process partial batches without waiting for the batching window (used while draining). */
  set flushNow(v: boolean) {
    for (const s of this.shards) s.setFlushNow(v);
  }

  /** Wakes idle shard readers now (something may have been written to the stream). */
  nudge(): void {
    for (const s of this.shards) s.nudge();
  }

  /** Mark (`nextMark`) of the latest invocation of this mapping to finish. */
  lastActivityMark(): number {
    return Math.max(0, ...this.shards.map((s) => s.lastActivityMark));
  }

  /** True when nothing is pending and every shard was read empty by a read started after mark `since`. */
  drained(since: number): boolean {
    return this.shards.every((s) => s.drained(since));
  }

  status(): MappingStatus {
    const shards = this.shards.map((s) => s.status());
    return {
      function: this.opts.fn.key,
      stream: this.opts.streamName,
      recordsBehind: shards.reduce((n, s) => n + s.recordsBehind, 0),
      exact: shards.every((s) => s.exact),
      millisBehind: Math.max(0, ...shards.map((s) => s.millisBehind)),
      shards,
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop()));
  }
}

class ShardPoller {
  private pending: Rec[] = [];
  private pendingBytes = 0;
  /** Segments of the batch being processed (records not yet checkpointed). */
  private inFlight: Segment[] = [];
  private iterator: string | undefined;
  private lastReadSeq: string | undefined;
  private caughtUp = false;
  /** Bumped when buffered records are dropped; a read begun before is discarded. */
  private generation = 0;
  private needIterator = false;
  private closed = false;
  /** Mark taken when the latest read that found the shard empty was sent. */
  private lastEmptyReadMark = 0;
  private firstPendingAt = 0;
  private stopped = false;
  private readonly data = new Signal();
  private readonly space = new Signal();
  private readonly stopSignal = new Signal();
  /** Wakes an idle reader: notified on nudge and on stop. */
  private readonly wake = new Signal();
  private loops: Promise<void>[] = [];
  private readonly ckKey: string;
  flushNow = false;
  lastActivityMark = 0;

  constructor(private readonly m: EventSourceMapping, readonly shardId: string) {
    this.ckKey = CheckpointStore.key(m.opts.fn.key, m.opts.streamName, shardId);
  }

  private get o(): MappingOptions {
    return this.m.opts;
  }
  private get kinesis(): KinesisClient {
    return this.m.opts.clients.kinesis;
  }
  private get tuning(): Required<PollerTuning> {
    return { idleMinMs: 50, idleMaxMs: 1000, retryBaseDelayMs: 100, retryMaxDelayMs: 2000, ...this.o.tuning };
  }

  async start(): Promise<void> {
    this.iterator = await this.newIterator(this.o.checkpoints.get(this.ckKey));
    this.loops = [this.readLoop(), this.processLoop()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.notify();
    this.wake.notify();
    this.data.notify();
    this.space.notify();
    await Promise.all(this.loops);
  }

  nudge(): void {
    this.wake.notify();
  }

  setFlushNow(v: boolean): void {
    this.flushNow = v;
    if (v) this.data.notify();
  }

  private sleep(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.stopSignal.wait(ms);
  }

  private async newIterator(after: string | undefined): Promise<string | undefined> {
    const { streamName } = this.o;
    if (after) {
      try {
        const r = await this.kinesis.send(
          new GetShardIteratorCommand({ StreamName: streamName, ShardId: this.shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }),
        );
        return r.ShardIterator;
      } catch (e) {
        if ((e as Error).name !== 'InvalidArgumentException') throw e;
        log('warn', 'checkpoint not found in the stream; starting from the oldest record', { stream: streamName, shard: this.shardId });
      }
    }
    const r = await this.kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: this.shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    return r.ShardIterator;
  }

  // ---- reading ----------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    let idle = this.tuning.idleMinMs;
    while (!this.stopped && !this.closed) {
      if (this.pending.length >= READ_AHEAD_RECORDS || this.pendingBytes >= READ_AHEAD_BYTES) {
        await this.space.wait(200);
        continue;
      }
      if (this.needIterator) {
        try {
          this.iterator = await this.newIterator(this.lastReadSeq);
          this.needIterator = false;
        } catch {
          await this.sleep(500);
          continue;
        }
      }
      const gen = this.generation;
      const startedAt = Date.now();
      const startMark = nextMark();
      const limit = Math.min(10_000, READ_AHEAD_RECORDS - this.pending.length);
      let res: GetRecordsCommandOutput;
      try {
        res = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: limit }));
      } catch (e) {
        if (this.stopped) break;
        const name = (e as Error).name;
        if (name === 'ExpiredIteratorException' || name === 'InvalidArgumentException') {
          try {
            this.iterator = await this.newIterator(this.lastReadSeq ?? this.o.checkpoints.get(this.ckKey));
          } catch {
            await this.sleep(500);
          }
          continue;
        }
        log('warn', 'GetRecords failed; retrying', { stream: this.o.streamName, shard: this.shardId, error: name });
        await this.sleep(500);
        continue;
      }
      if (gen !== this.generation) continue;
      const recs = res.Records ?? [];
      for (const r of recs) {
        const data = r.Data ?? new Uint8Array();
        const rec: Rec = {
          seq: r.SequenceNumber!,
          partitionKey: r.PartitionKey ?? '',
          data,
          arrival: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
          size: Math.ceil(data.length / 3) * 4 + 450,
        };
        this.pending.push(rec);
        this.pendingBytes += rec.size;
        this.lastReadSeq = rec.seq;
      }
      this.caughtUp = recs.length < limit;
      if (recs.length === 0) this.lastEmptyReadMark = startMark;
      else {
        if (!this.firstPendingAt) this.firstPendingAt = Date.now();
        this.data.notify();
      }
      if (!res.NextShardIterator) {
        // The shard was closed (resharding) and fully read.
        this.closed = true;
        break;
      }
      this.iterator = res.NextShardIterator;
      if (recs.length > 0) idle = this.tuning.idleMinMs;
      if (this.caughtUp && !this.stopped) {
        await this.wake.wait(idle);
        // Never poll a shard more often than every idleMinMs, nudged or not.
        const since = Date.now() - startedAt;
        if (since < this.tuning.idleMinMs) await this.sleep(this.tuning.idleMinMs - since);
        if (recs.length === 0) idle = Math.min(idle * 2, this.tuning.idleMaxMs);
      }
    }
  }

  // ---- processing -------------------------------------------------------------------------

  private takeBatch(): Rec[] {
    const { batchSize } = this.o.source;
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && n < batchSize) {
      const size = this.pending[n]!.size;
      if (n > 0 && bytes + size > MAX_PAYLOAD_BYTES) break;
      bytes += size;
      n++;
    }
    const batch = this.pending.splice(0, n);
    this.pendingBytes -= bytes;
    this.firstPendingAt = this.pending.length ? this.firstPendingAt : 0;
    this.space.notify();
    return batch;
  }

  private async processLoop(): Promise<void> {
    const { batchSize, maxBatchingWindowMs } = this.o.source;
    while (!this.stopped) {
      if (this.pending.length === 0) {
        await this.data.wait(1000);
        continue;
      }
      const windowLeft = this.firstPendingAt + maxBatchingWindowMs - Date.now();
      if (this.pending.length < batchSize && windowLeft > 0 && !this.flushNow) {
        await this.data.wait(windowLeft); // woken early by new records (batch full?) or a flush
        continue;
      }
      const batch = this.takeBatch();
      this.inFlight = [{ records: batch, attempts: 0, tried: false, invocations: 0 }];
      try {
        await this.processSegments();
      } catch (e) {
        // Unexpected (not a function error): leave the records unprocessed; they are re-read.
        log('error', 'event source mapping failed', { function: this.o.fn.key, shard: this.shardId, error: (e as Error).message });
        this.resetToCheckpoint();
        await this.sleep(1000);
      }
      this.inFlight = [];
    }
  }

  /** Drop buffered records and re-read after the checkpoint (after an unexpected failure). */
  private resetToCheckpoint(): void {
    this.generation++;
    this.pending = [];
    this.pendingBytes = 0;
    this.firstPendingAt = 0;
    this.caughtUp = false;
    this.lastReadSeq = this.o.checkpoints.get(this.ckKey);
    this.needIterator = true;
    this.space.notify();
  }

  private checkpoint(seq: string): void {
    this.o.checkpoints.set(this.ckKey, seq);
  }

  private expiredPrefix(records: Rec[]): number {
    const age = this.o.source.maxRecordAgeSeconds;
    if (age < 0) return 0;
    const cutoff = Date.now() - age * 1000;
    let n = 0;
    while (n < records.length && records[n]!.arrival < cutoff) n++;
    return n;
  }

  private retryDelay(attempt: number): number {
    const { retryBaseDelayMs, retryMaxDelayMs } = this.tuning;
    return Math.min(retryBaseDelayMs * 2 ** Math.max(0, attempt - 1), retryMaxDelayMs);
  }

  private async processSegments(): Promise<void> {
    const { retryAttempts, bisectOnError } = this.o.source;
    const stats = this.o.metrics.fn(this.o.fn.key);
    while (this.inFlight.length && !this.stopped) {
      const seg = this.inFlight[0]!;
      const expired = this.expiredPrefix(seg.records);
      if (expired > 0) {
        const old = seg.records.slice(0, expired);
        if (!(await this.sendToDestination(old, 'RecordAgeExceeded', seg))) return;
        seg.records = seg.records.slice(expired);
        if (seg.records.length === 0) {
          this.inFlight.shift();
          continue;
        }
      }
      if (seg.tried) stats.retries++;
      seg.tried = true;
      seg.invocations++;
      const outcome = await this.invoke(seg.records);
      this.lastActivityMark = nextMark();
      this.o.onActivity?.();
      if (outcome.ok && outcome.failedFrom === undefined) {
        this.succeeded(seg.records);
        this.inFlight.shift();
        continue;
      }
      if (outcome.ok && outcome.failedFrom !== undefined) {
        // Partial batch response: checkpoint what precedes the first failed record, retry from it.
        const done = seg.records.slice(0, outcome.failedFrom);
        if (done.length) this.succeeded(done);
        seg.records = seg.records.slice(outcome.failedFrom);
        seg.lastError = { errorType: 'PartialBatchFailure', errorMessage: `batchItemFailures from ${seg.records[0]!.seq}` };
      } else if (!outcome.ok) {
        seg.lastError = outcome.error;
        if (bisectOnError && seg.records.length > 1) {
          const mid = Math.ceil(seg.records.length / 2);
          const halves: Segment[] = [
            { ...seg, records: seg.records.slice(0, mid) },
            { ...seg, records: seg.records.slice(mid) },
          ];
          this.inFlight.splice(0, 1, ...halves);
          await this.sleep(this.retryDelay(1));
          continue;
        }
      }
      seg.attempts++;
      if (retryAttempts >= 0 && seg.attempts > retryAttempts) {
        if (!(await this.sendToDestination(seg.records, 'RetryAttemptsExhausted', seg))) return;
        this.inFlight.shift();
        continue;
      }
      await this.sleep(this.retryDelay(seg.attempts));
    }
  }

  private succeeded(records: Rec[]): void {
    const stats = this.o.metrics.fn(this.o.fn.key);
    stats.records += records.length;
    stats.rate.add(records.length);
    if (this.o.countsAsEvents) this.o.metrics.events.add(records.length);
    this.checkpoint(records[records.length - 1]!.seq);
  }

  private event(records: Rec[]): KinesisStreamEvent {
    const awsRegion = region();
    const invokeIdentityArn = `arn:aws:iam::${LOCAL_ACCOUNT}:role/${this.o.fn.name}-role`;
    return {
      Records: records.map((r) => ({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.partitionKey,
          sequenceNumber: r.seq,
          data: Buffer.from(r.data).toString('base64'),
          approximateArrivalTimestamp: r.arrival / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${this.shardId}:${r.seq}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn,
        awsRegion,
        eventSourceARN: this.m.streamArn,
      })),
    };
  }

  private async invoke(
    records: Rec[],
  ): Promise<{ ok: true; failedFrom?: number } | { ok: false; error: { errorType: string; errorMessage: string } }> {
    const stats = this.o.metrics.fn(this.o.fn.key);
    stats.invocations++;
    const t0 = Date.now();
    try {
      const res = (await this.o.fn.invoke(this.event(records))) as { batchItemFailures?: unknown } | null | undefined;
      stats.totalDurationMs += Date.now() - t0;
      const failures = res && typeof res === 'object' ? res.batchItemFailures : undefined;
      if (!Array.isArray(failures) || failures.length === 0) return { ok: true };
      let first = Infinity;
      for (const f of failures) {
        const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
        const ix = typeof id === 'string' && id ? records.findIndex((r) => r.seq === id) : -1;
        if (ix < 0) {
          stats.errors++;
          return { ok: false, error: { errorType: 'InvalidBatchItemFailures', errorMessage: 'batchItemFailures names a record that is not in the batch' } };
        }
        first = Math.min(first, ix);
      }
      return { ok: true, failedFrom: first };
    } catch (e) {
      stats.totalDurationMs += Date.now() - t0;
      stats.errors++;
      if (e instanceof LambdaTimeoutError) stats.timeouts++;
      const error = functionError(e);
      log('warn', 'function error on stream batch; will retry', {
        function: this.o.fn.key,
        shard: this.shardId,
        records: records.length,
        errorType: error.errorType,
        errorMessage: error.errorMessage.slice(0, 300),
      });
      return { ok: false, error };
    }
  }

  /** Writes the records to the on-failure destination and checkpoints past them. False when stopped first. */
  private async sendToDestination(records: Rec[], condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded', seg: Segment): Promise<boolean> {
    const now = new Date();
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const requestId = randomUUID();
    const iso = now.toISOString();
    const key =
      `${LAKE.failedPrefix}${this.o.fn.key}/${this.shardId}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/` +
      `${iso.slice(0, 19).replace(/:/g, '.')}-${requestId}.json`;
    const record = {
      requestContext: {
        requestId,
        functionArn: this.o.fn.arn,
        condition,
        approximateInvokeCount: seg.invocations,
      },
      responseContext:
        condition === 'RetryAttemptsExhausted'
          ? { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' }
          : undefined,
      version: '1.0',
      timestamp: iso,
      KinesisBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.seq,
        endSequenceNumber: last.seq,
        approximateArrivalOfFirstRecord: new Date(first.arrival).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrival).toISOString(),
        batchSize: records.length,
        streamArn: this.m.streamArn,
      },
      /** Local extension: the last error the function returned for these records. */
      error: condition === 'RetryAttemptsExhausted' ? seg.lastError : undefined,
      payload: JSON.stringify(this.event(records)),
    };
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.o.clients.s3.send(new PutObjectCommand({ Bucket: this.o.failedBucket, Key: key, Body: JSON.stringify(record), ContentType: 'application/json' }));
        const stats = this.o.metrics.fn(this.o.fn.key);
        stats.failedRecords += records.length;
        log('warn', 'records sent to the on-failure destination', { function: this.o.fn.key, shard: this.shardId, records: records.length, condition, key });
        this.checkpoint(last.seq);
        this.lastActivityMark = nextMark();
        return true;
      } catch (e) {
        log('warn', 'writing to the on-failure destination failed; retrying', { key, error: (e as Error).name });
        await this.sleep(Math.min(200 * attempt, 2000));
      }
    }
    return false;
  }

  // ---- status -----------------------------------------------------------------------------

  private unprocessed(): Rec[] {
    const out: Rec[] = [];
    for (const s of this.inFlight) out.push(...s.records);
    return out;
  }

  drained(since: number): boolean {
    if (this.closed) return this.pending.length === 0 && this.inFlight.length === 0;
    return this.pending.length === 0 && this.inFlight.length === 0 && this.caughtUp && this.lastEmptyReadMark > since;
  }

  status(): ShardStatus {
    const inflight = this.unprocessed();
    const oldest = inflight[0] ?? this.pending[0];
    const full = this.pending.length >= READ_AHEAD_RECORDS || this.pendingBytes >= READ_AHEAD_BYTES;
    return {
      shardId: this.shardId,
      recordsBehind: inflight.length + this.pending.length,
      exact: (this.caughtUp || this.closed) && !full,
      millisBehind: oldest ? Math.max(0, Date.now() - oldest.arrival) : 0,
      checkpoint: this.o.checkpoints.get(this.ckKey) ?? null,
    };
  }
}
