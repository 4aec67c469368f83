/**
 * cost.*: what a million events cost on AWS at 100 million a month (docs/cost.md), from what the local
 * stack does with them. The whole stack runs in this process (every function, the bus, the
 * scheduler) with 3 computed traits, 20 segments and 5 journeys applied and 5,000 known customers;
 * then session-shaped traffic (bench/events.ts `sessionMessages`, the shape of the resolve bench)
 * goes through the collection API, paced so that each shard's batches hold as many events as the
 * deployed stack's would at that volume (its shards and batching window, read from the synthesised
 * CDK stack: bench/cost/deployment.ts). Counted over the traffic, per event:
 *
 * - every AWS request the handlers made, DynamoDB units, Kinesis PUT payload units, EventBridge
 *   events billed (64 KB chunks), S3 requests and bytes put (shared/aws/clients.ts);
 * - invocations per function, and their billed GB-seconds estimated as the function's CPU time
 *   here plus one AWS round trip (AWS_REQUEST_MS) per request it made (wall time here is stretched
 *   by the emulators and whatever else the machine runs);
 * - bytes the handlers log at the deployed level (`info`) and their EMF metric lines;
 * - bytes kept in each DynamoDB table (every item sized as DynamoDB sizes it) and in the lake.
 *
 * bench/cost/model.ts multiplies them by bench/cost/prices.ts. The collection API requests are
 * priced at `BENCH_COST_EVENTS_PER_REQUEST` (default 100, a server SDK's batch) whatever the pacing
 * sent; `cost.usd_per_million_events_one_per_request` prices every event as its own request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startLocalStack } from '#local/stack';
import { dedupWindowSeconds, FUNCTIONS, JOURNEYS, STREAMS, TABLES } from '#shared/config';
import { emulatorConfig } from '#shared/aws/emulators';
import { BILLED, requestCounts } from '#shared/aws/clients';
import { validateDefinition, type Definition } from '#shared/definitions';
import { putDefinition } from '#shared/definitions/store';
import { syncJourneyRules } from '#shared/journeys/rules';
import { definitionsTableFromEnv } from '#functions/env';
import { journeyRuleTargetFromEnv } from '#functions/admin/deps';
import { sleep } from '#shared/lang';
import { benchDefinitions } from './segments';
import { sessionCustomers, sessionMessages } from './events';
import { threadCpuMs } from './import';
import { costModel, type CostReport, type PerEvent } from './cost/model';
import { PRICES, PRICES_CHECKED } from './cost/prices';
import { synthesisedDeployment } from './cost/deployment';
import type { Result } from './result';

export const COST_EVENTS_PER_MONTH = 100_000_000;
/** An AWS API round trip from Lambda in the same region, ms (DynamoDB single-digit, S3 and Kinesis tens): for billed durations. */
const AWS_REQUEST_MS = 10;

/** The 5 journeys of the cost bench: two on orders, three on segments (seg-0, seg-1, seg-3 of benchDefinitions). */
export function benchJourneys(): Definition[] {
  const docs: unknown[] = [
    {
      kind: 'journey',
      id: 'bench-order-coupon',
      trigger: { event: 'Order Completed', where: { 'properties.store_id': 'SH-001', 'properties.total': { gte: 80 } } },
      consent: 'email',
      frequency: { max: 1, per: '30d' },
      exit: { event: 'Coupon Redeemed' },
      steps: [
        { id: 'coupon', action: 'email', subject: 'A gift for you', body: 'Use code {{ event.properties.order_id }}-GIFT.' },
        { id: 'pause', wait: '3d' },
        { id: 'remind', if: { not: { event: 'Coupon Redeemed', since: 'journey.start' } }, then: [{ action: 'sms', text: 'Your gift expires soon.' }] },
      ],
    },
    {
      kind: 'journey',
      id: 'bench-big-basket',
      trigger: { event: 'Order Completed', where: { 'properties.total': { gte: 95 } } },
      consent: 'email',
      frequency: { max: 1, per: '7d' },
      steps: [{ action: 'email', subject: 'Thank you', body: 'Thanks for your order.' }],
    },
    {
      kind: 'journey',
      id: 'bench-vip',
      trigger: { segment: 'seg-0', on: 'entered' },
      consent: 'email',
      steps: [
        { action: 'email', subject: 'Welcome to the VIP circle', body: 'Thank you.' },
        { action: 'traits', set: { vip: true } },
      ],
    },
    {
      kind: 'journey',
      id: 'bench-regulars',
      trigger: { segment: 'seg-1', on: 'entered' },
      audience: { identifier: 'phone' },
      consent: 'sms',
      frequency: { max: 1, per: '90d' },
      steps: [{ action: 'sms', text: 'Thanks for coming back.' }],
    },
    {
      kind: 'journey',
      id: 'bench-winback',
      trigger: { segment: 'seg-3', on: 'entered' },
      consent: 'email',
      steps: [{ action: 'email', subject: 'We miss you', body: 'Come back soon.' }],
    },
  ];
  return docs.map((d, index) => validateDefinition(d, { file: 'bench-journeys', index }));
}

