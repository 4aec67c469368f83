/**
 * File drops (docs/import.md): λ import, invoked for every object created under `imports/` in the
 * lake bucket, imports the file through the raw stream and writes its report and rejects beside it.
 *
 * The lake bucket sends its object events to EventBridge (a property of the bucket itself, set with
 * CloudFormation; no notification custom resource, hence no helper Lambda and no `s3:*` on `*`), and
 * a rule on the account's default bus matching `Object Created` under `imports/` of this bucket
 * invokes the function asynchronously (two retries, six hours). A direct S3 → Lambda notification
 * would make the bucket depend on the function, whose role depends on the bucket: a cycle that CDK
 * only breaks with that custom resource.
 *
 * Grants: what FUNCTIONS.import.access declares (GetObject on `imports/*`, PutRecords on the raw
 * stream), plus PutObject on the outputs only: `imports/*.report.json`, `*.rejects.csv`,
 * `*.rejects.jsonl`, `*.checkpoint.json`; it can never overwrite or delete a dropped file. It may read
 * and set the tags of objects under `imports/` (FUNCTIONS.import.access `lake.tag`): the expiry tag
 * the lake's `expire-imports` rule acts on (infra/constructs/lake.ts).
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { IMPORTS } from '#shared/config';
import { SUFFIX } from '#shared/import/s3';
import { KmsUse, nagToken, OBJECT_WRITE } from './access';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { acknowledge } from './nag';

/** Key patterns λ import may write: the outputs beside a dropped file. */
export const IMPORT_OUTPUT_PATTERNS = [SUFFIX.report, SUFFIX.rejectsCsv, SUFFIX.rejectsJsonl, SUFFIX.checkpoint].map((s) => `${IMPORTS.prefix}*${s}`);

export class Imports extends Construct {
  readonly import: CairnFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    const bucket = catalog.lake();
    this.import = new CairnFunction(this, 'Import', { name: IMPORTS.fn, catalog });
    const fn = this.import.function;

    // Outputs beside the file, and only those.
    this.import.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: OBJECT_WRITE,
        resources: IMPORT_OUTPUT_PATTERNS.map((p) => `${bucket.bucketArn}/${p}`),
      }),
    );
    const kms = new KmsUse();
    kms.add('s3', 'kms:GenerateDataKey', 'kms:Decrypt');
    for (const st of kms.statements(catalog.key.keyArn)) this.import.role.addToPrincipalPolicy(st);
    acknowledge(
      this.import.role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5',
      'A dropped file is named by whoever drops it; λ import writes only its report, rejects and checkpoint beside it, so the grant is limited to those suffixes under imports/.',
      IMPORT_OUTPUT_PATTERNS.map((p) => `Resource::${nagToken(this, bucket.bucketArn)}/${p}`),
    );

    // The lake bucket's object events go to EventBridge (free for AWS service events on the default bus).
    const cfnBucket = (bucket as s3.Bucket).node.defaultChild as s3.CfnBucket;
    cfnBucket.addPropertyOverride('NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled', true);

    fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6) });
    this.rule = new events.Rule(this, 'FileDropped', {
      description: `Cairn: a file created under ${IMPORTS.prefix} in the lake bucket invokes the import function`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [bucket.bucketName] }, object: { key: [{ prefix: IMPORTS.prefix }] } },
      },
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(6) })],
    });
  }
}
