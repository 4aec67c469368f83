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

/** Records read from a shard and not yet taken into a batch. */
export class ReadAhead {
  pending: Rec[] = [];
  pendingBytes = 0;
  /** When the oldest pending record was read, ms (0: none pending); starts the batching window. */
  firstPendingAt = 0;
  /** Notified when records arrive (or a flush is asked for). */
  readonly data = new Signal();
  /** Notified when records are taken out (room to read ahead again). */
  readonly space = new Signal();

  get full(): boolean {
    return this.pending.length >= READ_AHEAD_RECORDS || this.pendingBytes >= READ_AHEAD_BYTES;
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