/** Bytes of an item as DynamoDB sizes it: attribute names plus values (numbers ~1 byte per 2 digits + 1). */
export function itemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1;
    if (v.B !== undefined) return v.B.byteLength;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.SS) return v.SS.reduce((s, x) => s + Buffer.byteLength(x), 0);
    if (v.NS) return v.NS.reduce((s, x) => s + Math.ceil(x.length / 2) + 1, 0);
    if (v.BS) return v.BS.reduce((s, x) => s + x.byteLength, 0);
    if (v.L) return 3 + v.L.reduce((s, x) => s + 1 + value(x), 0);
    if (v.M) return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + 1 + Buffer.byteLength(k) + value(x), 0);
    return 0;
  };
  return Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k) + value(v), 0);
}

async function tableBytes(client: DynamoDBClient, table: string): Promise<number> {
  let bytes = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const it of page.Items ?? []) bytes += itemBytes(it);
    start = page.LastEvaluatedKey;
  } while (start);
  return bytes;
}

/** Counts what the handlers write to stdout/stderr (their log groups on AWS) while `on`, and keeps it off the terminal. */
function captureOutput() {
  let bytes = 0;
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const count = (chunk: unknown) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.byteLength : 0;
    return true;
  };
  return {
    start() {
      (process.stdout as { write: unknown }).write = count;
      (process.stderr as { write: unknown }).write = count;
    },
    stop() {
      process.stdout.write = out;
      process.stderr.write = err;
      return bytes;
    },
  };
}

export interface CostRun {
  perEvent: PerEvent;
  report: CostReport;
  /** The same with every event on its own collection API request. */
  oneEventPerRequest: CostReport;
  events: number;
  seconds: number;
  batchEvents: number;
  /** Requests and units per event, by key (for the stderr breakdown). */
  counts: Record<string, number>;
  /** Per function and invocation: wall time here, and the billed duration estimated for AWS. */
  durations: Record<string, { localMs: number; billedMs: number; boundMs: number; overlap: number }>;
  /** The total with every function's AWS requests billed one after another (no overlap): an upper bound. */
  requestsSerial: CostReport;
}

/**
 * The deployments priced: as `-c cairn:eventsPerSecond=<peak of 100M a month>` gives it (`deployed`),
 * and with the settings docs/cost.md recommends at that volume (`lean`: no X-Ray, 5 s batching windows).
 */
export const COST_DEPLOYMENTS: Record<string, Record<string, string>> = {
  deployed: {},
  lean: { 'cairn:tracing': 'false', 'cairn:batchingWindowSeconds': '5' },
  // lean, and the two settings that price capacity instead of requests: provisioned DynamoDB with auto
  // scaling, and a 24 h stream retention (no extended-retention charge; 1 h of outage margin).
  frugal: {
    'cairn:tracing': 'false',
    'cairn:batchingWindowSeconds': '5',
    'cairn:dynamoDbCapacity': 'provisioned',
    'cairn:streamRetentionHours': '24',
  },
};

