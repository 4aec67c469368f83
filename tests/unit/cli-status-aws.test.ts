/**
 * `npx cairn --stack <name> status` on AWS (cli/status-aws.ts): the state comes from CloudWatch, the
 * stack's alarms (`<stack>-<id>`, infra/constructs/monitoring.ts) and the metrics they watch.
 *
 * The CloudWatch client is the SDK's own, stubbed at the client level: a middleware at the top of
 * its stack (step `initialize`) answers each command from a fake account and records its input, so
 * nothing is serialised or sent. CloudFormation's DescribeStacks (a signed query-API call in
 * cli/aws.ts, no SDK client) is answered by a stand-in server, as in cli-athena.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { run, type Io } from '#cli/main';
import { alarmId, awsStatus, cloudWatchClient } from '#cli/status-aws';
import { FUNCTIONS } from '#shared/config/resources';

const STACK = 'cairn-prod';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:cairn-prod-AlarmTopic';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const physical = (fn: string) => `cairn-prod-${fn}-A1B2C3`;

// ---- CloudFormation stand-in (DescribeStacks) ---------------------------------------------
const cfnSeen: string[] = [];
const cfn: Server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const p = new URLSearchParams(body);
    cfnSeen.push(`${p.get('Action')} ${p.get('StackName')}`);
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>${p.get('StackName')}</StackName><Outputs>
      <member><OutputKey>AlarmTopicArn</OutputKey><OutputValue>${TOPIC}</OutputValue></member>
      <member><OutputKey>RawStreamName</OutputKey><OutputValue>cairn-prod-raw-X</OutputValue></member>
      <member><OutputKey>NormalizedStreamName</OutputKey><OutputValue>cairn-prod-normalized-Y</OutputValue></member>
    </Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`);
  });
});

// ---- the fake CloudWatch account ------------------------------------------------------------
interface Account {
  alarms: MetricAlarm[];
  /** `namespace|metric|dims|stat|period` → [timestamp, value][] */
  data: Map<string, [Date, number][]>;
  metrics: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }[];
  fail?: string;
}
const key = (ns: string, metric: string, dims: { Name?: string; Value?: string }[], stat: string, period: number) =>
  `${ns}|${metric}|${dims
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join(',')}|${stat}|${period}`;

