/**
 * The local stack behind `npm start` (docs/local.md): the AWS-API emulators persisting under the
 * data directory, the resources created from shared/config/resources.ts, the default source, extra
 * services (EventBridge bus, scheduler), every function of FUNCTIONS loaded from its `entry` (the
 * same handler code Lambda runs), an HTTP server playing API Gateway, and one Kinesis poller per
 * event-source mapping playing the Lambda service.
 */
import { mkdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { join, resolve } from 'node:path';
import { BUS, ENV, FUNCTIONS, IMPORTS, JOURNEYS, LAKE, ROUTES, STREAMS, TABLES, THROTTLE, SCHEDULES, localEnvDefaults, type ScheduleDef } from '#shared/config';
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  GetScheduleCommand,
  UpdateScheduleCommand,
  type GetScheduleCommandOutput,
} from '@aws-sdk/client-scheduler';
import { requestCounts, scheduler } from '#shared/aws/clients';
import { emulatorConfig } from '#shared/aws/emulators';
import { ensureSource } from '#shared/collect/sources';
import { sourcesTableFromEnv } from '#functions/env';
import { CairnError } from '#shared/errors';
import { log } from '#shared/log';
import { Router, type LocalRouteDef } from './apigw';
import { CheckpointStore } from './checkpoints';
import { createResources, startEmulators, useEndpoints, type Emulators, type S3NotificationEvent } from './emulators';
import { consoleFiles, type ConsoleFiles } from './console';
import { createLocalHttpServer, type LocalHttpServer, type StackState } from './http';
import { loadFunction, type LoadedFunction, type LocalFunctionDef } from './lambda';
import { Metrics } from './metrics';
import { EventSourceMapping, type MappingStatus } from './poller';
import { nextMark, type PollerTuning } from './poller-common';
import { ensureLocalSecrets } from './secretsmanager/secrets';
import { service as secretsManagerService } from './secretsmanager/service';
import { discoverServices, type LocalService, type StartedService } from './services';
import { TokenBucket } from './throttle';
import { sleep } from '#shared/lang';

export interface LocalStackOptions {
  /** HTTP port on 127.0.0.1; 0 picks a free one. Default 4000. */
  port?: number;
  /** All local state (emulator data, checkpoints, services); survives restarts. */
  dataDir: string;
  /** Write key of the default source. Default `dev-write-key`. */
  writeKey?: string;
  /** Bearer token of the admin API. Default `dev-admin-token`. */
  adminToken?: string;
  /** One JSON log line per HTTP request. */
  log?: boolean;
  /** Functions to run (default FUNCTIONS); a definition may carry its handler inline (tests). */
  functions?: Record<string, LocalFunctionDef>;
  /** HTTP routes (default ROUTES). */
  routes?: LocalRouteDef[];
  /** Stage throttle (default THROTTLE). */
  throttle?: { rateLimit: number; burstLimit: number };
  /** Extra services; default: those discovered under local/ (services.ts). Secrets Manager is always started. */
  services?: LocalService[];
  /** Poller timings (idle backoff, retry delays). */
  tuning?: PollerTuning;
  /** Run the emulators in worker threads (default true; `CAIRN_EMULATOR_THREADS=0` turns it off). */
  emulatorThreads?: boolean;
  /** Run each stream-consuming function in its own worker thread (default true; `CAIRN_FUNCTION_THREADS=0` turns it off). */
  functionThreads?: boolean;
  /** The console's files (default: console/dist when built; `false`: none). */
  console?: ConsoleFiles | false;
}

export interface LocalEndpoints {
  dynamodb: string;
  kinesis: string;
  s3: string;
  events: string | null;
  scheduler: string | null;
  [service: string]: string | null;
}

export interface StreamStatus {
  name: string;
  /** Worst lag over the stream's consumers. */
  recordsBehind: number;
  millisBehind: number;
  consumers: Record<string, Omit<MappingStatus, 'function' | 'stream'>>;
}

