/**
 * Runtime counters for `GET /v1/status`: per-function invocations, errors, records and retries
 * (what CloudWatch shows for a Lambda function), and per-second rates over the last minute; plus
 * the handlers' own EMF metrics (shared/metrics.ts: accepted, quarantined, …), received from every
 * function thread over the metrics BroadcastChannel and summed, as CloudWatch sums them.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { METRICS_CHANNEL, type MetricsMessage } from '#shared/metrics';

/** Counts per second over a sliding window of `seconds` (one slot per second). */
export class RateWindow {
  private readonly slots: number[];
  private readonly stamps: number[];
  private readonly startedAt = Date.now();
  constructor(private readonly seconds = 60) {
    this.slots = new Array(seconds).fill(0);
    this.stamps = new Array(seconds).fill(-1);
  }
  add(n = 1, now = Date.now()): void {
    const sec = Math.floor(now / 1000);
    const i = sec % this.seconds;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.slots[i] = 0;
    }
    this.slots[i]! += n;
  }
  /** Total over the window (the current second included). */
  total(now = Date.now()): number {
    const sec = Math.floor(now / 1000);
    let sum = 0;
    for (let i = 0; i < this.seconds; i++) if (this.stamps[i]! > sec - this.seconds) sum += this.slots[i]!;
    return sum;
  }
  /** Average per second over the window, or over the uptime when shorter than the window. */
  perSecond(now = Date.now()): number {
    const span = Math.min(this.seconds, Math.max(1, (now - this.startedAt) / 1000));
    return Math.round((this.total(now) / span) * 100) / 100;
  }
}

export interface FunctionStats {
  invocations: number;
  errors: number;
  /** Records delivered to the function and processed successfully (stream sources). */
  records: number;
  /** Re-invocations after a function error or a partial batch failure. */
  retries: number;
  /** Records sent to the on-failure destination (lake `failed/`). */
  failedRecords: number;
  timeouts: number;
  totalDurationMs: number;
}

export class Metrics {
  readonly functions = new Map<string, FunctionStats & { rate: RateWindow }>();
  readonly http = { requests: 0, throttled: 0, byStatus: {} as Record<string, number>, rate: new RateWindow() };
  /** Records processed from the raw stream: the pipeline's intake. */
  readonly events = new RateWindow();
  /** Handler metrics (EMF) per function: name → sum since start. */
  readonly custom = new Map<string, Map<string, number>>();
  private channel: BroadcastChannel | undefined;

  /** Starts receiving the handlers' metrics (idempotent). */
  listen(): this {
    if (this.channel) return this;
    this.channel = new BroadcastChannel(METRICS_CHANNEL);
    (this.channel as unknown as { unref?: () => void }).unref?.();
    this.channel.onmessage = (e: unknown) => this.record((e as { data: MetricsMessage }).data);
    return this;
  }

  close(): void {
    this.channel?.close();
    this.channel = undefined;
  }

  record(m: MetricsMessage): void {
    if (!m || typeof m.service !== 'string' || !m.counters) return;
    let fn = this.custom.get(m.service);
    if (!fn) this.custom.set(m.service, (fn = new Map()));
    for (const [k, v] of Object.entries(m.counters)) if (typeof v === 'number') fn.set(k, (fn.get(k) ?? 0) + v);
  }

  /** The handler metrics as rows (function, metric, value), sorted: what `npx cairn status` prints. */
  customSnapshot(): { function: string; metric: string; value: number }[] {
    const rows: { function: string; metric: string; value: number }[] = [];
    for (const [fn, m] of this.custom) for (const [metric, value] of m) rows.push({ function: fn, metric, value });
    return rows.sort((a, b) => a.function.localeCompare(b.function) || a.metric.localeCompare(b.metric));
  }

  fn(key: string): FunctionStats & { rate: RateWindow } {
    let s = this.functions.get(key);
    if (!s) {
      s = { invocations: 0, errors: 0, records: 0, retries: 0, failedRecords: 0, timeouts: 0, totalDurationMs: 0, rate: new RateWindow() };
      this.functions.set(key, s);
    }
    return s;
  }

  httpResponse(status: number): void {
    this.http.requests++;
    this.http.rate.add();
    const k = String(status);
    this.http.byStatus[k] = (this.http.byStatus[k] ?? 0) + 1;
    if (status === 429) this.http.throttled++;
  }

  functionsSnapshot(): Record<string, Omit<FunctionStats, 'totalDurationMs'> & { avgDurationMs: number; recordsPerSecond: number }> {
    const out: Record<string, Omit<FunctionStats, 'totalDurationMs'> & { avgDurationMs: number; recordsPerSecond: number }> = {};
    for (const [k, s] of this.functions) {
      const { rate, totalDurationMs, ...rest } = s;
      out[k] = { ...rest, avgDurationMs: s.invocations ? Math.round((totalDurationMs / s.invocations) * 10) / 10 : 0, recordsPerSecond: rate.perSecond() };
    }
    return out;
  }
}