export async function runCost(events: number, context: Record<string, string> = {}, customers = 5_000): Promise<CostRun> {
  const synth = synthesisedDeployment(COST_EVENTS_PER_MONTH, context);
  const mapping = synth.mappings[0]!;
  const normalizedShards = synth.shardsByStream[STREAMS.normalized.name] ?? 1;
  // Events per shard and batch on AWS at this volume (mean rate): the pacing below reproduces it here.
  const awsBatch = Math.min(mapping.batchSize, (COST_EVENTS_PER_MONTH / (synth.deployment.hoursPerMonth * 3600) / normalizedShards) * mapping.windowSeconds);
  const localWindow = (FUNCTIONS.normalize.kinesis?.maxBatchingWindowMs ?? 1000) / 1000;
  const rate = (awsBatch * STREAMS.normalized.shards) / localWindow;

  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-cost-'));
  const env = { level: process.env.CAIRN_LOG_LEVEL, emf: process.env.CAIRN_METRICS_STDOUT };
  const stack = await startLocalStack({ port: 0, dataDir: join(dir, 'data') });
  const output = captureOutput();
  try {
    for (const d of [...benchDefinitions(20), ...benchJourneys()]) {
      await putDefinition(definitionsTableFromEnv(), d);
      if (d.kind === 'journey') await syncJourneyRules(d, journeyRuleTargetFromEnv());
    }
    const auth = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` };
    const post = async (batch: Record<string, unknown>[]) => {
      const stamp = new Date().toISOString();
      const r = await fetch(`${stack.url}/v1/batch`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ batch: batch.map((m) => ({ timestamp: stamp, ...m })) }),
      });
      if (r.status !== 200) throw new Error(`cost bench: POST /v1/batch answered ${r.status}`);
    };
    const known = sessionCustomers(customers);
    for (let i = 0; i < known.length; i += 100) await post(known.slice(i, i + 100));
    if (!(await stack.drain(10 * 60_000))) throw new Error('cost bench: the stack did not drain after the customers were identified');
    // Definitions were applied before anyone was known: the first entries (and their journeys) are done now.

    const dynamo = new DynamoDBClient(emulatorConfig('dynamodb', stack.endpoints.dynamodb, 'us-east-1'));
    const tables = Object.values(TABLES).map((t) => t.name);
    const bytesBefore = new Map<string, number>();
    for (const t of tables) bytesBefore.set(t, await tableBytes(dynamo, t));
    const counts0 = new Map(requestCounts);
    const cpu0 = threadCpuMs();
    const st0 = await stack.status();
    const metrics0 = new Set(st0.metrics.map((m) => `${m.function}/${m.metric}`));

    const traffic = sessionMessages(events, { customers, tag: 'c' });
    // Requests of a few events, often enough that each shard's window gathers `awsBatch` events.
    const perRequest = Math.max(1, Math.min(100, Math.round(rate / 10)));
    process.env.CAIRN_LOG_LEVEL = 'info';
    process.env.CAIRN_METRICS_STDOUT = '1';
    output.start();
    const t0 = Date.now();
    for (let i = 0; i < traffic.length; i += perRequest) {
      const due = t0 + (i / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      await post(traffic.slice(i, i + perRequest));
    }
    const drained = await stack.drain(15 * 60_000);
    const seconds = (Date.now() - t0) / 1000;
    process.env.CAIRN_LOG_LEVEL = env.level;
    if (env.emf === undefined) delete process.env.CAIRN_METRICS_STDOUT;
    else process.env.CAIRN_METRICS_STDOUT = env.emf;
    // Lines still in flight from the function threads.
    await sleep(200);
    const logBytes = output.stop();
    if (!drained) throw new Error('cost bench: the stack did not drain after the traffic');

    const st1 = await stack.status();
    const d = (k: string) => ((requestCounts.get(k) ?? 0) - (counts0.get(k) ?? 0)) / events;
    const counts: Record<string, number> = {};
    for (const k of new Set([...requestCounts.keys()])) {
      const v = d(k);
      if (v) counts[k] = +v.toFixed(5);
    }
    const sum = (pred: (op: string) => boolean, service: string) =>
      Object.entries(counts)
        .filter(([k]) => k.startsWith(`${service}.`) && pred(k.slice(service.length + 1)))
        .reduce((s, [, v]) => s + v, 0);
    const cpu1 = threadCpuMs();
    const lambda: PerEvent['lambda'] = {};
    // The same, billed as if no AWS request overlapped another (the upper bound).
    const lambdaSerial: PerEvent['lambda'] = {};
    const durations: CostRun['durations'] = {};
    for (const [fn, s1] of Object.entries(st1.functions)) {
      const s0 = st0.functions[fn] ?? { invocations: 0, avgDurationMs: 0 };
      const invocations = s1.invocations - s0.invocations;
      if (!invocations) continue;
      const wallMs = s1.invocations * s1.avgDurationMs - s0.invocations * s0.avgDurationMs;
      // Billed duration on AWS, estimated: the function's own CPU time (its thread here) plus a round
      // trip of AWS_REQUEST_MS per AWS request it made, the requests overlapping as much as they did
      // here (the share of their summed time during which any was in flight: shared/aws/clients.ts
      // OVERLAP; 1 when they ran one after another). Without the overlap it is an upper bound
      // (`boundMs`). Wall time here is no measure of it: the emulators and a busy machine stretch it several-fold.
      const thread = `λ ${fn}`;
      const cpuMs = cpu1[thread] !== undefined ? cpu1[thread]! - (cpu0[thread] ?? 0) : undefined;
      const delta = (k: string) => (requestCounts.get(`billing.lambda.${fn}.${k}`) ?? 0) - (counts0.get(`billing.lambda.${fn}.${k}`) ?? 0);
      const requests = delta('requests');
      const summed = delta('request_us');
      const overlap = summed > 0 ? Math.min(1, delta('busy_us') / summed) : 1;
      const billedMs = cpuMs === undefined ? wallMs : cpuMs + AWS_REQUEST_MS * requests * overlap;
      const boundMs = cpuMs === undefined ? wallMs : cpuMs + AWS_REQUEST_MS * requests;
      durations[fn] = { localMs: wallMs / invocations, billedMs: billedMs / invocations, boundMs: boundMs / invocations, overlap: +overlap.toFixed(3) };
      const memoryMb = (FUNCTIONS as Record<string, { memoryMb: number }>)[fn]?.memoryMb ?? 1024;
      lambda[fn] = { invocations: invocations / events, gbSeconds: ((billedMs / 1000) * (memoryMb / 1024)) / events };
      lambdaSerial[fn] = { invocations: invocations / events, gbSeconds: ((boundMs / 1000) * (memoryMb / 1024)) / events };
    }
    // Schedules fire later than this run: each is a Scheduler invocation (priced from the created
    // count) and an invocation of its target, estimated here. A recheck (default group) reads the
    // profile and writes it (one consistent read, one 1 KB write, ~5 ms of CPU and 3 requests); a
    // journey wait wakes λ journey, priced as the journey invocations measured here, units included.
    const rechecks = counts[`${BILLED.schedulesCreated}.default`] ?? 0;
    const wakes = counts[`${BILLED.schedulesCreated}.${JOURNEYS.scheduleGroup}`] ?? 0;
    const deferredUnits = { wcu: rechecks, rcu: rechecks };
    // By table too: a recheck reads and writes the profile, a wake-up does what the journey invocations did.
    const deferredByTable = new Map<string, { writes: number; reads: number }>([[TABLES.profiles.name, { writes: rechecks, reads: rechecks }]]);
    // The deferred invocations, added to both estimates of the durations.
    const addDeferred = (l: PerEvent['lambda']) => {
      if (rechecks) {
        const r = l.recheck ?? { invocations: 0, gbSeconds: 0 };
        l.recheck = {
          invocations: r.invocations + rechecks,
          gbSeconds: r.gbSeconds + rechecks * ((5 + 3 * AWS_REQUEST_MS) / 1000) * (FUNCTIONS.recheck.memoryMb / 1024),
        };
      }
      const journey = l.journey;
      if (wakes && journey?.invocations)
        l.journey = { invocations: journey.invocations + wakes, gbSeconds: journey.gbSeconds * (1 + wakes / journey.invocations) };
    };
    const journeyInvocations = lambda.journey?.invocations ?? 0;
    if (wakes && journeyInvocations) {
      const per = wakes / journeyInvocations;
      deferredUnits.wcu += per * (counts[`billing.dynamodb.wcu.${TABLES.journeys.name}`] ?? 0);
      deferredUnits.rcu += per * (counts[`billing.dynamodb.rcu.${TABLES.journeys.name}`] ?? 0);
      deferredByTable.set(TABLES.journeys.name, {
        writes: per * (counts[`billing.dynamodb.wcu.${TABLES.journeys.name}`] ?? 0),
        reads: per * (counts[`billing.dynamodb.rcu.${TABLES.journeys.name}`] ?? 0),
      });
    }
    addDeferred(lambda);
    addDeferred(lambdaSerial);
    const dynamodbByTable: PerEvent['dynamodbByTable'] = {};
    for (const t of tables) {
      const later = deferredByTable.get(t) ?? { writes: 0, reads: 0 };
      dynamodbByTable[t] = {
        writes: (counts[`billing.dynamodb.wcu.${t}`] ?? 0) + later.writes,
        reads: (counts[`billing.dynamodb.rcu.${t}`] ?? 0) + later.reads,
      };
    }
    const storage: PerEvent['storage'] = [];
    for (const t of tables) {
      const grown = (await tableBytes(dynamo, t)) - (bytesBefore.get(t) ?? 0);
      if (grown <= 0) continue;
      // Markers live for the deployed dedup window (the raw retention), not the local run's.
      const kept = t === TABLES.dedup.name ? dedupWindowSeconds(synth.rawRetentionHours) / 3600 : Number.POSITIVE_INFINITY;
      storage.push({ store: 'dynamodb', what: t.replace(/^cairn-/, ''), bytes: grown / events, keptHours: kept });
    }
    storage.push({ store: 's3', what: 'lake', bytes: counts[BILLED.s3PutBytes] ?? 0, keptHours: Number.POSITIVE_INFINITY });
    dynamo.destroy();

    const apiPerEvent = 1 / Number(process.env.BENCH_COST_EVENTS_PER_REQUEST ?? 100);
    const sentPerEvent = 1 / perRequest;
    // λ collect as priced: its invocations follow the requests; its GB-seconds per event as measured.
    if (lambda.collect) lambda.collect = { invocations: apiPerEvent, gbSeconds: lambda.collect.gbSeconds };
    if (lambdaSerial.collect) lambdaSerial.collect = { invocations: apiPerEvent, gbSeconds: lambdaSerial.collect.gbSeconds };
    const perEvent: PerEvent = {
      apiRequests: apiPerEvent,
      lambda,
      kinesisPutUnits: counts[BILLED.kinesisPutUnits] ?? 0,
      dynamodbWriteUnits: (counts['dynamodb.wcu'] ?? 0) + deferredUnits.wcu,
      dynamodbReadUnits: (counts['dynamodb.rcu'] ?? 0) + deferredUnits.rcu,
      dynamodbByTable,
      eventbridgeEvents: counts[BILLED.eventsBilled] ?? 0,
      s3Puts: sum((op) => op === 'PutObject' || op === 'CopyObject' || op.startsWith('List'), 's3'),
      s3Gets: sum((op) => op === 'GetObject' || op === 'HeadObject', 's3'),
      schedulerInvocations: counts['scheduler.CreateSchedule'] ?? 0,
      logBytes: logBytes / events,
      storage,
      emails: counts['ses.SendEmail'] ?? 0,
      sms: counts['sns.Publish'] ?? 0,
    };
    const customMetrics = new Set([...st1.metrics.map((m) => `${m.function}/${m.metric}`), ...metrics0]).size;
    const deployment = { ...synth.deployment, eventsPerMonth: COST_EVENTS_PER_MONTH, customMetrics };
    const report = costModel(perEvent, deployment, PRICES);
    const collect = lambda.collect;
    const oneEventPerRequest = costModel(
      {
        ...perEvent,
        apiRequests: 1,
        lambda: { ...lambda, ...(collect ? { collect: { invocations: 1, gbSeconds: collect.gbSeconds / sentPerEvent / perRequest } } : {}) },
      },
      deployment,
      PRICES,
    );
    const requestsSerial = costModel({ ...perEvent, lambda: lambdaSerial }, deployment, PRICES);
    return { perEvent, report, oneEventPerRequest, requestsSerial, events, seconds, batchEvents: awsBatch, counts, durations };
  } finally {
    output.stop();
    process.env.CAIRN_LOG_LEVEL = env.level;
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(name: string, run: CostRun, load: [number, number]): string {
  const r = run.report;
  return (
    `cost (${name}: ${JSON.stringify(COST_DEPLOYMENTS[name])}): ${run.events} events in ${run.seconds.toFixed(0)} s (${run.batchEvents.toFixed(0)} events per shard batch, as at ${COST_EVENTS_PER_MONTH / 1e6}M events/month); load average ${load[0].toFixed(1)} → ${load[1].toFixed(1)}; prices of ${PRICES_CHECKED}\n` +
    `cost (${name}): $${r.usdPerMonth.toFixed(2)}/month; per million events $${r.usdPerMillionEvents.toFixed(3)}:\n` +
    r.lines
      .filter((l) => l.usdPerMonth > 0)
      .sort((a, b) => b.usdPerMonth - a.usdPerMonth)
      .map((l) => `  ${l.component.padEnd(34)} $${l.usdPerMillionEvents.toFixed(4).padStart(8)}  $${l.usdPerMonth.toFixed(2).padStart(8)}/month  ${l.driver}\n`)
      .join('') +
    `cost (${name}): each further month one month of events is kept: +$${r.storageKeptPerMonth.usdPerMillionEvents.toFixed(4)} per million; journeys' sends (SES, SNS) $${r.sends.usdPerMillionEvents.toFixed(4)} per million (not in the total)\n` +
    `cost (${name}): per event: ${JSON.stringify(run.counts)}\n` +
    `cost (${name}): ms per invocation (here; billed on AWS, estimated with the requests' overlap measured here, and as if none overlapped): ${JSON.stringify(run.durations, (k, v) => (typeof v === 'number' && k !== 'overlap' ? Math.round(v) : v))}\n`
  );
}