export interface StackStatus {
  state: StackState;
  uptimeSeconds: number;
  streams: Record<string, StreamStatus>;
  functions: ReturnType<Metrics['functionsSnapshot']>;
  throughput: { windowSeconds: number; eventsPerSecond: number; requestsPerSecond: number };
  http: { requests: number; throttled: number; byStatus: Record<string, number> };
  services: Record<string, unknown>;
  /** AWS SDK calls made by this process since start, `service.Operation` → count, plus DynamoDB `dynamodb.rcu`/`dynamodb.wcu`. */
  aws: Record<string, number>;
  /** The handlers' EMF metrics since start (shared/metrics.ts; the figures CloudWatch shows on AWS). */
  metrics: ReturnType<Metrics['customSnapshot']>;
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dataDir: string;
  endpoints: LocalEndpoints;
  status(): Promise<StackStatus>;
  /**
   * Waits (bounded) until everything written to the streams before the call, by anyone (the stack's
   * functions, `cairn replay`, another process), and everything that follows from it has been
   * processed: no HTTP request, file drop or service delivery under way, and every shard read empty
   * after the last invocation finished. True when drained.
   */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Stops HTTP (finishing in-flight requests), drains the pollers, persists checkpoints, stops everything. */
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
}

/** Handler environment: every ENV variable, derived from the resource definitions. */
export function localEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  const streams = STREAMS as Record<string, { name: string }>;
  const tables = TABLES as Record<string, { name: string }>;
  for (const [key, variable] of Object.entries(ENV) as [string, string][]) {
    let value: string | undefined;
    if (key.endsWith('Stream')) value = streams[key.slice(0, -'Stream'.length)]?.name;
    else if (key.endsWith('Table')) value = tables[key.slice(0, -'Table'.length)]?.name;
    else if (key === 'lakeBucket') value = LAKE.localBucket;
    else if (key === 'eventBus') value = BUS.name;
    else value = localEnvDefaults(process.env.AWS_REGION ?? 'us-east-1')[key as keyof typeof ENV];
    if (value !== undefined) out[variable] = value;
    else log('warn', 'no local value for environment variable', { variable });
  }
  return out;
}

/** The runtime's own clients of the emulators (the pollers use these, not the handlers' clients). */
function emulatorClients(endpoints: Emulators['endpoints']) {
  const common = {
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }), connectionTimeout: 3_000, requestTimeout: 30_000 }),
  };
  return {
    kinesis: new KinesisClient({ ...common, ...emulatorConfig('kinesis', endpoints.kinesis) }),
    s3: new S3Client({ ...common, ...emulatorConfig('s3', endpoints.s3) }),
  };
}

