/**
 * A Cairn Lambda function built entirely from its `FunctionDef` (shared/config/resources.ts):
 * Node.js 22 on arm64, bundled locally with esbuild (no Docker), X-Ray tracing, an encrypted log
 * group with retention, the environment its `env` names, exactly the IAM access its `access`
 * declares, and — when it has `kinesis` settings — its event-source mapping. Adding a function
 * to Cairn means adding a definition and one `new CairnFunction(...)` in its stage construct.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUS, ENV, FUNCTIONS, maxRecordAgeSeconds, requestTimeoutMs, SECRETS, STREAMS, TABLES, type FunctionDef, type KinesisSourceDef } from '#shared/config';
import { importRate } from '../settings';
import { accessPolicy } from './access';
import { acknowledge } from './nag';
import type { Catalog, CatalogFunction, FunctionName, SecretName, StreamName, TableName } from './catalog';

/** Project root (where package-lock.json is), two levels above this file. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const LAMBDA_ARCHITECTURE = lambda.Architecture.ARM_64;

/**
 * The value of an ENV variable on AWS: `<name>Stream` / `<name>Table` by suffix, the lake, the bus,
 * a secret's ARN (never its value: functions read it at run time, docs/security.md#secrets).
 */
export function envValue(key: keyof typeof ENV, catalog: Catalog): string {
  if (key === 'lakeBucket') return catalog.lake().bucketName;
  if (key === 'eventBus') return catalog.eventBus().eventBusName;
  if (key === 'recheckTargetArn') return catalog.recheck().targetArn;
  if (key === 'recheckRoleArn') return catalog.recheck().roleArn;
  if (key === 'journeyFunction') return catalog.journeys().functionArn;
  if (key === 'journeySchedulerRole') return catalog.journeys().schedulerRoleArn;
  if (key === 'journeyScheduleGroup') return catalog.journeys().scheduleGroup;
  if (key === 'emailFrom') return catalog.journeys().emailFrom;
  if (key === 'athenaWorkgroup') return catalog.lakeQueries().workGroup;
  if (key === 'lakeDatabase') return catalog.lakeQueries().database;
  const secret = (Object.keys(SECRETS) as SecretName[]).find((n) => SECRETS[n].env === key);
  if (secret) return catalog.secret(secret).secretArn;
  if (key === 'timelineDays') return String(catalog.settings.timelineDays);
  if (key === 'importDays') return String(catalog.settings.importDays);
  if (key === 'streamRetentionHours') return String(catalog.settings.streamRetentionHours);
  if (key === 'compactionTargetMb') return String(catalog.settings.compactionTargetMb);
  // λ import paces itself to the raw stream's shards (one at 100 million events a month).
  if (key === 'importRate') return String(importRate(catalog.settings.shards.raw));
  const stream = key.endsWith('Stream') ? key.slice(0, -'Stream'.length) : undefined;
  if (stream && stream in STREAMS) return catalog.stream(stream as StreamName).streamName;
  const table = key.endsWith('Table') ? key.slice(0, -'Table'.length) : undefined;
  if (table && table in TABLES) return catalog.table(table as TableName).tableName;
  throw new Error(`no AWS value known for ENV.${key}: teach envValue() in infra/constructs/cairn-function.ts`);
}

/**
 * Reserved concurrency on AWS: a Kinesis consumer gets exactly what its mapping can use (shards of its
 * stream × ParallelizationFactor), so other functions cannot starve it and it cannot grow past it;
 * other functions take their definition's `reservedConcurrency` (a cap, e.g. journey fan-out) or none.
 */
export function reservedConcurrency(def: FunctionDef, shards: Record<StreamName, number>): number | undefined {
  if (def.kinesis) return shards[def.kinesis.stream] * def.kinesis.parallelization;
  return def.reservedConcurrency;
}

export interface CairnFunctionProps {
  name: FunctionName;
  catalog: Catalog;
}

