/**
 * Journeys (docs/journeys.md): the journey state table, the coupons table, λ journey, the schedule
 * group and role of its waits, and what lets the bus and the scheduler invoke it.
 *
 * - λ journey has a fixed name (`cairn-journey[-stage]`), so its ARN is known before it exists
 *   (λ admin points journey rules at it; its schedules target it).
 * - Journey rules are created at run time (shared/journeys/rules.ts) on the Cairn bus, all named
 *   `cairn-journey-*`: one resource-based permission lets exactly those rules invoke it.
 * - Waits are one-time schedules in the `cairn-journeys[-stage]` group; the scheduler role can only
 *   invoke λ journey, and λ journey can only create/delete schedules of that group and pass that role.
 * - Actions: SES SendEmail from the configured sender's identity (context `cairn:emailFrom`), SNS
 *   Publish for SMS (to phone numbers: SNS has no resource to scope that to, hence `*`), the raw
 *   stream for traits/events (from its FunctionDef). Webhooks are signed with a generated secret
 *   (SECRETS.webhook, Secrets Manager) that λ journey reads at run time: its environment holds the
 *   secret's ARN, its role GetSecretValue on that secret only (from its FunctionDef's access).
 * - Invocations are asynchronous (rules and schedules): Lambda retries twice, then the event goes
 *   to an encrypted SQS on-failure queue.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOURNEYS, RETENTION } from '#shared/config';
import { KmsUse } from './access';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { acknowledge } from './nag';
import { cairnSecret } from './secrets';
import { cairnTable } from './storage';

/** CDK context keys of journey settings. */
export const JOURNEY_CONTEXT = { emailFrom: 'cairn:emailFrom' } as const;
export const DEFAULT_EMAIL_FROM = 'no-reply@example.com';

/** Async-invocation failures to an SQS queue, granting exactly SendMessage and the key use it needs. */
class QueueOnFailure implements lambda.IDestination {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly key: kms.IKey,
  ) {}
  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    const k = new KmsUse();
    k.add('sqs', 'kms:GenerateDataKey', 'kms:Decrypt');
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    for (const s of k.statements(this.key.keyArn)) fn.addToRolePolicy(s);
    return { destination: this.queue.queueArn };
  }
}

export class Journeys extends Construct {
  readonly table: dynamodb.Table;
  /** Coupon pools, codes, issues and redemptions (docs/journeys.md#coupons): λ journey and λ admin use it. */
  readonly couponsTable: dynamodb.Table;
  readonly journey: CairnFunction;
  readonly functionName: string;
  readonly functionArn: string;
  readonly scheduleGroup: scheduler.CfnScheduleGroup;
  readonly schedulerRole: iam.Role;
  readonly failureQueue: sqs.Queue;
  readonly webhookSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    const s = catalog.settings;
    this.table = cairnTable(this, catalog, 'journeys');
    this.couponsTable = cairnTable(this, catalog, 'coupons');
    this.functionName = s.name('cairn-journey');
    this.functionArn = `arn:${Aws.PARTITION}:lambda:${Aws.REGION}:${Aws.ACCOUNT_ID}:function:${this.functionName}`;
    const groupName = s.name(JOURNEYS.scheduleGroup);
    this.scheduleGroup = new scheduler.CfnScheduleGroup(this, 'WaitGroup', { name: groupName });

    this.schedulerRole = new iam.Role(this, 'WaitSchedulerRole', {
      // Only schedules of this account may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: 'Cairn journey waits: invokes the journey function when a wait is over',
    });
    this.schedulerRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.functionArn] }));

    const emailFrom = String(this.node.tryGetContext(JOURNEY_CONTEXT.emailFrom) ?? DEFAULT_EMAIL_FROM);
    const domain = emailFrom.split('@')[1];
    if (!domain) throw new Error(`context ${JOURNEY_CONTEXT.emailFrom} must be an email address, got ${JSON.stringify(emailFrom)}`);

    // Same construct id as before SECRETS: an upgraded stack keeps its secret (and its receivers their key).
    this.webhookSecret = cairnSecret(this, catalog, 'webhook');

    catalog.journeyRuntime = { functionArn: this.functionArn, schedulerRoleArn: this.schedulerRole.roleArn, scheduleGroup: groupName, emailFrom };

    this.journey = new CairnFunction(this, 'Journey', { name: 'journey', catalog });
    const fn = this.journey.function;
    (fn.node.defaultChild as lambda.CfnFunction).functionName = this.functionName;
    const policy = this.journey.role.node.findChild('DefaultPolicy');

    // Waits: schedules of its own group only, and only its scheduler role to pass.
    const schedules = `arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${groupName}/*`;
    this.journey.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], resources: [schedules] }),
    );
    this.journey.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    acknowledge(
      policy,
      'AwsSolutions-IAM5',
      `Wait schedules are named per run and step at run time; the grant is limited to the ${groupName} schedule group, which holds journey waits only.`,
      [`Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/*`],
    );

    // Email: from the configured sender's identity (address or domain identity).
    this.journey.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [emailFrom, domain].map((i) => `arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/${i}`),
      }),
    );

    // SMS: SNS Publish to a phone number has no resource to scope it to.
    const sms = new iam.Policy(this, 'SmsPolicy', {
      statements: [new iam.PolicyStatement({ actions: ['sns:Publish'], resources: ['*'] })],
      roles: [this.journey.role],
    });
    acknowledge(
      sms,
      'AwsSolutions-IAM5',
      'SMS to phone numbers: sns:Publish with PhoneNumber targets no topic or endpoint ARN, so IAM cannot scope it to a resource; the statement allows sns:Publish only.',
      ['Resource::*'],
    );

    // Journey rules of the Cairn bus (and only those) may invoke it.
    fn.addPermission('JourneyRules', {
      principal: new iam.ServicePrincipal('events.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${catalog.eventBus().eventBusName}/${JOURNEYS.rulePrefix}*`,
      sourceAccount: Aws.ACCOUNT_ID,
    });

    this.failureQueue = new sqs.Queue(this, 'FailedInvocations', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: catalog.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      // Its messages are events about people (their profiles): kept RETENTION.journeyFailureQueueDays, the
      // "expires by" an erasure reports for this queue (docs/privacy.md).
      retentionPeriod: Duration.days(RETENTION.journeyFailureQueueDays),
      removalPolicy: s.dataRemovalPolicy,
    });
    acknowledge(
      this.failureQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the on-failure destination of the journey function (events it could not process after retries); a DLQ of the DLQ would never be read.',
    );
    fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new QueueOnFailure(this.failureQueue, catalog.key) });
  }
}
