/**
 * The cost model (docs/cost.md): what a deployment costs a month and per million events, from what
 * the cost bench counted per event (bench/cost.ts) and the price table (prices.ts). Pure arithmetic:
 * no I/O, no defaults hidden in it; tests/unit/cost-model.test.ts checks it against hand-computed cases.
 *
 * Three kinds of cost:
 * - per event: what the bench counted, × events a month (requests, units, entries, bytes,
 *   invocations and their GB-seconds, log bytes);
 * - per hour: provisioned Kinesis shards (and extended retention), keys, alarms, dashboards, metrics,
 *   secrets — the same whatever the traffic;
 * - DynamoDB: on-demand tables by the units counted; provisioned tables (`cairn:dynamoDbCapacity=provisioned`)
 *   by the capacity auto scaling holds each hour of the day (DAILY_SHAPE): the counted units per second
 *   of that hour over the target utilisation, within the table's minimum and maximum. Assumed: scaling
 *   follows the hourly shape; what it cannot follow (bursts within minutes) is served by the
 *   utilisation headroom and DynamoDB's burst capacity or throttled and retried (the SDK, then the
 *   mappings): no capacity is priced for it.
 * - storage: bytes kept. Data is written evenly over the month and kept `keptHours` (Infinity: kept),
 *   so one month's events occupy bytes × min(kept, month) / month on average, halved when kept
 *   longer than the month (the first month of keeping). What older months keep adds on top, every
 *   month (`storageKeptPerMonth`): cumulative, reported apart from the total.
 */
import type { PriceTable } from './prices';

/** What the bench counted, per event (averages over the measured run). */
export interface PerEvent {
  /** Collection API requests (each ≤ 512 KB: one billed request). */
  apiRequests: number;
  /** Per function: invocations and billed GB-seconds (duration × memory) per event. */
  lambda: Record<string, { invocations: number; gbSeconds: number }>;
  /** Kinesis PUT payload units (one per record per started 25 KB), both streams. */
  kinesisPutUnits: number;
  dynamodbWriteUnits: number;
  dynamodbReadUnits: number;
  /** The same by table name (needed to price provisioned tables; tables absent here count in the totals only). */
  dynamodbByTable?: Record<string, { writes: number; reads: number }>;
  /** EventBridge custom events billed (one per entry per started 64 KB). */
  eventbridgeEvents: number;
  /** S3 PUT, COPY, POST and LIST requests. */
  s3Puts: number;
  /** S3 GET, HEAD and other requests. */
  s3Gets: number;
  /** EventBridge Scheduler schedules that fire (created one-time schedules). */
  schedulerInvocations: number;
  /** What the handlers write to their log groups: log lines and EMF metric lines, bytes. */
  logBytes: number;
  /** Bytes stored, by where and for how long. */
  storage: { store: 'dynamodb' | 's3'; what: string; bytes: number; keptHours: number }[];
  /** Messages journeys sent (not part of processing: reported apart). */
  emails: number;
  sms: number;
}

/** How the stack is deployed and what it runs beside the traffic. */
export interface Deployment {
  eventsPerMonth: number;
  /** Hours billed a month (AWS's calculators use 730). */
  hoursPerMonth: number;
  /** Provisioned shards, both streams. */
  shards: number;
  /** Retention over 24 h (billed per shard-hour). */
  extendedRetention: boolean;
  /** X-Ray active tracing on the functions (Lambda samples 1 request a second and 5 % of the rest, per function). */
  tracing: boolean;
  /** Lambda's own lines per invocation (START, END, REPORT; and the trace id with tracing), bytes. */
  platformLogBytesPerInvocation: number;
  alarms: number;
  dashboards: number;
  /** Distinct custom metrics (EMF name × dimension values). */
  customMetrics: number;
  secrets: number;
  kmsKeys: number;
  /** KMS requests a month made by the services on the stack's behalf (data keys), whatever the traffic. */
  kmsRequestsPerMonth: number;
  /** Provisioned tables by name: auto scaling range and target utilisation (0–1). Absent: every table on-demand. */
  dynamodbProvisioned?: Record<string, ProvisionedTable>;
  /** Traffic of each hour of the day as a share of the mean (24 values averaging 1); default DAILY_SHAPE. */
  dailyShape?: readonly number[];
}

export interface ProvisionedTable {
  writes: { min: number; max: number };
  reads: { min: number; max: number };
  targetUtilization: number;
}

/**
 * The day the model assumes (share of the mean rate per hour, UTC-agnostic): a quiet night at a quarter
 * of the mean (DYNAMODB_CAPACITY.troughShareOfMean sizes the minimum from it), a rise in the morning, a
 * plateau at 1.35–1.5× through the afternoon and evening. Averages 1, so the month's events are unchanged.
 */
