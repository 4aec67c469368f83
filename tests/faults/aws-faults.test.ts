/**
 * Proof under faults (issue 6): injected faults in the AWS clients. With `CAIRN_FAULT_RATE=0.1`
 * (shared/aws/clients.ts) a tenth of the handlers' data-plane AWS calls fail — throttling, 503s
 * before sending, and responses lost after the write was applied (the caller sees a timeout). The
 * SDK retries most; some escape to the handlers, whose own retries (collect answers non-200 and
 * the sender retries the batch; the stream consumers retry / bisect batches) must cope.
 *
 * The real local stack runs in this process (its stream functions in worker threads, which inherit
 * the env). ~3,000 distinct `Order Completed` tracks over 100 users are sent in batches, every
 * non-200 batch retried with the same messageIds until acknowledged. After the pipeline drains,
 * every messageId must be in the lake's `events` exactly once, nothing in `failed/`, and every
 * profile's order_count / revenue exact.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LAKE } from '#shared/config/resources';
import { decodeJsonLines } from '#shared/lake/index';
import type { LakeEventRow } from '#shared/message/types';
import { startLocalStack, type LocalStack } from '#local/stack';
import { sleep } from '#shared/lang';

const EVENTS = 3_000;
const BATCH = 50;
const SENDERS = 4;
const USERS = 100;
const RATE = '0.1';
const MAX_ATTEMPTS = '2';

const BASIC = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const RUN = `af-${Date.now().toString(36)}`;

interface Msg {
  messageId: string;
  userId: string;
  total: number;
}
const message = (i: number): Msg => ({ messageId: `${RUN}-m${i}`, userId: `${RUN}-u${i % USERS}`, total: 1 + (i % 13) + ((i * 7) % 100) / 100 });

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

let stack: LocalStack | undefined;
const dirs: string[] = [];
const savedEnv = {
  rate: process.env.CAIRN_FAULT_RATE,
  services: process.env.CAIRN_FAULT_SERVICES,
  log: process.env.CAIRN_LOG_LEVEL,
  attempts: process.env.CAIRN_AWS_MAX_ATTEMPTS,
};
afterAll(async () => {
  await stack?.close({ drainTimeoutMs: 2_000 }).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const [k, v] of [
    ['CAIRN_FAULT_RATE', savedEnv.rate],
    ['CAIRN_FAULT_SERVICES', savedEnv.services],
    ['CAIRN_LOG_LEVEL', savedEnv.log],
    ['CAIRN_AWS_MAX_ATTEMPTS', savedEnv.attempts],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('injected AWS faults (10% of calls throttled, 503, or response lost)', () => {
  it('slows the pipeline but loses and duplicates nothing', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-awsfaults-'));
    dirs.push(dataDir);
    // Before start: the handlers' clients (main thread and worker threads) are built with faults on.
    process.env.CAIRN_FAULT_RATE = RATE;
    // Fewer SDK attempts than the default 8, so that some faults escape the SDK to the handlers.
    process.env.CAIRN_AWS_MAX_ATTEMPTS = MAX_ATTEMPTS;
    delete process.env.CAIRN_FAULT_SERVICES;
    process.env.CAIRN_LOG_LEVEL ??= 'error';
    stack = await startLocalStack({ port: 0, dataDir });
    const base = stack.url;

    const msgs = Array.from({ length: EVENTS }, (_, i) => message(i));
    const batches: Msg[][] = [];
    for (let i = 0; i < msgs.length; i += BATCH) batches.push(msgs.slice(i, i + BATCH));

    // Send: every batch retried (same messageIds) until answered 200, as an SDK would.
    const non200: Record<string, number> = {};
    let acked = 0;
    let next = 0;
    const sender = async () => {
      for (let ix = next++; ix < batches.length; ix = next++) {
        for (let attempt = 0; ; attempt++) {
          let status = 0;
          try {
            const r = await fetch(`${base}/v1/batch`, {
              method: 'POST',
              headers: { authorization: BASIC, 'content-type': 'application/json' },
              body: body(batches[ix]!),
            });
            await r.arrayBuffer();
            status = r.status;
          } catch {
            status = -1;
          }
          if (status === 200) {
            acked += batches[ix]!.length;
            break;
          }
          non200[status] = (non200[status] ?? 0) + 1;
          if (attempt >= 30) throw new Error(`batch ${ix} still answered ${status} after ${attempt + 1} attempts`);
          await sleep(50 * Math.min(attempt + 1, 10));
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    const sentAt = Date.now();

    // Drain: every consumer caught up with an exact 0, for several polls in a row.
    let calm = 0;
    const drainDeadline = Date.now() + 75_000;
    while (calm < 6 && Date.now() < drainDeadline) {
      const st = await stack.status();
      const idle = Object.values(st.streams).every((s) => s.recordsBehind === 0 && Object.values(s.consumers).every((c) => c.exact));
      calm = idle ? calm + 1 : 0;
      await sleep(400);
    }
    expect(calm, 'the pipeline drained').toBeGreaterThanOrEqual(6);
    const drainedAt = Date.now();
    const st = await stack.status();

    // Lake, through the S3 API of the stack's emulator (a client of our own: never faulted).
    const s3c = new S3Client({
      endpoint: stack.endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestHandler: new NodeHttpHandler(),
    });
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
    const count = new Map<string, number>();
    for (const key of await listAll(LAKE.eventsPrefix)) {
      const got = await s3c.send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: key }));
      for (const row of decodeJsonLines<LakeEventRow>(await got.Body!.transformToByteArray())) {
        if (!row.message_id.startsWith(RUN)) continue;
        count.set(row.message_id, (count.get(row.message_id) ?? 0) + 1);
      }
    }
    const failedObjects = await listAll(LAKE.failedPrefix);
    s3c.destroy();
    const ids = new Set(msgs.map((m) => m.messageId));
    const lost = [...ids].filter((id) => !count.has(id));
    const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
    const unknown = [...count.keys()].filter((id) => !ids.has(id));

    // Profiles: order_count / revenue = sums over the user's events (the admin API's own reads may
    // be faulted too: a 5xx answer is retried, as a client would).
    const expected = new Map<string, { orders: number; revenueE4: number }>();
    for (const m of msgs) {
      const e = expected.get(m.userId) ?? { orders: 0, revenueE4: 0 };
      e.orders++;
      e.revenueE4 += Math.round(m.total * 1e4);
      expected.set(m.userId, e);
    }
    const mismatches: string[] = [];
    const users = [...expected.keys()];
    for (let i = 0; i < users.length; i += 10) {
      await Promise.all(
        users.slice(i, i + 10).map(async (u) => {
          const want = expected.get(u)!;
          for (let attempt = 0; ; attempt++) {
            const r = await fetch(`${base}/v1/profiles/${encodeURIComponent(`user_id:${u}`)}`, { headers: ADMIN });
            if ((r.status >= 500 || r.status === 429) && attempt < 20) {
              await r.arrayBuffer();
              await sleep(100);
              continue;
            }
            if (r.status !== 200) {
              mismatches.push(`${u}: ${r.status}`);
              await r.arrayBuffer();
              return;
            }
            const p = (await r.json()) as { computed: { order_count: number; revenue: number } };
            const gotE4 = Math.round(p.computed.revenue * 1e4);
            if (p.computed.order_count !== want.orders || gotE4 !== want.revenueE4) {
              mismatches.push(
                `${u}: order_count ${p.computed.order_count} (want ${want.orders}), revenue ${p.computed.revenue} (want ${want.revenueE4 / 1e4})`,
              );
            }
            return;
          }
        }),
      );
    }

    const fnErrors = Object.fromEntries(
      Object.entries(st.functions).map(([k, v]) => [
        k,
        { errors: (v as { errors: number }).errors, failedRecords: (v as { failedRecords?: number }).failedRecords ?? 0 },
      ]),
    );
    const figures = {
      fault_rate: Number(RATE),
      sdk_max_attempts: Number(MAX_ATTEMPTS),
      sent: EVENTS,
      acknowledged: acked,
      non200_answers: non200,
      faults_injected: st.aws['fault.injected'] ?? 0,
      responses_lost: st.aws['fault.response_lost'] ?? 0,
      faults_by_call: Object.fromEntries(Object.entries(st.aws).filter(([k]) => k.startsWith('fault.') && k.split('.').length === 3)),
      found: [...count.keys()].filter((id) => ids.has(id)).length,
      duplicated: duplicated.length,
      lost: lost.length,
      unknown: unknown.length,
      failed_objects: failedObjects.length,
      profiles_checked: users.length,
      profile_mismatches: mismatches.length,
      function_errors: fnErrors,
      send_seconds: (sentAt - started) / 1000,
      drain_seconds: (drainedAt - sentAt) / 1000,
    };
    process.stdout.write(`aws-faults: ${JSON.stringify(figures)}\n`);
    if (mismatches.length) process.stdout.write(`aws-faults: first mismatches: ${mismatches.slice(0, 5).join('; ')}\n`);

    // The faults really happened, in the handlers of every stage (collect in this thread, the stream
    // consumers in their worker threads report theirs through the same counters).
    expect(figures.faults_injected).toBeGreaterThan(50);
    expect(figures.responses_lost).toBeGreaterThan(5);
    expect(acked).toBe(EVENTS);
    expect(lost.slice(0, 5)).toEqual([]);
    expect(duplicated.slice(0, 5)).toEqual([]);
    expect(unknown).toEqual([]);
    expect(failedObjects).toEqual([]);
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(users.length).toBe(USERS);
  });
});
