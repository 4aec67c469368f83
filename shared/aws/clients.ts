/**
 * AWS SDK v3 clients, built once per process. The only difference between the two homes is the
 * endpoint: on Lambda none is set; the local runtime sets `CAIRN_ENDPOINT_<SERVICE>` to its
 * emulators. Every client uses the HTTP/1.1 handler (kinesalite cannot speak HTTP/2) with keep-alive.
 * Every request is counted per service and operation, so the benchmarks can report requests per event.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { emulatorConfig } from './emulators';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AthenaClient } from '@aws-sdk/client-athena';

import type { Service } from './emulators';

export type { Service };

/** Request counters: `${service}.${Operation}` → calls; DynamoDB consumed capacity → units. */
export const requestCounts = new Map<string, number>();
export function countRequest(key: string, n = 1): void {
  requestCounts.set(key, (requestCounts.get(key) ?? 0) + n);
}
export function resetRequestCounts(): void {
  requestCounts.clear();
}

/**
 * Call recording (the IAM-from-real-calls check, tests/infra/iam-from-calls.test.ts, docs/security.md).
 * When `CAIRN_RECORD_CALLS=<file>` is set, every AWS call a function makes is appended to that file
 * once per distinct `{fn, service, operation, resource}` (JSON lines; several threads may append).
 * `fn` is the function whose invocation made the call: the local runtime runs each invocation in
 * `runAsFunction` (local/lambda.ts `invokeHandler`); calls outside any invocation (the runtime's own
 * setup, tests) are not recorded. Unset: one environment lookup per call, nothing else.
 */
export const RECORD_CALLS_VAR = 'CAIRN_RECORD_CALLS';
export interface RecordedCall {
  fn: string;
  service: string;
  operation: string;
  resource: string;
}
const currentFunction = new AsyncLocalStorage<string>();
/** Runs `f` as (part of) an invocation of function `fn` (key of FUNCTIONS), when recording is on. */
export function runAsFunction<T>(fn: string, f: () => T): T {
  return process.env[RECORD_CALLS_VAR] ? currentFunction.run(fn, f) : f();
}
const recorded = new Set<string>();
// biome-ignore lint/suspicious/noExplicitAny: any command's input, read field by field per service below
function recordCall(file: string, service: Service, operation: string, input: any): void {
  const fn = currentFunction.getStore();
  if (!fn) return;
  for (const [svc, op, resource] of callResources(service, operation, input ?? {})) {
    const line = JSON.stringify({ fn, service: svc, operation: op, resource } satisfies RecordedCall);
    if (recorded.has(`${file}\n${line}`)) continue;
    recorded.add(`${file}\n${line}`);
    appendFileSync(file, line + '\n');
  }
}
/**
 * The resources one call acts on, as `[service, operation, resource]` (IAM-relevant parts only):
 * DynamoDB `table/<name>` (`/index/<name>` for an index query; one per table of a batch or
 * transaction, with the transaction item's kind as operation), Kinesis `stream/<name>`, S3
 * `<bucket>/<key>` or `<bucket>` (listing, with the prefix after `?prefix=`; a copy also reads its
 * source), EventBridge `event-bus/<bus>` or `rule/<bus>/<name>`, Scheduler `schedule/<group>/<name>`
 * (plus `iam PassRole <role arn>` for the target's role), SES `identity/<from>`, SNS the topic or
 * `phone`, Secrets Manager the secret as the call names it (its ARN on AWS, its name locally).
 */
