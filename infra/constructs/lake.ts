/**
 * The lake: an encrypted, versioned S3 bucket holding gzip JSON Lines under Hive-style date
 * partitions (`events/dt=YYYY-MM-DD/…`) and the Parquet parts λ compact makes of them, a Glue
 * database whose tables find partitions by projection (no crawler, no MSCK REPAIR) with the
 * `events` view over both formats, and an Athena workgroup with enforced, encrypted results.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { COMPACTION, IMPORTS, LAKE, RETENTION } from '#shared/config';
import type { Catalog } from './catalog';
import { LAMBDA_FAILURE_PREFIX } from './failure-destination';
import { EVENTS_VIEW_COLUMNS, eventsViewSql, LAKE_TABLES, PARTITION_COLUMN, prestoViewText } from './lake-schema';

export const ATHENA_RESULTS_PREFIX = 'athena-results/';

export class Lake extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly tables: glue.CfnTable[] = [];
  readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    const s = catalog.settings;

    // Server access logs cannot go to an SSE-KMS bucket, so the log bucket uses SSE-S3. (cdk-nag
    // S1 recognises it as the lake's log destination, so it needs no access log of its own.)
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: s.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: catalog.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        // The retention of what erasure does not rewrite (RETENTION, docs/privacy.md "Where a person's data can rest").
        { id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(RETENTION.noncurrentVersionDays) },
        { id: 'expire-athena-results', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(RETENTION.athenaResultsDays) },
        { id: 'expire-failed-batches', prefix: LAMBDA_FAILURE_PREFIX, expiration: Duration.days(RETENTION.failedBatchDays) },
        // events/ objects whose rows published Parquet parts hold (λ compact tags them): kept cairn:compactedEventsDays.
        {
          id: 'expire-compacted-events',
          prefix: LAKE.eventsPrefix,
          tagFilters: { [COMPACTION.expiryTag.key]: COMPACTION.expiryTag.value },
          expiration: Duration.days(s.compactedEventsDays),
        },
        // Quarantined messages are read whole by every erasure pass: kept cairn:quarantineDays (LAKE.quarantineExpiryDays).
        { id: 'expire-quarantine', prefix: LAKE.quarantinePrefix, expiration: Duration.days(s.quarantineDays) },
        // Files dropped for import, their rejects, reports and checkpoints: λ import tags them (manifests stay).
        {
          id: 'expire-imports',
          prefix: IMPORTS.prefix,
          tagFilters: { [IMPORTS.expiryTag.key]: IMPORTS.expiryTag.value },
          expiration: Duration.days(s.importDays),
        },
      ],
      removalPolicy: s.dataRemovalPolicy,
    });
    catalog.lakeBucket = this.bucket;

    this.databaseName = s.glueName(LAKE.glueDatabase);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'Cairn lake: events, quarantine, profiles, audit, journey_steps' },
    });

    const tables = LAKE_TABLES({
      events: LAKE.eventsPrefix,
      quarantine: LAKE.quarantinePrefix,
      profiles: LAKE.profilesPrefix,
      audit: LAKE.auditPrefix,
      journeySteps: LAKE.journeyStepsPrefix,
      parquetEvents: LAKE.parquetEventsPrefix,
      compactionManifests: LAKE.compactionManifestsPrefix,
    });
    const logicalId = (name: string) => `Table${name[0]!.toUpperCase()}${name.slice(1)}`;
    for (const t of tables) {
      const location = `s3://${this.bucket.bucketName}/${t.prefix}`;
      const parquet = t.format === 'parquet';
      const table = new glue.CfnTable(this, logicalId(t.name), {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name: t.name,
          description: t.description,
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            ...(parquet ? { classification: 'parquet' } : { classification: 'json', compressionType: 'gzip' }),
            'projection.enabled': 'true',
            [`projection.${PARTITION_COLUMN}.type`]: 'date',
            [`projection.${PARTITION_COLUMN}.format`]: 'yyyy-MM-dd',
            [`projection.${PARTITION_COLUMN}.range`]: 'NOW-3YEARS,NOW',
            [`projection.${PARTITION_COLUMN}.interval`]: '1',
            [`projection.${PARTITION_COLUMN}.interval.unit`]: 'DAYS',
            'storage.location.template': `${location}${PARTITION_COLUMN}=\${${PARTITION_COLUMN}}/`,
          },
          partitionKeys: [{ name: PARTITION_COLUMN, type: 'string' }],
          storageDescriptor: {
            location,
            columns: t.columns.map(([name, type]) => ({ name, type })),
            ...(parquet
              ? {
                  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
                  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
                  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
                }
              : {
                  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
                  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
                  serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
                }),
          },
        },
      });
      table.addResourceDependency(this.database);
      this.tables.push(table);
    }

    // `events`, the table every query and report reads, is a view over the three above (docs/lake.md#compaction).
    // It keeps the logical id the JSON table had when it was `events`, so an upgrade updates it in place.
    const viewName = 'events';
    const view = new glue.CfnTable(this, 'TableEvents', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: viewName,
        description: 'One row per accepted message: compacted days from Parquet, the rest from JSON Lines (docs/lake.md)',
        tableType: 'VIRTUAL_VIEW',
        parameters: { presto_view: 'true', comment: 'Presto View' },
        viewOriginalText: prestoViewText(eventsViewSql(), this.databaseName, EVENTS_VIEW_COLUMNS),
        viewExpandedText: '/* Presto View */',
        storageDescriptor: { columns: EVENTS_VIEW_COLUMNS.map(([name, type]) => ({ name, type })), serdeInfo: {} },
      },
    });
    view.addResourceDependency(this.database);
    for (const t of this.tables) view.addResourceDependency(t);
    this.tables.push(view);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: s.name('cairn'),
      description: 'Cairn lake queries',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: s.athenaScanCutoffGb * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          expectedBucketOwner: Aws.ACCOUNT_ID,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: catalog.key.keyArn },
        },
      },
    });
    // Refs, not the literal names: whatever names them (λ admin's environment and grants) is created after them.
    catalog.lakeQueryEngine = {
      workGroup: this.workGroup.ref,
      database: this.database.ref,
      tables: [...tables.map((t) => ({ name: t.name, prefix: t.prefix })), { name: viewName }],
      resultsPrefix: ATHENA_RESULTS_PREFIX,
    };
  }
}
