/**
 * The price table the cost model multiplies by (bench/cost/model.ts): AWS list prices in us-east-1,
 * on-demand, without free tiers (at 100 million events a month most are used up, and leaving them
 * out errs on the expensive side). Where each figure comes from and how sure it is:
 * docs/cost.md#prices-sources. Change a price here and in that table, with the date.
 */
export const PRICES_CHECKED = '2026-12-06';

export const PRICES = {
  lambda: {
    /** arm64, first 7.5 billion GB-seconds a month. */
    perGbSecond: 0.0000133334,
    perRequest: 0.2 / 1e6,
  },
  kinesis: {
    /** Provisioned mode. */
    perShardHour: 0.015,
    /** Extended retention (25 h – 7 days), per shard-hour. */
    perShardHourExtendedRetention: 0.02,
    /** Per PUT payload unit: each record counts one unit per started 25 KB. */
    perPutUnit: 0.014 / 1e6,
  },
  dynamodb: {
    /** On-demand, after the November 2024 reduction. */
    perWriteUnit: 0.625 / 1e6,
    perReadUnit: 0.125 / 1e6,
    /** Provisioned capacity (standard table class), per unit and hour held, whatever is consumed. */
    perWcuHour: 0.00065,
    perRcuHour: 0.00013,
    perGbMonth: 0.25,
  },
  eventbridge: {
    /** Custom events published: one per entry per started 64 KB. */
    perEvent: 1.0 / 1e6,
  },
  scheduler: {
    /** One per schedule that fires (creating and deleting schedules is not billed). */
    perInvocation: 1.0 / 1e6,
  },
  s3: {
    /** Standard: PUT, COPY, POST, LIST. */
    perPut: 0.005 / 1000,
    /** Standard: GET, HEAD and the rest. */
    perGet: 0.0004 / 1000,
    perGbMonth: 0.023,
  },
  cloudwatch: {
    /** Logs ingested (standard class; Lambda's first tier). */
    perLogGb: 0.5,
    /** Custom metrics (EMF): per metric and month, first 10,000. */
    perMetricMonth: 0.3,
    perAlarmMonth: 0.1,
    perDashboardMonth: 3,
  },
  kms: {
    perKeyMonth: 1,
    perRequest: 0.03 / 10_000,
  },
  apiGateway: {
    /** HTTP API, first 300 million requests a month; a request counts once per started 512 KB. */
    perRequest: 1.0 / 1e6,
  },
  xray: {
    /** Traces recorded. */
    perTrace: 5.0 / 1e6,
  },
  secretsManager: {
    perSecretMonth: 0.4,
  },
  /** Messages journeys send: not part of processing events (printed beside it). */
  ses: { perEmail: 0.1 / 1000 },
  sns: { perSmsUs: 0.00645 },
} as const;

export type PriceTable = typeof PRICES;