function alarm(id: string, a: Partial<MetricAlarm>, name = `${STACK}-${id}`): MetricAlarm {
  return {
    AlarmName: name,
    StateValue: 'OK',
    StateReason: 'Threshold Crossed: no datapoints were received',
    AlarmActions: [TOPIC],
    OKActions: [TOPIC],
    AlarmDescription: `Cairn: ${id}`,
    ...a,
  };
}
function account(): Account {
  const alarms: MetricAlarm[] = [];
  for (const fn of Object.keys(FUNCTIONS)) {
    const dims = [{ Name: 'FunctionName', Value: physical(fn) }];
    alarms.push(alarm(`${fn}Errors`, { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: dims }));
    alarms.push(alarm(`${fn}Throttles`, { Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: dims }));
  }
  for (const fn of ['normalize', 'resolve']) {
    alarms.push(alarm(`${fn}IteratorAge`, { Namespace: 'AWS/Lambda', MetricName: 'IteratorAge', Dimensions: [{ Name: 'FunctionName', Value: physical(fn) }] }));
  }
  alarms.push(
    alarm('FailedBatches', {
      Namespace: 'AWS/S3',
      MetricName: 'PutRequests',
      Dimensions: [
        { Name: 'BucketName', Value: 'lake-bucket' },
        { Name: 'FilterId', Value: 'cairn-failed-batches' },
      ],
    }),
  );
  alarms.push(
    alarm('JourneyFailedInvocations', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'journey-dlq' }],
    }),
  );
  alarms.push(
    alarm('Api5xx', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [
        { Name: 'ApiId', Value: 'abc123' },
        { Name: 'Stage', Value: '$default' },
      ],
    }),
  );
  alarms.push(alarm('QuarantineRate', { Metrics: [{ Id: 'expr_1', Expression: 'IF(ok + q > 0, 100 * q / (ok + q), 0)' }] }));
  // Another stack whose name starts with ours (cairn-prod-eu): its alarms notify another topic.
  alarms.push(
    alarm(
      'normalizeErrors',
      { AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:other'], OKActions: [], StateValue: 'ALARM', Namespace: 'AWS/Lambda', MetricName: 'Errors' },
      `${STACK}-eu-normalizeErrors`,
    ),
  );

  const m = (t: number) => new Date(NOW.getTime() - t * 60_000);
  const data = new Map<string, [Date, number][]>();
  const fnDims = (fn: string) => [{ Name: 'FunctionName', Value: physical(fn) }];
  data.set(key('AWS/Lambda', 'Invocations', fnDims('normalize'), 'Sum', 900), [[m(15), 120]]);
  data.set(key('AWS/Lambda', 'Errors', fnDims('normalize'), 'Sum', 900), [[m(15), 2]]);
  data.set(key('AWS/Lambda', 'Throttles', fnDims('normalize'), 'Sum', 900), [[m(15), 0]]);
  data.set(key('AWS/Lambda', 'Duration', fnDims('normalize'), 'Average', 900), [[m(15), 46.123]]);
  data.set(key('AWS/Lambda', 'Invocations', fnDims('collect'), 'Sum', 900), [[m(15), 300]]);
  data.set(key('AWS/Lambda', 'IteratorAge', fnDims('normalize'), 'Maximum', 60), [
    [m(3), 900],
    [m(1), 250],
    [m(2), 400],
  ]);
  data.set(key('AWS/Lambda', 'IteratorAge', fnDims('resolve'), 'Maximum', 60), [
    [m(2), 95_000],
    [m(1), 120_000],
  ]);
  data.set(key('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: 'journey-dlq' }], 'Maximum', 60), [
    [m(5), 1],
    [m(1), 3],
  ]);
  data.set(
    key(
      'AWS/ApiGateway',
      'Count',
      [
        { Name: 'ApiId', Value: 'abc123' },
        { Name: 'Stage', Value: '$default' },
      ],
      'Sum',
      900,
    ),
    [[m(15), 1000]],
  );
  data.set(
    key(
      'AWS/ApiGateway',
      '4xx',
      [
        { Name: 'ApiId', Value: 'abc123' },
        { Name: 'Stage', Value: '$default' },
      ],
      'Sum',
      900,
    ),
    [[m(15), 7]],
  );
  data.set(
    key(
      'AWS/ApiGateway',
      '5xx',
      [
        { Name: 'ApiId', Value: 'abc123' },
        { Name: 'Stage', Value: '$default' },
      ],
      'Sum',
      900,
    ),
    [[m(15), 0]],
  );
  const emf = (fn: string, metric: string) => ({ Namespace: 'Cairn', MetricName: metric, Dimensions: [{ Name: 'function', Value: physical(fn) }] });
  const metrics = [
    emf('collect', 'accepted'),
    emf('normalize', 'normalized'),
    emf('normalize', 'quarantined'),
    emf('normalize', 'quarantined.invalid_timestamp'),
    { Namespace: 'Cairn', MetricName: 'accepted', Dimensions: [{ Name: 'function', Value: 'someone-elses-fn' }] },
  ];
  data.set(key('Cairn', 'accepted', [{ Name: 'function', Value: physical('collect') }], 'Sum', 900), [[m(15), 4990]]);
  data.set(key('Cairn', 'normalized', [{ Name: 'function', Value: physical('normalize') }], 'Sum', 900), [[m(15), 4980]]);
  data.set(key('Cairn', 'quarantined', [{ Name: 'function', Value: physical('normalize') }], 'Sum', 900), [[m(15), 10]]);
  return { alarms, data, metrics };
}

