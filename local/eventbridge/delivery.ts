/**
 * At-least-once delivery of payloads to Lambda handlers (through the injected `invoke`), with a
 * write-ahead journal: `enqueue` resolves only once the deliveries are on disk, so whatever the
 * bus or scheduler acknowledged survives a crash or restart and is delivered after it. A failing
 * target is retried with exponential backoff and jitter; after the last attempt (or when too old)
 * the delivery is appended to a dead-letter file.
 */
import { appendFile } from 'node:fs/promises';
import { log } from '#shared/log';
import { Journal, readJsonLines } from './store';

export type Invoke = (functionName: string, event: unknown) => Promise<void>;

export interface DeliveryItem {
  id: string;
  functionName: string;
  payload: unknown;
  attempts: number;
  enqueuedAt: number;
  /** Per-item limits (a target's RetryPolicy); the queue's defaults otherwise. */
  maxAttempts?: number;
  maxAgeSeconds?: number;
  /** Where it came from (rule, target, schedule): recorded in the dead-letter file. */
  origin: Record<string, string>;
}

export interface DeliveryOptions {
  journalFile: string;
  deadLetterFile: string;
  invoke: Invoke;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  concurrency?: number;
  now?: () => number;
}

export interface DeliveryStats {
  enqueued: number;
  delivered: number;
  failedAttempts: number;
  retried: number;
  deadLettered: number;
  pending: number;
  inFlight: number;
}

type Record_ = { op: 'put'; item: DeliveryItem } | { op: 'done'; id: string } | { op: 'retry'; id: string; attempts: number };

export class DeliveryQueue {
  private readonly items = new Map<string, DeliveryItem>();
  private readonly ready: DeliveryItem[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private inFlight = 0;
  private closed = false;
  private doneSinceCompaction = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly journal: Journal;
  private readonly counters = { enqueued: 0, delivered: 0, failedAttempts: 0, retried: 0, deadLettered: 0 };
  private readonly o: Required<DeliveryOptions>;

  private constructor(opts: DeliveryOptions) {
    this.o = {
      maxAttempts: 5,
      baseDelayMs: 200,
      maxDelayMs: 30_000,
      concurrency: 8,
      now: Date.now,
      ...opts,
    };
    this.journal = new Journal(opts.journalFile);
  }

  /** Replays the journal (deliveries accepted before a stop are queued again) and starts delivering. */
  static async open(opts: DeliveryOptions): Promise<DeliveryQueue> {
    const q = new DeliveryQueue(opts);
    for (const r of readJsonLines<Record_>(opts.journalFile)) {
      if (r.op === 'put') q.items.set(r.item.id, r.item);
      else if (r.op === 'done') q.items.delete(r.id);
      else if (r.op === 'retry') {
        const it = q.items.get(r.id);
        if (it) it.attempts = r.attempts;
      }
    }
    await q.journal.rewrite(() => q.snapshot());
    for (const it of q.items.values()) q.ready.push(it);
    if (q.items.size) log('info', 'eventbridge.delivery.recovered', { pending: q.items.size, journal: opts.journalFile });
    q.pump();
    return q;
  }

  private snapshot(): Record_[] {
    return [...this.items.values()].map((item) => ({ op: 'put' as const, item }));
  }

  /** Persists then schedules the deliveries; resolves once they are durable. */
  async enqueue(items: DeliveryItem[]): Promise<void> {
    if (!items.length) return;
    if (this.closed) throw new Error('delivery queue is closed');
    for (const it of items) this.items.set(it.id, it);
    await this.journal.append(items.map((item) => ({ op: 'put', item })));
    this.counters.enqueued += items.length;
    if (this.closed) return;
    for (const it of items) if (this.items.has(it.id)) this.ready.push(it);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.o.concurrency && this.ready.length) {
      const it = this.ready.shift()!;
      this.inFlight++;
      void this.attempt(it).finally(() => {
        this.inFlight--;
        this.pump();
        this.checkIdle();
      });
    }
    this.checkIdle();
  }

  private async attempt(it: DeliveryItem): Promise<void> {
    let error: unknown;
    try {
      await this.o.invoke(it.functionName, it.payload);
    } catch (e) {
      error = e;
    }
    if (this.closed) return; // the journal still holds it: delivered again after restart (at-least-once)
    if (error === undefined) {
      this.counters.delivered++;
      await this.finish(it);
      return;
    }
    this.counters.failedAttempts++;
    it.attempts++;
    const maxAttempts = it.maxAttempts ?? this.o.maxAttempts;
    const tooOld = it.maxAgeSeconds !== undefined && this.o.now() - it.enqueuedAt > it.maxAgeSeconds * 1000;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    if (it.attempts >= maxAttempts || tooOld) {
      this.counters.deadLettered++;
      log('warn', 'eventbridge.delivery.dead_letter', { id: it.id, function: it.functionName, attempts: it.attempts, error: message, ...it.origin });
      await appendFile(this.o.deadLetterFile, JSON.stringify({ ...it, error: message, failedAt: new Date(this.o.now()).toISOString() }) + '\n');
      await this.finish(it);
      return;
    }
    this.counters.retried++;
    await this.journal.append([{ op: 'retry', id: it.id, attempts: it.attempts }]);
    const exp = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (it.attempts - 1));
    const delay = Math.round(exp / 2 + Math.random() * (exp / 2));
    log('debug', 'eventbridge.delivery.retry', { id: it.id, function: it.functionName, attempts: it.attempts, delayMs: delay });
    const timer = setTimeout(() => {
      this.timers.delete(it.id);
      if (this.closed) return;
      this.ready.push(it);
      this.pump();
    }, delay);
    this.timers.set(it.id, timer);
  }

  private async finish(it: DeliveryItem): Promise<void> {
    this.items.delete(it.id);
    await this.journal.append([{ op: 'done', id: it.id }]);
    if (++this.doneSinceCompaction >= 5_000) {
      this.doneSinceCompaction = 0;
      await this.journal.rewrite(() => this.snapshot());
    }
  }

  private isIdle(): boolean {
    return this.ready.length === 0 && this.inFlight === 0 && this.timers.size === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Waits until nothing is queued, in flight or waiting for a retry (or the timeout). True when idle. */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    if (!this.isIdle()) {
      let timer: NodeJS.Timeout | undefined;
      const idle = await Promise.race([
        new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!idle) return false;
    }
    await this.journal.flush();
    return true;
  }

  /** Stops delivering; undelivered items stay in the journal for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.ready.length = 0;
    await this.journal.flush();
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  stats(): DeliveryStats {
    return { ...this.counters, pending: this.items.size, inFlight: this.inFlight };
  }
}