export class CairnFunction extends Construct implements CatalogFunction {
  readonly name: FunctionName;
  readonly def: FunctionDef;
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly eventSource?: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: CairnFunctionProps) {
    super(scope, id);
    const { catalog, name } = props;
    const def: FunctionDef = FUNCTIONS[name];
    const s = catalog.settings;
    this.name = name;
    this.def = def;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: s.logRetention,
      encryptionKey: catalog.key,
      removalPolicy: s.dataRemovalPolicy,
    });

    // Own role instead of AWSLambdaBasicExecutionRole: log writes are limited to this log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Cairn ${name} function`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    const access = accessPolicy(this, def.access, catalog);
    for (const st of access.statements) this.role.addToPrincipalPolicy(st);

    const environment: Record<string, string> = { NODE_OPTIONS: '--enable-source-maps', CAIRN_AWS_REQUEST_TIMEOUT_MS: String(requestTimeoutMs(def)) };
    for (const key of def.env) environment[ENV[key]] = envValue(key, catalog);
    // Publishing every event is the exception: the functions default to `matched` (functions/bus.ts).
    if (def.access.bus && s.busPublish === 'all') environment[BUS.publishVar] = 'all';

    const reserved = reservedConcurrency(def, s.shards);
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, def.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      memorySize: def.memoryMb,
      timeout: Duration.seconds(def.timeoutSeconds),
      ...(reserved !== undefined ? { reservedConcurrentExecutions: reserved } : {}),
      role: this.role,
      logGroup: this.logGroup,
      tracing: s.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment,
      description: `Cairn ${name} (${def.entry})`,
      bundling: {
        // esbuild is a local devDependency, so bundling never needs Docker.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK too: the version we test is the version that runs.
        externalModules: [],
        // CommonJS dependencies bundled into an ES module still call require() for built-ins.
        banner: "import { createRequire as __cairnCreateRequire } from 'node:module';const require = __cairnCreateRequire(import.meta.url);",
      },
    });

    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Pinned to Node.js 22 (LAMBDA_RUNTIME), the version the handlers are built (esbuild target node22) and tested for; moving to a newer runtime is a deliberate, tested change.',
    );
    // Only X-Ray (which has no resource-level permissions) may use Resource '*'.
    // The wildcard findings are on the role's policy; acknowledge them there, not on the role.
    const policy = this.role.node.findChild('DefaultPolicy');
    if (s.tracing) {
      acknowledge(policy, 'AwsSolutions-IAM5', 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.', [
        'Resource::*',
      ]);
    }
    for (const p of access.nagPrefixed) acknowledge(policy, 'AwsSolutions-IAM5', p.reason, p.findings);
    if (access.nagWildcards.length) {
      acknowledge(
        policy,
        'AwsSolutions-IAM5',
        `Lake objects are named by date and batch at run time; the grant is limited to the key prefixes FUNCTIONS.${name}.access.lake declares.`,
        access.nagWildcards,
      );
    }

    if (def.kinesis) this.eventSource = this.addKinesisSource(def.kinesis, catalog);
    catalog.functions[name] = this;
  }

  private addKinesisSource(k: KinesisSourceDef, catalog: Catalog): lambda.EventSourceMapping {
    // The role must already be able to read the stream: the function's `access` must declare it.
    if (this.def.access.streams?.[k.stream] !== 'read') {
      throw new Error(`FUNCTIONS.${this.name} reads stream ${k.stream} but its access does not declare streams.${k.stream}: 'read'`);
    }
    const mapping = new lambda.EventSourceMapping(this, 'Source', {
      target: this.function,
      eventSourceArn: catalog.stream(k.stream).streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: k.batchSize,
      // Lambda's batching window has whole-second granularity; `cairn:batchingWindowSeconds` sets it on AWS.
      maxBatchingWindow: Duration.seconds(catalog.settings.batchingWindowSeconds ?? Math.ceil(k.maxBatchingWindowMs / 1000)),
      reportBatchItemFailures: true,
      bisectBatchOnError: k.bisectOnError,
      retryAttempts: k.retryAttempts,
      // Under the stream's retention: a record given up on reaches the failure destination before it is trimmed.
      maxRecordAge: Duration.seconds(maxRecordAgeSeconds(k, catalog.settings.streamRetentionHours)),
      parallelizationFactor: k.parallelization,
      onFailure: catalog.onFailure(),
    });
    // The mapping validates the role's stream permissions on creation.
    mapping.node.addDependency(this.role);
    return mapping;
  }
}