// biome-ignore lint/suspicious/noExplicitAny: any command's input, read field by field per service below
export function callResources(service: Service, op: string, i: any): [string, string, string][] {
  const one = (resource: string): [string, string, string][] => [[service, op, resource]];
  switch (service) {
    case 'dynamodb': {
      if (i.RequestItems) return Object.keys(i.RequestItems).map((t) => [service, op, `table/${t}`]);
      // PartiQL: one per statement kind and table (IAM authorises each statement: PartiQLInsert, …).
      if (i.Statements) {
        const seen = new Set<string>();
        for (const st of i.Statements as { Statement?: string }[]) {
          const m = /^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\s.*?\sFROM)\s+"?([^"\s]+)"?/is.exec(st.Statement ?? '');
          seen.add(`${op}.${(m?.[1] ?? 'unknown').split(/\s/)[0]!.toUpperCase()}\u0000table/${m?.[2] ?? '?'}`);
        }
        return [...seen].map((k): [string, string, string] => [service, ...(k.split('\u0000') as [string, string])]);
      }
      if (i.TransactItems) {
        return (i.TransactItems as Record<string, { TableName?: string }>[]).flatMap((item) =>
          Object.entries(item).map(([kind, v]): [string, string, string] => [service, `${op}.${kind}`, `table/${v?.TableName}`]),
        );
      }
      return one(`table/${i.TableName}${i.IndexName ? `/index/${i.IndexName}` : ''}`);
    }
    case 'kinesis':
      return one(i.StreamName ? `stream/${i.StreamName}` : String(i.StreamARN ?? '').replace(/^arn:[^:]*:kinesis:[^:]*:[^:]*:/, ''));
    case 's3': {
      if (i.Key === undefined && !i.Delete) return one(`${i.Bucket}${i.Prefix !== undefined ? `?prefix=${i.Prefix}` : ''}`);
      // A version's delete is its own IAM action (s3:DeleteObjectVersion); a PUT with tags needs s3:PutObjectTagging too.
      const out: [string, string, string][] = i.Delete
        ? (i.Delete.Objects ?? []).map((o: { Key: string }) => [service, op, `${i.Bucket}/${o.Key}`])
        : [[service, op === 'DeleteObject' && i.VersionId ? 'DeleteObject.version' : op, `${i.Bucket}/${i.Key}`]];
      if (op === 'PutObject' && i.Tagging) out.push([service, 'PutObject.tagging', `${i.Bucket}/${i.Key}`]);
      if (op === 'CopyObject' && typeof i.CopySource === 'string')
        out.push([service, 'CopyObject.source', decodeURIComponent(i.CopySource.split('?')[0]!.replace(/^\//, ''))]);
      return out;
    }
    case 'events': {
      const bus = (b?: string) => (b ?? 'default').replace(/^arn:[^:]*:events:[^:]*:[^:]*:event-bus\//, '');
      if (op === 'PutEvents')
        return [...new Set((i.Entries ?? []).map((e: { EventBusName?: string }) => bus(e.EventBusName)))].map((b) => [service, op, `event-bus/${b}`]);
      // ListRules acts on the bus's rules (granted on `rule/<bus>/*`).
      if (op === 'ListRules') return one(`rule/${bus(i.EventBusName)}/*`);
      const rule = i.Name ?? i.Rule;
      return one(rule !== undefined ? `rule/${bus(i.EventBusName)}/${rule}` : `event-bus/${bus(i.EventBusName)}`);
    }
    case 'scheduler': {
      if (/ScheduleGroup/.test(op)) return one(`schedule-group/${i.Name}`);
      const out = one(`schedule/${i.GroupName ?? 'default'}/${i.Name}`);
      if (i.Target?.RoleArn) out.push(['iam', 'PassRole', i.Target.RoleArn]);
      return out;
    }
    case 'ses':
      return one(`identity/${i.FromEmailAddress ?? '?'}`);
    case 'sns':
      return one(i.TopicArn ?? i.TargetArn ?? (i.PhoneNumber ? 'phone' : '?'));
    case 'secretsmanager':
      return one(String(i.SecretId ?? i.Name ?? '?'));
    case 'athena':
      // Start names its workgroup; the others name an execution, which lives in one.
      return one(i.WorkGroup !== undefined ? `workgroup/${i.WorkGroup}` : `query-execution/${i.QueryExecutionId ?? '?'}`);
  }
}

const endpointVar = (s: Service) => `CAIRN_ENDPOINT_${s.toUpperCase()}`;
export const endpointFor = (s: Service): string | undefined => process.env[endpointVar(s)] || undefined;

/**
 * Timeouts and retries of every handler's client, in one place. The SDK's standard retry strategy
 * (exponential backoff with jitter, throttling and transient errors) runs up to `maxAttempts` times.
 */
export const CLIENT_POLICY = {
  /** `CAIRN_AWS_MAX_ATTEMPTS` (README) or 8. */
  maxAttempts: () => Number(process.env.CAIRN_AWS_MAX_ATTEMPTS ?? 8),
  connectionTimeoutMs: 3_000,
  /** `CAIRN_AWS_REQUEST_TIMEOUT_MS` (set on each function by the CDK: a third of its timeout, config/resources.ts `requestTimeoutMs`) or 30 s. */
  requestTimeoutMs: () => Number(process.env.CAIRN_AWS_REQUEST_TIMEOUT_MS) || 30_000,
  maxSockets: 64,
} as const;

function baseConfig(service: Service) {
  const endpoint = endpointFor(service);
  const local = endpoint !== undefined;
  return {
    endpoint,
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(local ? { credentials: emulatorConfig(service, endpoint).credentials } : {}),
    maxAttempts: CLIENT_POLICY.maxAttempts(),
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: CLIENT_POLICY.maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: CLIENT_POLICY.maxSockets }),
      connectionTimeout: CLIENT_POLICY.connectionTimeoutMs,
      requestTimeout: CLIENT_POLICY.requestTimeoutMs(),
    }),
  };
}