/** True when `p` settles within `ms`; false after that (the timer does not outlive the answer). */
const within = (p: Promise<unknown>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    void p.then(
      () => (clearTimeout(timer), resolve(true)),
      () => (clearTimeout(timer), resolve(true)),
    );
  });

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const adminToken = opts.adminToken ?? 'dev-admin-token';
  const writeKey = opts.writeKey ?? 'dev-write-key';
  const fnDefs: Record<string, LocalFunctionDef> = opts.functions ?? (FUNCTIONS as unknown as Record<string, LocalFunctionDef>);
  const throttle = opts.throttle ?? THROTTLE;
  const startedAt = Date.now();

  let state: StackState = 'starting';
  const metrics = new Metrics().listen();
  const functions = new Map<string, LoadedFunction>();
  const mappings: EventSourceMapping[] = [];
  const services: { name: string; started: StartedService }[] = [];
  let emu: Emulators | undefined;
  let ownClients: ReturnType<typeof emulatorClients> | undefined;
  const endpoints: LocalEndpoints = { dynamodb: '', kinesis: '', s3: '', events: null, scheduler: null };
  const checkpoints = new CheckpointStore(join(dataDir, 'runtime', 'checkpoints.json'));

  const status = async (): Promise<StackStatus> => {
    const streams: Record<string, StreamStatus> = {};
    for (const [key, s] of Object.entries(STREAMS)) streams[key] = { name: s.name, recordsBehind: 0, millisBehind: 0, consumers: {} };
    for (const m of mappings) {
      const { function: fn, stream: _stream, ...rest } = m.status();
      const key = m.opts.source.stream;
      const st = streams[key]!;
      st.consumers[fn] = rest;
      st.recordsBehind = Math.max(st.recordsBehind, rest.recordsBehind);
      st.millisBehind = Math.max(st.millisBehind, rest.millisBehind);
    }
    for (const k of functions.keys()) metrics.fn(k);
    const svc: Record<string, unknown> = {};
    for (const s of services) svc[s.name] = { endpoint: s.started.endpoint ?? null, ...(s.started.status ? { status: await s.started.status() } : {}) };
    return {
      state,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      streams,
      functions: metrics.functionsSnapshot(),
      throughput: { windowSeconds: 60, eventsPerSecond: metrics.events.perSecond(), requestsPerSecond: metrics.http.rate.perSecond() },
      http: { requests: metrics.http.requests, throttled: metrics.http.throttled, byStatus: { ...metrics.http.byStatus } },
      services: svc,
      aws: Object.fromEntries([...requestCounts.entries()].map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
      metrics: metrics.customSnapshot(),
    };
  };

  /** Marks (poller-common.ts `nextMark`) of the latest HTTP-invoked function and service delivery to finish. */
  let lastInvokedMark = 0;
  let lastServiceMark = 0;

  const http: LocalHttpServer = createLocalHttpServer({
    router: new Router(opts.routes ?? ROUTES),
    functions,
    adminToken,
    throttle: new TokenBucket(throttle.rateLimit, throttle.burstLimit),
    metrics,
    state: () => state,
    endpoints: () => ({ ...endpoints }),
    status,
    log: opts.log,
    onInvoked: () => {
      lastInvokedMark = nextMark();
      nudge();
    },
    serviceRoute: (key) => services.find((s) => s.started.routes?.[key])?.started.routes?.[key],
    ...(opts.console === false ? {} : { console: opts.console ?? consoleFiles() }),
  });
  const port = await http.listen(opts.port ?? 4000);
  const url = `http://127.0.0.1:${port}`;

  /** After any invocation: a function may have written to a stream, so idle readers look now. */
  const nudge = () => {
    for (const m of mappings) m.nudge();
  };

  /** An invocation by a service (the bus, the scheduler, a file drop), counted in the function's stats as Lambda's metrics count it. */
  const metered = async (f: LoadedFunction, event: unknown): Promise<unknown> => {
    const stats = metrics.fn(f.key);
    stats.invocations++;
    const t0 = Date.now();
    try {
      return await f.invoke(event);
    } catch (e) {
      stats.errors++;
      throw e;
    } finally {
      stats.totalDurationMs += Date.now() - t0;
    }
  };

  const lookupFunction = (fn: string): LoadedFunction => {
    const f = functions.get(fn) ?? [...functions.values()].find((x) => x.name === fn || x.arn === fn || x.arn.endsWith(`:function:${fn}`));
    if (!f) throw new CairnError('function_not_found', `no function ${fn} in the local stack`, 404);
    return f;
  };

  // File drops (IMPORTS, docs/import.md): s3rver's object events under imports/ invoke λ import
  // asynchronously, as S3 → EventBridge → Lambda does on AWS (an event is retried twice on error).
  const fileDrops = new Set<Promise<void>>();
  let lastFileDropMark = 0;
  const onS3Event = (event: S3NotificationEvent) => {
    const fn = functions.get(IMPORTS.fn);
    if (!fn || state !== 'ready') return;
    const run = (async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await metered(fn, event);
          return;
        } catch (e) {
          log('warn', 'import invocation failed', { attempt, error: (e as Error).message });
          if (attempt < 2) await sleep(1000 * (attempt + 1));
        } finally {
          lastFileDropMark = nextMark();
          nudge();
        }
      }
    })();
    fileDrops.add(run);
    void run.finally(() => fileDrops.delete(run));
  };

  let draining = 0;
  const drain = async (timeoutMs = 20_000): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    // Reads that count must start after this call: a record written before it, even by a writer the
    // stack knows nothing about (cairn replay puts records on the stream itself), is then seen.
    const calledMark = nextMark();
    draining++;
    for (const m of mappings) {
      m.flushNow = true;
      m.nudge();
    }
    // Work under way may still write to a stream: an HTTP request, a file drop, a service delivery.
    const idle = () => {
      const busy = http.inFlight() > 0 || fileDrops.size > 0 || !services.every((s) => s.started.idle?.() ?? true);
      const since = Math.max(calledMark, lastInvokedMark, lastFileDropMark, lastServiceMark, ...mappings.map((m) => m.lastActivityMark()));
      return !busy && mappings.every((m) => m.drained(since));
    };
    try {
      while (Date.now() < deadline) {
        // Before answering, the object events of every S3 PUT answered so far (a file dropped under
        // imports/, an import's checkpoint) must have arrived: each starts a file drop.
        if (idle() && (await within(emu ? emu.syncEvents() : Promise.resolve(), deadline - Date.now())) && idle()) return true;
        await sleep(50);
      }
      return false;
    } finally {
      if (--draining === 0) for (const m of mappings) m.flushNow = false;
    }
  };

  let closing: Promise<void> | undefined;
  const shutdown = async (drainTimeoutMs = 20_000): Promise<void> => {
    state = 'stopping';
    await http.close(10_000);
    // Imports under way finish first (bounded): what they put on the raw stream is then drained.
    if (fileDrops.size) await Promise.race([Promise.allSettled([...fileDrops]), sleep(drainTimeoutMs)]);
    if (mappings.length) {
      const ok = await drain(drainTimeoutMs);
      if (!ok) {
        const lag = mappings.map((m) => ({ function: m.opts.fn.key, stream: m.opts.streamName, recordsBehind: m.status().recordsBehind }));
        log('warn', 'stopped before the pipeline drained; unprocessed records will be processed on the next start', { lag });
      }
    }
    await Promise.all(mappings.map((m) => m.stop()));
    await checkpoints.flush();
    for (const s of [...services].reverse()) {
      try {
        await s.started.close();
      } catch (e) {
        log('warn', 'service failed to close', { service: s.name, error: (e as Error).message });
      }
    }
    await Promise.all([...functions.values()].map((f) => f.close?.()));
    ownClients?.kinesis.destroy();
    ownClients?.s3.destroy();
    await emu?.close();
    metrics.close();
    state = 'stopped';
  };

  try {
    emu = await startEmulators(dataDir, {
      threads: opts.emulatorThreads ?? process.env.CAIRN_EMULATOR_THREADS !== '0',
      onS3Event,
      s3EventPrefix: IMPORTS.prefix,
    });
    Object.assign(endpoints, emu.endpoints);
    useEndpoints(emu.endpoints);
    process.env.AWS_REGION ??= 'us-east-1';
    Object.assign(process.env, localEnv());
    await createResources();
    // The local development key stands in for every sender, servers included: `server` (docs/local.md).
    await ensureSource(sourcesTableFromEnv(), writeKey, 'default', 'Default source', 'server');

    // Secrets Manager is part of the stack, not an extra: every function that hashes identifiers
    // reads the suppression key at its first invocation, so a `services` list that leaves it out
    // still gets it (as a stack on AWS always has its secrets).
    const extras = opts.services ?? (await discoverServices());
    const withSecrets = extras.some((s) => s.name === secretsManagerService.name) ? extras : [secretsManagerService, ...extras];
    for (const svc of withSecrets) {
      const started = await svc.start({
        dataDir,
        endpoints: Object.fromEntries(Object.entries(endpoints).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')),
        invoke: (fn, event) =>
          metered(lookupFunction(fn), event).finally(() => {
            lastServiceMark = nextMark();
            nudge();
          }),
        functionArn: (fn) => lookupFunction(fn).arn,
        log: !!opts.log,
      });
      services.push({ name: svc.name, started });
      if (started.endpoint) {
        endpoints[svc.name] = started.endpoint;
        process.env[`CAIRN_ENDPOINT_${svc.name.toUpperCase()}`] = started.endpoint;
      }
    }

    // The local stack never talks to real AWS: a service nobody provides gets an endpoint where
    // nothing listens, so a handler calling it fails fast instead of using the user's credentials.
    for (const name of ['events', 'scheduler', 'athena'] as const) {
      if (endpoints[name]) continue;
      process.env[`CAIRN_ENDPOINT_${name.toUpperCase()}`] = 'http://127.0.0.1:9';
      log('warn', 'no local service provides this AWS API; calls to it will fail', { service: name });
    }
    // The secrets exist before any function runs (they read them on their first invocation).
    await ensureLocalSecrets();

    // Stream consumers and the functions services invoke per event (λ import, journey, recheck) run
    // in worker threads of their own (like Lambda execution environments); those downstream of the
    // lake (not reading the raw stream) at a lower CPU priority, so that on
    // a small machine collect → normalize → lake keeps up and they catch up after (docs/local.md).
    const threads = opts.functionThreads ?? process.env.CAIRN_FUNCTION_THREADS !== '0';
    const nice = Number(process.env.CAIRN_DOWNSTREAM_NICE ?? 10) || 0;
    const loaded = await Promise.allSettled(
      Object.entries(fnDefs).map(([key, def]) =>
        loadFunction(key, def, { thread: threads && (!!def.kinesis || EVENT_DRIVEN.has(key)), nice: def.kinesis?.stream === 'raw' ? 0 : nice }),
      ),
    );
    for (const r of loaded) if (r.status === 'fulfilled') functions.set(r.value.key, r.value);
    for (const r of loaded) if (r.status === 'rejected') throw r.reason;
    if (endpoints.scheduler) await ensureLocalSchedules((fn) => functions.get(fn)?.arn);

    const runtimeClients = emulatorClients(emu.endpoints);
    ownClients = runtimeClients;
    for (const fn of functions.values()) {
      const source = fn.def.kinesis;
      if (!source) continue;
      const mapping = new EventSourceMapping({
        fn,
        source,
        streamName: STREAMS[source.stream].name,
        checkpoints,
        metrics,
        clients: runtimeClients,
        failedBucket: LAKE.localBucket,
        countsAsEvents: source.stream === 'raw',
        onActivity: nudge,
        tuning: opts.tuning,
      });
      await mapping.start();
      mappings.push(mapping);
    }
    state = 'ready';
  } catch (e) {
    await shutdown(0).catch(() => undefined);
    throw e;
  }

  return {
    url,
    port,
    dataDir,
    endpoints,
    status,
    drain,
    close: (o) => (closing ??= shutdown(o?.drainTimeoutMs)),
  };
}