export async function benchCost(events: number): Promise<Result[]> {
  const money = (x: number) => +x.toFixed(4);
  const results: Result[] = [];
  for (const [name, context] of Object.entries(COST_DEPLOYMENTS)) {
    const load0 = loadavg()[0]!;
    const run = await runCost(events, context);
    process.stderr.write(describe(name, run, [load0, loadavg()[0]!]));
    const r = run.report;
    const p = name === 'deployed' ? 'cost' : `cost.${name}`;
    results.push(
      { name: `${p}.usd_per_million_events`, value: money(r.usdPerMillionEvents), unit: `USD/1M events (all-in, ${COST_EVENTS_PER_MONTH / 1e6}M/month)` },
      ...r.lines.map((l) => ({ name: `${p}.${l.component}`, value: money(l.usdPerMillionEvents), unit: `USD/1M events (${l.kind})` })),
      { name: `${p}.usd_per_month`, value: +r.usdPerMonth.toFixed(2), unit: `USD/month at ${COST_EVENTS_PER_MONTH / 1e6}M events` },
      {
        name: `${p}.usd_per_million_events_requests_serial`,
        value: money(run.requestsSerial.usdPerMillionEvents),
        unit: 'USD/1M events (Lambda billed as if no AWS request overlapped another: an upper bound)',
      },
      {
        name: `${p}.usd_per_million_events_one_per_request`,
        value: money(run.oneEventPerRequest.usdPerMillionEvents),
        unit: 'USD/1M events (every event its own API request)',
      },
      {
        name: `${p}.storage_kept_usd_per_million_events_month`,
        value: money(r.storageKeptPerMonth.usdPerMillionEvents),
        unit: 'USD/1M events for each further month kept',
      },
      { name: `${p}.dynamodb_wcu_per_event`, value: +run.perEvent.dynamodbWriteUnits.toFixed(3), unit: 'WCU/event' },
      { name: `${p}.dynamodb_rcu_per_event`, value: +run.perEvent.dynamodbReadUnits.toFixed(3), unit: 'RCU/event' },
      { name: `${p}.eventbridge_events_per_event`, value: +run.perEvent.eventbridgeEvents.toFixed(3), unit: 'events/event' },
      {
        name: `${p}.aws_requests_per_event`,
        value: +Object.entries(run.counts)
          .filter(([k]) => /^[a-z]+\.[A-Z][A-Za-z]+$/.test(k))
          .reduce((s, [, v]) => s + v, 0)
          .toFixed(3),
        unit: 'requests/event',
      },
    );
  }
  return results;
}