const isNotFound = (e: unknown): boolean => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.$metadata?.httpStatusCode === 404 || err?.name === 'NotFound' || err?.name === 'NoSuchKey';
};

/** Keys of the billing counters (`billing.…`): what AWS bills by besides requests and DynamoDB units. */
export const BILLED = {
  /** Kinesis records put, and PUT payload units (one per record per started 25 KB). */
  kinesisRecords: 'billing.kinesis.records',
  kinesisPutUnits: 'billing.kinesis.put_units',
  /** EventBridge entries put, and the custom events billed for them (one per entry per started 64 KB). */
  eventEntries: 'billing.events.entries',
  eventsBilled: 'billing.events.billed',
  /** Bytes of S3 objects put (what storage grows by). */
  s3PutBytes: 'billing.s3.put_bytes',
  /** One-time schedules created, `.<group>`. */
  schedulesCreated: 'billing.scheduler.created',
} as const;

const byteLength = (v: unknown): number => (typeof v === 'string' ? Buffer.byteLength(v) : v instanceof Uint8Array ? v.byteLength : 0);

/** Counts what a call is billed by, from its input (the cost bench, bench/cost.ts). */
// biome-ignore lint/suspicious/noExplicitAny: any command's input, read field by field per service
function countBilled(service: Service, op: string, input: any): void {
  if (service === 'kinesis' && (op === 'PutRecords' || op === 'PutRecord')) {
    const records: { Data?: unknown; PartitionKey?: string }[] = op === 'PutRecords' ? (input?.Records ?? []) : [input ?? {}];
    let units = 0;
    for (const r of records) units += Math.max(1, Math.ceil((byteLength(r.Data) + byteLength(r.PartitionKey)) / (25 * 1024)));
    countRequest(BILLED.kinesisRecords, records.length);
    countRequest(BILLED.kinesisPutUnits, units);
  } else if (service === 'events' && op === 'PutEvents') {
    const entries: { Source?: string; DetailType?: string; Detail?: string; Resources?: string[] }[] = input?.Entries ?? [];
    let billed = 0;
    for (const e of entries) {
      // EventBridge sizes an entry as Time (14 bytes) + Source + DetailType + Detail + Resources.
      const size = 14 + byteLength(e.Source) + byteLength(e.DetailType) + byteLength(e.Detail) + (e.Resources ?? []).reduce((s, r) => s + byteLength(r), 0);
      billed += Math.max(1, Math.ceil(size / (64 * 1024)));
    }
    countRequest(BILLED.eventEntries, entries.length);
    countRequest(BILLED.eventsBilled, billed);
  } else if (service === 's3' && op === 'PutObject') countRequest(BILLED.s3PutBytes, byteLength(input?.Body));
  // Schedules that will fire (each a Scheduler invocation and an invocation of its target), by group.
  else if (service === 'scheduler' && op === 'CreateSchedule') countRequest(`${BILLED.schedulesCreated}.${input?.GroupName ?? 'default'}`);
}

/**
 * How much this thread's AWS requests overlapped (the cost bench's estimate of billed Lambda
 * durations, bench/cost.ts): `aws.request_us` sums each request's time, `aws.busy_us` the time at
 * least one was in flight. Equal when requests ran one after another; a quarter when four always
 * ran together.
 */
export const OVERLAP = { requestUs: 'aws.request_us', busyUs: 'aws.busy_us' } as const;
let inFlight = 0;
let busySince = 0;
function requestStarted(): number {
  const now = performance.now();
  if (inFlight++ === 0) busySince = now;
  return now;
}
function requestEnded(started: number): void {
  const now = performance.now();
  countRequest(OVERLAP.requestUs, Math.round((now - started) * 1000));
  if (--inFlight === 0) countRequest(OVERLAP.busyUs, Math.round((now - busySince) * 1000));
}

