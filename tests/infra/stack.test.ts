/**
 * CairnStack template: the properties a deployment relies on, checked against the definitions in
 * shared/config/resources.ts so that new functions, routes, tables and streams are covered as they
 * are added. One synth (bundling skipped) is shared by every test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { COMPACTION, CORS, ENV, FUNCTIONS, IMPORTS, LAKE, ROUTES, SECRETS, STREAMS, TABLES, THROTTLE, type FunctionDef } from '#shared/config/resources';
import { IMPORT_OUTPUT_PATTERNS } from '#infra/constructs/imports';
import { ATHENA_RESULTS_PREFIX } from '#infra/constructs/lake';
import type { CairnStack } from '#infra/stack';
import type { FunctionName } from '#infra/constructs/catalog';
import { synthCairn } from './synth';

type Json = Record<string, any>;
let template: Template;
let stack: CairnStack;
let resources: Record<string, Json>;

const ofType = (type: string): [string, Json][] => Object.entries(resources).filter(([, r]) => r.Type === type);
const one = (type: string): [string, Json] => {
  const all = ofType(type);
  expect(all, type).toHaveLength(1);
  return all[0]!;
};
const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });
/** Logical IDs a JSON fragment refers to via Ref or Fn::GetAtt. */
function referencedIds(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) referencedIds(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Ref' && typeof x === 'string') out.add(x);
      else if (k === 'Fn::GetAtt' && Array.isArray(x)) out.add(String(x[0]));
      else referencedIds(x, out);
    }
  }
  return out;
}
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const keyId = () => one('AWS::KMS::Key')[0];
const tableId = (name: keyof typeof TABLES) => ofType('AWS::DynamoDB::Table').find(([, r]) => r.Properties.TableName === TABLES[name].name)![0];
const streamId = (name: keyof typeof STREAMS) => ofType('AWS::Kinesis::Stream').find(([, r]) => r.Properties.Name === STREAMS[name].name)![0];
const lakeBucketId = () => stack.getLogicalId(stack.lake.bucket.node.defaultChild as never);
const busId = () => one('AWS::Events::EventBus')[0];
const workGroupId = () => one('AWS::Athena::WorkGroup')[0];
const databaseId = () => one('AWS::Glue::Database')[0];
/** Key prefixes of the lake's Glue tables (the `events` view has none: it reads three of them). */
const tablePrefixes = (): string[] =>
  ofType('AWS::Glue::Table').flatMap(([, t]) => {
    const loc = t.Properties.TableInput.StorageDescriptor.Location;
    return loc ? [(loc['Fn::Join'][1] as unknown[]).at(-1) as string].map((x) => x.replace(/^\//, '')) : [];
  });
/** The collector API (collection and IAM-authorised admin routes); the console has its own (infra/constructs/console-api.ts). */
const mainApiId = () => stack.getLogicalId(stack.collection.api.node.defaultChild as never);
const onMainApi = ([, r]: [string, Json]) => r.Properties.ApiId?.Ref === mainApiId();
const functionId = (name: FunctionName) => stack.getLogicalId(stack.catalog.fn(name).function.node.defaultChild as CfnFunction);
const roleId = (name: FunctionName) => resources[functionId(name)]!.Properties.Role['Fn::GetAtt'][0] as string;
/** Every statement of every IAM policy attached to the function's role. */
function statementsOf(name: FunctionName): Json[] {
  const role = roleId(name);
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === role))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
}

beforeAll(() => {
  ({ template, stack } = synthCairn());
  resources = template.toJSON().Resources;
});

