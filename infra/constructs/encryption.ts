/**
 * One customer-managed KMS key (yearly rotation) for everything Cairn stores: Kinesis streams,
 * DynamoDB tables, the lake bucket, SQS queues, CloudWatch log groups and Athena results.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { CairnSettings } from '../settings';

export class Encryption extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, settings: CairnSettings) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Cairn ${settings.stage ?? 'default'}: encrypts streams, tables, lake, queues and logs`,
      alias: `alias/${settings.name('cairn')}`,
      enableKeyRotation: true,
      removalPolicy: settings.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch Logs encrypts log groups with the key itself (not through the writer's role);
    // the encryption context limits it to this account's and region's log groups.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` },
        },
      }),
    );
  }
}
