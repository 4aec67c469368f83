/**
 * Deployment settings from CDK context, and the guard that every definition in
 * shared/config/resources.ts is actually deployed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { FUNCTIONS } from '#shared/config/resources';
import { CONTEXT, resolveSettings } from '#infra/settings';
import { stackId } from '#infra/build';
import { synthCairn } from './synth';

const withContext = (context: Record<string, unknown>) => new Stack(new App({ context }), 'S');

describe('resolveSettings', () => {
  it('defaults: no stage, retain data, protect tables, 30-day logs, any origin, S3 failures', () => {
    const s = resolveSettings(withContext({}));
    expect(s).toMatchObject({
      stage: undefined,
      retain: true,
      deletionProtection: true,
      logRetention: RetentionDays.ONE_MONTH,
      allowedOrigins: ['*'],
      failureDestination: 's3',
      athenaScanCutoffGb: 10,
      dataRemovalPolicy: RemovalPolicy.RETAIN,
    });
    expect(s.name('cairn-raw')).toBe('cairn-raw');
    expect(stackId(s.stage)).toBe('Cairn');
  });

  it('reads command-line context strings (`-c key=value`)', () => {
    const s = resolveSettings(
      withContext({
        [CONTEXT.stage]: 'dev',
        [CONTEXT.retain]: 'false',
        [CONTEXT.logRetentionDays]: '7',
        [CONTEXT.allowedOrigins]: 'https://a.example, https://b.example',
        [CONTEXT.athenaScanCutoffGb]: '2',
      }),
    );
    expect(s.retain).toBe(false);
    expect(s.deletionProtection).toBe(false);
    expect(s.dataRemovalPolicy).toBe(RemovalPolicy.DESTROY);
    expect(s.logRetention).toBe(RetentionDays.ONE_WEEK);
    expect(s.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(s.athenaScanCutoffGb).toBe(2);
    expect(s.name('cairn-raw')).toBe('cairn-raw-dev');
    expect(s.glueName('cairn')).toBe('cairn_dev');
    expect(stackId(s.stage)).toBe('Cairn-dev');
  });

  it('stack props win over context', () => {
    const s = resolveSettings(withContext({ [CONTEXT.stage]: 'dev', [CONTEXT.retain]: true }), { stage: 'prod', retain: false, deletionProtection: true });
    expect(s.stage).toBe('prod');
    expect(s.retain).toBe(false);
    expect(s.deletionProtection).toBe(true);
  });

  it.each([
    [CONTEXT.stage, 'Dev_1'],
    [CONTEXT.retain, 'yes'],
    [CONTEXT.logRetentionDays, '10'],
    [CONTEXT.failureDestination, 'sns'],
    [CONTEXT.athenaScanCutoffGb, '-1'],
    [CONTEXT.busPublish, 'some'],
    [CONTEXT.tracing, 'maybe'],
    [CONTEXT.batchingWindowSeconds, '0.5'],
    [CONTEXT.batchingWindowSeconds, '301'],
  ])('rejects %s=%s with a message naming the setting', (key, value) => {
    expect(() => resolveSettings(withContext({ [key]: value }))).toThrow(key === CONTEXT.stage ? /stage/ : key);
  });
});

describe('cost settings (docs/cost.md)', () => {
  type Json = Record<string, any>;
  const resources = (context: Record<string, unknown>) => Object.values(synthCairn({}, context).template.toJSON().Resources as Record<string, Json>);

  it('defaults: tracing on every function, 1 s batching windows, only matched events published, import paced to the raw shards', () => {
    const all = resources({});
    const fns = all.filter((r) => r.Type === 'AWS::Lambda::Function');
    // The stack's own functions; not the CDK's BucketDeployment provider, which copies the console's
    // files at deploy time only (a few invocations a deploy) and whose tracing the CDK does not expose.
    const ours = Object.entries(synthCairn({}).template.findResources('AWS::Lambda::Function'))
      .filter(([id]) => !id.startsWith('CustomCDKBucketDeployment'))
      .map(([, f]) => f as Json);
    expect(ours.length).toBeGreaterThanOrEqual(Object.keys(FUNCTIONS).length);
    expect(ours.filter((f) => f.Properties.TracingConfig?.Mode !== 'Active').map((f) => f.Properties.FunctionName)).toEqual([]);
    expect(all.filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping').map((m) => m.Properties.MaximumBatchingWindowInSeconds)).toEqual([1, 1]);
    expect(fns.some((f) => f.Properties.Environment?.Variables?.CAIRN_BUS_PUBLISH)).toBe(false);
  });

  it('cairn:tracing=false, cairn:batchingWindowSeconds=5, cairn:busPublish=all', () => {
    const all = resources({ [CONTEXT.tracing]: 'false', [CONTEXT.batchingWindowSeconds]: '5', [CONTEXT.busPublish]: 'all' });
    const fns = all.filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns.some((f) => f.Properties.TracingConfig?.Mode === 'Active')).toBe(false);
    expect(all.filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping').map((m) => m.Properties.MaximumBatchingWindowInSeconds)).toEqual([5, 5]);
    const publishing = fns.filter((f) => f.Properties.Environment?.Variables?.CAIRN_BUS_PUBLISH === 'all');
    expect(publishing.length).toBeGreaterThanOrEqual(5); // resolve, recheck, scores, journey, admin
  });
});

describe('completeness guard', () => {
  const extra = 'unbuiltForTest';
  afterEach(() => {
    delete (FUNCTIONS as Record<string, unknown>)[extra];
  });

  it('synth fails when a function is defined but no stage construct builds it', () => {
    (FUNCTIONS as Record<string, unknown>)[extra] = { ...FUNCTIONS.collect, id: 'UnbuiltForTest' };
    expect(() => synthCairn()).toThrow(/FUNCTIONS\.unbuiltForTest/);
  });
});
