/**
 * A Kinesis event-source mapping, reproducing what the Lambda service does for a function with a
 * Kinesis trigger (settings from `KinesisSourceDef` in shared/config/resources.ts):
 *
 * - one poller per shard, records handed to the function in shard order; with ParallelizationFactor
 *   (`parallelization`) N > 1, up to N batches of a shard at once, records of one partition key
 *   always in the same one of N batch streams, so in order (Lambda's "in-order processing at the
 *   partition-key level"); with 1, never two batches of a shard at once;
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
 * - the checkpoint (one per shard) moves only past records that succeeded or went to the
 *   destination, and with concurrent batches only up to the oldest record still in flight; it is
 *   persisted under the data directory: after a restart processing resumes right after it
 *   (at-least-once, never skipping; records a later batch already processed may come again).
 *
 * This file is the mapping and its shards; the parts: poller-read.ts (shard iterators, GetRecords,
 * read-ahead), poller-dispatch.ts (batching, invocation, partial batch responses, bisect, retries,
 * on-failure destination), checkpoints.ts (checkpoints), poller-common.ts (what they share).
 */
import { DescribeStreamSummaryCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { ShardCheckpoint } from './checkpoints';
import { LOCAL_ACCOUNT, region } from './lambda';
import { ReadAhead, ShardContext, type MappingOptions } from './poller-common';
import { ShardDispatcher } from './poller-dispatch';
import { ShardReader } from './poller-read';

export interface ShardStatus {
  shardId: string;
  /** Records read from the shard and not yet behind its checkpoint. Exact when `exact`; a lower bound otherwise. */
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

/** One shard: its reader and its dispatchers (one per lane), joined by the read-ahead buffer. */
class ShardPoller {
  private readonly c: ShardContext;
  private readonly buffer: ReadAhead;
  private readonly reader: ShardReader;
  private readonly dispatchers: ShardDispatcher[];
  private loops: Promise<void>[] = [];

  constructor(
    m: EventSourceMapping,
    readonly shardId: string,
  ) {
    this.c = new ShardContext(m, shardId, new ShardCheckpoint(m.opts.checkpoints, m.opts.fn.key, m.opts.streamName, shardId));
    this.buffer = new ReadAhead(m.opts.source.parallelization);
    this.reader = new ShardReader(this.c, this.buffer);
    this.dispatchers = this.buffer.lanes.map((lane) => new ShardDispatcher(this.c, this.buffer, lane, () => this.reader.resetToCheckpoint()));
  }

  get lastActivityMark(): number {
    return Math.max(...this.dispatchers.map((d) => d.lastActivityMark));
  }

  async start(): Promise<void> {
    await this.reader.start();
    this.loops = [this.reader.readLoop(), ...this.dispatchers.map((d) => d.processLoop())];
  }

  async stop(): Promise<void> {
    this.c.stop();
    this.reader.wake.notify();
    for (const lane of this.buffer.lanes) lane.data.notify();
    this.buffer.space.notify();
    await Promise.all(this.loops);
  }

  nudge(): void {
    this.reader.wake.notify();
  }

  setFlushNow(v: boolean): void {
    for (const d of this.dispatchers) d.flushNow = v;
    if (v) for (const lane of this.buffer.lanes) lane.data.notify();
  }

  // ---- status -----------------------------------------------------------------------------

  drained(since: number): boolean {
    const idle = this.buffer.pendingCount === 0 && this.c.progress.count === 0 && this.dispatchers.every((d) => d.inFlight.length === 0);
    if (this.reader.closed) return idle;
    return idle && this.reader.caughtUp && this.reader.lastEmptyReadMark > since;
  }

  status(): ShardStatus {
    // Read and not yet processed: pending in a lane, in flight, or done while an older record is not.
    const oldest = this.c.progress.oldest;
    const full = this.buffer.full;
    return {
      shardId: this.shardId,
      recordsBehind: this.c.progress.count,
      exact: (this.reader.caughtUp || this.reader.closed) && !full,
      millisBehind: oldest ? Math.max(0, Date.now() - oldest.arrival) : 0,
      checkpoint: this.c.checkpoint.get() ?? null,
    };
  }
}
