/**
 * Issue 12, "defaults that survive production": the default synth carries 1 billion events a month with
 * peaks of 5× the mean (1,930 events/s) without throttling. The arithmetic is in docs/deploy.md#sizing;
 * these tests hold the template to it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FUNCTIONS, STREAMS, THROTTLE, type FunctionDef } from '#shared/config/resources';
import type { CairnStack } from '#infra/stack';
import type { FunctionName } from '#infra/constructs/catalog';
import { CONTEXT, DEFAULT_EVENTS_PER_SECOND, RESERVED_CONCURRENCY_BUDGET, SHARD_HEADROOM, streamShards } from '#infra/settings';
import { synthCairn } from './synth';

type Json = Record<string, any>;
type StreamName = keyof typeof STREAMS;
let stack: CairnStack;
let resources: Record<string, Json>;

const ofType = (type: string): Json[] => Object.values(resources).filter((r) => r.Type === type);
const streamOf = (name: StreamName): Json => ofType('AWS::Kinesis::Stream').find((r) => r.Properties.Name === STREAMS[name].name)!;
const fnProps = (s: CairnStack, name: FunctionName): Json =>
  s.resolve((s.catalog.fn(name).function.node.defaultChild as CfnFunction)._toCloudFormation()).Resources[
    s.getLogicalId(s.catalog.fn(name).function.node.defaultChild as CfnFunction)
  ].Properties;
const consumers = (Object.keys(FUNCTIONS) as FunctionName[]).filter((n) => (FUNCTIONS[n] as FunctionDef).kinesis);
const streams = Object.keys(STREAMS) as StreamName[];

/** 1e9 events over a 30-day month, at 5× the mean. */
const MEAN = 1e9 / (30 * 86_400);
const PEAK = 5 * MEAN;

beforeAll(() => {
  const synth = synthCairn();
  stack = synth.stack;
  resources = synth.template.toJSON().Resources;
});

