/**
 * The Monitoring construct: an encrypted alarm topic (optional e-mail), the alarms an operator
 * relies on (lag, failed batches, errors, throttles, API errors, quarantine rate, journey action
 * failures, lake objects erasure could not finish), each notifying the topic, and a dashboard.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FUNCTIONS, TABLES } from '#shared/config/resources';
import { MONITORING } from '#infra/constructs/monitoring';
import { METRIC } from '#shared/metrics';
import { synthCairn, type Synthesised } from './synth';

type Json = Record<string, any>;

function setup(s: Synthesised) {
  const resources = s.template.toJSON().Resources as Record<string, Json>;
  const ofType = (t: string) => Object.entries(resources).filter(([, r]) => r.Type === t);
  const fnId = (name: keyof typeof FUNCTIONS) => s.stack.getLogicalId(s.stack.catalog.fn(name).function.node.defaultChild as CfnFunction);
  const topicId = ofType('AWS::SNS::Topic')
    .map(([id]) => id)
    .find((id) => id.startsWith('Monitoring'))!;
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Json);
  /** Alarms on a plain metric of a function (dimension FunctionName → its Ref). */
  const fnAlarms = (name: keyof typeof FUNCTIONS, metric: string) =>
    alarms.filter((a) => a.MetricName === metric && a.Dimensions?.some((d: Json) => d.Name === 'FunctionName' && d.Value?.Ref === fnId(name)));
  return { resources, ofType, fnId, topicId, alarms, fnAlarms };
}

