/**
 * Identity: normalized stream → λ resolve (identity graph and profiles in DynamoDB, profile
 * snapshots to the lake, pipeline events to the bus). Its Kinesis event-source mapping and grants
 * come from `FUNCTIONS.resolve`; batches it gives up on go to the shared failure destination.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { cairnTable } from './storage';

export class Identity extends Construct {
  readonly identitiesTable: dynamodb.Table;
  readonly profilesTable: dynamodb.Table;
  readonly timelineTable: dynamodb.Table;
  readonly resolve: CairnFunction;
  /** Daily full profile snapshot to the lake (scheduled by the Schedules construct). */
  readonly snapshot: CairnFunction;
  /** Daily RFM scores and lifecycle stage written back to profiles (scheduled by the Schedules construct; shared/scores). */
  readonly scores: CairnFunction;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    this.identitiesTable = cairnTable(this, catalog, 'identities');
    this.profilesTable = cairnTable(this, catalog, 'profiles');
    this.timelineTable = cairnTable(this, catalog, 'timeline');
    this.resolve = new CairnFunction(this, 'Resolve', { name: 'resolve', catalog });
    this.snapshot = new CairnFunction(this, 'Snapshot', { name: 'snapshot', catalog });
    this.scores = new CairnFunction(this, 'Scores', { name: 'scores', catalog });
  }
}