export const DAILY_SHAPE: readonly number[] = [
  0.3, 0.25, 0.25, 0.25, 0.3, 0.45, 0.7, 0.95, 1.2, 1.35, 1.35, 1.4, 1.4, 1.45, 1.4, 1.4, 1.35, 1.45, 1.5, 1.45, 1.4, 1.15, 0.8, 0.5,
];

/**
 * Capacity-hours a month auto scaling holds for `unitsPerSecond` at the mean rate: each hour of `shape`
 * provisions ceil(units of that hour / target), within [min, max]; each hour of the day recurs
 * hoursPerMonth / 24 times. Above max the table throttles (the capacity is max).
 */
export function capacityHours(
  unitsPerSecond: number,
  range: { min: number; max: number },
  targetUtilization: number,
  shape: readonly number[],
  hoursPerMonth: number,
): number {
  const days = hoursPerMonth / shape.length;
  // Whole units; the epsilon keeps 3.5 / 0.7 (5.000000000000001 in floating point) at 5.
  const units = (share: number) => Math.ceil((unitsPerSecond * share) / targetUtilization - 1e-9);
  return shape.reduce((sum, share) => sum + Math.min(range.max, Math.max(range.min, units(share))), 0) * days;
}

export interface CostLine {
  /** e.g. `dynamodb.writes`, `lambda.resolve`. */
  component: string;
  usdPerMonth: number;
  usdPerMillionEvents: number;
  /** What drives it, in words (for the printed breakdown). */
  driver: string;
  kind: 'per-event' | 'fixed' | 'storage';
}

export interface CostReport {
  /** All-in: per-event, fixed and the first month of storage. */
  usdPerMillionEvents: number;
  usdPerMonth: number;
  lines: CostLine[];
  /** What one month's events cost each further month they are kept (cumulative; not in the total). */
  storageKeptPerMonth: { usdPerMonth: number; usdPerMillionEvents: number };
  /** Messages journeys sent (SES, SNS): the marketer's sends, not processing; not in the total. */
  sends: { usdPerMonth: number; usdPerMillionEvents: number };
}

const GB = 1024 ** 3;

/** Traces a month of one function under Lambda's fixed sampling (1 a second, then 5 %), invocations spread evenly. */
export function tracesPerMonth(invocationsPerMonth: number, secondsPerMonth: number): number {
  const rate = invocationsPerMonth / secondsPerMonth;
  return (Math.min(rate, 1) + 0.05 * Math.max(0, rate - 1)) * secondsPerMonth;
}

