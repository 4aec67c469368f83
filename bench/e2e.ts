/**
 * e2e.*: the local stack as a user runs it (`npm start` in its own process), fed by the real
 * @segment/analytics-node SDK in batches of 100; each event counts as done when it is readable in
 * the lake. Latency is collect → lake: the row's `received_at` (stamped by collect) to the moment
 * the bench first reads the row from the lake bucket through the S3 API.
 * aws.requests_per_event: the AWS SDK calls the stack's handlers made, per event, by service.
 * e2e.client_cpu_ms_per_event: the CPU this process (the SDK and the lake poller) used until the lake
 * was complete, per event: the load generator runs on the same cores as the stack it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Analytics } from '@segment/analytics-node';
import { decodeJsonLines } from '#shared/lake/index';
import { LAKE } from '#shared/config';
import { syntheticMessages, percentile } from './events';
import type { Result } from './result';
import { sleep } from '#shared/lang';
import { emulatorConfig } from '#shared/aws/emulators';

/** CPU ms per thread name of the process (Linux), for the diagnostic line. */
function threadCpu(pid: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      let name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (tid === String(pid)) name = 'main';
      else if (name === 'node') name = 'other (GC, libuv pool)';
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    }
  } catch {
    /* not Linux */
  }
  return out;
}

/** CPU time (user + system, every thread) the process has used, ms; undefined where /proc is missing. */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the `(comm)` field.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
const ADMIN = { authorization: 'Bearer dev-admin-token' };

async function startStack(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(process.env.BENCH_STACK_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'local/start.ts'], {
    env: { ...process.env, PORT: String(port), CAIRN_DATA_DIR: dataDir, CAIRN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: false,
  });
  for (let i = 0; i < 240; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.status === 200) return child;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null) throw new Error(`e2e bench: the local stack exited with ${child.exitCode}`);
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error('e2e bench: the local stack never became healthy');
}

/**
 * `rate` unset: the SDK sends flat out (capacity; p95 then measures the backlog draining).
 * `rate` set: events are offered at that steady rate (latency at a load the stack sustains);
 * figures are then named `e2e.at_<rate>_per_s.*`.
 */
