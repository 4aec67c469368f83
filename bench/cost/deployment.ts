/**
 * The deployment the cost model prices, read from the CDK stack itself (synthesised as
 * `cdk synth -c cairn:eventsPerSecond=<peak>` would, without bundling): shards and their retention,
 * tracing, alarms, dashboards, secrets, keys, provisioned tables and their auto scaling, and the event-source mappings' batching (which decides
 * how large the batches of the measured run must be). Nothing here is typed in by hand, so the
 * model follows the stack when it changes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CairnStack } from '#infra/stack';
import type { Deployment, ProvisionedTable } from './model';

/** Peak events/s for a monthly volume, as docs/deploy.md#sizing sizes it: 5× the mean of a 30-day month. */
export const peakFor = (eventsPerMonth: number): number => Math.ceil((eventsPerMonth / (30 * 86_400)) * 5);

export interface SynthesisedDeployment {
  deployment: Omit<Deployment, 'customMetrics' | 'eventsPerMonth'>;
  /** Shards per stream, by the stream's name. */
  shardsByStream: Record<string, number>;
  /** Hours the streams keep records (the raw stream's: the dedup window follows it). */
  rawRetentionHours: number;
  /** Batch size and window of the event-source mappings, by the function's logical id prefix. */
  mappings: { batchSize: number; windowSeconds: number }[];
  /** Encrypted resources whose service asks KMS for data keys (streams, tables, buckets, queues, topics). */
  keyUsers: number;
}

type Json = Record<string, any>;

export function synthesisedDeployment(eventsPerMonth: number, context: Record<string, unknown> = {}): SynthesisedDeployment {
  // cdk.json's context (feature flags), as `cdk synth` reads it.
  const cdkJson = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], 'cairn:eventsPerSecond': peakFor(eventsPerMonth), ...context } });
  const stack = new CairnStack(app, 'CairnCost', { env: { account: '123456789012', region: 'us-east-1' } });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  const of = (type: string) => Object.values(resources).filter((r) => r.Type === type);
  const streams = of('AWS::Kinesis::Stream');
  const shardsByStream: Record<string, number> = {};
  for (const s of streams) shardsByStream[String(s.Properties.Name)] = Number(s.Properties.ShardCount);
  const shards = Object.values(shardsByStream).reduce((a, b) => a + b, 0);
  const functions = of('AWS::Lambda::Function');
  const mappings = of('AWS::Lambda::EventSourceMapping').map((m) => ({
    batchSize: Number(m.Properties.BatchSize ?? 100),
    windowSeconds: Number(m.Properties.MaximumBatchingWindowInSeconds ?? 0),
  }));
  const dynamodbProvisioned = provisionedTables(resources);
  const keyUsers =
    streams.length +
    of('AWS::DynamoDB::Table').length +
    of('AWS::DynamoDB::GlobalTable').length +
    of('AWS::S3::Bucket').length +
    of('AWS::SQS::Queue').length +
    of('AWS::SNS::Topic').length;
  return {
    deployment: {
      hoursPerMonth: 730,
      shards,
      extendedRetention: streams.some((s) => Number(s.Properties.RetentionPeriodHours ?? 24) > 24),
      tracing: functions.some((f) => f.Properties.TracingConfig?.Mode === 'Active'),
      // START (~110 bytes), END (~70), REPORT (~260 with the memory and init figures), and the trace id line with tracing (~90).
      platformLogBytesPerInvocation: functions.some((f) => f.Properties.TracingConfig?.Mode === 'Active') ? 530 : 440,
      alarms: of('AWS::CloudWatch::Alarm').length,
      dashboards: of('AWS::CloudWatch::Dashboard').length,
      secrets: of('AWS::SecretsManager::Secret').length,
      kmsKeys: of('AWS::KMS::Key').length,
      // Services cache data keys for about 5 minutes: ~12 requests an hour per resource (an estimate, not counted).
      kmsRequestsPerMonth: keyUsers * 12 * 730,
      ...(Object.keys(dynamodbProvisioned).length ? { dynamodbProvisioned } : {}),
    },
    shardsByStream,
    rawRetentionHours: Math.max(...streams.map((st) => Number(st.Properties.RetentionPeriodHours ?? 24))),
    mappings,
    keyUsers,
  };
}

/**
 * Provisioned tables by name, from the template: each PROVISIONED table's scalable targets (read and
 * write: MinCapacity, MaxCapacity) and their target-tracking policies' target value.
 */
function provisionedTables(resources: Record<string, Json>): Record<string, ProvisionedTable> {
  const out: Record<string, ProvisionedTable> = {};
  const entries = Object.entries(resources);
  for (const [id, t] of entries) {
    if (t.Type !== 'AWS::DynamoDB::Table' || t.Properties.BillingMode === 'PAY_PER_REQUEST') continue;
    const name = String(t.Properties.TableName);
    if (t.Properties.GlobalSecondaryIndexes?.length) throw new Error(`cost deployment: ${name} is provisioned with indexes, which the model does not price`);
    const targets = entries.filter(
      ([, r]) =>
        r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget' &&
        JSON.stringify(r.Properties.ResourceId) === JSON.stringify({ 'Fn::Join': ['', ['table/', { Ref: id }]] }),
    );
    const range = (dimension: string) => {
      const found = targets.find(([, r]) => r.Properties.ScalableDimension === `dynamodb:table:${dimension}CapacityUnits`);
      if (!found) throw new Error(`cost deployment: ${name} is provisioned without ${dimension} auto scaling`);
      const [targetId, target] = found;
      const policy = entries.find(([, r]) => r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy' && r.Properties.ScalingTargetId?.Ref === targetId)?.[1];
      const value = Number(policy?.Properties.TargetTrackingScalingPolicyConfiguration?.TargetValue);
      if (!Number.isFinite(value)) throw new Error(`cost deployment: ${name} ${dimension} has no target-tracking policy`);
      return { min: Number(target.Properties.MinCapacity), max: Number(target.Properties.MaxCapacity), target: value / 100 };
    };
    const writes = range('Write');
    const reads = range('Read');
    if (writes.target !== reads.target) throw new Error(`cost deployment: ${name} has different read and write targets`);
    out[name] = { writes: { min: writes.min, max: writes.max }, reads: { min: reads.min, max: reads.max }, targetUtilization: writes.target };
  }
  return out;
}