export function costModel(e: PerEvent, d: Deployment, p: PriceTable): CostReport {
  const n = d.eventsPerMonth;
  const millions = n / 1e6;
  const seconds = d.hoursPerMonth * 3600;
  const lines: CostLine[] = [];
  const add = (component: string, usdPerMonth: number, driver: string, kind: CostLine['kind'] = 'per-event') =>
    lines.push({ component, usdPerMonth, usdPerMillionEvents: usdPerMonth / millions, driver, kind });
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2));

  add('apigateway.requests', e.apiRequests * n * p.apiGateway.perRequest, `${fmt(e.apiRequests)} requests/event`);
  let invocations = 0;
  let traces = 0;
  for (const [fn, l] of Object.entries(e.lambda).sort(([a], [b]) => a.localeCompare(b))) {
    add(
      `lambda.${fn}`,
      l.invocations * n * p.lambda.perRequest + l.gbSeconds * n * p.lambda.perGbSecond,
      `${fmt(l.invocations)} invocations, ${fmt(l.gbSeconds)} GB-s/event`,
    );
    invocations += l.invocations * n;
    traces += tracesPerMonth(l.invocations * n, seconds);
  }
  add('kinesis.put_units', e.kinesisPutUnits * n * p.kinesis.perPutUnit, `${fmt(e.kinesisPutUnits)} PUT units/event`);
  const provisioned = Object.entries(d.dynamodbProvisioned ?? {}).sort(([a], [b]) => a.localeCompare(b));
  let onDemandWrites = e.dynamodbWriteUnits;
  let onDemandReads = e.dynamodbReadUnits;
  let wcuHours = 0;
  let rcuHours = 0;
  const meanEventsPerSecond = n / seconds;
  const shape = d.dailyShape ?? DAILY_SHAPE;
  for (const [table, t] of provisioned) {
    const units = e.dynamodbByTable?.[table];
    if (!units) throw new Error(`cost model: table ${table} is provisioned but its units per event were not counted`);
    onDemandWrites -= units.writes;
    onDemandReads -= units.reads;
    wcuHours += capacityHours(units.writes * meanEventsPerSecond, t.writes, t.targetUtilization, shape, d.hoursPerMonth);
    rcuHours += capacityHours(units.reads * meanEventsPerSecond, t.reads, t.targetUtilization, shape, d.hoursPerMonth);
  }
  const onDemand = provisioned.length ? ' (on-demand tables)' : '';
  add('dynamodb.writes', onDemandWrites * n * p.dynamodb.perWriteUnit, `${fmt(onDemandWrites)} WRU/event${onDemand}`);
  add('dynamodb.reads', onDemandReads * n * p.dynamodb.perReadUnit, `${fmt(onDemandReads)} RRU/event${onDemand}`);
  if (provisioned.length) {
    add('dynamodb.provisioned_writes', wcuHours * p.dynamodb.perWcuHour, `${fmt(wcuHours / d.hoursPerMonth)} WCU on average, ${provisioned.length} tables`);
    add('dynamodb.provisioned_reads', rcuHours * p.dynamodb.perRcuHour, `${fmt(rcuHours / d.hoursPerMonth)} RCU on average, ${provisioned.length} tables`);
  }
  add('eventbridge.events', e.eventbridgeEvents * n * p.eventbridge.perEvent, `${fmt(e.eventbridgeEvents)} events/event`);
  add('scheduler.invocations', e.schedulerInvocations * n * p.scheduler.perInvocation, `${fmt(e.schedulerInvocations)} schedules/event`);
  add('s3.requests', e.s3Puts * n * p.s3.perPut + e.s3Gets * n * p.s3.perGet, `${fmt(e.s3Puts)} PUT/LIST + ${fmt(e.s3Gets)} GET/HEAD per event`);
  const logBytes = e.logBytes * n + d.platformLogBytesPerInvocation * invocations;
  add('cloudwatch.logs', (logBytes / GB) * p.cloudwatch.perLogGb, `${fmt(logBytes / n)} bytes/event (handlers, EMF, Lambda's lines)`);
  if (d.tracing) add('xray.traces', traces * p.xray.perTrace, `${fmt(traces / n)} traces/event (1/s + 5 % per function)`);

  add('kinesis.shards', d.shards * d.hoursPerMonth * p.kinesis.perShardHour, `${d.shards} shards`, 'fixed');
  if (d.extendedRetention)
    add('kinesis.retention', d.shards * d.hoursPerMonth * p.kinesis.perShardHourExtendedRetention, `${d.shards} shards over 24 h`, 'fixed');
  add(
    'cloudwatch.metrics_alarms',
    d.customMetrics * p.cloudwatch.perMetricMonth + d.alarms * p.cloudwatch.perAlarmMonth + d.dashboards * p.cloudwatch.perDashboardMonth,
    `${d.customMetrics} metrics, ${d.alarms} alarms, ${d.dashboards} dashboard(s)`,
    'fixed',
  );
  add(
    'kms',
    d.kmsKeys * p.kms.perKeyMonth + d.kmsRequestsPerMonth * p.kms.perRequest,
    `${d.kmsKeys} key(s), ${fmt(d.kmsRequestsPerMonth)} requests/month`,
    'fixed',
  );
  add('secretsmanager', d.secrets * p.secretsManager.perSecretMonth, `${d.secrets} secrets`, 'fixed');

  let kept = 0;
  for (const s of e.storage) {
    const gbMonths = ((s.bytes * n) / GB) * (s.keptHours >= d.hoursPerMonth ? 0.5 : s.keptHours / d.hoursPerMonth);
    const price = s.store === 'dynamodb' ? p.dynamodb.perGbMonth : p.s3.perGbMonth;
    add(
      `storage.${s.store}.${s.what}`,
      gbMonths * price,
      `${fmt(s.bytes)} bytes/event, kept ${Number.isFinite(s.keptHours) ? `${s.keptHours} h` : 'until deleted'}`,
      'storage',
    );
    if (s.keptHours > d.hoursPerMonth) kept += ((s.bytes * n) / GB) * price;
  }

  const usdPerMonth = lines.reduce((s, l) => s + l.usdPerMonth, 0);
  const sends = e.emails * n * p.ses.perEmail + e.sms * n * p.sns.perSmsUs;
  return {
    usdPerMillionEvents: usdPerMonth / millions,
    usdPerMonth,
    lines,
    storageKeptPerMonth: { usdPerMonth: kept, usdPerMillionEvents: kept / millions },
    sends: { usdPerMonth: sends, usdPerMillionEvents: sends / millions },
  };
}