export async function benchE2E(n: number, opts: { rate?: number } = {}): Promise<Result[]> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-e2e-'));
  const child = await startStack(port, dataDir);
  const base = `http://127.0.0.1:${port}`;
  try {
    const endpoints = (await (await fetch(`${base}/_aws/endpoints`)).json()) as { s3: string };
    const s3 = new S3Client(emulatorConfig('s3', endpoints.s3, 'us-east-1'));
    const before = ((await (await fetch(`${base}/v1/status`, { headers: ADMIN })).json()) as { aws?: Record<string, number> }).aws ?? {};

    const messages = syntheticMessages(n, { seed: 7 });
    const analytics = new Analytics({ writeKey: 'dev-write-key', host: base, maxEventsInBatch: 100, flushInterval: 50, maxRetries: 10 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));

    const seenKeys = new Set<string>();
    const latencies: number[] = [];
    const ids = new Set<string>();
    let duplicates = 0;
    const t0 = Date.now();
    const cpu0 = cpuMs(child.pid);
    // The load generator (this process: the SDK building and sending, the lake poller) shares the two cores.
    const client0 = process.cpuUsage();
    const threads0 = threadCpu(child.pid);
    let lastVisible = t0;
    const poll = async () => {
      let token: string | undefined;
      const fresh: string[] = [];
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.eventsPrefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key && !seenKeys.has(o.Key)) fresh.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
      for (const key of fresh) {
        const obj = await s3.send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: key }));
        const now = Date.now();
        seenKeys.add(key);
        for (const row of decodeJsonLines<{ message_id: string; received_at: string }>(await obj.Body!.transformToByteArray())) {
          if (ids.has(row.message_id)) {
            duplicates++;
            continue;
          }
          ids.add(row.message_id);
          latencies.push(now - Date.parse(row.received_at));
          lastVisible = now;
        }
      }
    };

    // Send at full speed; the SDK batches 100 a request.
    const sending = (async () => {
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i] as Record<string, any>;
        const common = { userId: m.userId, anonymousId: m.anonymousId, timestamp: new Date(m.timestamp), context: m.context };
        if (m.type === 'identify') analytics.identify({ ...common, traits: m.traits });
        else if (m.type === 'page') analytics.page({ ...common, name: m.name, properties: m.properties });
        else analytics.track({ ...common, event: m.event, properties: m.properties });
        if (opts.rate) {
          // Steady offered load: keep the send schedule at `rate` events per second.
          const due = t0 + ((i + 1) * 1000) / opts.rate;
          if (due > Date.now() + 20) await sleep(due - Date.now());
        } else if (i % 500 === 499) await sleep(0); // let the SDK flush
      }
      await analytics.closeAndFlush({ timeout: 120_000 });
    })();
    const deadline = Date.now() + 300_000;
    let sent = false;
    void sending.then(() => (sent = true));
    while (ids.size < n && Date.now() < deadline) {
      await sleep(100);
      await poll();
    }
    await sending;
    if (!sent) throw new Error('e2e bench: SDK never finished flushing');
    if (errors.length) throw new Error(`e2e bench: the SDK reported ${errors.length} errors, first: ${String((errors[0] as Error)?.message ?? errors[0])}`);
    if (ids.size < n) throw new Error(`e2e bench: only ${ids.size} of ${n} events reached the lake within the deadline`);

    const tLake = Date.now();
    const client = process.cpuUsage(client0);
    const cpuLake = cpuMs(child.pid);
    const threadsLake = threadCpu(child.pid);
    type Status = {
      streams: Record<string, { recordsBehind: number }>;
      functions: Record<string, { records: number; invocations: number; avgDurationMs: number; errors: number }>;
    };
    const status = async () => (await (await fetch(`${base}/v1/status`, { headers: ADMIN })).json()) as Status;
    const atLake = await status();
    // Let the downstream consumers (resolve, if the stack runs it) finish, then read the AWS request
    // counters. Resolve is not on the collect → lake path; its own rate is reported separately.
    const downstream = 'resolve' in atLake.functions ? ['resolve'] : [];
    let tDownstream = 0;
    for (let i = 0; Date.now() - tLake < 300_000; i++) {
      const st = i === 0 ? atLake : await status();
      const done = downstream.every((f) => (st.functions[f]?.records ?? 0) >= n);
      if (done && !tDownstream) tDownstream = Date.now();
      if (done && Object.values(st.streams).every((s) => s.recordsBehind === 0)) break;
      await sleep(250);
    }
    const atEnd = await status();
    const cpuEnd = cpuMs(child.pid);
    const fnLine = (st: Status) =>
      Object.entries(st.functions)
        .map(([k, f]) => `${k} ${f.records} records/${f.invocations} inv, avg ${f.avgDurationMs} ms${f.errors ? `, ${f.errors} errors` : ''}`)
        .join('; ');
    const threadLine = Object.entries(threadsLake)
      .map(([k, v]) => [k, v - (threads0[k] ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${Math.round(v)}`)
      .join(', ');
    process.stderr.write(
      `bench: e2e: when the lake was complete: ${fnLine(atLake)}\nbench: e2e: at the end: ${fnLine(atEnd)}\nbench: e2e: stack CPU ms by thread until the lake was complete: ${threadLine}\n`,
    );
    const after = ((await (await fetch(`${base}/v1/status`, { headers: ADMIN })).json()) as { aws?: Record<string, number> }).aws ?? {};
    const perService = new Map<string, number>();
    for (const [k, v] of Object.entries(after)) {
      const delta = v - (before[k] ?? 0);
      const [service, op] = k.split('.');
      if (!service || !op || service === 'billing' || op === 'rcu' || op === 'wcu' || op === 'units') continue;
      perService.set(service, (perService.get(service) ?? 0) + delta);
      perService.set(k, delta);
    }
    const seconds = (lastVisible - t0) / 1000;
    const results: Result[] = [
      { name: 'e2e.events_per_s', value: Math.round(n / seconds), unit: 'events/s' },
      { name: 'e2e.p95_ms', value: Math.round(percentile(latencies, 95)), unit: 'ms' },
      { name: 'e2e.p50_ms', value: Math.round(percentile(latencies, 50)), unit: 'ms' },
      { name: 'e2e.duplicates', value: duplicates, unit: 'events' },
    ];
    // CPU the stack process used (all threads; the machine may be shared, so this is the stable figure).
    if (cpu0 !== undefined && cpuLake !== undefined && cpuEnd !== undefined) {
      results.push({ name: 'e2e.stack_cpu_ms_per_event', value: +((cpuLake - cpu0) / n).toFixed(3), unit: 'CPU ms/event' });
      results.push({ name: 'e2e.stack_cpu_ms_per_event_incl_resolve', value: +((cpuEnd - cpu0) / n).toFixed(3), unit: 'CPU ms/event' });
    }
    results.push({ name: 'e2e.client_cpu_ms_per_event', value: +((client.user + client.system) / 1000 / n).toFixed(3), unit: 'CPU ms/event' });
    // Downstream of the lake: when resolve had processed every event (same start as e2e.events_per_s).
    if (downstream.length) {
      results.push({ name: 'e2e.resolve_events_per_s', value: tDownstream ? Math.round(n / ((tDownstream - t0) / 1000)) : 0, unit: 'events/s' });
    }
    for (const [k, v] of [...perService.entries()].sort()) {
      results.push({ name: `aws.requests_per_event.${k}`, value: +(v / n).toFixed(4), unit: 'requests/event' });
    }
    for (const unit of ['rcu', 'wcu']) {
      const v = (after[`dynamodb.${unit}`] ?? 0) - (before[`dynamodb.${unit}`] ?? 0);
      results.push({ name: `e2e.dynamodb_${unit}_per_event`, value: +(v / n).toFixed(4), unit: `${unit.toUpperCase()}/event` });
    }
    if (opts.rate) {
      const keep = new Set(['e2e.events_per_s', 'e2e.p95_ms', 'e2e.p50_ms', 'e2e.duplicates', 'e2e.client_cpu_ms_per_event']);
      return results.filter((r) => keep.has(r.name)).map((r) => ({ ...r, name: r.name.replace('e2e.', `e2e.at_${opts.rate}_per_s.`) }));
    }
    return results;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
