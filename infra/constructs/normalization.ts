/**
 * Normalization: raw stream → λ normalize (Kinesis event-source mapping with partial batch
 * responses, bisect on error, bounded retries and record age) → lake (events/, quarantine/) and
 * the normalized stream. The dedup table drops repeated messageIds. Batches Lambda gives up on
 * go to the failure destination (S3 in the lake by default, or an SQS queue).
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { BucketFailureDestination, QueueFailureDestination } from './failure-destination';
import { cairnStream, cairnTable } from './storage';

export class Normalization extends Construct {
  readonly dedupTable: dynamodb.Table;
  readonly normalizedStream: kinesis.Stream;
  readonly normalize: CairnFunction;
  /** Set when the failure destination is SQS. */
  readonly failureQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    const s = catalog.settings;
    if (s.failureDestination === 'sqs') {
      const q = new QueueFailureDestination(this, 'FailedBatches', catalog.key, s.dataRemovalPolicy);
      this.failureQueue = q.queue;
      catalog.failureDestination = q;
    } else {
      catalog.failureDestination = new BucketFailureDestination(catalog.lake(), catalog.key);
    }
    this.dedupTable = cairnTable(this, catalog, 'dedup');
    this.normalizedStream = cairnStream(this, catalog, 'normalized');
    this.normalize = new CairnFunction(this, 'Normalize', { name: 'normalize', catalog });
  }
}
