/**
 * The cost model's arithmetic (bench/cost/model.ts, docs/cost.md) against figures worked out by hand
 * from the price table: per-event lines, fixed lines, storage, tracing, and the total.
 */
import { describe, expect, it } from 'vitest';
import { capacityHours, costModel, DAILY_SHAPE, tracesPerMonth, type Deployment, type PerEvent } from '#bench/cost/model';
import { PRICES } from '#bench/cost/prices';

const none: PerEvent = {
  apiRequests: 0,
  lambda: {},
  kinesisPutUnits: 0,
  dynamodbWriteUnits: 0,
  dynamodbReadUnits: 0,
  eventbridgeEvents: 0,
  s3Puts: 0,
  s3Gets: 0,
  schedulerInvocations: 0,
  logBytes: 0,
  storage: [],
  emails: 0,
  sms: 0,
};
const bare: Deployment = {
  eventsPerMonth: 100e6,
  hoursPerMonth: 730,
  shards: 0,
  extendedRetention: false,
  tracing: false,
  platformLogBytesPerInvocation: 0,
  alarms: 0,
  dashboards: 0,
  customMetrics: 0,
  secrets: 0,
  kmsKeys: 0,
  kmsRequestsPerMonth: 0,
};
const line = (r: ReturnType<typeof costModel>, c: string) => r.lines.find((l) => l.component === c)!;