describe('functions', () => {
  const names = Object.keys(FUNCTIONS) as FunctionName[];

  it("deploys exactly the defined functions, and one helper Lambda only: the console's BucketDeployment handler, with the console's deployment role", () => {
    const all = ofType('AWS::Lambda::Function');
    const cairn = all.filter(([, r]) => /^Cairn \w+ \(/.test(String(r.Properties.Description ?? '')));
    expect(cairn).toHaveLength(names.length);
    expect(cairn.map(([id]) => id).sort()).toEqual(names.map(functionId).sort());
    const helpers = all.filter(([id]) => !cairn.some(([c]) => c === id));
    expect(helpers).toHaveLength(1);
    const [, handler] = helpers[0]!;
    expect(handler.Properties.Role).toEqual(getAtt(stack.getLogicalId(stack.console!.deployRole.node.defaultChild as never)));
    expect(referencedIds(ofType('Custom::CDKBucketDeployment').map(([, r]) => r.Properties.ServiceToken))).toEqual(new Set([helpers[0]![0]]));
  });

  it.each(names)('%s: Node.js 22 on arm64, X-Ray, memory/timeout from its definition', (name) => {
    const def: FunctionDef = FUNCTIONS[name];
    const p = resources[functionId(name)]!.Properties;
    expect(p.Runtime).toBe('nodejs22.x');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.TracingConfig).toEqual({ Mode: 'Active' });
    expect(p.MemorySize).toBe(def.memoryMb);
    expect(p.Timeout).toBe(def.timeoutSeconds);
    expect(p.Handler).toBe('index.handler');
    // Kinesis consumers: shards × ParallelizationFactor (tests/infra/capacity.test.ts); others: their definition's cap.
    if (def.kinesis) expect(p.ReservedConcurrentExecutions).toBe(stack.settings.shards[def.kinesis.stream] * def.kinesis.parallelization);
    else if (def.reservedConcurrency !== undefined) expect(p.ReservedConcurrentExecutions).toBe(def.reservedConcurrency);
  });

  it.each(names)('%s: each AWS request may take at most a third of the function timeout, so a hung one is retried in time', (name) => {
    const vars = resources[functionId(name)]!.Properties.Environment.Variables as Record<string, string>;
    const ms = Number(vars.CAIRN_AWS_REQUEST_TIMEOUT_MS);
    expect(ms).toBeGreaterThanOrEqual(1_000);
    expect(ms).toBeLessThanOrEqual(Math.min(30_000, (FUNCTIONS[name].timeoutSeconds * 1000) / 3));
  });

  it.each(names)('%s: sets every env var its definition names, to the right resource', (name) => {
    const vars = resources[functionId(name)]!.Properties.Environment.Variables as Json;
    // ENV.<x>Table / ENV.<x>Stream name the table / stream <x>; the lake and bus by name.
    const expected: Record<string, unknown> = { [ENV.lakeBucket]: { Ref: lakeBucketId() }, [ENV.eventBus]: { Ref: busId() } };
    for (const t of Object.keys(TABLES) as (keyof typeof TABLES)[]) expected[ENV[`${t}Table` as keyof typeof ENV]] = { Ref: tableId(t) };
    for (const st of Object.keys(STREAMS) as (keyof typeof STREAMS)[]) expected[ENV[`${st}Stream` as keyof typeof ENV]] = { Ref: streamId(st) };
    // λ journey's runtime settings (infra/constructs/journeys.ts; detailed in tests/infra/journeys.test.ts).
    const j = stack.journeys;
    Object.assign(expected, {
      [ENV.journeyFunction]: stack.resolve(j.functionArn),
      [ENV.journeySchedulerRole]: getAtt(stack.getLogicalId(j.schedulerRole.node.defaultChild as never)),
      [ENV.journeyScheduleGroup]: j.scheduleGroup.name,
      [ENV.emailFrom]: stack.resolve(stack.catalog.journeys().emailFrom),
    });
    // Secrets by ARN (a Ref), never by value (docs/security.md#secrets).
    for (const n of Object.keys(SECRETS) as (keyof typeof SECRETS)[]) expected[ENV[SECRETS[n].env]] = stack.resolve(stack.catalog.secret(n).secretArn);
    // λ recheck as a Scheduler target (infra/constructs/segments.ts).
    Object.assign(expected, {
      [ENV.recheckTargetArn]: stack.resolve(stack.catalog.recheck().targetArn),
      [ENV.recheckRoleArn]: getAtt(stack.getLogicalId(stack.segments.schedulerRole.node.defaultChild as never)),
    });
    // Timeline retention (cairn:timelineDays, infra/settings.ts) as the number of days.
    expected[ENV.timelineDays] = String(stack.catalog.settings.timelineDays);
    // Import expiry (cairn:importDays): the "expires by" of an erasure's status.
    expected[ENV.importDays] = String(stack.catalog.settings.importDays);
    // Stream retention (cairn:streamRetentionHours): λ normalize's dedup window, λ admin's erasure reach.
    expected[ENV.streamRetentionHours] = String(stack.catalog.settings.streamRetentionHours);
    // λ compact's part size (cairn:compactionTargetMb) in MB.
    expected[ENV.compactionTargetMb] = String(stack.catalog.settings.compactionTargetMb);
    // λ import's pace: half of what the raw shards take, at most IMPORT_RATE (tests/infra/capacity.test.ts).
    expected[ENV.importRate] = String(Math.min(stack.catalog.settings.shards.raw, STREAMS.raw.shards) * 500);
    // λ admin's lake queries: the stack's workgroup and Glue database, by Ref (infra/constructs/lake-query-access.ts).
    expected[ENV.athenaWorkgroup] = { Ref: workGroupId() };
    expected[ENV.lakeDatabase] = { Ref: databaseId() };
    const names = FUNCTIONS[name].env.map((k) => ENV[k]);
    expect(
      Object.keys(vars)
        .filter((k) => k.startsWith('CAIRN_'))
        .sort(),
    ).toEqual([...names, 'CAIRN_AWS_REQUEST_TIMEOUT_MS'].sort());
    for (const v of names) expect(vars[v], v).toEqual(expected[v]);
  });

  it.each(names)('%s: logs to its own encrypted log group with a retention', (name) => {
    const lg = resources[functionId(name)]!.Properties.LoggingConfig.LogGroup.Ref as string;
    expect(resources[lg]!.Type).toBe('AWS::Logs::LogGroup');
    expect(resources[lg]!.Properties.RetentionInDays).toBe(30);
    expect(resources[lg]!.Properties.KmsKeyId).toEqual(getAtt(keyId()));
  });
});

