/**
 * The reading side of a Kinesis event-source mapping (poller.ts): one reader per shard gets shard
 * iterators (after the checkpoint, or from the oldest record), calls GetRecords into a bounded
 * read-ahead buffer in shard order, backs off while the shard is empty (woken at once by a nudge),
 * renews expired iterators, stops at the end of a closed shard, and after an unexpected failure of
 * a dispatcher drops what it buffered and re-reads from the checkpoint. Records go to the lane of
 * their partition key (ParallelizationFactor: poller-common.ts `ReadAhead`).
 */
import { GetRecordsCommand, GetShardIteratorCommand, type GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { log } from '#shared/log';
import { nextMark, READ_AHEAD_RECORDS, Signal, type Lane, type ReadAhead, type Rec, type ShardContext } from './poller-common';

export class ShardReader {
  private iterator: string | undefined;
  private lastReadSeq: string | undefined;
  caughtUp = false;
  /** Bumped when buffered records are dropped; a read begun before is discarded. */
  private generation = 0;
  private needIterator = false;
  closed = false;
  /** Mark taken when the latest read that found the shard empty was sent. */
  lastEmptyReadMark = 0;
  /** Wakes an idle reader: notified on nudge and on stop. */
  readonly wake = new Signal();

  constructor(
    private readonly c: ShardContext,
    private readonly buffer: ReadAhead,
  ) {}

  private get shardId(): string {
    return this.c.shardId;
  }

  /** Gets the first shard iterator, after the checkpoint. */
  async start(): Promise<void> {
    this.iterator = await this.newIterator(this.c.checkpoint.get());
  }

  private async newIterator(after: string | undefined): Promise<string | undefined> {
    const { streamName } = this.c.o;
    if (after) {
      try {
        const r = await this.c.kinesis.send(
          new GetShardIteratorCommand({
            StreamName: streamName,
            ShardId: this.shardId,
            ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
            StartingSequenceNumber: after,
          }),
        );
        return r.ShardIterator;
      } catch (e) {
        if ((e as Error).name !== 'InvalidArgumentException') throw e;
        log('warn', 'checkpoint not found in the stream; starting from the oldest record', { stream: streamName, shard: this.shardId });
      }
    }
    const r = await this.c.kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: this.shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    return r.ShardIterator;
  }

  async readLoop(): Promise<void> {
    const c = this.c;
    const buffer = this.buffer;
    let idle = c.tuning.idleMinMs;
    while (!c.stopped && !this.closed) {
      if (buffer.full) {
        await buffer.space.wait(200);
        continue;
      }
      if (this.needIterator) {
        try {
          this.iterator = await this.newIterator(this.lastReadSeq);
          this.needIterator = false;
        } catch {
          await c.sleep(500);
          continue;
        }
      }
      const gen = this.generation;
      const startedAt = Date.now();
      const startMark = nextMark();
      const limit = Math.min(10_000, READ_AHEAD_RECORDS - buffer.pendingCount);
      let res: GetRecordsCommandOutput;
      try {
        res = await c.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: limit }));
      } catch (e) {
        if (c.stopped) break;
        const name = (e as Error).name;
        if (name === 'ExpiredIteratorException' || name === 'InvalidArgumentException') {
          try {
            this.iterator = await this.newIterator(this.lastReadSeq ?? c.checkpoint.get());
          } catch {
            await c.sleep(500);
          }
          continue;
        }
        log('warn', 'GetRecords failed; retrying', { stream: c.o.streamName, shard: this.shardId, error: name });
        await c.sleep(500);
        continue;
      }
      if (gen !== this.generation) continue;
      const recs = res.Records ?? [];
      const now = Date.now();
      const fed = new Set<Lane>();
      for (const r of recs) {
        const data = r.Data ?? new Uint8Array();
        const rec: Rec = {
          seq: r.SequenceNumber!,
          partitionKey: r.PartitionKey ?? '',
          data,
          arrival: r.ApproximateArrivalTimestamp?.getTime() ?? now,
          size: Math.ceil(data.length / 3) * 4 + 450,
        };
        const lane = buffer.laneOf(rec.partitionKey);
        lane.pending.push(rec);
        lane.pendingBytes += rec.size;
        if (!lane.firstPendingAt) lane.firstPendingAt = now;
        fed.add(lane);
        c.progress.read(rec);
        this.lastReadSeq = rec.seq;
      }
      this.caughtUp = recs.length < limit;
      if (recs.length === 0) this.lastEmptyReadMark = startMark;
      for (const lane of fed) lane.data.notify();
      if (!res.NextShardIterator) {
        // The shard was closed (resharding) and fully read.
        this.closed = true;
        break;
      }
      this.iterator = res.NextShardIterator;
      if (recs.length > 0) idle = c.tuning.idleMinMs;
      if (this.caughtUp && !c.stopped) {
        await this.wake.wait(idle);
        // Never poll a shard more often than every idleMinMs, nudged or not.
        const since = Date.now() - startedAt;
        if (since < c.tuning.idleMinMs) await c.sleep(c.tuning.idleMinMs - since);
        if (recs.length === 0) idle = Math.min(idle * 2, c.tuning.idleMaxMs);
      }
    }
  }

  /** Drop buffered records and re-read after the checkpoint (after an unexpected failure). */
  resetToCheckpoint(): void {
    this.generation++;
    this.buffer.clear();
    this.c.progress.clear();
    this.caughtUp = false;
    this.lastReadSeq = this.c.checkpoint.get();
    this.needIterator = true;
    this.buffer.space.notify();
  }
}
