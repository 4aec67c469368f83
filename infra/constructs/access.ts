/**
 * Least-privilege IAM statements for a function's declared `access` (shared/config/resources.ts).
 * Written out action by action instead of the CDK `grant*` helpers, which add wildcard actions
 * (`kms:GenerateDataKey*`, `s3:GetObject*`, …) and whole-bucket resources. KMS use is limited to
 * the services the function reaches through (`kms:ViaService`).
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { JOURNEYS, TABLES, type FunctionAccess, type TableAction, type TableDef } from '#shared/config';
import type { Catalog, StreamName, TableName } from './catalog';

/** DynamoDB item actions that read (the rest of TableAction writes: KMS Encrypt/GenerateDataKey too). */
export const TABLE_READS: readonly TableAction[] = ['GetItem', 'BatchGetItem', 'Query', 'Scan'];
/**
 * What the Kinesis event-source mapping needs of a stream its function reads (Lambda reads it with the
 * function's role; AWSLambdaKinesisExecutionRole's list without SubscribeToShard/DescribeStreamConsumer,
 * which only enhanced fan-out consumers use: Cairn's mappings read shared throughput).
 */
export const STREAM_READ = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
  'kinesis:ListStreams',
];
/** Every producer writes with PutRecords (shared/message/stream.ts). */
export const STREAM_WRITE = ['kinesis:PutRecords'];
export const OBJECT_READ = ['s3:GetObject'];
/** Single-request uploads only (no multipart: no AbortMultipartUpload). */
export const OBJECT_WRITE = ['s3:PutObject'];
/**
 * `lake.delete` (λ erase only). On the versioned lake bucket a DeleteObject without a version id
 * adds a delete marker; the version with the rows becomes noncurrent.
 */
export const OBJECT_DELETE = ['s3:DeleteObject'];
/**
 * `lake.deleteVersions` (λ erase only): the noncurrent versions of an object its pass rewrote or
 * deleted, which hold the erased rows (shared/privacy/lake.ts; never the current version). Others
 * expire by lifecycle rule (infra/constructs/lake.ts, `expire-old-versions`).
 */
export const VERSION_DELETE = ['s3:DeleteObjectVersion'];
/**
 * `lake.tag`: λ import's expiry tag (IMPORTS.expiryTag): read an object's tags, set them
 * (PutObjectTagging), and write an object with tags (PutObject with `Tagging` needs s3:PutObjectTagging).
 */
export const OBJECT_TAG = ['s3:GetObjectTagging', 's3:PutObjectTagging'];
/** What shared/journeys/rules.ts calls: create/update a rule and its target, remove both. */
export const BUS_RULES = ['events:PutRule', 'events:PutTargets', 'events:DeleteRule', 'events:RemoveTargets'];
/** Name prefix of recheck schedules (shared/segments/schedule.ts), in the default schedule group. */
export const RECHECK_SCHEDULE_PREFIX = 'cairn-recheck-';

type KmsService = 'dynamodb' | 'kinesis' | 's3' | 'sqs' | 'secretsmanager';

export interface AccessPolicy {
  statements: iam.PolicyStatement[];
  /** Wildcard resources in the statements, as cdk-nag names them (`Resource::<Id.Arn>/events/*`). */
  nagWildcards: string[];
  /** Other wildcard findings (name-prefixed resources), each with its reason. */
  nagPrefixed: { findings: string[]; reason: string }[];
}

/** KMS actions per service, kept in a map so each service gets one statement with its ViaService condition. */
export class KmsUse {
  private readonly use = new Map<KmsService, Set<string>>();
  add(service: KmsService, ...actions: string[]): void {
    const set = this.use.get(service) ?? new Set<string>();
    for (const a of actions) set.add(a);
    this.use.set(service, set);
  }
  statements(keyArn: string): iam.PolicyStatement[] {
    return [...this.use.entries()].map(
      ([service, actions]) =>
        new iam.PolicyStatement({
          actions: [...actions].sort(),
          resources: [keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `${service}.${Aws.REGION}.amazonaws.com` } },
        }),
    );
  }
}

/** How cdk-nag writes a token in a finding: `{"Fn::GetAtt":["Id","Arn"]}` → `<Id.Arn>`. */
export function nagToken(scope: Construct, token: string): string {
  const r = Stack.of(scope).resolve(token) as unknown;
  if (r && typeof r === 'object') {
    const o = r as Record<string, unknown>;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  }
  if (typeof r === 'string') return r;
  throw new Error(`cannot name token ${token} for a cdk-nag suppression`);
}

