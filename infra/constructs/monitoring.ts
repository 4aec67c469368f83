/**
 * Monitoring: one CloudWatch dashboard and the alarms an operator needs (docs/operations.md), all
 * notifying one SNS topic encrypted with the stack's key (optionally with an e-mail subscription,
 * setting `alarmEmail` / context `cairn:alarmEmail`).
 *
 * Alarms:
 * - per Kinesis consumer: iterator age (the pipeline is falling behind), and on-failure destination
 *   delivery failures (Lambda could not even write the failed batch);
 * - failed batches: S3 destination → PutRequests under `aws/lambda/` (a bucket request-metrics
 *   filter), SQS destination → visible messages; the journey function's failed-invocation queue;
 * - per function: errors and throttles;
 * - per table: read + write throttle events;
 * - HTTP API: any 5xx, and a 4xx rate above a threshold (once there is traffic);
 * - the quarantine rate (normalize's EMF metrics, shared/metrics.ts), journey action failures,
 *   coupon pools running low (or dry), and lake objects λ erase could not finish (erasures held back).
 *
 * Every alarm is named `<stack name>-<id>` (`cairn-prod-normalizeIteratorAge`): `npx cairn --stack
 * <name> status` finds them by that prefix (cli/status-aws.ts). `statusPolicy` is the managed policy
 * an operator needs for that command, and nothing more (docs/operations.md#status).
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTIONS, TABLES } from '#shared/config';
import { METRIC, METRICS_DIMENSION, METRICS_NAMESPACE } from '#shared/metrics';
import type { Catalog, FunctionName, TableName } from './catalog';
import { LAMBDA_FAILURE_PREFIX } from './failure-destination';
import { acknowledge } from './nag';

/** Thresholds (documented in docs/operations.md). */
export const MONITORING = {
  /** A consumer whose oldest record is older than this, for `iteratorAgeMinutes`, alarms. */
  iteratorAgeMs: 60_000,
  iteratorAgeMinutes: 5,
  /** Quarantined / (normalized + quarantined), percent, over 15 minutes. */
  quarantineRatePercent: 5,
  /** 4xx / requests, percent, over 5 minutes, once there are at least `clientErrorMinRequests`. */
  clientErrorRatePercent: 25,
  clientErrorMinRequests: 50,
  /** Period of the erasure lake-failure alarm (λ erase runs every 10 minutes). */
  erasureLakeFailurePeriod: Duration.minutes(30),
  /** S3 request-metrics filter id of the failed-batch prefix. */
  failedBatchesFilterId: 'cairn-failed-batches',
} as const;

export interface MonitoringProps {
  catalog: Catalog;
  /** The stack's key: the alarm topic is encrypted with it, and CloudWatch may use it to publish. */
  key: kms.IKey;
  stage: apigwv2.IHttpStage;
  /** The lake bucket, when Kinesis failures go to S3 (gets a request-metrics filter on `aws/lambda/`). */
  failureBucket?: s3.Bucket;
  /** The SQS on-failure destination of the event-source mappings, when chosen. */
  failureQueue?: sqs.IQueue;
  /** λ journey's failed asynchronous invocations. */
  journeyFailureQueue?: sqs.IQueue;
  /** E-mail address subscribed to the alarm topic. */
  alarmEmail?: string;
}

const FIVE_MIN = Duration.minutes(5);

