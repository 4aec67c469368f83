/**
 * Tables and streams built from their definitions in shared/config/resources.ts, and registered
 * in the catalog. Stage constructs call these for the tables and streams they own.
 */
import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';
import { DYNAMODB_CAPACITY, STREAMS, TABLES, tableCapacity, type StreamDef, type TableDef } from '#shared/config';
import { importRate } from '../settings';
import type { Catalog, StreamName, TableName } from './catalog';
import { acknowledge } from './nag';

/**
 * DynamoDB table: on-demand, or provisioned with auto scaling (`cairn:dynamoDbCapacity=provisioned`,
 * the tables DYNAMODB_CAPACITY sizes); point-in-time recovery, the Cairn CMK, TTL and GSIs from the definition.
 */
export function cairnTable(scope: Construct, catalog: Catalog, name: TableName): dynamodb.Table {
  const def: TableDef = TABLES[name];
  const s = catalog.settings;
  const capacity = s.dynamoDbCapacity === 'provisioned' ? tableCapacity(name, s.eventsPerSecond, importRate(s.shards.raw)) : undefined;
  // Cost guard (settings maxTableReadUnits/maxTableWriteUnits): caps on-demand throughput; over it, DynamoDB throttles.
  const caps = {
    ...(s.maxTableReadUnits !== undefined ? { maxReadRequestUnits: s.maxTableReadUnits } : {}),
    ...(s.maxTableWriteUnits !== undefined ? { maxWriteRequestUnits: s.maxTableWriteUnits } : {}),
  };
  const table = new dynamodb.Table(scope, def.id, {
    tableName: s.name(def.name),
    partitionKey: { name: def.partitionKey, type: dynamodb.AttributeType.STRING },
    ...(def.sortKey ? { sortKey: { name: def.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
    ...(def.ttlAttribute ? { timeToLiveAttribute: def.ttlAttribute } : {}),
    ...(capacity
      ? { billingMode: dynamodb.BillingMode.PROVISIONED, readCapacity: capacity.reads.min, writeCapacity: capacity.writes.min }
      : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST, ...caps }),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: catalog.key,
    deletionProtection: s.deletionProtection,
    removalPolicy: s.dataRemovalPolicy,
  });
  if (capacity) scaleOnUtilization(table.autoScaleReadCapacity({ minCapacity: capacity.reads.min, maxCapacity: capacity.reads.max }));
  if (capacity) scaleOnUtilization(table.autoScaleWriteCapacity({ minCapacity: capacity.writes.min, maxCapacity: capacity.writes.max }));
  for (const gsi of def.globalIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.name,
      partitionKey: { name: gsi.partitionKey, type: dynamodb.AttributeType.STRING },
      ...(gsi.sortKey ? { sortKey: { name: gsi.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
      projectionType: dynamodb.ProjectionType.ALL,
      // An index projecting every attribute takes the table's writes: it gets the table's range.
      ...(capacity ? { readCapacity: capacity.reads.min, writeCapacity: capacity.writes.min } : caps),
    });
    if (capacity) {
      scaleOnUtilization(table.autoScaleGlobalSecondaryIndexReadCapacity(gsi.name, { minCapacity: capacity.reads.min, maxCapacity: capacity.reads.max }));
      scaleOnUtilization(table.autoScaleGlobalSecondaryIndexWriteCapacity(gsi.name, { minCapacity: capacity.writes.min, maxCapacity: capacity.writes.max }));
    }
  }
  catalog.tables[name] = table;
  return table;
}

const scaleOnUtilization = (attribute: dynamodb.IScalableTableAttribute) =>
  attribute.scaleOnUtilization({ targetUtilizationPercent: DYNAMODB_CAPACITY.targetUtilizationPercent });

/**
 * Kinesis data stream: provisioned shards sized from the `cairn:eventsPerSecond` peak (settings.shards),
 * retention from the settings, the Cairn CMK. Provisioned, not on-demand: resolve and normalize
 * scale by shards (ParallelizationFactor 1), so the shard count must follow their per-shard rate, which
 * an on-demand stream (sized by its writes alone) does not; and it fixes the reserved concurrency
 * (shards × ParallelizationFactor). docs/deploy.md#sizing.
 */
export function cairnStream(scope: Construct, catalog: Catalog, name: StreamName): kinesis.Stream {
  const def: StreamDef = STREAMS[name];
  const stream = new kinesis.Stream(scope, def.id, {
    streamName: catalog.settings.name(def.name),
    streamMode: kinesis.StreamMode.PROVISIONED,
    shardCount: catalog.settings.shards[name],
    // `cairn:streamRetentionHours` (default the declared 72 h): the dedup window follows it.
    retentionPeriod: Duration.hours(catalog.settings.streamRetentionHours),
    encryption: kinesis.StreamEncryption.KMS,
    encryptionKey: catalog.key,
    removalPolicy: catalog.settings.dataRemovalPolicy,
  });
  acknowledge(
    stream,
    'AwsSolutions-KDS3',
    'Deliberate: the stream uses the Cairn customer-managed key (rotated, one key policy for all Cairn data) instead of the AWS-managed aws/kinesis key.',
  );
  catalog.streams[name] = stream;
  return stream;
}
