/**
 * The deployed-stack side of the CLI: stack outputs (CloudFormation DescribeStacks), SigV4-signed
 * HTTP to the admin API (IAM auth on AWS), and SQL on Athena.
 *
 * @aws-sdk/client-cloudformation is not a dependency, so DescribeStacks is one signed call to the
 * CloudFormation query API. Credentials and region come from the standard AWS chain (environment,
 * shared config/SSO, instance role), resolved by the installed Athena client.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type ColumnInfo,
} from '@aws-sdk/client-athena';
import { CairnError } from '#shared/errors';
import { LAKE } from '#shared/config';
import { athenaResult } from '#shared/reports/athena';
import type { QueryResult } from './lake';

export interface AwsOptions {
  region?: string;
  /** Endpoint overrides (tests, LocalStack): CAIRN_ENDPOINT_ATHENA / CAIRN_ENDPOINT_CLOUDFORMATION / CAIRN_ENDPOINT_CLOUDWATCH. */
  athenaEndpoint?: string;
  cloudFormationEndpoint?: string;
  cloudWatchEndpoint?: string;
  /** Lambda endpoint override (tests): CAIRN_ENDPOINT_LAMBDA. */
  lambdaEndpoint?: string;
}

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

class NodeSha256 {
  private h;
  constructor(private readonly secret?: Uint8Array | string) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: Uint8Array | string): void {
    this.h.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

let athenaCache: { key: string; client: AthenaClient } | undefined;
export function athenaClient(o: AwsOptions): AthenaClient {
  const key = `${o.region ?? ''}|${o.athenaEndpoint ?? ''}`;
  if (athenaCache?.key !== key) {
    athenaCache = { key, client: new AthenaClient({ ...(o.region ? { region: o.region } : {}), ...(o.athenaEndpoint ? { endpoint: o.athenaEndpoint } : {}) }) };
  }
  return athenaCache.client;
}

async function credentialsAndRegion(o: AwsOptions): Promise<{ credentials: Creds; region: string }> {
  const c = athenaClient(o);
  try {
    const [credentials, region] = await Promise.all([c.config.credentials(), c.config.region()]);
    return { credentials, region };
  } catch (e) {
    throw new CairnError('aws_credentials', `no usable AWS credentials/region: ${(e as Error).message.split('\n')[0]}`, 401);
  }
}

/** Fetch with a SigV4 signature for `service` (e.g. `execute-api`, `cloudformation`). */
export async function signedFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  service: string,
  o: AwsOptions,
): Promise<Response> {
  const { credentials, region } = await credentialsAndRegion(o);
  const u = new URL(url);
  const query: Record<string, string> = {};
  u.searchParams.forEach((v, k) => {
    query[k] = v;
  });
  const signer = new SignatureV4({ service, region, credentials, sha256: NodeSha256 as never });
  const signed = await signer.sign({
    method: init.method ?? 'GET',
    protocol: u.protocol,
    hostname: u.hostname,
    port: u.port ? Number(u.port) : undefined,
    path: u.pathname,
    query,
    headers: { ...(init.headers ?? {}), host: u.host },
    body: init.body,
  });
  const headers = { ...(signed.headers as Record<string, string>) };
  delete headers.host;
  return fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
}

const xmlDecode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&');
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlDecode(m[1]!) : undefined;
};

/** A stack's outputs, `OutputKey → OutputValue`. */
export async function describeStackOutputs(stackName: string, o: AwsOptions): Promise<Record<string, string>> {
  const { region } = await credentialsAndRegion(o);
  const url = o.cloudFormationEndpoint ?? `https://cloudformation.${region}.amazonaws.com/`;
  const body = new URLSearchParams({ Action: 'DescribeStacks', StackName: stackName, Version: '2010-05-15' }).toString();
  let res: Response;
  try {
    res = await signedFetch(
      url,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body },
      'cloudformation',
      o,
    );
  } catch (e) {
    throw new CairnError('aws_unreachable', `cannot reach CloudFormation at ${url}: ${(e as Error).message}`, 503);
  }
  const xml = await res.text();
  if (!res.ok) {
    const msg = tag(xml, 'Message') ?? `HTTP ${res.status}`;
    throw new CairnError(/does not exist/i.test(msg) ? 'stack_not_found' : 'aws_error', `stack ${stackName}: ${msg}`, res.status);
  }
  const outputs: Record<string, string> = {};
  const block = tag(xml, 'Outputs') ?? '';
  for (const m of block.matchAll(/<member>([\s\S]*?)<\/member>/g)) {
    const k = tag(m[1]!, 'OutputKey');
    const v = tag(m[1]!, 'OutputValue');
    if (k && v !== undefined) outputs[k] = v;
  }
  return outputs;
}