describe('Monitoring (default settings: S3 failure destination)', () => {
  let s: Synthesised;
  let t: ReturnType<typeof setup>;
  beforeAll(() => {
    s = synthCairn({ alarmEmail: 'ops@shop.example' });
    t = setup(s);
  });

  it('the alarm topic is encrypted with the stack key, TLS-only, and CloudWatch may use the key for it', () => {
    const topic = t.resources[t.topicId]!;
    const keyId = t.ofType('AWS::KMS::Key')[0]![0];
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const policy = t.ofType('AWS::SNS::TopicPolicy').find(([, p]) => p.Properties.Topics.some((x: Json) => x.Ref === t.topicId))!;
    expect(policy[1].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const keyStatements = t.resources[keyId]!.Properties.KeyPolicy.Statement as Json[];
    expect(keyStatements).toContainEqual(
      expect.objectContaining({ Sid: 'AllowCloudWatchAlarmsToEncryptedTopic', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
    );
  });

  it('the e-mail setting subscribes that address', () => {
    const subsc = t.ofType('AWS::SNS::Subscription').map(([, r]) => r.Properties);
    expect(subsc).toContainEqual(expect.objectContaining({ Protocol: 'email', Endpoint: 'ops@shop.example', TopicArn: { Ref: t.topicId } }));
  });

  it('every alarm notifies the topic when it fires and when it clears', () => {
    expect(t.alarms.length).toBeGreaterThan(20);
    for (const a of t.alarms) {
      expect(a.AlarmActions, a.AlarmDescription).toEqual([{ Ref: t.topicId }]);
      expect(a.OKActions, a.AlarmDescription).toEqual([{ Ref: t.topicId }]);
      expect(a.TreatMissingData).toBe('notBreaching');
    }
  });

  it('iterator age and destination delivery failures per Kinesis consumer', () => {
    for (const name of ['normalize', 'resolve'] as const) {
      const [age] = t.fnAlarms(name, 'IteratorAge');
      expect(age, name).toMatchObject({ Statistic: 'Maximum', Threshold: MONITORING.iteratorAgeMs, EvaluationPeriods: MONITORING.iteratorAgeMinutes });
      expect(t.fnAlarms(name, 'DestinationDeliveryFailures'), name).toHaveLength(1);
    }
    expect(t.fnAlarms('collect', 'IteratorAge')).toHaveLength(0);
  });

  it('errors and throttles for every function', () => {
    for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
      expect(t.fnAlarms(name, 'Errors'), name).toHaveLength(1);
      expect(t.fnAlarms(name, 'Throttles'), name).toHaveLength(1);
    }
  });

  it('failed batches in S3: a request-metrics filter on aws/lambda/ of the lake and an alarm on its PutRequests', () => {
    const buckets = t.ofType('AWS::S3::Bucket').filter(([, b]) => b.Properties.MetricsConfigurations);
    expect(buckets).toHaveLength(1);
    expect(buckets[0]![1].Properties.MetricsConfigurations).toEqual([{ Id: MONITORING.failedBatchesFilterId, Prefix: 'aws/lambda/' }]);
    const put = t.alarms.filter((a) => a.MetricName === 'PutRequests' && a.Namespace === 'AWS/S3');
    expect(put).toHaveLength(1);
    expect(put[0]!.Dimensions).toContainEqual({ Name: 'FilterId', Value: MONITORING.failedBatchesFilterId });
  });

  it('a throttle alarm per table, API 5xx and 4xx rate, quarantine rate and journey action failures', () => {
    const math = (needle: string | RegExp) =>
      t.alarms.filter((a) =>
        (a.Metrics as Json[] | undefined)?.some(
          (m) => typeof m.Expression === 'string' && (typeof needle === 'string' ? m.Expression.includes(needle) : needle.test(m.Expression)),
        ),
      );
    expect(math(/^reads\d+ \+ writes\d+$/)).toHaveLength(Object.keys(TABLES).length);
    expect(t.alarms.filter((a) => a.MetricName === '5xx' && a.Namespace === 'AWS/ApiGateway')).toHaveLength(1);
    const rate4xx = math('e4xx');
    expect(rate4xx).toHaveLength(1);
    expect(rate4xx[0]!.Threshold).toBe(MONITORING.clientErrorRatePercent);
    const q = math('100 * q / (ok + q)');
    expect(q).toHaveLength(1);
    const qMetrics = (q[0]!.Metrics as Json[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric);
    expect(qMetrics.map((m) => m.MetricName).sort()).toEqual(['normalized', 'quarantined']);
    for (const m of qMetrics) {
      expect(m.Namespace).toBe('Cairn');
      expect(m.Dimensions).toEqual([{ Name: 'function', Value: { Ref: t.fnId('normalize') } }]);
    }
    const actions = t.alarms.filter((a) => a.Namespace === 'Cairn' && a.MetricName === 'actions.failed');
    expect(actions).toHaveLength(1);
    expect(actions[0]!.Dimensions).toEqual([{ Name: 'function', Value: { Ref: t.fnId('journey') } }]);
    // A skipped action (no consent, no email or phone: issue 14) is counted and graphed, never alarmed.
    expect(t.alarms.filter((a) => String(a.MetricName ?? '').startsWith(METRIC.actionsSkipped))).toEqual([]);
  });

  it('coupon pools: an alarm when an issue leaves a pool at or under its low mark or a step finds it empty', () => {
    const a = t.alarms.filter((x) => x.Namespace === 'Cairn' && x.MetricName === METRIC.couponsLow);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ Dimensions: [{ Name: 'function', Value: { Ref: t.fnId('journey') } }], Statistic: 'Sum', Threshold: 1 });
    expect(a[0]!.AlarmDescription).toMatch(/coupon pool/);
  });

  it('lake objects λ erase could not finish alarm over a period that always holds an erasure run', () => {
    const lake = t.alarms.filter((a) => a.Namespace === 'Cairn' && a.MetricName === METRIC.erasureLakeFailures);
    expect(lake).toHaveLength(1);
    expect(lake[0]).toMatchObject({ Dimensions: [{ Name: 'function', Value: { Ref: t.fnId('erase') } }], Statistic: 'Sum', Threshold: 1, Period: 1800 });
    expect(lake[0]!.AlarmDescription).toMatch(/\/v1\/erasures/);
  });

  it('every alarm is named <stack name>-<id>, the prefix npx cairn status reads them by', () => {
    const names = t.alarms.map((a) => a.AlarmName as string);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^CairnTest-[A-Za-z0-9]+$/);
    for (const name of Object.keys(FUNCTIONS)) expect(names).toContain(`CairnTest-${name}Errors`);
    expect(names).toEqual(
      expect.arrayContaining([
        'CairnTest-normalizeIteratorAge',
        'CairnTest-resolveIteratorAge',
        'CairnTest-FailedBatches',
        'CairnTest-JourneyFailedInvocations',
        'CairnTest-Api5xx',
        'CairnTest-QuarantineRate',
      ]),
    );
  });

  it('a managed policy for status readers: the stack outputs, its alarms by name prefix, metrics; nothing else', () => {
    const policies = t.ofType('AWS::IAM::ManagedPolicy').filter(([id]) => id.startsWith('MonitoringStatusReaderPolicy'));
    expect(policies).toHaveLength(1);
    const [policyId, policy] = policies[0]!;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    expect(statements).toEqual([
      { Sid: 'StackOutputs', Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: { Ref: 'AWS::StackId' } },
      {
        Sid: 'StackAlarms',
        Effect: 'Allow',
        Action: 'cloudwatch:DescribeAlarms',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:CairnTest-*']],
        },
      },
      { Sid: 'Metrics', Effect: 'Allow', Action: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'], Resource: '*' },
    ]);
    // Attached to nobody by the stack: operators attach it (docs/operations.md#status).
    expect(policy.Properties.Roles ?? policy.Properties.Users ?? policy.Properties.Groups).toBeUndefined();
    const outputs = s.template.toJSON().Outputs as Record<string, Json>;
    expect(outputs.StatusPolicyArn!.Value).toEqual({ Ref: policyId });
  });

  it('a dashboard named after the stage', () => {
    const [[, d]] = t.ofType('AWS::CloudWatch::Dashboard') as [[string, Json]];
    expect(d.Properties.DashboardName).toBe('cairn');
  });
});

describe('Monitoring (SQS failure destination, stage dev, no e-mail)', () => {
  let t: ReturnType<typeof setup>;
  beforeAll(() => {
    t = setup(synthCairn({}, { 'cairn:stage': 'dev', 'cairn:failureDestination': 'sqs' }));
  });

  it('alarms on the failed-batch queue depth instead of S3, and subscribes nobody', () => {
    const depth = t.alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(depth).toHaveLength(2); // the mappings' queue and λ journey's failed-invocation queue
    expect(t.alarms.filter((a) => a.MetricName === 'PutRequests')).toHaveLength(0);
    expect(t.ofType('AWS::S3::Bucket').filter(([, b]) => b.Properties.MetricsConfigurations)).toHaveLength(0);
    expect(t.ofType('AWS::SNS::Subscription')).toHaveLength(0);
    expect((t.ofType('AWS::CloudWatch::Dashboard')[0]![1] as Json).Properties.DashboardName).toBe('cairn-dev');
  });
});

describe('settings', () => {
  it('rejects an alarm e-mail that is not an address', () => {
    expect(() => synthCairn({}, { 'cairn:alarmEmail': 'not-an-address' })).toThrow(/cairn:alarmEmail/);
  });
});
