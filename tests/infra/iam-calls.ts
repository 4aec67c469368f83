/**
 * IAM from real calls (docs/security.md#least-privilege-checked-against-real-calls): the AWS calls
 * each function made on the local stack (recorded by shared/aws/clients.ts under CAIRN_RECORD_CALLS)
 * mapped to the IAM action and resource ARN they need, and compared with the function role's
 * policies in the synthesised template, both ways.
 */
import { FUNCTIONS, ENV } from '#shared/config/resources';
import type { RecordedCall } from '#shared/aws/clients';

/** The synth environment of tests/infra/synth.ts. */
export const PARTITION = 'aws';
export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

/** A permission a call needs: IAM action, concrete ARN, and (for KMS) the service it goes through. */
export interface Need {
  fn: string;
  action: string;
  resource: string;
  via?: string;
  from: string;
}

type Tpl = Record<string, { Type: string; Properties?: any }>;

/** A statement of a role's policy, resolved to concrete strings. */
export interface Grant {
  fn: string;
  actions: string[];
  resources: string[];
  via?: string;
  policy: string;
}

/**
 * Resolves the template's intrinsics to the concrete names the local stack uses: every table,
 * stream, bucket, bus and role a function's environment names (`{Ref: X}` / `{Fn::GetAtt: [X, Arn]}`)
 * gets the local value of that environment variable (local/stack.ts localEnv), so a recorded
 * `table/cairn-profiles` and the template's `{Fn::GetAtt: [ProfilesTable…, Arn]}` meet as the
 * same ARN. Anything else resolves to `${LogicalId}`, which no call can match.
 */
export class TemplateNames {
  private readonly refs = new Map<string, string>();
  private readonly arns = new Map<string, string>();
  /** Template value → local value of literal environment values that differ (the SES sender). */
  readonly literal = new Map<string, string>();

  constructor(
    private readonly resources: Tpl,
    localEnv: Record<string, string>,
  ) {
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      for (const [k, v] of Object.entries((r.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>)) {
        const local = localEnv[k];
        if (local === undefined || v === null) continue;
        if (typeof v === 'string') {
          if (v !== local) this.literal.set(local, v);
        } else if (typeof v === 'object' && 'Ref' in v) this.refs.set((v as { Ref: string }).Ref, local);
        else if (typeof v === 'object' && 'Fn::GetAtt' in v) this.arns.set((v as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!, local);
      }
    }
  }

  resolve(v: unknown): string {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) throw new Error(`cannot resolve a list: ${JSON.stringify(v)}`);
    const o = v as Record<string, any>;
    if (typeof o.Ref === 'string') {
      const pseudo: Record<string, string> = {
        'AWS::Partition': PARTITION,
        'AWS::Region': REGION,
        'AWS::AccountId': ACCOUNT,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      return pseudo[o.Ref] ?? this.refs.get(o.Ref) ?? `\${${o.Ref}}`;
    }
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      if (attr !== 'Arn') return `\${${id}.${attr}}`;
      if (this.arns.has(id)) return this.arns.get(id)!;
      const name = this.refs.get(id);
      const type = this.resources[id]?.Type;
      if (name !== undefined) {
        if (type === 'AWS::DynamoDB::Table') return `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
        if (type === 'AWS::Kinesis::Stream') return `arn:${PARTITION}:kinesis:${REGION}:${ACCOUNT}:stream/${name}`;
        if (type === 'AWS::S3::Bucket') return `arn:${PARTITION}:s3:::${name}`;
        if (type === 'AWS::Events::EventBus') return `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
      }
      return `\${${id}.Arn}`;
    }
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => this.resolve(p)).join(sep);
    }
    return `\${${JSON.stringify(v)}}`;
  }
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every Allow statement of every Cairn function's role, by function key (FUNCTIONS). */
export function grantsOf(resources: Tpl, names: TemplateNames): Grant[] {
  const roleOf = new Map<string, string>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const m = /^Cairn (\w+) \(/.exec(String(r.Properties?.Description ?? ''));
    const role = r.Properties?.Role?.['Fn::GetAtt']?.[0];
    if (m && m[1]! in FUNCTIONS && role) roleOf.set(role, m[1]!);
  }
  const out: Grant[] = [];
  for (const [id, r] of Object.entries(resources)) {
    const attached: { fn: string; doc: any }[] = [];
    if (r.Type === 'AWS::IAM::Policy') {
      for (const role of list(r.Properties?.Roles)) {
        const fn = roleOf.get((role as { Ref?: string }).Ref ?? '');
        if (fn) attached.push({ fn, doc: r.Properties.PolicyDocument });
      }
    }
    if (r.Type === 'AWS::IAM::Role' && roleOf.has(id)) {
      const fn = roleOf.get(id)!;
      if (list(r.Properties?.ManagedPolicyArns).length) throw new Error(`role of ${fn} has managed policies: not checked`);
      for (const p of list(r.Properties?.Policies) as { PolicyDocument: unknown }[]) attached.push({ fn, doc: p.PolicyDocument });
    }
    for (const { fn, doc } of attached) {
      for (const st of list(doc.Statement) as any[]) {
        if (st.Effect !== 'Allow' || st.NotAction || st.NotResource) throw new Error(`${fn}: unexpected statement shape in ${id}: ${JSON.stringify(st)}`);
        const via = st.Condition?.StringEquals?.['kms:ViaService'];
        out.push({
          fn,
          policy: id,
          actions: list(st.Action) as string[],
          resources: list(st.Resource).map((x) => names.resolve(x)),
          ...(via ? { via: names.resolve(via).split('.')[0] } : {}),
        });
      }
    }
  }
  return out;
}

