/**
 * `npx cairn --stack <name> status` on AWS: the stack's real state, read from CloudWatch — the
 * alarms infra/constructs/monitoring.ts creates (`<stack>-<id>`, found by that name prefix and their
 * SNS topic) and the metrics they watch, over a window (docs/operations.md#status).
 *
 * Nothing here is inferred or defaulted to "ok": `state` is `ok` only when CloudWatch says every
 * alarm of the stack is OK, and a figure CloudWatch has no datapoint for is `null`. The calls are
 * read-only (DescribeStacks, DescribeAlarms, ListMetrics, GetMetricData) and read no data:
 * the stack's StatusReaderPolicy (output `StatusPolicyArn`) allows exactly them.
 */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  ListMetricsCommand,
  type Dimension,
  type MetricAlarm,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { CairnError } from '#shared/errors';
import { FUNCTIONS, STREAMS } from '#shared/config';
import { METRICS_DIMENSION, METRICS_NAMESPACE } from '#shared/metrics';
import { describeStackOutputs, type AwsOptions } from './aws';

let cwCache: { key: string; client: CloudWatchClient } | undefined;
/** The CloudWatch client of these options (one per region/endpoint; CAIRN_ENDPOINT_CLOUDWATCH overrides the endpoint). */
export function cloudWatchClient(o: AwsOptions): CloudWatchClient {
  const key = `${o.region ?? ''}|${o.cloudWatchEndpoint ?? ''}`;
  if (cwCache?.key !== key) {
    cwCache = {
      key,
      client: new CloudWatchClient({ ...(o.region ? { region: o.region } : {}), ...(o.cloudWatchEndpoint ? { endpoint: o.cloudWatchEndpoint } : {}) }),
    };
  }
  return cwCache.client;
}

type FunctionName = keyof typeof FUNCTIONS;
const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** One alarm in ALARM state. */
export interface FiringAlarm {
  alarm: string;
  state: string;
  since: string | null;
  reason: string | null;
  description: string | null;
}

export interface AwsStatus {
  home: 'aws';
  stack: string;
  /** `alarm` when any alarm of the stack is in ALARM, `ok` when all are OK, else `insufficient_data`. */
  state: 'ok' | 'alarm' | 'insufficient_data';
  window: { minutes: number; from: string; to: string };
  alarms: { total: number; ok: number; alarm: number; insufficientData: number };
  firing: FiringAlarm[];
  /** Per stream: the worst consumer's IteratorAge (latest minute) and each consumer's. */
  streams: Record<
    string,
    { name: string | null; millisBehind: number | null; consumers: Record<string, { millisBehind: number | null; maxMillisBehind: number | null }> }
  >;
  /** Per function, over the window: Lambda's own metrics. */
  functions: Record<string, { invocations: number | null; errors: number | null; throttles: number | null; avgDurationMs: number | null }>;
  /** Batches the event-source mappings gave up on: written to S3 in the window, or waiting in the SQS queue now. */
  failedBatches: { destination: 's3' | 'sqs'; count: number | null } | null;
  /** λ journey invocations that failed for good and wait in its on-failure queue (now). */
  journeyFailedInvocations: number | null;
  /** The HTTP API stage, over the window. */
  http: { requests: number | null; '4xx': number | null; '5xx': number | null } | null;
  /** The handlers' EMF metrics (namespace Cairn), summed over the window: what `metrics` is locally. */
  metrics: { function: string; metric: string; value: number }[];
}

export interface AwsStatusOptions {
  windowMinutes: number;
  now?: Date;
}

/** The alarm id of a Cairn alarm name: `<stack>-<id>`, or CloudFormation's generated `<stack>-Monitoring<id>Alarm<hash>-<suffix>` (stacks deployed before alarms were named). */
export function alarmId(stackName: string, alarmName: string): string | undefined {
  if (!alarmName.startsWith(`${stackName}-`)) return undefined;
  const rest = alarmName.slice(stackName.length + 1);
  const generated = /^Monitoring([A-Za-z0-9]+?)Alarm[0-9A-F]{8}-[A-Za-z0-9]+$/.exec(rest);
  if (generated) return generated[1];
  return /^[A-Za-z0-9]+$/.test(rest) ? rest : undefined;
}

