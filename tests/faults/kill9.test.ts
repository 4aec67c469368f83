/**
 * Proof under faults (issue 6): `kill -9` of the local stack in the middle of a load, then a
 * restart on the same data dir. Every event the collector answered 200 for must be in the lake's
 * `events` exactly once and counted exactly once in the profiles.
 *
 * The stack runs as a user runs it (`node --import tsx local/start.ts`, its own process). A few
 * concurrent senders post batches of 100 distinct `Order Completed` tracks (known messageIds, known
 * totals, spread over a fixed set of users). After ~40% of the batches are acknowledged the stack
 * gets SIGKILL; batches in flight then fail and are not acknowledged. As a real SDK would, the
 * senders retry every unacknowledged batch (same messageIds) after the restart, which also tests
 * dedup by messageId across the crash: some of those batches had reached the raw stream already.
 *
 * Size: CAIRN_FAULT_EVENTS (default 8,000; e.g. `CAIRN_FAULT_EVENTS=50000 npx vitest run
 * tests/integration/faults-kill9.test.ts` for the issue's 50,000-event run, which takes minutes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LAKE, STREAMS } from '#shared/config/resources';
import { decodeJsonLines } from '#shared/lake/index';
import type { LakeEventRow } from '#shared/message/types';
import { PROJECT_ROOT } from '#local/lambda';
import { sleep } from '#shared/lang';

const EVENTS = Math.max(1_000, Number(process.env.CAIRN_FAULT_EVENTS ?? 8_000) || 8_000);
const BATCH = 100;
const SENDERS = 4;
const USERS = 400;
/** Fraction of batches acknowledged when the stack is killed. */
const KILL_AT = 0.4;
const TIMEOUT_MS = Math.max(170_000, EVENTS * 25);