/** DynamoDB's ConsumedCapacity, as much of it as the counter reads. */
type Capacity = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number; TableName?: string };
// biome-ignore lint/suspicious/noExplicitAny: each client types its middleware stack by its own commands; these middlewares serve every client
type AnyClient = { middlewareStack: { add: (mw: any, opts: any) => void } };
const READ_OPS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
/** Operations that take ReturnConsumedCapacity. */
const CAPACITY_OPS = new Set([...READ_OPS, 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
function counted<T extends AnyClient>(service: Service, client: T): T {
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: a middleware for every client's commands (see AnyClient)
    (next: any, context: any) => async (args: any) => {
      const op: string = context.commandName?.replace(/Command$/, '') ?? 'unknown';
      countRequest(`${service}.${op}`);
      countBilled(service, op, args.input);
      // Every DynamoDB call reports the units it consumed (free of charge), so the counters see all of them.
      if (service === 'dynamodb' && CAPACITY_OPS.has(op) && args.input && !args.input.ReturnConsumedCapacity) args.input.ReturnConsumedCapacity = 'TOTAL';
      const file = process.env[RECORD_CALLS_VAR];
      if (file) recordCall(file, service, op, args.input);
      let out: { output?: { ConsumedCapacity?: Capacity | Capacity[] } };
      const started = requestStarted();
      try {
        out = await next(args);
      } catch (e) {
        // A missing object answered 404 (not 403) only because the caller may list the bucket: recorded as `<op>.NotFound`.
        if (file && service === 's3' && (op === 'GetObject' || op === 'HeadObject') && isNotFound(e)) recordCall(file, service, `${op}.NotFound`, args.input);
        throw e;
      } finally {
        requestEnded(started);
      }
      const cc = out?.output?.ConsumedCapacity;
      if (cc) {
        // AWS splits read/write units only for some calls, and dynalite never: classify by operation.
        const unit = READ_OPS.has(op) ? 'dynamodb.rcu' : 'dynamodb.wcu';
        for (const c of Array.isArray(cc) ? cc : [cc]) {
          const n = c.CapacityUnits ?? c.ReadCapacityUnits ?? c.WriteCapacityUnits ?? 0;
          if (!n) continue;
          countRequest(unit, n);
          // Per table, for the cost bench's breakdown (`billing.dynamodb.wcu.<table>`).
          if (c.TableName) countRequest(`billing.${unit}.${c.TableName}`, n);
        }
      }
      return out;
    },
    { step: 'initialize', name: 'cairnRequestCounter' },
  );
  return withFaults(service, client);
}

/**
 * Fault injection — FOR THE FAULT PROOFS ONLY (tests/faults/aws-faults.test.ts, docs/local.md).
 * `CAIRN_FAULT_RATE` (0..1; unset = off, and then no middleware is added at all) makes that share
 * of data-plane calls fail, on the services of `CAIRN_FAULT_SERVICES` (comma list, default all).
 * The errors look like real ones to the SDK's standard retry strategy (@smithy service error
 * classification: throttling by name, transient by 5xx status / `TimeoutError`), so the SDK
 * retries them within `maxAttempts` and its retry quota, and some escape to the handler:
 * - 40% throttling (`ThrottlingException` / `ProvisionedThroughputExceededException`, 400), before sending;
 * - 30% `ServiceUnavailable` (503), before sending;
 * - 30% response lost: the request WAS sent and applied, then the caller sees a `TimeoutError`
 *   (what a socket timeout after the write looks like) — the case that tests idempotency.
 * Control-plane calls (Create/Delete/Describe/List…, HeadBucket, and GetSchedule: only the local
 * stack's start reads the schedules the CDK declares, as CloudFormation would) are never faulted, so
 * startup works (a faulted GetSchedule at start failed a clean-clone CI's fault suite). Counted in `requestCounts` as `fault.injected`, `fault.<service>.<Operation>`, `fault.response_lost`.
 */
const CONTROL_PLANE = /^(Create|Delete(Table|Stream|Bucket)|Describe|List|HeadBucket|GetSchedule(Group)?$|UpdateTable|UpdateStream|Tag|Untag)/;
function faultPlan(service: Service): number {
  const rate = Math.min(1, Number(process.env.CAIRN_FAULT_RATE ?? 0) || 0);
  if (!(rate > 0)) return 0;
  const only = process.env.CAIRN_FAULT_SERVICES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return only?.length && !only.includes(service) ? 0 : rate;
}
function injectedError(name: string, status: number, message: string, retryable?: { throttling: boolean }): Error {
  return Object.assign(new Error(`${message} (injected fault)`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
    ...(retryable ? { $retryable: retryable } : {}),
  });
}
function withFaults<T extends AnyClient>(service: Service, client: T): T {
  const rate = faultPlan(service);
  if (!rate) return client;
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: a middleware for every client's commands (see AnyClient)
    (next: any, context: any) => async (args: any) => {
      const op: string = context.commandName?.replace(/Command$/, '') ?? 'unknown';
      if (CONTROL_PLANE.test(op) || Math.random() >= rate) return next(args);
      countRequest('fault.injected');
      countRequest(`fault.${service}.${op}`);
      const kind = Math.random();
      if (kind < 0.4) {
        const name = service === 'dynamodb' || service === 'kinesis' ? 'ProvisionedThroughputExceededException' : 'ThrottlingException';
        throw injectedError(name, 400, 'Rate exceeded', { throttling: true });
      }
      if (kind < 0.7) throw injectedError('ServiceUnavailable', 503, 'Service unavailable');
      await next(args); // the side effect happens…
      countRequest('fault.response_lost');
      // …but the caller never sees the answer.
      throw Object.assign(new Error('socket timed out after the request was sent (injected fault)'), { name: 'TimeoutError', $metadata: {} });
    },
    // finalizeRequest at normal priority runs inside the SDK's retry middleware: every attempt may fail.
    { step: 'finalizeRequest', name: 'cairnFaultInjector' },
  );
  return client;
}