const dim = (a: MetricAlarm, name: string) => a.Dimensions?.find((d) => d.Name === name)?.Value;

async function stackAlarms(cw: CloudWatchClient, stackName: string, topicArn: string | undefined): Promise<Map<string, MetricAlarm>> {
  const out = new Map<string, MetricAlarm>();
  let token: string | undefined;
  do {
    const page = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${stackName}-`, AlarmTypes: ['MetricAlarm'], MaxRecords: 100, NextToken: token }));
    for (const a of page.MetricAlarms ?? []) {
      // `cairn-` also prefixes `cairn-staging-…`: keep the alarms that notify this stack's topic.
      if (topicArn && !(a.AlarmActions ?? []).includes(topicArn) && !(a.OKActions ?? []).includes(topicArn)) continue;
      const id = a.AlarmName ? alarmId(stackName, a.AlarmName) : undefined;
      if (id) out.set(id, a);
    }
    token = page.NextToken;
  } while (token);
  return out;
}

interface Query {
  namespace: string;
  metric: string;
  dimensions: Dimension[];
  stat: string;
  period: number;
}
type Series = { timestamps: Date[]; values: number[] };

/** GetMetricData for `queries` over [from, to], paged and in chunks of 500 (the API's limit). */
async function metricData(cw: CloudWatchClient, queries: Query[], from: Date, to: Date): Promise<Series[]> {
  const out: Series[] = queries.map(() => ({ timestamps: [], values: [] }));
  for (let start = 0; start < queries.length; start += 500) {
    const chunk = queries.slice(start, start + 500);
    const q: MetricDataQuery[] = chunk.map((c, i) => ({
      Id: `q${start + i}`,
      MetricStat: { Metric: { Namespace: c.namespace, MetricName: c.metric, Dimensions: c.dimensions }, Period: c.period, Stat: c.stat },
      ReturnData: true,
    }));
    let token: string | undefined;
    do {
      const page = await cw.send(
        new GetMetricDataCommand({ MetricDataQueries: q, StartTime: from, EndTime: to, ScanBy: 'TimestampDescending', NextToken: token }),
      );
      for (const r of page.MetricDataResults ?? []) {
        const i = Number(r.Id?.slice(1));
        if (!Number.isInteger(i) || !out[i]) continue;
        out[i]!.timestamps.push(...(r.Timestamps ?? []).map((t) => new Date(t)));
        out[i]!.values.push(...(r.Values ?? []));
      }
      token = page.NextToken;
    } while (token);
  }
  return out;
}

const total = (s: Series | undefined): number | null => (s?.values.length ? round(s.values.reduce((a, b) => a + b, 0)) : null);
const latest = (s: Series | undefined): number | null => {
  if (!s?.values.length) return null;
  let best = 0;
  for (let i = 1; i < s.values.length; i++) if (s.timestamps[i]! > s.timestamps[best]!) best = i;
  return round(s.values[best]!);
};
const max = (s: Series | undefined): number | null => (s?.values.length ? round(Math.max(...s.values)) : null);
const round = (n: number) => Math.round(n * 100) / 100;

/** Every metric of namespace Cairn with a `function` dimension naming one of `functionNames`. */
async function customMetrics(
  cw: CloudWatchClient,
  functionNames: Set<string>,
  recentlyActive: boolean,
): Promise<{ fn: string; metric: string; dimensions: Dimension[] }[]> {
  const out: { fn: string; metric: string; dimensions: Dimension[] }[] = [];
  let token: string | undefined;
  do {
    const page = await cw.send(
      new ListMetricsCommand({ Namespace: METRICS_NAMESPACE, ...(recentlyActive ? { RecentlyActive: 'PT3H' } : {}), NextToken: token }),
    );
    for (const m of page.Metrics ?? []) {
      const fn = m.Dimensions?.find((d) => d.Name === METRICS_DIMENSION)?.Value;
      if (!fn || !functionNames.has(fn) || !m.MetricName || (m.Dimensions?.length ?? 0) !== 1) continue;
      out.push({ fn, metric: m.MetricName, dimensions: m.Dimensions! });
    }
    token = page.NextToken;
  } while (token);
  return out;
}

/** The status of deployed stack `stackName`, from CloudWatch. */
export async function awsStatus(stackName: string, o: AwsOptions, opts: AwsStatusOptions): Promise<AwsStatus> {
  const outputs = await describeStackOutputs(stackName, o);
  const cw = cloudWatchClient(o);
  const alarms = await stackAlarms(cw, stackName, outputs.AlarmTopicArn);
  if (alarms.size === 0) {
    throw new CairnError(
      'no_alarms',
      `stack ${stackName} has no Cairn alarms named ${stackName}-… in this region: its state cannot be read (is it a Cairn stack, in --region?)`,
      404,
    );
  }
  const to = opts.now ?? new Date();
  const from = new Date(to.getTime() - opts.windowMinutes * 60_000);
  const windowSec = opts.windowMinutes * 60;

  // ---- alarms ----------------------------------------------------------------------------
  const states = [...alarms.values()].map((a) => a.StateValue);
  const counts = {
    total: alarms.size,
    ok: states.filter((s) => s === 'OK').length,
    alarm: states.filter((s) => s === 'ALARM').length,
    insufficientData: states.filter((s) => s === 'INSUFFICIENT_DATA').length,
  };
  const firing: FiringAlarm[] = [...alarms.entries()]
    .filter(([, a]) => a.StateValue === 'ALARM')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, a]) => ({
      alarm: id,
      state: a.StateValue!,
      since: a.StateUpdatedTimestamp ? new Date(a.StateUpdatedTimestamp).toISOString() : null,
      reason: a.StateReason ?? null,
      description: a.AlarmDescription ?? null,
    }));
  const state: AwsStatus['state'] = counts.alarm > 0 ? 'alarm' : counts.ok === counts.total ? 'ok' : 'insufficient_data';

  // ---- what the alarms watch, as queries -------------------------------------------------
  const queries: Query[] = [];
  const add = (q: Query) => queries.push(q) - 1;
  const fnNames = new Map<FunctionName, string>();
  for (const name of FUNCTION_NAMES) {
    const physical = alarms.get(`${name}Errors`) && dim(alarms.get(`${name}Errors`)!, 'FunctionName');
    if (physical) fnNames.set(name, physical);
  }
  const lambda = (metric: string, fn: string, stat: string, period: number): Query => ({
    namespace: 'AWS/Lambda',
    metric,
    dimensions: [{ Name: 'FunctionName', Value: fn }],
    stat,
    period,
  });
  const fnQ = [...fnNames.entries()].map(([name, fn]) => ({
    name,
    invocations: add(lambda('Invocations', fn, 'Sum', windowSec)),
    errors: add(lambda('Errors', fn, 'Sum', windowSec)),
    throttles: add(lambda('Throttles', fn, 'Sum', windowSec)),
    duration: add(lambda('Duration', fn, 'Average', windowSec)),
  }));
  const consumerQ: { name: FunctionName; stream: keyof typeof STREAMS; age: number }[] = [];
  for (const name of FUNCTION_NAMES) {
    const source = (FUNCTIONS[name] as { kinesis?: { stream: keyof typeof STREAMS } }).kinesis;
    const physical = alarms.get(`${name}IteratorAge`) && dim(alarms.get(`${name}IteratorAge`)!, 'FunctionName');
    if (source && physical) consumerQ.push({ name, stream: source.stream, age: add(lambda('IteratorAge', physical, 'Maximum', 60)) });
  }
  const failedAlarm = alarms.get('FailedBatches');
  const failedKind = failedAlarm?.Namespace === 'AWS/SQS' ? 'sqs' : failedAlarm?.Namespace === 'AWS/S3' ? 's3' : undefined;
  const failedQ =
    failedAlarm && failedKind
      ? add({
          namespace: failedAlarm.Namespace!,
          metric: failedAlarm.MetricName!,
          dimensions: failedAlarm.Dimensions ?? [],
          stat: failedKind === 'sqs' ? 'Maximum' : 'Sum',
          period: failedKind === 'sqs' ? 60 : windowSec,
        })
      : undefined;
  const journeyAlarm = alarms.get('JourneyFailedInvocations');
  const journeyQ = journeyAlarm?.MetricName
    ? add({ namespace: journeyAlarm.Namespace!, metric: journeyAlarm.MetricName, dimensions: journeyAlarm.Dimensions ?? [], stat: 'Maximum', period: 60 })
    : undefined;
  const apiAlarm = alarms.get('Api5xx');
  const apiQ = apiAlarm?.Dimensions?.length
    ? (['Count', '4xx', '5xx'] as const).map((metric) =>
        add({ namespace: apiAlarm.Namespace ?? 'AWS/ApiGateway', metric, dimensions: apiAlarm.Dimensions!, stat: 'Sum', period: windowSec }),
      )
    : undefined;
  const custom = await customMetrics(cw, new Set(fnNames.values()), opts.windowMinutes <= 180);
  const byPhysical = new Map([...fnNames.entries()].map(([k, v]) => [v, k]));
  const customQ = custom.map((c) => ({
    fn: byPhysical.get(c.fn)!,
    metric: c.metric,
    q: add({ namespace: METRICS_NAMESPACE, metric: c.metric, dimensions: c.dimensions, stat: 'Sum', period: windowSec }),
  }));

  const data = await metricData(cw, queries, from, to);

  // ---- the document ----------------------------------------------------------------------
  const streams: AwsStatus['streams'] = {};
  const streamOutput: Record<string, string | undefined> = { raw: outputs.RawStreamName, normalized: outputs.NormalizedStreamName };
  for (const key of Object.keys(STREAMS)) streams[key] = { name: streamOutput[key] ?? null, millisBehind: null, consumers: {} };
  for (const c of consumerQ) {
    const st = streams[c.stream]!;
    const now = latest(data[c.age]);
    st.consumers[c.name] = { millisBehind: now, maxMillisBehind: max(data[c.age]) };
    if (now !== null) st.millisBehind = Math.max(st.millisBehind ?? 0, now);
  }
  const functions: AwsStatus['functions'] = {};
  for (const f of fnQ) {
    functions[f.name] = {
      invocations: total(data[f.invocations]),
      errors: total(data[f.errors]),
      throttles: total(data[f.throttles]),
      avgDurationMs: latest(data[f.duration]),
    };
  }
  const metrics = customQ
    .map((c) => ({ function: c.fn, metric: c.metric, value: total(data[c.q]) }))
    .filter((m): m is { function: FunctionName; metric: string; value: number } => m.value !== null)
    .sort((a, b) => a.function.localeCompare(b.function) || a.metric.localeCompare(b.metric));
  return {
    home: 'aws',
    stack: stackName,
    state,
    window: { minutes: opts.windowMinutes, from: from.toISOString(), to: to.toISOString() },
    alarms: counts,
    firing,
    streams,
    functions,
    failedBatches:
      failedQ !== undefined && failedKind ? { destination: failedKind, count: failedKind === 'sqs' ? latest(data[failedQ]) : total(data[failedQ]) } : null,
    journeyFailedInvocations: journeyQ !== undefined ? latest(data[journeyQ]) : null,
    http: apiQ ? { requests: total(data[apiQ[0]!]), '4xx': total(data[apiQ[1]!]), '5xx': total(data[apiQ[2]!]) } : null,
    metrics,
  };
}