describe('cost model', () => {
  it('per-event lines: units × events × price, and per million = per month / 100', () => {
    const r = costModel({ ...none, dynamodbWriteUnits: 2, dynamodbReadUnits: 1, eventbridgeEvents: 0.5, apiRequests: 0.01, kinesisPutUnits: 2 }, bare, PRICES);
    // 2 WRU × 100M = 200M WRU × $0.625/M = $125; 1 RRU: 100M × $0.125/M = $12.50.
    expect(line(r, 'dynamodb.writes').usdPerMonth).toBeCloseTo(125, 9);
    expect(line(r, 'dynamodb.writes').usdPerMillionEvents).toBeCloseTo(1.25, 9);
    expect(line(r, 'dynamodb.reads').usdPerMonth).toBeCloseTo(12.5, 9);
    // 50M EventBridge events × $1/M = $50; 1M API requests × $1/M = $1; 200M PUT units × $0.014/M = $2.80.
    expect(line(r, 'eventbridge.events').usdPerMonth).toBeCloseTo(50, 9);
    expect(line(r, 'apigateway.requests').usdPerMonth).toBeCloseTo(1, 9);
    expect(line(r, 'kinesis.put_units').usdPerMonth).toBeCloseTo(2.8, 9);
    expect(r.usdPerMonth).toBeCloseTo(125 + 12.5 + 50 + 1 + 2.8, 9);
    expect(r.usdPerMillionEvents).toBeCloseTo((125 + 12.5 + 50 + 1 + 2.8) / 100, 9);
  });

  it('Lambda: requests and GB-seconds per function; log bytes include the platform lines per invocation', () => {
    const r = costModel(
      { ...none, lambda: { resolve: { invocations: 0.01, gbSeconds: 0.002 } }, logBytes: 100 },
      { ...bare, platformLogBytesPerInvocation: 500 },
      PRICES,
    );
    // 1M invocations × $0.20/M = $0.20; 200,000 GB-s × $0.0000133334 = $2.66668.
    expect(line(r, 'lambda.resolve').usdPerMonth).toBeCloseTo(0.2 + 2.66668, 6);
    // 100 bytes × 100M + 500 bytes × 1M invocations = 1.05e10 bytes = 9.7788 GiB × $0.50.
    expect(line(r, 'cloudwatch.logs').usdPerMonth).toBeCloseTo((1.05e10 / 1024 ** 3) * 0.5, 6);
  });

  it('X-Ray: 1 trace a second then 5 % of the rest, per function', () => {
    const seconds = 730 * 3600;
    expect(tracesPerMonth(seconds / 2, seconds)).toBeCloseTo(seconds / 2, 6); // 0.5/s: every one
    expect(tracesPerMonth(seconds * 3, seconds)).toBeCloseTo(seconds * (1 + 0.05 * 2), 6); // 3/s: 1 + 5 % of 2
    const r = costModel({ ...none, lambda: { a: { invocations: (seconds * 3) / 100e6, gbSeconds: 0 } } }, { ...bare, tracing: true }, PRICES);
    expect(line(r, 'xray.traces').usdPerMonth).toBeCloseTo(seconds * 1.1 * 5e-6, 6);
    expect(costModel(none, bare, PRICES).lines.some((l) => l.component === 'xray.traces')).toBe(false);
  });

  it('fixed lines: shards and their extended retention per shard-hour, metrics, alarms, keys, secrets', () => {
    const r = costModel(
      none,
      { ...bare, shards: 4, extendedRetention: true, customMetrics: 10, alarms: 20, dashboards: 1, kmsKeys: 1, kmsRequestsPerMonth: 100_000, secrets: 2 },
      PRICES,
    );
    expect(line(r, 'kinesis.shards').usdPerMonth).toBeCloseTo(4 * 730 * 0.015, 9); // $43.80
    expect(line(r, 'kinesis.retention').usdPerMonth).toBeCloseTo(4 * 730 * 0.02, 9); // $58.40
    expect(line(r, 'cloudwatch.metrics_alarms').usdPerMonth).toBeCloseTo(10 * 0.3 + 20 * 0.1 + 3, 9); // $8
    expect(line(r, 'kms').usdPerMonth).toBeCloseTo(1 + 0.3, 9); // key + 100,000 × $0.03/10,000
    expect(line(r, 'secretsmanager').usdPerMonth).toBeCloseTo(0.8, 9);
    expect(r.usdPerMillionEvents).toBeCloseTo((43.8 + 58.4 + 8 + 1.3 + 0.8) / 100, 9);
    expect(costModel(none, { ...bare, shards: 4 }, PRICES).lines.some((l) => l.component === 'kinesis.retention')).toBe(false);
  });

  it('storage: half a month for what is kept longer, the kept share of the month otherwise; what later months add apart', () => {
    const r = costModel(
      {
        ...none,
        storage: [
          { store: 'dynamodb', what: 'timeline', bytes: 1024, keptHours: Number.POSITIVE_INFINITY },
          { store: 'dynamodb', what: 'dedup', bytes: 1024, keptHours: 73 },
          { store: 's3', what: 'lake', bytes: 1024, keptHours: Number.POSITIVE_INFINITY },
        ],
      },
      bare,
      PRICES,
    );
    const gb = (100e6 * 1024) / 1024 ** 3; // 95.367 GiB a month
    expect(line(r, 'storage.dynamodb.timeline').usdPerMonth).toBeCloseTo(gb * 0.5 * 0.25, 6);
    expect(line(r, 'storage.dynamodb.dedup').usdPerMonth).toBeCloseTo(gb * (73 / 730) * 0.25, 6);
    expect(line(r, 'storage.s3.lake').usdPerMonth).toBeCloseTo(gb * 0.5 * 0.023, 6);
    // Each further month: the month's timeline and lake again, in full; the dedup markers are gone.
    expect(r.storageKeptPerMonth.usdPerMonth).toBeCloseTo(gb * (0.25 + 0.023), 6);
  });

  it("journeys' sends are reported apart and left out of the total", () => {
    const r = costModel({ ...none, emails: 0.01, sms: 0.001 }, bare, PRICES);
    expect(r.sends.usdPerMonth).toBeCloseTo(1e6 * 0.0001 + 1e5 * 0.00645, 6);
    expect(r.usdPerMonth).toBe(0);
  });

  it('provisioned tables: capacity-hours of each hour of the day, within min and max; the other tables on-demand', () => {
    // 730 h × 3,600 s = 2,628,000 events a month: one event a second on average.
    const month = 730 * 3600;
    const flat = Array.from({ length: 24 }, () => 1);
    const r = costModel(
      {
        ...none,
        dynamodbWriteUnits: 33,
        dynamodbReadUnits: 2,
        dynamodbByTable: { 'cairn-timeline': { writes: 30, reads: 1 }, 'cairn-dedup': { writes: 3, reads: 1 } },
      },
      {
        ...bare,
        eventsPerMonth: 100 * month,
        dailyShape: flat,
        dynamodbProvisioned: {
          // 30 WRU × 100 events/s = 3,000 WCU/s consumed; at 50 %: 6,000 WCU, inside [10, 10,000].
          // 1 RRU × 100/s = 100 RCU/s; at 50 %: 200 RCU, under the minimum 500: 500.
          'cairn-timeline': { writes: { min: 10, max: 10_000 }, reads: { min: 500, max: 1_000 }, targetUtilization: 0.5 },
        },
      },
      PRICES,
    );
    expect(line(r, 'dynamodb.provisioned_writes').usdPerMonth).toBeCloseTo(6000 * 730 * 0.00065, 6); // $2,847
    expect(line(r, 'dynamodb.provisioned_reads').usdPerMonth).toBeCloseTo(500 * 730 * 0.00013, 6); // $47.45
    // dedup stays on-demand: the totals less the provisioned table, per request unit.
    expect(line(r, 'dynamodb.writes').usdPerMonth).toBeCloseTo(3 * 100 * month * 0.625e-6, 6);
    expect(line(r, 'dynamodb.reads').usdPerMonth).toBeCloseTo(1 * 100 * month * 0.125e-6, 6);
  });

  it('capacityHours: rounds each hour up, floors at min, caps at max (throttled above), over the shape', () => {
    // Two hours a "day" of 365 h: shares 0.5 and 1.5 of 7 units/s at 70 %: ceil(5) = 5, ceil(15) = 15.
    expect(capacityHours(7, { min: 1, max: 100 }, 0.7, [0.5, 1.5], 730)).toBeCloseTo((5 + 15) * 365, 9);
    expect(capacityHours(7, { min: 8, max: 100 }, 0.7, [0.5, 1.5], 730)).toBeCloseTo((8 + 15) * 365, 9);
    expect(capacityHours(7, { min: 1, max: 12 }, 0.7, [0.5, 1.5], 730)).toBeCloseTo((5 + 12) * 365, 9);
    // 1 unit/s at 70 %: ceil(1/0.7 × share) per hour of DAILY_SHAPE (0.25 → 1, 1.5 → 3), never below min 1.
    const expected = DAILY_SHAPE.reduce((s, share) => s + Math.max(1, Math.ceil(share / 0.7)), 0) * (730 / 24);
    expect(capacityHours(1, { min: 1, max: 100 }, 0.7, DAILY_SHAPE, 730)).toBeCloseTo(expected, 9);
    expect(DAILY_SHAPE).toHaveLength(24);
    expect(DAILY_SHAPE.reduce((a, b) => a + b, 0) / 24).toBeCloseTo(1, 9);
  });

  it('provisioned: at 100M a month, 1 WRU per event at 70 % costs 0.41× on-demand on a flat day (hand-computed)', () => {
    // 100M / 2,628,000 s = 38.05 events/s; ceil(38.05 / 0.7) = 55 WCU × 730 h × $0.00065 = $26.10 vs 100M × $0.625/M = $62.50.
    const r = costModel(
      { ...none, dynamodbWriteUnits: 1, dynamodbByTable: { t: { writes: 1, reads: 0 } } },
      {
        ...bare,
        dailyShape: Array.from({ length: 24 }, () => 1),
        dynamodbProvisioned: { t: { writes: { min: 1, max: 1000 }, reads: { min: 1, max: 1000 }, targetUtilization: 0.7 } },
      },
      PRICES,
    );
    expect(line(r, 'dynamodb.provisioned_writes').usdPerMonth).toBeCloseTo(55 * 730 * 0.00065, 6);
    expect(line(r, 'dynamodb.provisioned_reads').usdPerMonth).toBeCloseTo(1 * 730 * 0.00013, 6);
    expect(line(r, 'dynamodb.writes').usdPerMonth).toBeCloseTo(0, 9);
  });

  it('a provisioned table whose units were not counted is an error, not a silent $0', () => {
    expect(() =>
      costModel(none, { ...bare, dynamodbProvisioned: { t: { writes: { min: 1, max: 1 }, reads: { min: 1, max: 1 }, targetUtilization: 0.7 } } }, PRICES),
    ).toThrow(/not counted/);
  });
});