describe('default sizing: 1 billion events a month, peaks of 5× the mean', () => {
  it('the default peak is 1e9 / 30 days × 5 (≈ 1,930 events/s)', () => {
    expect(MEAN).toBeCloseTo(385.8, 1);
    expect(DEFAULT_EVENTS_PER_SECOND).toBeGreaterThanOrEqual(Math.floor(PEAK));
    expect(stack.settings.eventsPerSecond).toBe(DEFAULT_EVENTS_PER_SECOND);
  });

  it.each(streams)('%s stream: provisioned, shards carry the peak with headroom under 1,000 records/s and its consumer rate per shard', (name) => {
    const s = streamOf(name);
    expect(s.Properties.StreamModeDetails).toEqual({ StreamMode: 'PROVISIONED' });
    const shards = s.Properties.ShardCount as number;
    expect(shards).toBe(streamShards(name, DEFAULT_EVENTS_PER_SECOND));
    const perShard = DEFAULT_EVENTS_PER_SECOND / shards;
    expect(perShard).toBeLessThanOrEqual(1000 / SHARD_HEADROOM); // Kinesis write limit, records/s per shard
    expect(perShard * 1024).toBeLessThanOrEqual((1024 * 1024) / SHARD_HEADROOM); // 1 MB/s per shard at 1 KB events
    expect(perShard).toBeLessThanOrEqual(STREAMS[name].awsEventsPerShard / SHARD_HEADROOM); // its consumer keeps up
  });

  it('pinned: 3 raw shards and 9 normalized shards at the default (docs/deploy.md#sizing)', () => {
    expect(streamOf('raw').Properties.ShardCount).toBe(3);
    expect(streamOf('normalized').Properties.ShardCount).toBe(9);
  });

  it.each(streams)("%s stream: retention is longer than its consumer's MaximumRecordAgeInSeconds plus a day of outage", (name) => {
    const hours = streamOf(name).Properties.RetentionPeriodHours as number;
    const consumer = consumers.find((n) => (FUNCTIONS[n] as FunctionDef).kinesis!.stream === name)!;
    const esm = ofType('AWS::Lambda::EventSourceMapping').find((r) =>
      JSON.stringify(r.Properties.FunctionName).includes(stack.getLogicalId(stack.catalog.fn(consumer).function.node.defaultChild as CfnFunction)),
    )!;
    expect(hours * 3600).toBeGreaterThan(esm.Properties.MaximumRecordAgeInSeconds + 24 * 3600);
  });

  it.each(consumers)('%s: ParallelizationFactor 1 (per-shard bookkeeping) and reserved concurrency = shards × ParallelizationFactor', (name) => {
    const k = (FUNCTIONS[name] as FunctionDef).kinesis!;
    const esm = ofType('AWS::Lambda::EventSourceMapping').find((r) =>
      JSON.stringify(r.Properties.FunctionName).includes(stack.getLogicalId(stack.catalog.fn(name).function.node.defaultChild as CfnFunction)),
    )!;
    expect(esm.Properties.ParallelizationFactor).toBe(1);
    expect(esm.Properties.BatchSize).toBe(500);
    expect(fnProps(stack, name).ReservedConcurrentExecutions).toBe(streamOf(k.stream).Properties.ShardCount * esm.Properties.ParallelizationFactor);
  });

  it('journey fan-out is capped; reserved concurrency sums within the documented account budget', () => {
    expect(fnProps(stack, 'journey').ReservedConcurrentExecutions).toBe(50);
    const reserved = ofType('AWS::Lambda::Function').map((r) => (r.Properties.ReservedConcurrentExecutions as number | undefined) ?? 0);
    const sum = reserved.reduce((a, b) => a + b, 0);
    // + 1 each for erase, snapshot, scores and compact: runs that must not overlap (docs/deploy.md#sizing).
    for (const fn of ['erase', 'snapshot', 'scores', 'compact'] as const) expect(fnProps(stack, fn).ReservedConcurrentExecutions).toBe(1);
    expect(sum).toBe(3 + 9 + 50 + 4);
    expect(sum).toBeLessThanOrEqual(RESERVED_CONCURRENCY_BUDGET);
    // Collection keeps the unreserved pool: no other function reserves any.
    expect(reserved.filter((n) => n > 0)).toHaveLength(consumers.length + 1 + 4);
  });

  it('the API stage throttle is at least 2× the peak even at one request per event', () => {
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    expect(stage.Properties.DefaultRouteSettings.ThrottlingRateLimit).toBe(THROTTLE.rateLimit);
    expect(THROTTLE.rateLimit).toBeGreaterThanOrEqual(2 * DEFAULT_EVENTS_PER_SECOND);
    expect(THROTTLE.burstLimit).toBeLessThanOrEqual(5000); // API Gateway's regional account burst
  });
});

describe('cairn:eventsPerSecond', () => {
  it.each([
    [20, 1, 1], // 10M events/month: 3.9/s mean, 19/s peak → one shard each
    [193, 1, 1], // 100M events/month: 290/s with headroom, under a shard's 1,000 writes and resolve's 350/s
    [1930, 3, 9], // 1B events/month (default)
    [10_000, 15, 43],
  ])('%s events/s → %s raw and %s normalized shards, reserved concurrency following', (eps, raw, normalized) => {
    const s = synthCairn({}, { [CONTEXT.eventsPerSecond]: String(eps) }).stack;
    expect(s.settings.shards).toEqual({ raw, normalized });
    expect(fnProps(s, 'normalize').ReservedConcurrentExecutions).toBe(raw);
    expect(fnProps(s, 'resolve').ReservedConcurrentExecutions).toBe(normalized);
  });

  it.each([
    [20, 500],
    [193, 500],
    [1930, 1000], // 3 raw shards: IMPORT_RATE, as before
  ])('%s events/s → λ import paces itself at %s records/s (half of what its raw shards take, at most IMPORT_RATE)', (eps, rate) => {
    const s = synthCairn({}, { [CONTEXT.eventsPerSecond]: String(eps) }).stack;
    expect(fnProps(s, 'import').Environment.Variables.CAIRN_IMPORT_RATE).toBe(String(rate));
    expect(rate).toBeLessThanOrEqual((s.settings.shards.raw * 1000) / 2);
  });

  it('rejects a value that is not a positive number', () => {
    expect(() => synthCairn({}, { [CONTEXT.eventsPerSecond]: 'lots' })).toThrow(CONTEXT.eventsPerSecond);
  });
});