describe('kinesis event-source mappings', () => {
  const withSource = (Object.keys(FUNCTIONS) as FunctionName[]).filter((n) => (FUNCTIONS[n] as FunctionDef).kinesis);

  it('there is one mapping per function with kinesis settings', () => {
    expect(withSource.length).toBeGreaterThan(0);
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(withSource.length);
  });

  it.each(withSource)('%s: settings from its definition, partial batch responses, failures to the lake', (name) => {
    const k = (FUNCTIONS[name] as FunctionDef).kinesis!;
    const [, esm] = ofType('AWS::Lambda::EventSourceMapping').find(([, r]) => r.Properties.FunctionName.Ref === functionId(name))!;
    expect(esm.Properties).toEqual({
      FunctionName: { Ref: functionId(name) },
      EventSourceArn: getAtt(streamId(k.stream)),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: k.batchSize,
      MaximumBatchingWindowInSeconds: Math.ceil(k.maxBatchingWindowMs / 1000),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: k.bisectOnError,
      MaximumRetryAttempts: k.retryAttempts,
      MaximumRecordAgeInSeconds: k.maxRecordAgeSeconds,
      ParallelizationFactor: k.parallelization,
      DestinationConfig: { OnFailure: { Destination: getAtt(lakeBucketId()) } },
    });
    // Created only once the role can read the stream and write the failure destination.
    expect(esm.DependsOn).toEqual(expect.arrayContaining([roleId(name)]));
  });
});

