/**
 * The deployment the cost model prices, read from the CDK stack itself (synthesised as
 * `cdk synth -c cairn:eventsPerSecond=<peak>` would, without bundling): shards and their retention,
 * tracing, alarms, dashboards, secrets, keys, and the event-source mappings' batching (which decides
 * how large the batches of the measured run must be). Nothing here is typed in by hand, so the
 * model follows the stack when it changes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CairnStack } from '#infra/stack';
import type { Deployment } from './model';

/** Peak events/s for a monthly volume, as docs/deploy.md#sizing sizes it: 5× the mean of a 30-day month. */
export const peakFor = (eventsPerMonth: number): number => Math.ceil((eventsPerMonth / (30 * 86_400)) * 5);

export interface SynthesisedDeployment {
  deployment: Omit<Deployment, 'customMetrics' | 'eventsPerMonth'>;
  /** Shards per stream, by the stream's name. */
  shardsByStream: Record<string, number>;
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
    },
    shardsByStream,
    mappings,
    keyUsers,
  };
}