/** Functions invoked by a service per event or file (not by HTTP, not on a daily schedule): each gets its own thread like a stream consumer. */
const EVENT_DRIVEN = new Set<string>([IMPORTS.fn, 'journey', 'recheck']);

/** Role ARN local schedules name (the local scheduler requires one, as AWS does; nothing checks it). */
export const LOCAL_SCHEDULER_ROLE = 'arn:aws:iam::000000000000:role/cairn-scheduler';

/**
 * Creates the journey schedule group and the SCHEDULES of shared/config/resources.ts in the local scheduler, targeting the stack's
 * functions (`arnOf` answers undefined for a function the stack does not run: skipped). Idempotent:
 * a schedule that already matches its definition is left alone, so its next run survives restarts.
 */
export async function ensureLocalSchedules(arnOf: (fn: string) => string | undefined): Promise<string[]> {
  const ensured: string[] = [];
  // The journey waits' schedule group: the CDK creates it on AWS, and λ journey's role may not.
  await scheduler()
    .send(new CreateScheduleGroupCommand({ Name: JOURNEYS.scheduleGroup }))
    .catch((e: Error) => {
      if (e.name !== 'ConflictException') throw e;
    });
  for (const def of Object.values(SCHEDULES) as ScheduleDef[]) {
    const arn = arnOf(def.fn);
    if (!arn) continue;
    const input = {
      Name: def.name,
      ScheduleExpression: def.expression,
      Description: def.description,
      State: 'ENABLED' as const,
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      Target: { Arn: arn, RoleArn: LOCAL_SCHEDULER_ROLE, Input: '{}' },
    };
    let current: GetScheduleCommandOutput | undefined;
    try {
      current = await scheduler().send(new GetScheduleCommand({ Name: def.name }));
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
    if (!current) await scheduler().send(new CreateScheduleCommand(input));
    else if (current.ScheduleExpression !== def.expression || current.Target?.Arn !== arn || current.State !== 'ENABLED') {
      await scheduler().send(new UpdateScheduleCommand(input));
    }
    ensured.push(def.name);
  }
  return ensured;
}