const cache = new Map<string, unknown>();
function once<T>(key: string, make: () => T): T {
  const k = `${key}|${endpointFor(key as Service) ?? ''}`;
  if (!cache.has(k)) cache.set(k, make());
  return cache.get(k) as T;
}

export const dynamodb = () => once('dynamodb', () => counted('dynamodb', new DynamoDBClient(baseConfig('dynamodb'))));
export const kinesis = () => once('kinesis', () => counted('kinesis', new KinesisClient(baseConfig('kinesis'))));
export const s3 = () => once('s3', () => counted('s3', new S3Client({ ...baseConfig('s3'), forcePathStyle: endpointFor('s3') !== undefined })));
export const eventBridge = () => once('events', () => counted('events', new EventBridgeClient(baseConfig('events'))));
export const scheduler = () => once('scheduler', () => counted('scheduler', new SchedulerClient(baseConfig('scheduler'))));
/** SES v2 (journey emails); locally the outbox (local/outbox). */
export const ses = () => once('ses', () => counted('ses', new SESv2Client(baseConfig('ses'))));
/** SNS (journey SMS); locally the outbox (local/outbox). */
export const sns = () => once('sns', () => counted('sns', new SNSClient(baseConfig('sns'))));
/** Secrets Manager (the webhook key, the suppression key: read through secrets.ts); locally local/secretsmanager. */
export const secretsManager = () => once('secretsmanager', () => counted('secretsmanager', new SecretsManagerClient(baseConfig('secretsmanager'))));
/** Lake queries of the admin API (shared/reports/athena.ts); locally the twin's Athena over DuckDB (local/athena/). */
export const athena = () => once('athena', () => counted('athena', new AthenaClient(baseConfig('athena'))));

/** How every document client marshalls: attributes whose value is `undefined` are left out. */
export const MARSHALL: TranslateConfig = { marshallOptions: { removeUndefinedValues: true } };
const documentClients = new WeakMap<DynamoDBClient, DynamoDBDocumentClient>();
/**
 * The document client over `dynamodb()` (or over `client`). Built again when `dynamodb()` is (its
 * endpoint changed: a process that points at a second local stack follows).
 */
export function documentClient(client: DynamoDBClient = dynamodb()): DynamoDBDocumentClient {
  let doc = documentClients.get(client);
  if (!doc) documentClients.set(client, (doc = DynamoDBDocumentClient.from(client, MARSHALL)));
  return doc;
}