describe('encryption at rest', () => {
  it('one customer-managed key, rotated, usable by CloudWatch Logs for this account only', () => {
    const [, key] = one('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const logs = key.Properties.KeyPolicy.Statement.find((s: Json) => s.Sid === 'AllowCloudWatchLogs');
    expect(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toBeDefined();
  });

  it('every Kinesis stream uses the key, with the defined retention and the shards sized from the settings', () => {
    const streams = ofType('AWS::Kinesis::Stream');
    expect(streams).toHaveLength(Object.keys(STREAMS).length);
    for (const def of Object.values(STREAMS)) {
      const [, s] = streams.find(([, r]) => r.Properties.Name === def.name)!;
      expect(s.Properties.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: getAtt(keyId()) });
      expect(s.Properties.RetentionPeriodHours).toBe(def.retentionHours);
      expect(s.Properties.ShardCount).toBe(
        stack.settings.shards[(Object.keys(STREAMS) as (keyof typeof STREAMS)[]).find((k) => STREAMS[k].name === def.name)!],
      );
    }
  });

  it('every DynamoDB table: key schema/TTL from its definition, on-demand, PITR, the CMK', () => {
    const tables = ofType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const def of Object.values(TABLES) as import('#shared/config/resources').TableDef[]) {
      const [, t] = tables.find(([, r]) => r.Properties.TableName === def.name)!;
      const p = t.Properties;
      expect(p.KeySchema).toEqual([
        { AttributeName: def.partitionKey, KeyType: 'HASH' },
        ...(def.sortKey ? [{ AttributeName: def.sortKey, KeyType: 'RANGE' }] : []),
      ]);
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: getAtt(keyId()) });
      if (def.ttlAttribute) expect(p.TimeToLiveSpecification).toEqual({ AttributeName: def.ttlAttribute, Enabled: true });
      else expect(p.TimeToLiveSpecification).toBeUndefined();
      expect((p.GlobalSecondaryIndexes ?? []).map((g: Json) => g.IndexName)).toEqual((def.globalIndexes ?? []).map((g) => g.name));
    }
  });

  it('every bucket is encrypted, blocks public access, and denies non-TLS requests', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets.length).toBe(3); // the lake, its access logs, the console's files
    const consoleBucketId = stack.getLogicalId(stack.console!.bucket.node.defaultChild as never);
    for (const [id, b] of buckets) {
      const sse = b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
      if (id === lakeBucketId()) expect(sse).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: getAtt(keyId()) });
      else {
        // Access-log buckets cannot use SSE-KMS; the console's files are served to anyone who opens it.
        expect([stack.getLogicalId(stack.lake.accessLogsBucket.node.defaultChild as never), consoleBucketId]).toContain(id);
        expect(sse).toEqual({ SSEAlgorithm: 'AES256' });
      }
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const [, policy] = ofType('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === id)!;
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('the lake is versioned, logs access to the log bucket, and has lifecycle rules', () => {
    const lake = resources[lakeBucketId()]!.Properties;
    expect(lake.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(lake.LoggingConfiguration.DestinationBucketName.Ref).not.toBe(lakeBucketId());
    const rules = lake.LifecycleConfiguration.Rules as Json[];
    expect(rules.some((r) => r.AbortIncompleteMultipartUpload)).toBe(true);
    expect(rules.some((r) => r.NoncurrentVersionExpiration)).toBe(true);
    // Accepted events never expire by default: under events/ only the objects compaction tagged, whose
    // rows a published Parquet part holds (docs/lake.md#compaction); parquet/ never.
    const expiring = rules.filter((r) => r.ExpirationInDays);
    expect(expiring.every((r) => r.Prefix && !r.Prefix.startsWith(LAKE.parquetEventsPrefix))).toBe(true);
    expect(expiring.filter((r) => r.Prefix.startsWith(LAKE.eventsPrefix)).map((r) => ({ prefix: r.Prefix, tags: r.TagFilters }))).toEqual([
      { prefix: LAKE.eventsPrefix, tags: [{ Key: COMPACTION.expiryTag.key, Value: COMPACTION.expiryTag.value }] },
    ]);
  });

  it('every log group is encrypted with the key and has a retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    // + the collector API's access logs, the console API's access logs, the console deployment handler's logs.
    expect(groups.length).toBe(Object.keys(FUNCTIONS).length + 3);
    for (const [, g] of groups) {
      expect(g.Properties.KmsKeyId).toEqual(getAtt(keyId()));
      expect(g.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('data is retained and tables are deletion-protected by default', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Kinesis::Stream', 'AWS::KMS::Key']) {
      for (const [id, r] of ofType(type)) expect(r.DeletionPolicy, id).toBe('Retain');
    }
    expect(resources[lakeBucketId()]!.DeletionPolicy).toBe('Retain');
    for (const [, t] of ofType('AWS::DynamoDB::Table')) expect(t.Properties.DeletionProtectionEnabled).toBe(true);
  });
});

describe('collection API', () => {
  it('has a route for every ROUTES entry, integrated with its function, with the declared auth', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(onMainApi);
    expect(routes).toHaveLength(ROUTES.length);
    for (const r of ROUTES) {
      const found = routes.find(([, x]) => x.Properties.RouteKey === `${r.method} ${r.path}`);
      expect(found, `${r.method} ${r.path}`).toBeDefined();
      const p = found![1].Properties;
      expect(p.AuthorizationType).toBe(r.auth === 'admin' ? 'AWS_IAM' : 'NONE');
      const integrationId = p.Target['Fn::Join'][1][1].Ref as string;
      expect(resources[integrationId]!.Properties.IntegrationUri).toEqual(getAtt(functionId(r.fn)));
    }
  });

  it('the stage is throttled per THROTTLE and writes access logs to an encrypted log group', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage').filter(onMainApi);
    expect(stages).toHaveLength(1);
    const [, stage] = stages[0]!;
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: THROTTLE.rateLimit, ThrottlingBurstLimit: THROTTLE.burstLimit });
    const dest = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0] as string;
    expect(resources[dest]!.Properties.KmsKeyId).toEqual(getAtt(keyId()));
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format.requestId).toBe('$context.requestId');
    // Who called which route, never with the identifier in the path (GET /v1/profiles/email:…).
    expect(format.routeKey).toBe('$context.routeKey');
    expect(format.caller).toBe('$context.identity.userArn');
    // No personal data in access logs: no source IP, user agent, path or query.
    expect(Object.values(format).join(' ')).not.toMatch(/sourceIp|userAgent|context\.path|rawPath|querystring/i);
  });

  it('answers CORS preflight for browser SDKs on other origins, from the CORS declaration the local server uses', () => {
    for (const h of ['content-type', 'authorization', 'anonymousid', 'x-retry-count', 'content-encoding']) expect(CORS.allowHeaders).toContain(h);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowMethods: [...CORS.allowMethods],
        // analytics.js 2.0 sends Authorization and X-Retry-Count; RudderStack's SDK AnonymousId.
        AllowHeaders: [...CORS.allowHeaders],
        MaxAge: CORS.maxAgeSeconds,
      },
    });
  });

  it('routes the browser paths (settings, one-letter paths, pixels) to λ collect without an authorizer', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    for (const key of [
      'GET /v1/projects/{writeKey}/settings',
      'POST /v1/t',
      'POST /v1/b',
      'GET /v1/pixel/{type}',
      'GET /pixel/v1/{type}',
      'GET /sourceConfig',
      'POST /beacon/v1/batch',
    ]) {
      const found = routes.find(([, x]) => x.Properties.RouteKey === key);
      expect(found, key).toBeDefined();
      expect(found![1].Properties.AuthorizationType).toBe('NONE');
      const integrationId = found![1].Properties.Target['Fn::Join'][1][1].Ref as string;
      expect(resources[integrationId]!.Properties.IntegrationUri).toEqual(getAtt(functionId('collect')));
    }
  });
});

