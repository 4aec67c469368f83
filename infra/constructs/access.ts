/**
 * Least-privilege IAM statements for a function's declared `access` (shared/config/resources.ts).
 * Written out action by action instead of the CDK `grant*` helpers, which add wildcard actions
 * (`kms:GenerateDataKey*`, `s3:GetObject*`, …) and whole-bucket resources. KMS use is limited to
 * the services the function reaches through (`kms:ViaService`).
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { JOURNEYS, TABLES, type FunctionAccess, type TableDef } from '../../shared/config/resources';
import type { Catalog, StreamName, TableName } from './catalog';

export const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'];
export const TABLE_WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'];
export const STREAM_READ = ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:DescribeStreamConsumer', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards', 'kinesis:ListStreams', 'kinesis:SubscribeToShard'];
export const STREAM_WRITE = ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:ListShards'];
export const OBJECT_READ = ['s3:GetObject'];
export const OBJECT_WRITE = ['s3:PutObject', 's3:AbortMultipartUpload'];
/**
 * `lake.delete` (λ erase only). On the versioned lake bucket a DeleteObject without a version id
 * adds a delete marker; the noncurrent version expires by lifecycle rule (infra/constructs/lake.ts).
 * No s3:DeleteObjectVersion: no function can remove a version.
 */
export const OBJECT_DELETE = ['s3:DeleteObject'];
export const BUS_RULES = ['events:PutRule', 'events:PutTargets', 'events:DeleteRule', 'events:RemoveTargets', 'events:DescribeRule', 'events:ListTargetsByRule'];
export const RECHECK_SCHEDULES = ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'];
/** Name prefix of recheck schedules (shared/segments/schedule.ts), in the default schedule group. */
export const RECHECK_SCHEDULE_PREFIX = 'cairn-recheck-';

type KmsService = 'dynamodb' | 'kinesis' | 's3' | 'sqs';

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
    return [...this.use.entries()].map(([service, actions]) => new iam.PolicyStatement({
      actions: [...actions].sort(),
      resources: [keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `${service}.${Aws.REGION}.amazonaws.com` } },
    }));
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

  for (const [name, mode] of Object.entries(access.tables ?? {}) as [TableName, 'read' | 'write' | 'readWrite'][]) {
    const table = catalog.table(name);
    const def: TableDef = TABLES[name];
    const read = mode !== 'write';
    const write = mode !== 'read';
    const actions = [...new Set([...(read ? TABLE_READ : []), ...(write ? TABLE_WRITE : [])])];
    // Name each index instead of `<table>/index/*`.
    const indexArns = read ? (def.globalIndexes ?? []).map((g) => `${table.tableArn}/index/${g.name}`) : [];
    statements.push(new iam.PolicyStatement({ actions, resources: [table.tableArn, ...indexArns] }));
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
    const { access: mode, prefixes, delete: del } = access.lake;
    const objectPatterns = prefixes?.length ? prefixes.map((p) => `${p}*`) : ['*'];
    const objects = objectPatterns.map((p) => `${bucket.bucketArn}/${p}`);
    for (const p of objectPatterns) nagWildcards.push(`Resource::${nagToken(scope, bucket.bucketArn)}/${p}`);
    const actions = [...(mode !== 'write' ? OBJECT_READ : []), ...(mode !== 'read' ? OBJECT_WRITE : []), ...(del ? OBJECT_DELETE : [])];
    statements.push(new iam.PolicyStatement({ actions, resources: objects }));
    if (mode !== 'write') {
      // Unconditional ListBucket: without it S3 answers HeadObject/GetObject on a missing key with
      // 403 instead of 404, and the implicit check does not carry an `s3:prefix` to condition on.
      // It reveals key names (dates, shard ids, sequence numbers), never object contents.
      statements.push(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
      kms.add('s3', 'kms:Decrypt');
    }
    // Multipart uploads of SSE-KMS objects need Decrypt as well as GenerateDataKey.
    if (mode !== 'read') kms.add('s3', 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  if (access.bus) {
    statements.push(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [catalog.eventBus().eventBusArn] }));
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

  if (access.recheckSchedules) {
    const recheck = catalog.recheck();
    statements.push(new iam.PolicyStatement({
      actions: RECHECK_SCHEDULES,
      resources: [`arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/default/${RECHECK_SCHEDULE_PREFIX}*`],
    }));
    statements.push(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [recheck.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }));
    nagPrefixed.push({
      findings: [`Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/${RECHECK_SCHEDULE_PREFIX}*`],
      reason: `One-time segment re-evaluation schedules are named per profile at run time; the grant is limited to schedules named ${RECHECK_SCHEDULE_PREFIX}* in the default group.`,
    });
  }

  statements.push(...kms.statements(catalog.key.keyArn));
  return { statements, nagWildcards, nagPrefixed };
}