/**
 * Invokes a Lambda function asynchronously (`X-Amz-Invocation-Type: Event`: Lambda queues it and
 * answers 202) with a JSON payload: one signed call to the Lambda API (no @aws-sdk/client-lambda).
 * The caller needs `lambda:InvokeFunction` on it. Endpoint override: CAIRN_ENDPOINT_LAMBDA.
 */
export async function invokeAsync(functionName: string, payload: unknown, o: AwsOptions): Promise<void> {
  const { region } = await credentialsAndRegion(o);
  const base = (o.lambdaEndpoint ?? `https://lambda.${region}.amazonaws.com`).replace(/\/$/, '');
  const url = `${base}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
  let res: Response;
  try {
    res = await signedFetch(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' }, body: JSON.stringify(payload) },
      'lambda',
      o,
    );
  } catch (e) {
    throw new CairnError('aws_unreachable', `cannot reach Lambda at ${base}: ${(e as Error).message}`, 503);
  }
  if (res.status !== 202) {
    const text = await res.text();
    let msg = `HTTP ${res.status}`;
    try {
      msg = String((JSON.parse(text) as { message?: string; Message?: string }).message ?? (JSON.parse(text) as { Message?: string }).Message ?? msg);
    } catch {
      /* not JSON */
    }
    throw new CairnError('aws_error', `invoke ${functionName}: ${msg}`, res.status);
  }
}

/** The first output whose key matches one of the patterns, tried in order. */
export function pickOutput(outputs: Record<string, string>, ...patterns: RegExp[]): string | undefined {
  for (const p of patterns) for (const [k, v] of Object.entries(outputs)) if (p.test(k)) return v;
  return undefined;
}

export interface StackTarget {
  name: string;
  apiUrl?: string;
  workgroup?: string;
  database: string;
}

/**
 * What the CLI needs from a deployed stack. Explicit values (options/env) win; the rest comes from
 * the stack outputs (infra/stack.ts): `ApiUrl` or `CollectorUrl` (the HTTP API serving both the
 * collection and admin routes), `AthenaWorkGroup`, `GlueDatabase`.
 */
export async function resolveStack(
  name: string,
  given: { apiUrl?: string; workgroup?: string; database?: string },
  o: AwsOptions,
  need: { api?: boolean; athena?: boolean },
): Promise<StackTarget> {
  const missing = (need.api && !given.apiUrl) || (need.athena && (!given.workgroup || !given.database));
  const outputs = missing ? await describeStackOutputs(name, o) : {};
  const t: StackTarget = {
    name,
    apiUrl: given.apiUrl ?? pickOutput(outputs, /^(admin_?)?api_?url$/i, /^collector_?url$/i, /(url|endpoint)$/i),
    workgroup: given.workgroup ?? pickOutput(outputs, /work_?group/i),
    database: given.database ?? pickOutput(outputs, /(glue|lake|athena)?_?database/i) ?? LAKE.glueDatabase,
  };
  if (need.api && !t.apiUrl) throw new CairnError('stack_output_missing', `stack ${name} has no API URL output (pass --api-url)`, 404);
  if (need.athena && !t.workgroup) throw new CairnError('stack_output_missing', `stack ${name} has no Athena workgroup output (pass --workgroup)`, 404);
  return t;
}

// Athena's text cells typed back, shared with the admin API's lake queries.
export { athenaCell, athenaResult } from '#shared/reports/athena';

export interface AthenaQueryOptions extends AwsOptions {
  workgroup: string;
  database: string;
  pollMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs `sql` on Athena, waits for it, and returns every row. */
export async function queryAthena(sql: string, o: AthenaQueryOptions): Promise<QueryResult> {
  const client = athenaClient(o);
  const started = await client.send(
    new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: o.workgroup, QueryExecutionContext: { Database: o.database } }),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new CairnError('athena_error', 'Athena did not return a query execution id', 502);
  const deadline = Date.now() + (o.timeoutMs ?? 15 * 60_000);
  let delay = o.pollMs ?? 250;
  for (;;) {
    if (o.signal?.aborted || Date.now() > deadline) {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
      throw new CairnError('sql_cancelled', o.signal?.aborted ? `query ${id} cancelled` : `query ${id} timed out`, 408);
    }
    const q = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = q.QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason = q.QueryExecution?.Status?.StateChangeReason ?? q.QueryExecution?.Status?.AthenaError?.ErrorMessage ?? state;
      throw new CairnError('sql_error', reason.split('\n')[0]!, 400);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 2_000);
  }
  let columnInfo: ColumnInfo[] = [];
  const pages: { Data?: { VarCharValue?: string }[] }[][] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }));
    if (page.ResultSet?.ResultSetMetadata?.ColumnInfo) columnInfo = page.ResultSet.ResultSetMetadata.ColumnInfo;
    pages.push(page.ResultSet?.Rows ?? []);
    token = page.NextToken;
  } while (token);
  return athenaResult(columnInfo, pages);
}