describe('lake catalog and Athena', () => {
  const tables = [
    {
      name: 'events_json',
      prefix: LAKE.eventsPrefix,
      required: ['message_id', 'type', 'event', 'user_id', 'anonymous_id', 'timestamp', 'received_at', 'properties', 'traits', 'context', 'source_id'],
    },
    { name: 'quarantine', prefix: LAKE.quarantinePrefix, required: ['message_id', 'code', 'reason', 'message', 'received_at', 'source_id', 'stage'] },
    {
      name: 'profiles',
      prefix: LAKE.profilesPrefix,
      required: ['profile_id', 'identities', 'traits', 'computed', 'segments', 'consent', 'created_at', 'updated_at'],
    },
    { name: 'audit', prefix: LAKE.auditPrefix, required: ['at', 'request_id', 'actor', 'action', 'target', 'status', 'code'] },
    {
      name: 'journey_steps',
      prefix: LAKE.journeyStepsPrefix,
      required: ['at', 'journey_id', 'version', 'run_id', 'profile_id', 'step_id', 'action', 'outcome', 'reason'],
    },
  ];

  it('a Glue database and no crawler', () => {
    expect(one('AWS::Glue::Database')[1].Properties.DatabaseInput.Name).toBe(LAKE.glueDatabase);
    expect(ofType('AWS::Glue::Crawler')).toHaveLength(0);
  });

  it.each(tables)('$name: gzip JSON Lines with date partition projection over its prefix', ({ name, prefix, required }) => {
    const [, t] = ofType('AWS::Glue::Table').find(([, r]) => r.Properties.TableInput.Name === name)!;
    const input = t.Properties.TableInput;
    expect(t.Properties.DatabaseName).toBe(LAKE.glueDatabase);
    const bucketPath = (suffix: string) => ({ 'Fn::Join': ['', ['s3://', { Ref: lakeBucketId() }, suffix]] });
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': 'NOW-3YEARS,NOW',
      'storage.location.template': bucketPath(`/${prefix}dt=\${dt}/`),
    });
    expect(input.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
    expect(input.StorageDescriptor.Location).toEqual(bucketPath(`/${prefix}`));
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    const cols = (input.StorageDescriptor.Columns as Json[]).map((c) => c.Name);
    expect(cols).toEqual(expect.arrayContaining(required));
    expect(new Set(cols).size).toBe(cols.length);
  });

  it('events_parquet: the compacted parts, Parquet with the events columns and the same partition projection', () => {
    const find = (name: string) => ofType('AWS::Glue::Table').find(([, r]) => r.Properties.TableInput.Name === name)![1].Properties.TableInput;
    const parquet = find('events_parquet');
    const json = find('events_json');
    const bucketPath = (suffix: string) => ({ 'Fn::Join': ['', ['s3://', { Ref: lakeBucketId() }, suffix]] });
    expect(parquet.StorageDescriptor.Columns).toEqual(json.StorageDescriptor.Columns);
    expect(parquet.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(parquet.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    expect(parquet.StorageDescriptor.Location).toEqual(bucketPath(`/${LAKE.parquetEventsPrefix}`));
    expect(parquet.Parameters).toMatchObject({
      classification: 'parquet',
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'storage.location.template': bucketPath(`/${LAKE.parquetEventsPrefix}dt=\${dt}/`),
    });
    const manifests = find('events_compaction');
    expect(manifests.StorageDescriptor.Location).toEqual(bucketPath(`/${LAKE.compactionManifestsPrefix}`));
    expect((manifests.StorageDescriptor.Columns as Json[]).map((c) => c.Name)).toEqual(['role', 'key', 'rows', 'etag', 'written_at', 'tagged_at']);
  });

  it('events: an Athena view over the parts the manifests publish and the JSON objects they do not name', () => {
    const [id, t] = ofType('AWS::Glue::Table').find(([, r]) => r.Properties.TableInput.Name === 'events')!;
    // The logical id the JSON table had when it was `events`: an upgrade updates it in place.
    expect(id).toMatch(/^LakeTableEvents[0-9A-F]{8}$/);
    const input = t.Properties.TableInput;
    expect(input.TableType).toBe('VIRTUAL_VIEW');
    expect(input.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
    const m = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(input.ViewOriginalText as string)!;
    const view = JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as {
      originalSql: string;
      catalog: string;
      schema: string;
      columns: { name: string; type: string }[];
    };
    expect(view).toMatchObject({ catalog: 'awsdatacatalog', schema: LAKE.glueDatabase });
    const json = ofType('AWS::Glue::Table').find(([, r]) => r.Properties.TableInput.Name === 'events_json')![1].Properties.TableInput;
    expect(view.columns.map((c) => c.name)).toEqual([...(json.StorageDescriptor.Columns as Json[]).map((c) => c.Name), 'dt']);
    expect(view.columns.every((c) => c.type === 'varchar')).toBe(true);
    expect(view.originalSql).toContain("FROM events_parquet p WHERE EXISTS (SELECT 1 FROM events_compaction m WHERE m.dt = p.dt AND m.role = 'part'");
    expect(view.originalSql).toContain("FROM events_json j WHERE NOT EXISTS (SELECT 1 FROM events_compaction m WHERE m.dt = j.dt AND m.role = 'source'");
    expect(view.originalSql).toContain(`regexp_replace(j."$path", '^s3://[^/]+/', '')`);
    expect((t.DependsOn as string[]).some((d) => d.startsWith('LakeDatabase'))).toBe(true);
  });

  it('an Athena workgroup that enforces KMS-encrypted results in the lake bucket', () => {
    const [, wg] = one('AWS::Athena::WorkGroup');
    const c = wg.Properties.WorkGroupConfiguration;
    expect(c.EnforceWorkGroupConfiguration).toBe(true);
    expect(c.ResultConfiguration.EncryptionConfiguration).toEqual({ EncryptionOption: 'SSE_KMS', KmsKey: getAtt(keyId()) });
    expect(referencedIds(c.ResultConfiguration.OutputLocation)).toEqual(new Set([lakeBucketId()]));
    expect(c.BytesScannedCutoffPerQuery).toBe(10 * 1024 ** 3);
  });
});

describe('least privilege', () => {
  const names = Object.keys(FUNCTIONS) as FunctionName[];

  it('no IAM policy in the stack has a wildcard action, and only X-Ray uses Resource "*"', () => {
    const policies = ofType('AWS::IAM::Policy');
    expect(policies.length).toBeGreaterThan(0);
    for (const [id, p] of policies) {
      for (const s of p.Properties.PolicyDocument.Statement as Json[]) {
        const actions = asArray(s.Action as string | string[]);
        for (const a of actions) expect(a, `${id}: ${a}`).not.toContain('*');
        expect(s.NotAction, id).toBeUndefined();
        expect(s.NotResource, id).toBeUndefined();
        // X-Ray has no resource-level permissions; SMS to phone numbers (λ journey) has no resource either.
        if (asArray(s.Resource).includes('*'))
          expect(
            actions.every((a) => a.startsWith('xray:') || a === 'sns:Publish'),
            `${id}: ${actions.join()}`,
          ).toBe(true);
      }
    }
  });

  it('no role uses an AWS managed policy', () => {
    for (const [, r] of ofType('AWS::IAM::Role')) expect(r.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it.each(names)('%s: its role reaches exactly the resources its access declares', (name) => {
    const def: FunctionDef = FUNCTIONS[name];
    const expected = new Set<string>([resources[functionId(name)]!.Properties.LoggingConfig.LogGroup.Ref]);
    for (const t of Object.keys(def.access.tables ?? {}) as (keyof typeof TABLES)[]) expected.add(tableId(t));
    for (const s of Object.keys(def.access.streams ?? {}) as (keyof typeof STREAMS)[]) expected.add(streamId(s));
    if (def.access.lake || def.kinesis) expected.add(lakeBucketId()); // kinesis: failed batches go to the lake
    if (def.access.bus || def.access.busRules) expected.add(busId());
    if (expected.size > 1) expected.add(keyId());
    // Secrets it reads at run time (GetSecretValue; tests/infra/secrets.test.ts).
    for (const n of def.access.secrets ?? []) expected.add(stack.getLogicalId(stack.catalog.secret(n).node.defaultChild as never));
    // iam:PassRole of the recheck scheduler role (infra/constructs/segments.ts).
    // (only when it creates or updates schedules: deleting one passes no role).
    if (def.access.recheckSchedules?.some((a) => a !== 'DeleteSchedule'))
      expected.add(stack.getLogicalId(stack.segments.schedulerRole.node.defaultChild as never));
    if (name === 'admin') {
      // Lake queries: the Athena workgroup and the Glue database (infra/constructs/lake-query-access.ts).
      expected.add(workGroupId());
      expected.add(databaseId());
    }
    if (name === 'journey') {
      // Its wait scheduler role (iam:PassRole) and its async on-failure queue (infra/constructs/journeys.ts).
      expected.add(stack.getLogicalId(stack.journeys.schedulerRole.node.defaultChild as never));
      expected.add(stack.getLogicalId(stack.journeys.failureQueue.node.defaultChild as never));
    }
    const referenced = new Set([...referencedIds(statementsOf(name))].filter((id) => !id.startsWith('AWS::')));
    expect(referenced).toEqual(expected);
  });

  it.each(names)('%s: each table gets exactly the operations its access lists; read-only streams cannot write and write-only ones cannot read', (name) => {
    const def: FunctionDef = FUNCTIONS[name];
    const st = statementsOf(name);
    const actionsOn = (id: string) => st.filter((s) => referencedIds(s.Resource).has(id)).flatMap((s) => asArray(s.Action as string | string[]));
    for (const [t, declared] of Object.entries(def.access.tables ?? {}) as [keyof typeof TABLES, readonly string[]][]) {
      expect(actionsOn(tableId(t)).sort(), `${name} ${t}`).toEqual(declared.map((a) => `dynamodb:${a}`).sort());
    }
    for (const [s, mode] of Object.entries(def.access.streams ?? {}) as [keyof typeof STREAMS, string][]) {
      const a = actionsOn(streamId(s));
      if (mode === 'read') expect(a.filter((x) => /PutRecord/.test(x))).toEqual([]);
      if (mode === 'write') expect(a.filter((x) => /GetRecords|GetShardIterator|SubscribeToShard/.test(x))).toEqual([]);
    }
  });

  it.each(names)('%s: lake object access is limited to its declared prefixes', (name) => {
    const def: FunctionDef = FUNCTIONS[name];
    const lake = lakeBucketId();
    const objectGrants = statementsOf(name).flatMap((s) =>
      asArray(s.Resource)
        .filter((r: unknown) => referencedIds(r).has(lake) && JSON.stringify(r).includes('Fn::Join'))
        .map((r: Json) => ({ suffix: r['Fn::Join'][1][1] as string, actions: asArray(s.Action as string | string[]) })),
    );
    const lakeAccess = def.access.lake;
    const declared = lakeAccess
      ? [
          ...new Set([
            ...(lakeAccess.read ?? []),
            ...(lakeAccess.write ?? []),
            ...(lakeAccess.delete ?? []),
            ...(lakeAccess.deleteVersions ?? []),
            ...(lakeAccess.tag ?? []),
          ]),
        ].map((p) => `/${p}*`)
      : [];
    const failureDestination = def.kinesis ? ['/aws/lambda/*'] : [];
    // λ admin's lake queries: Athena reads the tables' prefixes and writes results with its credentials (lake-query-access.ts).
    const lakeQueries = name === 'admin' ? [...tablePrefixes(), ATHENA_RESULTS_PREFIX].map((p) => `/${p}*`) : [];
    // λ import may also add its report, rejects and checkpoint beside a dropped file, and only those (infra/constructs/imports.ts).
    const importOutputs = name === IMPORTS.fn ? IMPORT_OUTPUT_PATTERNS.map((p) => `/${p}`) : [];
    expect([...new Set(objectGrants.map((g) => g.suffix))].sort()).toEqual(
      [...new Set([...declared, ...failureDestination, ...importOutputs, ...lakeQueries])].sort(),
    );
    for (const g of objectGrants.filter((x) => importOutputs.includes(x.suffix))) expect(g.actions).toEqual(['s3:PutObject']);
    // The failure-destination grant only lets Lambda add objects.
    // (λ erase's own grant there, declared above, rewrites failed batches: docs/privacy.md.)
    for (const g of objectGrants.filter((x) => failureDestination.includes(x.suffix))) expect(g.actions).toEqual(['s3:PutObject']);
  });

  it('collect cannot touch the lake, the dedup table or the normalized stream', () => {
    const st = statementsOf('collect');
    expect(st.flatMap((s) => asArray(s.Action as string | string[])).filter((a) => a.startsWith('s3:'))).toEqual([]);
    const ids = referencedIds(st);
    expect(ids.has(lakeBucketId())).toBe(false);
    expect(ids.has(tableId('dedup'))).toBe(false);
    expect(ids.has(streamId('normalized'))).toBe(false);
  });

  it('KMS use is limited to the services each function goes through', () => {
    for (const name of names) {
      for (const s of statementsOf(name).filter((x) => asArray(x.Action as string | string[]).some((a) => a.startsWith('kms:')))) {
        expect(s.Condition?.StringEquals?.['kms:ViaService'], name).toBeDefined();
      }
    }
  });
});

describe("λ admin's lake queries, simulations and quarantine replay on AWS (infra/constructs/lake-query-access.ts)", () => {
  /** A resource as text: `Ref` as `${Id}`, `Fn::GetAtt` as `${Id.Attr}`, `Fn::Join` joined. */
  const sub = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Json;
    if (typeof o.Ref === 'string') return `\${${o.Ref}}`;
    if (Array.isArray(o['Fn::GetAtt'])) return `\${${o['Fn::GetAtt'].join('.')}}`;
    if (Array.isArray(o['Fn::Join'])) return (o['Fn::Join'][1] as unknown[]).map(sub).join(o['Fn::Join'][0]);
    return JSON.stringify(v);
  };
  const grantsOf = (action: string) =>
    statementsOf('admin')
      .filter((st) => asArray(st.Action as string | string[]).includes(action))
      .flatMap((st) => asArray(st.Resource).map(sub));
  const arn = (svc: string, res: string) => `arn:\${AWS::Partition}:${svc}:\${AWS::Region}:\${AWS::AccountId}:${res}`;

  it('its environment names the workgroup, the Glue database and both streams (no 503 lake_unavailable / replay_unavailable)', () => {
    const vars = resources[functionId('admin')]!.Properties.Environment.Variables as Json;
    expect(vars[ENV.athenaWorkgroup]).toEqual({ Ref: workGroupId() });
    expect(vars[ENV.lakeDatabase]).toEqual({ Ref: databaseId() });
    expect(vars[ENV.rawStream]).toEqual({ Ref: streamId('raw') });
    expect(vars[ENV.normalizedStream]).toEqual({ Ref: streamId('normalized') });
    // The dialect stays Athena's (the local twin alone sets duckdb).
    expect(vars[ENV.lakeDialect]).toBeUndefined();
  });

  it('the four Athena calls on its workgroup only; Glue reads of the catalog, the database and each table and view, nothing else', () => {
    const workgroup = arn('athena', `workgroup/\${${workGroupId()}}`);
    for (const a of ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'])
      expect(grantsOf(a), a).toEqual([workgroup]);
    const db = `\${${databaseId()}}`;
    expect(grantsOf('glue:GetDatabase')).toEqual([arn('glue', 'catalog'), arn('glue', `database/${db}`)]);
    const tables = ofType('AWS::Glue::Table').map(([, t]) => t.Properties.TableInput.Name as string);
    // The view and the three tables it reads are among them.
    expect(tables).toEqual(
      expect.arrayContaining(['events', 'events_json', 'events_parquet', 'events_compaction', 'quarantine', 'profiles', 'audit', 'journey_steps']),
    );
    expect(grantsOf('glue:GetTable').sort()).toEqual(
      [arn('glue', 'catalog'), arn('glue', `database/${db}`), ...tables.map((t) => arn('glue', `table/${db}/${t}`))].sort(),
    );
    const actions = statementsOf('admin').flatMap((st) => asArray(st.Action as string | string[]));
    expect(actions.filter((a) => /^(athena|glue):/.test(a)).sort()).toEqual(
      [
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StartQueryExecution',
        'athena:StopQueryExecution',
        'glue:GetDatabase',
        'glue:GetTable',
      ].sort(),
    );
    // No other function may query the lake.
    for (const name of (Object.keys(FUNCTIONS) as FunctionName[]).filter((n) => n !== 'admin')) {
      expect(
        statementsOf(name)
          .flatMap((st) => asArray(st.Action as string | string[]))
          .filter((a) => /^(athena|glue):/.test(a)),
        name,
      ).toEqual([]);
    }
  });

  it('S3 as Athena needs it: the tables read, results read and written under athena-results/, the bucket located and listed; KMS through S3', () => {
    const bucket = `\${${lakeBucketId()}.Arn}`;
    const lakeArn = (p: string) => `${bucket}/${p}*`;
    const onLake = grantsOf;
    for (const p of tablePrefixes()) expect(onLake('s3:GetObject'), p).toContain(lakeArn(p));
    expect(onLake('s3:GetObject')).toContain(lakeArn(ATHENA_RESULTS_PREFIX));
    // Writes: the audit log, the replay ledger, Athena's results; nothing else.
    expect(onLake('s3:PutObject').sort()).toEqual([LAKE.auditPrefix, 'replay/quarantine/', ATHENA_RESULTS_PREFIX].map(lakeArn).sort());
    expect(onLake('s3:GetBucketLocation')).toEqual([bucket]);
    expect(onLake('s3:ListBucket')).toEqual([bucket]);
    const kms = statementsOf('admin').filter((st) => st.Condition?.StringEquals?.['kms:ViaService']?.['Fn::Join']?.[1]?.[0] === 's3.');
    expect(kms).toHaveLength(1);
    expect(kms[0]!.Action).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
  });

  it('replay writes to the raw and the normalized streams with PutRecords only', () => {
    expect(grantsOf('kinesis:PutRecords').sort()).toEqual([`\${${streamId('raw')}.Arn}`, `\${${streamId('normalized')}.Arn}`].sort());
    const kinesis = statementsOf('admin')
      .flatMap((st) => asArray(st.Action as string | string[]))
      .filter((a) => a.startsWith('kinesis:'));
    expect([...new Set(kinesis)]).toEqual(['kinesis:PutRecords']);
  });
});

describe('outputs', () => {
  it('exposes the collector URL, lake bucket, Athena workgroup, Glue database and bus name', () => {
    const outputs = template.toJSON().Outputs as Json;
    for (const o of ['CollectorUrl', 'LakeBucket', 'AthenaWorkGroup', 'GlueDatabase', 'EventBusName', 'SourcesTableName']) {
      expect(outputs[o], o).toBeDefined();
    }
    expect(outputs.GlueDatabase.Value).toBe(LAKE.glueDatabase);
    expect(outputs.EventBusName.Value).toEqual({ Ref: busId() });
    expect(JSON.stringify(outputs.CollectorUrl.Value)).toContain('execute-api');
  });
});