const BASIC = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const RUN = `k9-${Date.now().toString(36)}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startStack(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: String(port), CAIRN_DATA_DIR: dataDir, CAIRN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  for (let i = 0; i < 240; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.status === 200) return child;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null) throw new Error(`the local stack exited with ${child.exitCode}`);
    await sleep(250);
  }
  throw new Error('the local stack never became healthy');
}

/** Alive = the process exists (signal 0); after SIGKILL and `exit`, it must not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Msg {
  messageId: string;
  userId: string;
  total: number;
}

/** Event i: user i mod USERS, total a known amount with cents (exact in the profile's 1/10,000 units). */
function message(i: number): Msg {
  return { messageId: `${RUN}-m${i}`, userId: `${RUN}-u${i % USERS}`, total: 1 + (i % 13) + ((i * 7) % 100) / 100 };
}

function body(msgs: Msg[]): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    batch: msgs.map((m) => ({
      type: 'track',
      event: 'Order Completed',
      userId: m.userId,
      messageId: m.messageId,
      timestamp: now,
      properties: { total: m.total, currency: 'EUR' },
    })),
    sentAt: now,
  });
}

/** Diagnostic: how many of this run's messageIds a stream holds more than once (the copies the stages had to dedup). */
async function streamCopies(kinesis: KinesisClient, stream: string, idOf: (v: any) => unknown): Promise<{ records: number; repeated: number }> {
  const seen = new Map<string, number>();
  let records = 0;
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  for (const sh of shards) {
    let it = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: sh.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (it) {
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      for (const rec of r.Records ?? []) {
        const id = idOf(JSON.parse(Buffer.from(rec.Data!).toString('utf8')));
        if (typeof id !== 'string' || !id.startsWith(RUN)) continue;
        records++;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      if (!r.Records?.length) break;
      it = r.NextShardIterator;
    }
  }
  return { records, repeated: [...seen.values()].filter((n) => n > 1).length };
}

type Status = {
  streams: Record<string, { recordsBehind: number; consumers: Record<string, { exact: boolean }> }>;
  functions: Record<string, { errors: number; failedRecords?: number }>;
};

describe('kill -9 of the local stack under load', () => {
  it('keeps every acknowledged event exactly once in the lake and the profiles', { timeout: TIMEOUT_MS }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-kill9-'));
    dirs.push(dataDir);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const msgs = Array.from({ length: EVENTS }, (_, i) => message(i));
    const batches: Msg[][] = [];
    for (let i = 0; i < msgs.length; i += BATCH) batches.push(msgs.slice(i, i + BATCH));

    const acked = new Set<number>(); // batch indexes answered 200
    const failedAtKill = new Set<number>(); // batches that errored around the kill (not acknowledged)
    const otherStatus: Record<string, number> = {};
    let child = await startStack(port, dataDir);
    const firstPid = child.pid!;
    let killed = false;
    let killedAt = 0;

    // Phase 1: senders pull batches from a shared queue until the kill.
    let next = 0;
    const killAfter = Math.floor(batches.length * KILL_AT);
    const sender = async () => {
      while (!killed && next < batches.length) {
        const ix = next++;
        try {
          const r = await fetch(`${base}/v1/batch`, {
            method: 'POST',
            headers: { authorization: BASIC, 'content-type': 'application/json' },
            body: body(batches[ix]!),
          });
          await r.arrayBuffer();
          if (r.status === 200) acked.add(ix);
          else {
            otherStatus[r.status] = (otherStatus[r.status] ?? 0) + 1;
            failedAtKill.add(ix);
          }
        } catch {
          failedAtKill.add(ix); // connection reset / refused: the stack died under this request
        }
      }
    };
    let behindAtKill: Record<string, number> = {};
    const killer = (async () => {
      while (acked.size < killAfter && next < batches.length) await sleep(5);
      // What the pipeline still had to do when it died (records read but not yet processed).
      try {
        const st = (await (await fetch(`${base}/v1/status`, { headers: ADMIN })).json()) as Status;
        behindAtKill = Object.fromEntries(Object.entries(st.streams).map(([k, v]) => [k, v.recordsBehind]));
      } catch {
        /* diagnostic only */
      }
      child.kill('SIGKILL');
      killed = true;
      killedAt = acked.size;
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    })();
    await Promise.all([...Array.from({ length: SENDERS }, sender), killer]);
    expect(child.signalCode).toBe('SIGKILL');
    // Worker threads (emulators, functions) die with the process: nothing of it is left.
    expect(alive(firstPid)).toBe(false);
    const inFlightAtKill = failedAtKill.size;

    // Phase 2: restart on the same data dir; retry what was not acknowledged, send the rest.
    child = await startStack(port, dataDir);
    const todo = batches.map((_, i) => i).filter((i) => !acked.has(i));
    let retries = 0;
    const resender = async () => {
      for (let ix = todo.shift(); ix !== undefined; ix = todo.shift()) {
        for (let attempt = 0; ; attempt++) {
          const r = await fetch(`${base}/v1/batch`, {
            method: 'POST',
            headers: { authorization: BASIC, 'content-type': 'application/json' },
            body: body(batches[ix]!),
          });
          await r.arrayBuffer();
          if (r.status === 200) {
            acked.add(ix);
            break;
          }
          otherStatus[r.status] = (otherStatus[r.status] ?? 0) + 1;
          if (attempt >= 20) throw new Error(`batch ${ix} still answered ${r.status} after ${attempt + 1} attempts`);
          retries++;
          await sleep(200 * (attempt + 1));
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, resender));
    const ackedIds = new Set<string>();
    for (const ix of acked) for (const m of batches[ix]!) ackedIds.add(m.messageId);

    // Phase 3: wait for the pipeline to drain (every consumer caught up with an exact 0, for a while).
    const status = async () => (await (await fetch(`${base}/v1/status`, { headers: ADMIN })).json()) as Status;
    let calm = 0;
    let last: Status | undefined;
    const drainDeadline = Date.now() + TIMEOUT_MS / 2;
    while (calm < 6 && Date.now() < drainDeadline) {
      last = await status();
      const idle = Object.values(last.streams).every((s) => s.recordsBehind === 0 && Object.values(s.consumers).every((c) => c.exact));
      calm = idle ? calm + 1 : 0;
      await sleep(500);
    }
    expect(calm, 'the pipeline drained after the restart').toBeGreaterThanOrEqual(6);

    // Lake: every row of events/, through the S3 API of the running stack.
    const endpoints = (await (await fetch(`${base}/_aws/endpoints`)).json()) as { s3: string; kinesis: string };
    const kinesis = new KinesisClient({
      endpoint: endpoints.kinesis,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: new NodeHttpHandler(),
    });
    const copies = (stream: string, idOf: (v: any) => unknown) =>
      streamCopies(kinesis, stream, idOf).catch((e: Error) => {
        process.stdout.write(`faults-kill9: reading ${stream} failed: ${e.name} ${e.message} ${e.stack?.split('\n').slice(0, 4).join(' | ')}\n`);
        return { records: -1, repeated: -1 };
      });
    const rawCopies = await copies(STREAMS.raw.name, (v) => v?.message?.messageId);
    const normalizedCopies = await copies(STREAMS.normalized.name, (v) => v?.messageId);
    const s3c = new S3Client({
      endpoint: endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const count = new Map<string, number>();
    const listAll = async (prefix: string) => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3c.send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    };
    for (const key of await listAll(LAKE.eventsPrefix)) {
      const got = await s3c.send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: key }));
      for (const row of decodeJsonLines<LakeEventRow>(await got.Body!.transformToByteArray())) {
        if (!row.message_id.startsWith(RUN)) continue;
        count.set(row.message_id, (count.get(row.message_id) ?? 0) + 1);
      }
    }
    const quarantined = (await listAll(LAKE.quarantinePrefix)).length;
    const failedObjects = (await listAll(LAKE.failedPrefix)).length;
    const lost = [...ackedIds].filter((id) => !count.has(id));
    const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
    const unknown = [...count.keys()].filter((id) => !ackedIds.has(id));

    // Profiles: order_count and revenue of every user = the sums over its acknowledged events.
    const expected = new Map<string, { orders: number; revenueE4: number }>();
    for (const id of ackedIds) {
      const m = msgs[Number(id.slice(id.lastIndexOf('-m') + 2))]!;
      const e = expected.get(m.userId) ?? { orders: 0, revenueE4: 0 };
      e.orders++;
      e.revenueE4 += Math.round(m.total * 1e4);
      expected.set(m.userId, e);
    }
    const mismatches: string[] = [];
    const users = [...expected.keys()];
    for (let i = 0; i < users.length; i += 16) {
      await Promise.all(
        users.slice(i, i + 16).map(async (u) => {
          // A well-behaved client: the admin API throttles per route (429 with Retry-After).
          let r = await fetch(`${base}/v1/profiles/${encodeURIComponent(`user_id:${u}`)}`, { headers: ADMIN });
          for (let attempt = 0; r.status === 429 && attempt < 20; attempt++) {
            await r.arrayBuffer();
            await new Promise((ok) => setTimeout(ok, Math.max(50, Number(r.headers.get('retry-after') ?? 0) * 1000) * Math.random() + 50));
            r = await fetch(`${base}/v1/profiles/${encodeURIComponent(`user_id:${u}`)}`, { headers: ADMIN });
          }
          const want = expected.get(u)!;
          if (r.status !== 200) {
            mismatches.push(`${u}: ${r.status}`);
            return;
          }
          const p = (await r.json()) as { computed: { order_count: number; revenue: number } };
          const gotE4 = Math.round(p.computed.revenue * 1e4);
          if (p.computed.order_count !== want.orders || gotE4 !== want.revenueE4) {
            mismatches.push(`${u}: order_count ${p.computed.order_count} (want ${want.orders}), revenue ${p.computed.revenue} (want ${want.revenueE4 / 1e4})`);
          }
        }),
      );
    }

    const figures = {
      events_sent: EVENTS,
      batches: batches.length,
      acknowledged_before_kill: killedAt * BATCH,
      batches_failed_at_kill: inFlightAtKill,
      records_behind_at_kill: behindAtKill,
      raw_stream_records: rawCopies.records,
      raw_stream_repeated_ids: rawCopies.repeated,
      normalized_stream_records: normalizedCopies.records,
      normalized_stream_repeated_ids: normalizedCopies.repeated,
      retried_after_restart_non200: retries,
      acknowledged: ackedIds.size,
      found_in_lake: [...count.keys()].filter((id) => ackedIds.has(id)).length,
      duplicated: duplicated.length,
      lost: lost.length,
      unacknowledged_in_lake: unknown.length,
      quarantine_objects: quarantined,
      failed_destination_objects: failedObjects,
      profiles_checked: users.length,
      profile_mismatches: mismatches.length,
      non200_answers: otherStatus,
    };
    process.stdout.write(`faults-kill9: ${JSON.stringify(figures)}\n`);
    if (mismatches.length) process.stdout.write(`faults-kill9: first mismatches: ${mismatches.slice(0, 5).join('; ')}\n`);

    // Stop cleanly (SIGTERM) before asserting, so a failure leaves no process behind.
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    expect(child.exitCode).toBe(0);

    // The kill really happened mid-load: part acknowledged before it, the rest only after the restart.
    expect(killedAt).toBeGreaterThanOrEqual(killAfter);
    expect(killedAt).toBeLessThan(batches.length);
    expect(ackedIds.size).toBe(EVENTS); // every batch was eventually acknowledged (retried after restart)
    expect(lost.slice(0, 5)).toEqual([]);
    expect(duplicated.slice(0, 5)).toEqual([]);
    expect(unknown).toEqual([]);
    expect(failedObjects).toBe(0);
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(users.length).toBe(USERS);
  });
});