/** IAM wildcard match (`*`, `?`; case-sensitive as resources are; actions compared lower-case). */
export function iamMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    's',
  );
  return re.test(value);
}
export const actionMatch = (pattern: string, action: string) => iamMatch(pattern.toLowerCase(), action.toLowerCase());

/** An Athena query execution as the local Athena answers GetQueryExecution (the workgroup it ran in, its database and SQL). */
export interface AthenaExecution {
  id: string;
  workgroup: string;
  database?: string;
  query: string;
}

/**
 * A recorded call → the permissions it needs. Unknown operations throw (teach this map).
 * `emailFrom`: the template's sender for the local one (the identity differs between homes).
 * `executions`: the Athena executions the calls name (an execution is authorised on its workgroup).
 */
export function needsOf(c: RecordedCall, names: TemplateNames, executions: ReadonlyMap<string, AthenaExecution> = new Map()): Need[] {
  const arn = (svc: string, res: string) => `arn:${PARTITION}:${svc}:${REGION}:${ACCOUNT}:${res}`;
  const need = (action: string, resource: string): Need => ({ fn: c.fn, action, resource, from: `${c.service} ${c.operation} ${c.resource}` });
  switch (c.service) {
    case 'dynamodb': {
      const tx: Record<string, string> = {
        'TransactWriteItems.Put': 'PutItem',
        'TransactWriteItems.Update': 'UpdateItem',
        'TransactWriteItems.Delete': 'DeleteItem',
        'TransactWriteItems.ConditionCheck': 'ConditionCheckItem',
        'TransactGetItems.Get': 'GetItem',
        'BatchExecuteStatement.INSERT': 'PartiQLInsert',
        'BatchExecuteStatement.UPDATE': 'PartiQLUpdate',
        'BatchExecuteStatement.DELETE': 'PartiQLDelete',
        'BatchExecuteStatement.SELECT': 'PartiQLSelect',
      };
      const op = tx[c.operation] ?? c.operation;
      if (op.includes('.')) throw new Error(`unmapped DynamoDB operation ${c.operation}`);
      return [need(`dynamodb:${op}`, arn('dynamodb', c.resource))];
    }
    case 'kinesis':
      return [need(`kinesis:${c.operation}`, arn('kinesis', c.resource))];
    case 's3': {
      const [bucketPart] = c.resource.split('?');
      const bucketArn = `arn:${PARTITION}:s3:::${bucketPart!.split('/')[0]}`;
      const object = `arn:${PARTITION}:s3:::${c.resource}`;
      const map: Record<string, [string, string]> = {
        GetObject: ['s3:GetObject', object],
        HeadObject: ['s3:GetObject', object],
        'CopyObject.source': ['s3:GetObject', object],
        PutObject: ['s3:PutObject', object],
        CopyObject: ['s3:PutObject', object],
        CreateMultipartUpload: ['s3:PutObject', object],
        UploadPart: ['s3:PutObject', object],
        CompleteMultipartUpload: ['s3:PutObject', object],
        AbortMultipartUpload: ['s3:AbortMultipartUpload', object],
        DeleteObject: ['s3:DeleteObject', object],
        DeleteObjects: ['s3:DeleteObject', object],
        'DeleteObject.version': ['s3:DeleteObjectVersion', object],
        'PutObject.tagging': ['s3:PutObjectTagging', object],
        GetObjectTagging: ['s3:GetObjectTagging', object],
        PutObjectTagging: ['s3:PutObjectTagging', object],
        ListObjectVersions: ['s3:ListBucketVersions', bucketArn],
        ListObjectsV2: ['s3:ListBucket', bucketArn],
        ListObjects: ['s3:ListBucket', bucketArn],
        HeadBucket: ['s3:ListBucket', bucketArn],
        // S3 answers a missing key with 404 only to a caller allowed s3:ListBucket on the bucket (403 otherwise),
        // and the code reads that 404 as "not there yet" (the recorder notes each one).
        'GetObject.NotFound': ['s3:ListBucket', bucketArn],
        'HeadObject.NotFound': ['s3:ListBucket', bucketArn],
      };
      const m = map[c.operation];
      if (!m) throw new Error(`unmapped S3 operation ${c.operation}`);
      return [need(...m)];
    }
    case 'events': {
      const res = c.resource.replace(/^rule\/default\//, 'rule/');
      return [need(`events:${c.operation}`, arn('events', res))];
    }
    case 'scheduler':
      return [need(`scheduler:${c.operation}`, arn('scheduler', c.resource))];
    case 'iam':
      return [need(`iam:${c.operation}`, c.resource)];
    case 'ses': {
      const from = c.resource.replace(/^identity\//, '');
      return [need('ses:SendEmail', arn('ses', `identity/${names.literal.get(from) ?? from}`))];
    }
    case 'sns':
      return [need('sns:Publish', c.resource === 'phone' ? '*' : c.resource)];
    case 'secretsmanager':
      // The call names the secret as the function's environment does (the template's Ref resolves to the same local name).
      return [need(`secretsmanager:${c.operation}`, c.resource)];
    case 'athena': {
      // Every Athena call Cairn makes is authorised on the workgroup (Start names it; the others name an execution in it).
      if (c.resource.startsWith('workgroup/')) return [need(`athena:${c.operation}`, arn('athena', c.resource))];
      const x = executions.get(c.resource.replace(/^query-execution\//, ''));
      if (!x) throw new Error(`athena ${c.operation}: execution ${c.resource} not known to the local Athena`);
      return [need(`athena:${c.operation}`, arn('athena', `workgroup/${x.workgroup}`))];
    }
  }
  throw new Error(`unmapped service ${c.service}`);
}

/** The lake's Glue tables in the template: name → the S3 location it reads (`<bucket>/<prefix>`), or a view's SQL. */
export function glueTables(resources: Tpl, names: TemplateNames): Map<string, { location?: string; viewSql?: string }> {
  const out = new Map<string, { location?: string; viewSql?: string }>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::Glue::Table') continue;
    const t = r.Properties.TableInput;
    if (t.TableType === 'VIRTUAL_VIEW') {
      const b64 = /Presto View: ([A-Za-z0-9+/=]+)/.exec(String(t.ViewOriginalText))?.[1];
      out.set(t.Name, { viewSql: (JSON.parse(Buffer.from(b64 ?? '', 'base64').toString('utf8')) as { originalSql: string }).originalSql });
    } else out.set(t.Name, { location: names.resolve(t.StorageDescriptor.Location).replace(/^s3:\/\//, '') });
  }
  return out;
}

/** The lake tables a statement reads (`FROM`/`JOIN` a table of the database), through the views it reads too. */
export function tablesRead(sql: string, tables: ReadonlyMap<string, { viewSql?: string }>, seen = new Set<string>()): Set<string> {
  for (const m of sql.toLowerCase().matchAll(/\b(?:from|join)\s+"?([a-z_][a-z0-9_]*)"?/g)) {
    const name = m[1]!;
    const t = tables.get(name);
    if (!t || seen.has(name)) continue;
    seen.add(name);
    if (t.viewSql) tablesRead(t.viewSql, tables, seen);
  }
  return seen;
}

/**
 * What Athena does with the credentials of the caller that started a query
 * (infra/constructs/lake-query-access.ts and the AWS pages it cites): read the Glue database, and
 * each table and view the statement reads (GetTable on the table, its database and the catalog),
 * list and read each table's objects, locate the buckets, write the results under the workgroup's
 * output location; GetQueryResults reads them back.
 */
export function athenaNeeds(
  fn: string,
  x: AthenaExecution,
  tables: ReadonlyMap<string, { location?: string; viewSql?: string }>,
  outputLocation: string,
): Need[] {
  const from = `athena ${x.id} (the query's own reads and results)`;
  const need = (action: string, resource: string): Need => ({ fn, action, resource, from });
  const glue = (res: string) => `arn:${PARTITION}:glue:${REGION}:${ACCOUNT}:${res}`;
  const s3 = (res: string) => `arn:${PARTITION}:s3:::${res}`;
  const db = x.database ?? '?';
  const ancestors = [glue('catalog'), glue(`database/${db}`)];
  const out: Need[] = ancestors.map((r) => need('glue:GetDatabase', r));
  const results = outputLocation.replace(/^s3:\/\//, '');
  const buckets = new Set([results.split('/')[0]!]);
  for (const name of tablesRead(x.query, tables)) {
    out.push(...ancestors.map((r) => need('glue:GetTable', r)), need('glue:GetTable', glue(`table/${db}/${name}`)));
    const location = tables.get(name)!.location;
    if (!location) continue;
    const bucket = location.split('/')[0]!;
    buckets.add(bucket);
    out.push(need('s3:ListBucket', s3(bucket)), need('s3:GetObject', s3(`${location}<object of ${name}>`)));
  }
  for (const b of buckets) out.push(need('s3:GetBucketLocation', s3(b)));
  out.push(need('s3:PutObject', s3(`${results}${x.id}.csv`)), need('s3:GetObject', s3(`${results}${x.id}.csv`)));
  return out;
}

/**
 * KMS is not observable locally: encryption at rest is done by DynamoDB, Kinesis, S3 and SQS on
 * the caller's behalf (`kms:ViaService`), and the emulators encrypt nothing. What a call implies:
 * - DynamoDB (table encrypted with the Cairn key): any item call → kms:Decrypt, kms:DescribeKey;
 *   any write → also kms:Encrypt, kms:GenerateDataKey.
 * - Kinesis: PutRecord(s) → kms:GenerateDataKey; GetRecords → kms:Decrypt.
 * - S3 (SSE-KMS): GetObject → kms:Decrypt; PutObject → kms:GenerateDataKey and kms:Decrypt
 *   (multipart uploads of SSE-KMS objects need both). ListBucket, DeleteObject: none.
 * - SQS (encrypted queue): SendMessage → kms:GenerateDataKey, kms:Decrypt.
 * - Secrets Manager (secrets encrypted with the Cairn key): GetSecretValue → kms:Decrypt.
 */
export function kmsNeeds(n: Need): Need[] {
  const [svc, op] = n.action.split(':') as [string, string];
  const k = (...actions: string[]) => actions.map((a): Need => ({ fn: n.fn, action: a, resource: 'cairn-key', via: svc, from: `${n.action} ${n.resource}` }));
  if (svc === 'dynamodb' && op !== 'DescribeTable') {
    return /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|PartiQLInsert|PartiQLUpdate|PartiQLDelete)$/.test(op)
      ? k('kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey')
      : k('kms:Decrypt', 'kms:DescribeKey');
  }
  if (svc === 'kinesis') return /^PutRecords?$/.test(op) ? k('kms:GenerateDataKey') : op === 'GetRecords' ? k('kms:Decrypt') : [];
  if (svc === 's3') return op === 'GetObject' ? k('kms:Decrypt') : op === 'PutObject' ? k('kms:GenerateDataKey', 'kms:Decrypt') : [];
  if (svc === 'sqs') return op === 'SendMessage' ? k('kms:GenerateDataKey', 'kms:Decrypt') : [];
  if (svc === 'secretsmanager') return op === 'GetSecretValue' ? k('kms:Decrypt') : [];
  return [];
}

/** Is the need allowed by one of the function's grants? (Conditions other than kms:ViaService are assumed met: see docs.) */
export function allowedBy(n: Need, grants: Grant[]): Grant | undefined {
  return grants.find(
    (g) =>
      g.fn === n.fn &&
      g.actions.some((a) => actionMatch(a, n.action)) &&
      (n.via !== undefined ? g.via === n.via : g.resources.some((r) => iamMatch(r, n.resource))),
  );
}

export const envNames = ENV;
