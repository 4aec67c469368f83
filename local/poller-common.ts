/**
 * What the parts of a Kinesis event-source mapping (poller.ts) share: its options and tuning, the
 * record as read from the stream, the read-ahead buffer between a shard's reader (poller-read.ts)
 * and its dispatcher (poller-dispatch.ts), the shard's stop state, and the runtime's order of events
 * (`nextMark`) that `drain()` relies on.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisSourceDef } from '#shared/config';
import type { CheckpointStore, ShardCheckpoint } from './checkpoints';
import type { LoadedFunction } from './lambda';
import type { Metrics } from './metrics';

/** Records read ahead of processing per shard (bounded so memory stays small). */
export const READ_AHEAD_RECORDS = 10_000;
export const READ_AHEAD_BYTES = 32 * 1024 * 1024;

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

export interface Rec {
  seq: string;
  partitionKey: string;
  data: Uint8Array;
  /** approximateArrivalTimestamp, ms. */
  arrival: number;
  /** Size of the record in the event payload, bytes (approximate). */
  size: number;
  /** Set once the record was processed (or sent to the on-failure destination): ShardProgress. */
  processed?: boolean;
}

/**
 * The runtime's order of events, for `drain()`: a counter that only this (main) thread advances, so
 * "read started after that invocation finished" is exact. Wall-clock milliseconds are not: two
 * events share a millisecond, and the clock can be stepped back.
 */
let lastMark = 0;
export const nextMark = (): number => ++lastMark;

/** Wakes waiters on notify, or after a timeout. */
export class Signal {
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

/**
 * Records read from a shard and not yet taken into a batch, for one of the shard's concurrent batch
 * streams (ParallelizationFactor > 1 gives a shard several; each has its own batching window).
 */
export class Lane {
  pending: Rec[] = [];
  pendingBytes = 0;
  /** When the oldest pending record was read, ms (0: none pending); starts the batching window. */
  firstPendingAt = 0;
  /** Notified when records arrive (or a flush is asked for). */
  readonly data = new Signal();

  clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.firstPendingAt = 0;
  }
}

/**
 * What a shard's reader has read ahead of processing, split into `parallelization` lanes by partition
 * key: records of one key always go to the same lane, so they stay in order, in one batch stream, as
 * Lambda keeps them with ParallelizationFactor > 1. Bounded over all lanes together.
 */
export class ReadAhead {
  readonly lanes: Lane[];
  /** Notified when records are taken out (room to read ahead again). */
  readonly space = new Signal();

  constructor(parallelization = 1) {
    this.lanes = Array.from({ length: Math.max(1, Math.min(10, Math.floor(parallelization))) }, () => new Lane());
  }

  /** The lane a partition key's records go to (a fixed hash of the key, so its order is kept). */
  laneOf(partitionKey: string): Lane {
    const lanes = this.lanes;
    if (lanes.length === 1) return lanes[0]!;
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < partitionKey.length; i++) h = Math.imul(h ^ partitionKey.charCodeAt(i), 0x01000193);
    return lanes[(h >>> 0) % lanes.length]!;
  }

  get pendingCount(): number {
    let n = 0;
    for (const l of this.lanes) n += l.pending.length;
    return n;
  }

  get full(): boolean {
    let n = 0;
    let bytes = 0;
    for (const l of this.lanes) {
      n += l.pending.length;
      bytes += l.pendingBytes;
    }
    return n >= READ_AHEAD_RECORDS || bytes >= READ_AHEAD_BYTES;
  }

  clear(): void {
    for (const l of this.lanes) l.clear();
  }
}

/**
 * A shard's records from read to processed, in shard order, for its checkpoint: with concurrent
 * batches (ParallelizationFactor > 1) later records may finish before earlier ones, and the
 * checkpoint may only move to the last record before the oldest one not yet processed, so that a
 * restart re-delivers (never skips) whatever was still in flight.
 */
export class ShardProgress {
  private queue: Rec[] = [];
  private head = 0;

  read(rec: Rec): void {
    this.queue.push(rec);
  }

  /** Marks records processed; returns the new checkpoint when it moved. */
  done(records: readonly Rec[]): string | undefined {
    for (const r of records) r.processed = true;
    let moved: string | undefined;
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.processed) moved = q[this.head++]!.seq;
    if (this.head > 4096 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    return moved;
  }

  /** Records read and not yet processed (in flight or pending). */
  get count(): number {
    return this.queue.length - this.head;
  }

  /** The oldest record not yet processed. */
  get oldest(): Rec | undefined {
    return this.queue[this.head];
  }

  clear(): void {
    this.queue = [];
    this.head = 0;
  }
}

/** The mapping as its shards see it (the stream ARN is known once the mapping started). */
export interface MappingRef {
  readonly opts: MappingOptions;
  readonly streamArn: string;
}

/** One shard of a mapping: its id, checkpoint, tuning and stop state, shared by its reader and dispatcher. */
export class ShardContext {
  stopped = false;
  /** Read and not yet processed, in shard order: what the checkpoint may move past. */
  readonly progress = new ShardProgress();
  private readonly stopSignal = new Signal();

  constructor(
    private readonly m: MappingRef,
    readonly shardId: string,
    readonly checkpoint: ShardCheckpoint,
  ) {}

  get o(): MappingOptions {
    return this.m.opts;
  }
  get streamArn(): string {
    return this.m.streamArn;
  }
  get kinesis(): KinesisClient {
    return this.m.opts.clients.kinesis;
  }
  get tuning(): Required<PollerTuning> {
    return { idleMinMs: 50, idleMaxMs: 1000, retryBaseDelayMs: 100, retryMaxDelayMs: 2000, ...this.o.tuning };
  }

  stop(): void {
    this.stopped = true;
    this.stopSignal.notify();
  }

  sleep(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.stopSignal.wait(ms);
  }
}
