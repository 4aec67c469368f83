/**
 * On-failure destinations for Kinesis event-source mappings: where Lambda sends a batch it gave
 * up on (retries exhausted or records older than the maximum age).
 *
 * - S3 (default): Lambda writes the invocation record AND the batch payload itself, as one JSON
 *   object under `aws/lambda/<mapping-uuid>/<shard>/YYYY/MM/DD/…` in the lake bucket. The key
 *   layout is fixed by Lambda (no prefix option), so it is not the `failed/` prefix the local
 *   runtime writes to.
 * - SQS: Lambda sends only metadata (shard, sequence-number range, error); the records must be
 *   re-read from the stream before they expire.
 *
 * Both grant the function's role only what Lambda needs to deliver, unlike the CDK's
 * `S3OnFailureDestination` (read/write on the whole bucket) and `SqsDlq` (wildcard KMS actions).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LAKE } from '#shared/config';
import { KmsUse, nagToken } from './access';
import { acknowledge } from './nag';

/** Key prefix Lambda uses for S3 on-failure records (documented, not configurable). */
export const LAMBDA_FAILURE_PREFIX = LAKE.lambdaFailurePrefix;

export class BucketFailureDestination implements lambda.IEventSourceDlq {
  constructor(
    private readonly bucket: s3.IBucket,
    private readonly key: kms.IKey,
  ) {}

  bind(_target: lambda.IEventSourceMapping, handler: lambda.IFunction): lambda.DlqDestinationConfig {
    const kmsUse = new KmsUse();
    kmsUse.add('s3', 'kms:GenerateDataKey', 'kms:Decrypt');
    for (const s of [
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [`${this.bucket.bucketArn}/${LAMBDA_FAILURE_PREFIX}*`] }),
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
      ...kmsUse.statements(this.key.keyArn),
    ])
      handler.addToRolePolicy(s);
    if (handler.role) {
      acknowledge(
        handler.role.node.tryFindChild('DefaultPolicy') ?? handler.role,
        'AwsSolutions-IAM5',
        'Lambda names failed-batch objects aws/lambda/<mapping-uuid>/<shard>/<date>/…; the mapping UUID is only known after deployment, so the grant covers that fixed prefix (PutObject only).',
        [`Resource::${nagToken(handler, this.bucket.bucketArn)}/${LAMBDA_FAILURE_PREFIX}*`],
      );
    }
    return { destination: this.bucket.bucketArn };
  }
}

export class QueueFailureDestination implements lambda.IEventSourceDlq {
  readonly queue: sqs.Queue;
  constructor(
    scope: Construct,
    id: string,
    private readonly key: kms.IKey,
    removalPolicy: RemovalPolicy,
  ) {
    this.queue = new sqs.Queue(scope, id, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    acknowledge(
      this.queue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter destination of the Kinesis event-source mappings; a DLQ of the DLQ would never be read.',
    );
  }

  bind(_target: lambda.IEventSourceMapping, handler: lambda.IFunction): lambda.DlqDestinationConfig {
    const kmsUse = new KmsUse();
    kmsUse.add('sqs', 'kms:GenerateDataKey', 'kms:Decrypt');
    handler.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [this.queue.queueArn] }));
    for (const s of kmsUse.statements(this.key.keyArn)) handler.addToRolePolicy(s);
    return { destination: this.queue.queueArn };
  }
}
