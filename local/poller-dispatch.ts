/**
 * The dispatching side of a Kinesis event-source mapping (poller.ts): one dispatcher per lane of a
 * shard (`parallelization` of them: Lambda's concurrent batches per shard, each over its own
 * partition keys) takes batches from its lane (batch size, 6 MB payload, batching window), invokes the
 * function with Lambda's Kinesis event, and handles what comes back as the Lambda service does:
 * partial batch responses, retries with backoff, bisect-on-error, record age, and the on-failure
 * destination (an S3 object under the lake's `failed/` prefix). A lane's failing batch holds up
 * only that lane; the shard's checkpoint moves only past records that succeeded or went to the
 * destination, and never past an older one still in flight in another lane (ShardProgress).
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent } from 'aws-lambda';
import { LAKE } from '#shared/config';
import { log } from '#shared/log';
import { functionError, LambdaTimeoutError, LOCAL_ACCOUNT, region } from './lambda';
import { nextMark, type Lane, type ReadAhead, type Rec, type ShardContext } from './poller-common';

/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64 * 1024;

export interface Segment {
  records: Rec[];
  /** Retries used by these records (bisecting does not count). */
  attempts: number;
  /** Invoked at least once already: further invocations count as retries. */
  tried: boolean;
  /** Invocations that included these records. */
  invocations: number;
  lastError?: { errorType: string; errorMessage: string };
}

export class ShardDispatcher {
  /** Segments of the batch being processed (records not yet checkpointed). */
  inFlight: Segment[] = [];
  flushNow = false;
  lastActivityMark = 0;

  constructor(
    private readonly c: ShardContext,
    private readonly shard: ReadAhead,
    private readonly buffer: Lane,
    /** Called after an unexpected failure: drop what was read and re-read after the checkpoint. */
    private readonly resetToCheckpoint: () => void,
  ) {}

  private get o() {
    return this.c.o;
  }
  private get shardId(): string {
    return this.c.shardId;
  }
  private sleep(ms: number): Promise<void> {
    return this.c.sleep(ms);
  }

  private takeBatch(): Rec[] {
    const { batchSize } = this.o.source;
    const buffer = this.buffer;
    let bytes = 0;
    let n = 0;
    while (n < buffer.pending.length && n < batchSize) {
      const size = buffer.pending[n]!.size;
      if (n > 0 && bytes + size > MAX_PAYLOAD_BYTES) break;
      bytes += size;
      n++;
    }
    const batch = buffer.pending.splice(0, n);
    buffer.pendingBytes -= bytes;
    buffer.firstPendingAt = buffer.pending.length ? buffer.firstPendingAt : 0;
    this.shard.space.notify();
    return batch;
  }

  async processLoop(): Promise<void> {
    const { batchSize, maxBatchingWindowMs } = this.o.source;
    const buffer = this.buffer;
    while (!this.c.stopped) {
      if (buffer.pending.length === 0) {
        await buffer.data.wait(1000);
        continue;
      }
      const windowLeft = buffer.firstPendingAt + maxBatchingWindowMs - Date.now();
      if (buffer.pending.length < batchSize && windowLeft > 0 && !this.flushNow) {
        await buffer.data.wait(windowLeft); // woken early by new records (batch full?) or a flush
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

  /** These records are done with: the checkpoint moves when no older record is still unprocessed. */
  private processed(records: readonly Rec[]): void {
    const seq = this.c.progress.done(records);
    if (seq) this.c.checkpoint.set(seq);
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
    const { retryBaseDelayMs, retryMaxDelayMs } = this.c.tuning;
    return Math.min(retryBaseDelayMs * 2 ** Math.max(0, attempt - 1), retryMaxDelayMs);
  }

  private async processSegments(): Promise<void> {
    const { retryAttempts, bisectOnError } = this.o.source;
    const stats = this.o.metrics.fn(this.o.fn.key);
    while (this.inFlight.length && !this.c.stopped) {
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
    this.processed(records);
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
          // A view, not a copy, of the bytes GetRecords decoded.
          data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('base64'),
          approximateArrivalTimestamp: r.arrival / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${this.shardId}:${r.seq}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn,
        awsRegion,
        eventSourceARN: this.c.streamArn,
      })),
    };
  }

  private async invoke(records: Rec[]): Promise<{ ok: true; failedFrom?: number } | { ok: false; error: { errorType: string; errorMessage: string } }> {
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
      responseContext: condition === 'RetryAttemptsExhausted' ? { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' } : undefined,
      version: '1.0',
      timestamp: iso,
      KinesisBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.seq,
        endSequenceNumber: last.seq,
        approximateArrivalOfFirstRecord: new Date(first.arrival).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.arrival).toISOString(),
        batchSize: records.length,
        streamArn: this.c.streamArn,
      },
      /** Local extension: the last error the function returned for these records. */
      error: condition === 'RetryAttemptsExhausted' ? seg.lastError : undefined,
      payload: JSON.stringify(this.event(records)),
    };
    for (let attempt = 1; !this.c.stopped; attempt++) {
      try {
        await this.o.clients.s3.send(
          new PutObjectCommand({ Bucket: this.o.failedBucket, Key: key, Body: JSON.stringify(record), ContentType: 'application/json' }),
        );
        const stats = this.o.metrics.fn(this.o.fn.key);
        stats.failedRecords += records.length;
        log('warn', 'records sent to the on-failure destination', { function: this.o.fn.key, shard: this.shardId, records: records.length, condition, key });
        this.processed(records);
        this.lastActivityMark = nextMark();
        return true;
      } catch (e) {
        log('warn', 'writing to the on-failure destination failed; retrying', { key, error: (e as Error).name });
        await this.sleep(Math.min(200 * attempt, 2000));
      }
    }
    return false;
  }
}