let acct = account();
const calls: { command: string; input: any }[] = [];
const PAGE = 7;
function answer(command: string, input: any): object {
  if (acct.fail) throw Object.assign(new Error(acct.fail), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  if (command === 'DescribeAlarmsCommand') {
    const all = acct.alarms.filter((a) => a.AlarmName!.startsWith(input.AlarmNamePrefix ?? ''));
    const from = Number(input.NextToken ?? 0);
    const next = from + PAGE < all.length ? String(from + PAGE) : undefined;
    return { MetricAlarms: all.slice(from, from + PAGE), ...(next ? { NextToken: next } : {}) };
  }
  if (command === 'ListMetricsCommand') return { Metrics: acct.metrics.filter((m) => m.Namespace === input.Namespace) };
  if (command === 'GetMetricDataCommand') {
    const results = (input.MetricDataQueries as any[]).map((q) => {
      const s = q.MetricStat;
      const points = acct.data.get(key(s.Metric.Namespace, s.Metric.MetricName, s.Metric.Dimensions, s.Stat, s.Period)) ?? [];
      return { Id: q.Id, Label: s.Metric.MetricName, Timestamps: points.map(([t]) => t), Values: points.map(([, v]) => v), StatusCode: 'Complete' };
    });
    // Two pages: the SDK caller must follow NextToken.
    if (!input.NextToken) return { MetricDataResults: results.slice(0, Math.ceil(results.length / 2)), NextToken: 'page2' };
    return { MetricDataResults: results.slice(Math.ceil(results.length / 2)) };
  }
  throw new Error(`unexpected ${command}`);
}

const saved: Record<string, string | undefined> = {};
const env: Record<string, string> = { AWS_REGION: 'eu-west-1' };
beforeAll(async () => {
  env.CAIRN_ENDPOINT_CLOUDFORMATION = await new Promise<string>((ok) =>
    cfn.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(cfn.address() as AddressInfo).port}`)),
  );
  for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'eu-west-1' })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  // The client the CLI uses for region eu-west-1, answered at the top of its middleware stack.
  cloudWatchClient({ region: 'eu-west-1' }).middlewareStack.add(
    (_next, context) => async (args) => {
      const command = (context as { commandName?: string }).commandName ?? '?';
      calls.push({ command, input: structuredClone(args.input) });
      return { output: { $metadata: {}, ...answer(command, args.input) } } as never;
    },
    { step: 'initialize', name: 'cairnTestStub', priority: 'high' },
  );
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  await new Promise<void>((ok) => cfn.close(() => ok()));
});
afterEach(() => {
  acct = account();
  calls.length = 0;
  cfnSeen.length = 0;
});

function io(): Io & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    stdout: (s: string) => void (o.out += s),
    stderr: (s: string) => void (o.err += s),
    readStdin: async () => '',
    env,
    cwd: mkdtempSync(join(tmpdir(), 'cairn-cli-')),
  };
  return o;
}
const status = () => awsStatus(STACK, { region: 'eu-west-1', cloudFormationEndpoint: env.CAIRN_ENDPOINT_CLOUDFORMATION }, { windowMinutes: 15, now: NOW });

describe('status of a deployed stack, from CloudWatch', () => {
  it('every alarm OK: state ok, with the figures the alarms watch', async () => {
    const s = await status();
    expect(s).toMatchObject({
      home: 'aws',
      stack: STACK,
      state: 'ok',
      window: { minutes: 15, from: '2026-03-01T11:45:00.000Z', to: '2026-03-01T12:00:00.000Z' },
      firing: [],
    });
    // This stack's alarms only (not cairn-prod-eu's), found over two DescribeAlarms pages.
    expect(s.alarms).toEqual({ total: Object.keys(FUNCTIONS).length * 2 + 2 + 4, ok: Object.keys(FUNCTIONS).length * 2 + 6, alarm: 0, insufficientData: 0 });
    expect(s.functions.normalize).toEqual({ invocations: 120, errors: 2, throttles: 0, avgDurationMs: 46.12 });
    expect(s.functions.collect).toEqual({ invocations: 300, errors: null, throttles: null, avgDurationMs: null });
    expect(Object.keys(s.functions).sort()).toEqual(Object.keys(FUNCTIONS).sort());
    // Lag: each consumer's latest minute (and the worst of the window); a stream shows its worst consumer.
    expect(s.streams.raw).toEqual({ name: 'cairn-prod-raw-X', millisBehind: 250, consumers: { normalize: { millisBehind: 250, maxMillisBehind: 900 } } });
    expect(s.streams.normalized).toEqual({
      name: 'cairn-prod-normalized-Y',
      millisBehind: 120_000,
      consumers: { resolve: { millisBehind: 120_000, maxMillisBehind: 120_000 } },
    });
    // No PutRequests datapoint: no failed batch written in the window (null, not a guessed 0).
    expect(s.failedBatches).toEqual({ destination: 's3', count: null });
    expect(s.journeyFailedInvocations).toBe(3);
    expect(s.http).toEqual({ requests: 1000, '4xx': 7, '5xx': 0 });
    // EMF metrics of this stack's functions only; a metric without datapoints in the window is left out.
    expect(s.metrics).toEqual([
      { function: 'collect', metric: 'accepted', value: 4990 },
      { function: 'normalize', metric: 'normalized', value: 4980 },
      { function: 'normalize', metric: 'quarantined', value: 10 },
    ]);
  });

  it('asks CloudWatch for exactly that: alarms by the stack prefix, metrics of the alarms over the window', async () => {
    await status();
    expect(cfnSeen).toEqual([`DescribeStacks ${STACK}`]);
    const describe = calls.filter((c) => c.command === 'DescribeAlarmsCommand');
    expect(describe.length).toBeGreaterThan(1);
    for (const d of describe) expect(d.input).toMatchObject({ AlarmNamePrefix: `${STACK}-`, AlarmTypes: ['MetricAlarm'] });
    expect(calls.filter((c) => c.command === 'ListMetricsCommand').map((c) => c.input)).toEqual([{ Namespace: 'Cairn', RecentlyActive: 'PT3H' }]);
    const gmd = calls.filter((c) => c.command === 'GetMetricDataCommand');
    expect(gmd).toHaveLength(2);
    expect(gmd[1]!.input.NextToken).toBe('page2');
    const q = gmd[0]!.input;
    expect(new Date(q.EndTime).getTime() - new Date(q.StartTime).getTime()).toBe(15 * 60_000);
    const stats = (q.MetricDataQueries as any[]).map((x) => x.MetricStat);
    expect(stats).toContainEqual({
      Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [{ Name: 'FunctionName', Value: physical('normalize') }] },
      Period: 900,
      Stat: 'Sum',
    });
    expect(stats).toContainEqual({
      Metric: { Namespace: 'AWS/Lambda', MetricName: 'IteratorAge', Dimensions: [{ Name: 'FunctionName', Value: physical('normalize') }] },
      Period: 60,
      Stat: 'Maximum',
    });
    for (const x of q.MetricDataQueries as any[]) expect(x.Id).toMatch(/^q\d+$/);
  });

  it('an alarm in ALARM: state alarm, and it is listed with its reason', async () => {
    const a = acct.alarms.find((x) => x.AlarmName === `${STACK}-resolveIteratorAge`)!;
    Object.assign(a, {
      StateValue: 'ALARM',
      StateReason: 'Threshold Crossed: 5 datapoints were greater than or equal to the threshold (60000.0)',
      StateUpdatedTimestamp: new Date('2026-03-01T11:50:00Z'),
    });
    const s = await status();
    expect(s.state).toBe('alarm');
    expect(s.alarms).toMatchObject({ alarm: 1 });
    expect(s.firing).toEqual([
      {
        alarm: 'resolveIteratorAge',
        state: 'ALARM',
        since: '2026-03-01T11:50:00.000Z',
        reason: expect.stringMatching(/^Threshold Crossed/),
        description: 'Cairn: resolveIteratorAge',
      },
    ]);
  });

  it('an alarm without data yet: insufficient_data, never ok', async () => {
    acct.alarms.find((x) => x.AlarmName === `${STACK}-Api5xx`)!.StateValue = 'INSUFFICIENT_DATA';
    const s = await status();
    expect(s.state).toBe('insufficient_data');
    expect(s.alarms).toMatchObject({ insufficientData: 1, alarm: 0 });
  });

  it('a stack deployed before alarms were named: CloudFormation-generated names are recognised', async () => {
    for (const a of acct.alarms) {
      if (a.AlarmName!.startsWith(`${STACK}-eu-`)) continue;
      a.AlarmName = `${STACK}-Monitoring${a.AlarmName!.slice(STACK.length + 1)}Alarm1A2B3C4D-Q8W7E6R5T4Y3`;
    }
    const s = await status();
    expect(s.state).toBe('ok');
    expect(s.functions.normalize!.invocations).toBe(120);
    expect(s.streams.normalized!.millisBehind).toBe(120_000);
    expect(alarmId(STACK, `${STACK}-MonitoringnormalizeIteratorAgeAlarm0F1E2D3C-AB12CD34EF56`)).toBe('normalizeIteratorAge');
    expect(alarmId(STACK, `${STACK}-Api5xx`)).toBe('Api5xx');
    expect(alarmId(STACK, 'other-Api5xx')).toBeUndefined();
  });

  it('no Cairn alarm under that name: an error, not an "ok"', async () => {
    acct.alarms = [];
    await expect(status()).rejects.toMatchObject({ code: 'no_alarms' });
  });
});

describe('npx cairn --stack <name> status', () => {
  it('prints the CloudWatch status as JSON, without touching Athena or the API', async () => {
    const o = io();
    expect(await run(['--stack', STACK, 'status', '--format', 'json'], o)).toBe(0);
    expect(o.err).toBe('');
    const s = JSON.parse(o.out);
    expect(s).toMatchObject({ home: 'aws', stack: STACK, state: 'ok', alarms: { alarm: 0 }, functions: { normalize: { invocations: 120 } } });
    expect(s.lake).toBeUndefined();
    expect(calls.map((c) => c.command)).not.toContain('StartQueryExecutionCommand');
  });

  it('the table names the firing alarms', async () => {
    acct.alarms.find((x) => x.AlarmName === `${STACK}-normalizeErrors`)!.StateValue = 'ALARM';
    const o = io();
    expect(await run(['--stack', STACK, 'status', '--window', '60'], o)).toBe(0);
    expect(o.out).toMatch(/^state\s+alarm$/m);
    expect(o.out).toMatch(/^home\s+aws$/m);
    expect(o.out).toMatch(/^firing$/m);
    expect(o.out).toMatch(/normalizeErrors/);
    expect(o.out).toMatch(/^window\s+minutes=60, /m);
    // A 60-minute window: one period of 3600 s per counter.
    const q = calls.find((c) => c.command === 'GetMetricDataCommand')!.input.MetricDataQueries as any[];
    expect(q.find((x) => x.MetricStat.Metric.MetricName === 'Invocations').MetricStat.Period).toBe(3600);
  });

  it('CloudWatch refusing (no permission) exits 1 with its reason; a bad --window is a usage error', async () => {
    acct.fail = 'User is not authorized to perform: cloudwatch:DescribeAlarms';
    const o = io();
    expect(await run(['--stack', STACK, 'status'], o)).toBe(1);
    expect(o.err).toBe('error: User is not authorized to perform: cloudwatch:DescribeAlarms\n');
    const u = io();
    expect(await run(['--stack', STACK, 'status', '--window', '0'], u)).toBe(2);
    expect(u.err).toMatch(/^error: --window/);
  });
});