export function accessPolicy(scope: Construct, access: FunctionAccess, catalog: Catalog): AccessPolicy {
  const statements: iam.PolicyStatement[] = [];
  const nagWildcards: string[] = [];
  const nagPrefixed: AccessPolicy['nagPrefixed'] = [];
  const kms = new KmsUse();

  for (const [name, declared] of Object.entries(access.tables ?? {}) as [TableName, readonly TableAction[]][]) {
    const table = catalog.table(name);
    const def: TableDef = TABLES[name];
    const read = declared.some((a) => TABLE_READS.includes(a));
    const write = declared.some((a) => !TABLE_READS.includes(a));
    // Name each index instead of `<table>/index/*`.
    const indexArns = read ? (def.globalIndexes ?? []).map((g) => `${table.tableArn}/index/${g.name}`) : [];
    statements.push(new iam.PolicyStatement({ actions: declared.map((a) => `dynamodb:${a}`), resources: [table.tableArn, ...indexArns] }));
    kms.add('dynamodb', 'kms:Decrypt', 'kms:DescribeKey');
    if (write) kms.add('dynamodb', 'kms:Encrypt', 'kms:GenerateDataKey');
  }

  for (const [name, mode] of Object.entries(access.streams ?? {}) as [StreamName, 'read' | 'write'][]) {
    const stream = catalog.stream(name);
    statements.push(new iam.PolicyStatement({ actions: mode === 'read' ? STREAM_READ : STREAM_WRITE, resources: [stream.streamArn] }));
    kms.add('kinesis', mode === 'read' ? 'kms:Decrypt' : 'kms:GenerateDataKey');
  }

  if (access.lake) {
    const bucket = catalog.lake();
    const { read = [], write = [], delete: del = [], deleteVersions = [], tag = [], list, listVersions } = access.lake;
    const byPrefix = new Map<string, string[]>();
    for (const [prefixes, actions] of [
      [read, OBJECT_READ],
      [write, OBJECT_WRITE],
      [del, OBJECT_DELETE],
      [deleteVersions, VERSION_DELETE],
      [tag, OBJECT_TAG],
    ] as const) {
      for (const p of prefixes) byPrefix.set(p, [...(byPrefix.get(p) ?? []), ...actions]);
    }
    // One statement per set of actions, on the prefixes that have exactly that set.
    const byActions = new Map<string, string[]>();
    for (const [p, actions] of byPrefix) byActions.set(actions.join(','), [...(byActions.get(actions.join(',')) ?? []), p]);
    for (const [actions, prefixes] of byActions) {
      statements.push(new iam.PolicyStatement({ actions: actions.split(','), resources: prefixes.map((p) => `${bucket.bucketArn}/${p}*`) }));
    }
    for (const p of byPrefix.keys()) nagWildcards.push(`Resource::${nagToken(scope, bucket.bucketArn)}/${p}*`);
    if (list) {
      // Unconditional ListBucket: without it S3 answers HeadObject/GetObject on a missing key with
      // 403 instead of 404, and the implicit check does not carry an `s3:prefix` to condition on.
      // It reveals key names (dates, shard ids, sequence numbers), never object contents.
      statements.push(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    }
    // ListObjectVersions of the keys it rewrote (λ erase): version ids and keys, never contents.
    if (listVersions) statements.push(new iam.PolicyStatement({ actions: ['s3:ListBucketVersions'], resources: [bucket.bucketArn] }));
    if (read.length) kms.add('s3', 'kms:Decrypt');
    // Multipart uploads of SSE-KMS objects need Decrypt as well as GenerateDataKey.
    if (write.length) kms.add('s3', 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  if (access.bus) {
    const bus = catalog.eventBus();
    statements.push(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [bus.eventBusArn] }));
    // The publisher puts only events some rule of the bus can match (docs/eventbridge.md): it lists them.
    const rules = `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${bus.eventBusName}/*`;
    statements.push(new iam.PolicyStatement({ actions: ['events:ListRules'], resources: [rules] }));
    nagPrefixed.push({
      findings: [`Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/${nagToken(scope, bus.eventBusName)}/*`],
      reason: 'ListRules of the Cairn bus (names, patterns, states: never event data): the publisher puts only the events some rule can match.',
    });
  }

  if (access.busRules) {
    // Journey rules only: named `cairn-journey-*`, on the Cairn bus.
    const bus = catalog.eventBus();
    const rules = `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${bus.eventBusName}/${JOURNEYS.rulePrefix}*`;
    statements.push(new iam.PolicyStatement({ actions: BUS_RULES, resources: [rules] }));
    nagPrefixed.push({
      findings: [`Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/${nagToken(scope, bus.eventBusName)}/${JOURNEYS.rulePrefix}*`],
      reason: `Journey rules are created at run time when a marketer applies a journey; the grant is limited to rules named ${JOURNEYS.rulePrefix}* on the Cairn bus.`,
    });
  }

  if (access.recheckSchedules?.length) {
    const recheck = catalog.recheck();
    statements.push(
      new iam.PolicyStatement({
        actions: access.recheckSchedules.map((a) => `scheduler:${a}`),
        resources: [`arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/default/${RECHECK_SCHEDULE_PREFIX}*`],
      }),
    );
    // Creating or updating a schedule passes its target's role; deleting one does not.
    if (access.recheckSchedules.some((a) => a !== 'DeleteSchedule')) {
      statements.push(
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [recheck.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      );
    }
    nagPrefixed.push({
      findings: [`Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/${RECHECK_SCHEDULE_PREFIX}*`],
      reason: `One-time segment re-evaluation schedules are named per profile at run time; the grant is limited to schedules named ${RECHECK_SCHEDULE_PREFIX}* in the default group.`,
    });
  }

  // Secrets read at run time: GetSecretValue on each (not DescribeSecret, not the CDK grantRead's
  // wildcard), and Decrypt of the Cairn key through Secrets Manager, which encrypts them with it.
  if (access.secrets?.length) {
    statements.push(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: access.secrets.map((n) => catalog.secret(n).secretArn) }));
    kms.add('secretsmanager', 'kms:Decrypt');
  }

  statements.push(...kms.statements(catalog.key.keyArn));
  return { statements, nagWildcards, nagPrefixed };
}
