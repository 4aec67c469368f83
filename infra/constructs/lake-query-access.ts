/**
 * What λ admin needs to query the lake with Athena (`/v1/lake/queries`, the reports, `POST
 * /v1/journeys/simulate`): Athena runs a query with the credentials of the caller who started it, so
 * besides the Athena calls its role must allow what Athena does on its behalf — read the Glue
 * catalog and the objects of the tables a query reads, and write the results the workgroup puts
 * under athena-results/ (AWS: "Identity and access management in Athena",
 * https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html). Each grant is on this
 * stack's workgroup, database, tables and prefixes only:
 *
 * - athena:StartQueryExecution / GetQueryExecution / GetQueryResults / StopQueryExecution on the
 *   workgroup's ARN (https://docs.aws.amazon.com/athena/latest/ug/example-policies-workgroup.html);
 * - glue:GetDatabase and glue:GetTable on the catalog, the database and each of its tables: a table's
 *   catalog and database are its ancestors and must be allowed with it; a view is read with GetTable on
 *   the view and on the tables it reads (`events` over events_json, events_parquet, events_compaction)
 *   (https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html). No
 *   glue:GetPartition(s): every lake table uses partition projection, with which Athena builds the
 *   partitions from the table's properties and does not call GetPartitions
 *   (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html); no glue:GetTables:
 *   the routes name their tables, they never list them;
 * - s3:GetObject on each table's prefix, s3:GetObject and s3:PutObject on the results prefix (a query
 *   writes its results there; GetQueryResults reads them with the caller's s3:GetObject:
 *   https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html), and
 *   s3:GetBucketLocation on the bucket. s3:ListBucket, which Athena needs to list a table's objects,
 *   comes from the function's own `lake.list`. No multipart-upload listing or abort: Athena's results
 *   of these queries are small, and the lake's `abort-incomplete-uploads` rule removes any left over;
 * - KMS: the lake and the results are SSE-KMS with the Cairn key (https://docs.aws.amazon.com/athena/latest/ug/encryption.html,
 *   "Permissions to encrypted data in Amazon S3"): kms:Decrypt to read, kms:GenerateDataKey to write,
 *   through S3 — the statement the function's own lake reads and writes already give it
 *   (infra/constructs/access.ts), which the stack test checks.
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { nagToken, type AccessPolicy } from './access';
import type { Catalog } from './catalog';

/** The Athena calls shared/reports/athena.ts makes. */
export const ATHENA_QUERY = ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'];

export function lakeQueryPolicy(scope: Construct, catalog: Catalog, declaredReads: readonly string[]): AccessPolicy {
  const q = catalog.lakeQueries();
  const bucket = catalog.lake();
  const glue = (res: string) => `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}:${res}`;
  const catalogArn = glue('catalog');
  const databaseArn = glue(`database/${q.database}`);
  const prefixes = [...new Set(q.tables.flatMap((t) => (t.prefix ? [t.prefix] : [])))];
  const statements = [
    new iam.PolicyStatement({ actions: ATHENA_QUERY, resources: [`arn:${Aws.PARTITION}:athena:${Aws.REGION}:${Aws.ACCOUNT_ID}:workgroup/${q.workGroup}`] }),
    new iam.PolicyStatement({ actions: ['glue:GetDatabase'], resources: [catalogArn, databaseArn] }),
    new iam.PolicyStatement({
      actions: ['glue:GetTable'],
      resources: [catalogArn, databaseArn, ...q.tables.map((t) => glue(`table/${q.database}/${t.name}`))],
    }),
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: prefixes.map((p) => `${bucket.bucketArn}/${p}*`) }),
    new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [`${bucket.bucketArn}/${q.resultsPrefix}*`] }),
    new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [bucket.bucketArn] }),
  ];
  const wildcard = (p: string) => `Resource::${nagToken(scope, bucket.bucketArn)}/${p}*`;
  return {
    statements,
    // The prefixes the function declares itself are acknowledged with its declared access (CairnFunction).
    nagWildcards: [],
    nagPrefixed: [
      {
        findings: prefixes.filter((p) => !declaredReads.includes(p)).map(wildcard),
        reason:
          'Athena reads the lake tables with the credentials of the caller that started the query: the objects of each table (named by date and batch at run time) under the key prefix of that table only.',
      },
      {
        findings: [wildcard(q.resultsPrefix)],
        reason:
          'Athena writes the results of each query under the result location of the workgroup (athena-results/, named by execution id at run time) with the credentials of the caller, and GetQueryResults reads them back with them.',
      },
    ],
  };
}