/** Name of the alarm `id` of a stack: what `npx cairn status` looks for (`<stack>-` prefix). */
export const alarmName = (stackName: string, id: string): string => `${stackName}-${id}`;

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  /**
   * What `npx cairn --stack <name> status` needs (attach it to operator roles): the stack's outputs,
   * its alarms (by name prefix) and CloudWatch metrics. Read-only, and no access to any data: no
   * table, stream, lake or API.
   */
  readonly statusPolicy: iam.ManagedPolicy;
  private readonly action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { catalog } = props;
    const s = catalog.settings;

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Cairn ${s.stage ?? 'default'} alarms`,
      masterKey: props.key,
      enforceSSL: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with the key: only for alarms of this account.
    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    this.action = new actions.SnsAction(this.topic);

    const fns = (Object.keys(catalog.functions) as FunctionName[]).map((name) => ({ name, fn: catalog.fn(name).function }));
    const consumers = fns.filter(({ name }) => 'kinesis' in FUNCTIONS[name]);

    // ---- pipeline lag and failed batches -------------------------------------------------
    for (const { name, fn } of consumers) {
      this.alarm(
        `${name}IteratorAge`,
        `${name}: records wait more than ${MONITORING.iteratorAgeMs / 1000} s (pipeline falling behind)`,
        fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
        MONITORING.iteratorAgeMs,
        MONITORING.iteratorAgeMinutes,
      );
      this.alarm(
        `${name}DestinationDeliveryFailures`,
        `${name}: a failed batch could not be written to the on-failure destination`,
        fn.metric('DestinationDeliveryFailures', { statistic: 'Sum', period: FIVE_MIN }),
        1,
      );
    }
    let failedBatches: cloudwatch.IMetric | undefined;
    if (props.failureQueue) {
      failedBatches = props.failureQueue.metric('ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: FIVE_MIN });
      this.alarm('FailedBatches', 'Kinesis batches gave up on: replay them with `npx cairn replay` (docs/operations.md)', failedBatches, 1);
    } else if (props.failureBucket) {
      props.failureBucket.addMetric({ id: MONITORING.failedBatchesFilterId, prefix: LAMBDA_FAILURE_PREFIX });
      failedBatches = new cloudwatch.Metric({
        namespace: 'AWS/S3',
        metricName: 'PutRequests',
        statistic: 'Sum',
        period: FIVE_MIN,
        dimensionsMap: { BucketName: props.failureBucket.bucketName, FilterId: MONITORING.failedBatchesFilterId },
      });
      this.alarm('FailedBatches', 'Kinesis batches gave up on were written to s3://<lake>/aws/lambda/: replay them with `npx cairn replay`', failedBatches, 1);
    }
    if (props.journeyFailureQueue) {
      this.alarm(
        'JourneyFailedInvocations',
        'journey invocations failed after retries (their on-failure queue holds them)',
        props.journeyFailureQueue.metric('ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: FIVE_MIN }),
        1,
      );
    }

    // ---- functions -----------------------------------------------------------------------
    for (const { name, fn } of fns) {
      this.alarm(`${name}Errors`, `${name}: function errors`, fn.metricErrors({ statistic: 'Sum', period: FIVE_MIN }), 1);
      this.alarm(`${name}Throttles`, `${name}: invocations throttled`, fn.metricThrottles({ statistic: 'Sum', period: FIVE_MIN }), 1);
    }

    // ---- tables --------------------------------------------------------------------------
    const tables = (Object.keys(TABLES) as TableName[]).map((name) => ({ name, table: catalog.table(name) }));
    for (const [i, { name, table }] of tables.entries()) {
      this.alarm(`${name}TableThrottles`, `table ${name}: read or write requests throttled`, throttleEvents(table, i), 1);
    }

    // ---- HTTP API ------------------------------------------------------------------------
    const api5xx = props.stage.metricServerError({ statistic: 'Sum', period: FIVE_MIN });
    const api4xx = props.stage.metricClientError({ statistic: 'Sum', period: FIVE_MIN });
    const apiCount = props.stage.metricCount({ statistic: 'Sum', period: FIVE_MIN });
    this.alarm('Api5xx', 'collection/admin API answered 5xx', api5xx, 1);
    const clientRate = new cloudwatch.MathExpression({
      expression: `IF(requests >= ${MONITORING.clientErrorMinRequests}, 100 * e4xx / requests, 0)`,
      usingMetrics: { e4xx: api4xx, requests: apiCount },
      period: FIVE_MIN,
      label: '4xx rate (%)',
    });
    this.alarm(
      'Api4xxRate',
      `more than ${MONITORING.clientErrorRatePercent}% of API requests answered 4xx (bad write keys? broken SDK?)`,
      clientRate,
      MONITORING.clientErrorRatePercent,
      1,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );

    // ---- business metrics (EMF, shared/metrics.ts) ----------------------------------------
    const custom = (name: FunctionName, metricName: string, period = FIVE_MIN) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        statistic: 'Sum',
        period,
        dimensionsMap: { [METRICS_DIMENSION]: catalog.fn(name).function.functionName },
      });
    const fifteen = Duration.minutes(15);
    const quarantineRate = new cloudwatch.MathExpression({
      expression: 'IF(ok + q > 0, 100 * q / (ok + q), 0)',
      usingMetrics: { ok: custom('normalize', METRIC.normalized, fifteen), q: custom('normalize', METRIC.quarantined, fifteen) },
      period: fifteen,
      label: 'quarantine rate (%)',
    });
    this.alarm(
      'QuarantineRate',
      `more than ${MONITORING.quarantineRatePercent}% of messages quarantined (query: npx cairn sql "SELECT code, count(*) FROM quarantine GROUP BY 1")`,
      quarantineRate,
      MONITORING.quarantineRatePercent,
      1,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    this.alarm('JourneyActionFailures', 'journey actions failed (email/SMS/webhook gave up)', custom('journey', METRIC.actionsFailed), 1);
    // A pool's low mark is its own setting (`npx cairn coupons load|generate --low-at`, default COUPONS.lowPercent of its
    // codes). A step that finds its pool empty counts it too, so the alarm stays on while the pool is dry (the skips
    // themselves, actions.skipped_no_coupon, are graphed, never alarmed, like every skip).
    this.alarm(
      'CouponPoolLow',
      'a coupon pool is at or under its low mark, or empty: load or generate more codes (npx cairn coupons status <pool>; the log names the pool)',
      custom('journey', METRIC.couponsLow),
      1,
    );
    // λ erase runs every 10 minutes (up to 15 long): a 30-minute period holds a run, so a failure that persists keeps the alarm on.
    this.alarm(
      'ErasureLakeFailures',
      'λ erase could not read, rewrite or delete lake objects: the erasures concerned stay pending (GET /v1/erasures/{id} lists the keys; docs/privacy.md)',
      custom('erase', METRIC.erasureLakeFailures, MONITORING.erasureLakeFailurePeriod),
      1,
    );

    // ---- who may read the status ------------------------------------------------------------
    const stack = Stack.of(this);
    this.statusPolicy = new iam.ManagedPolicy(this, 'StatusReaderPolicy', {
      description: `Read the status of Cairn stack ${stack.stackName} (npx cairn --stack ${stack.stackName} status): outputs, alarms, metrics; no data`,
      statements: [
        new iam.PolicyStatement({ sid: 'StackOutputs', actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }),
        new iam.PolicyStatement({
          sid: 'StackAlarms',
          actions: ['cloudwatch:DescribeAlarms'],
          resources: [`arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${alarmName(stack.stackName, '*')}`],
        }),
        // GetMetricData and ListMetrics take no resource (Service Authorization Reference, CloudWatch).
        new iam.PolicyStatement({ sid: 'Metrics', actions: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'], resources: ['*'] }),
      ],
    });
    acknowledge(
      this.statusPolicy,
      'AwsSolutions-IAM5',
      "cloudwatch:GetMetricData and cloudwatch:ListMetrics support no resource-level permissions (they read metric values, no data); DescribeAlarms is limited to this stack's alarms by their name prefix.",
      ['Resource::*', `Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:${alarmName(stack.stackName, '*')}`],
    );

    // ---- dashboard -----------------------------------------------------------------------
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: s.name('cairn'),
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) => new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard.addWidgets(
      graph('Collected: accepted / rejected messages', [custom('collect', METRIC.collectAccepted), custom('collect', METRIC.collectRejected)]),
      graph('Normalize: normalized / quarantined / duplicates', [
        custom('normalize', METRIC.normalized),
        custom('normalize', METRIC.quarantined),
        custom('normalize', METRIC.duplicates),
      ]),
      graph('Quarantine rate (%)', [quarantineRate]),
    );
    this.dashboard.addWidgets(
      graph('Resolve: profiles created / updated / merged', [
        custom('resolve', METRIC.profilesCreated),
        custom('resolve', METRIC.profilesUpdated),
        custom('resolve', METRIC.profilesMerged),
      ]),
      graph('Journey actions: sent / failed', [
        custom('journey', METRIC.actionsSent),
        custom('journey', METRIC.actionsFailed),
        custom('journey', `${METRIC.actionsSkipped}_no_consent`),
        // No email/phone: a skip on the graph, never the JourneyActionFailures alarm.
        custom('journey', `${METRIC.actionsSkipped}_no_address`),
        custom('journey', METRIC.couponsLow),
        custom('journey', `${METRIC.actionsSkipped}_no_coupon`),
      ]),
      graph(
        'Iterator age (ms, max)',
        consumers.map(({ fn }) => fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Function errors',
        fns.map(({ fn }) => fn.metricErrors({ statistic: 'Sum', period: FIVE_MIN })),
      ),
      graph(
        'Function throttles',
        fns.map(({ fn }) => fn.metricThrottles({ statistic: 'Sum', period: FIVE_MIN })),
      ),
      graph(
        'Table throttle events',
        tables.map(({ table }, i) => throttleEvents(table, i)),
      ),
    );
    this.dashboard.addWidgets(
      graph('API requests / 4xx / 5xx', [apiCount, api4xx, api5xx]),
      graph('Failed batches (on-failure destination)', failedBatches ? [failedBatches] : []),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
  }

  private alarm(
    id: string,
    description: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    evaluationPeriods = 1,
    comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      alarmName: alarmName(Stack.of(this).stackName, id),
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Cairn: ${description}`,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}

/** Read + write throttle events of a table (`i` keeps the expression ids unique on a shared graph). */
function throttleEvents(table: dynamodb.ITable, i: number): cloudwatch.IMetric {
  const m = (metricName: string) =>
    new cloudwatch.Metric({ namespace: 'AWS/DynamoDB', metricName, statistic: 'Sum', period: FIVE_MIN, dimensionsMap: { TableName: table.tableName } });
  return new cloudwatch.MathExpression({
    expression: `reads${i} + writes${i}`,
    usingMetrics: { [`reads${i}`]: m('ReadThrottleEvents'), [`writes${i}`]: m('WriteThrottleEvents') },
    period: FIVE_MIN,
    label: `${table.node.id} throttles`,
  });
}
