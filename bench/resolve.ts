/**
 * resolve.*: λ resolve in-process against dynalite, the local bus and s3rver, on a realistic mix —
 * a known population signs up first, then traffic where most events come from known customers,
 * some from new visitors, a few sign-ups; batches of 500 alternating two shards (what the
 * event-source mapping delivers). Units are DynamoDB's consumed capacity as the store counts it.
 * profile.get_p99_ms: a support agent's lookups by email and by phone through the admin handler.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createResources, startEmulators, useEndpoints } from '#local/emulators';
import { startLocalSecretsManager } from '#local/secretsmanager/service';
import { localEnv } from '#local/stack';
import { startEventBridge } from '#local/eventbridge/server';
import { BUS, STREAMS } from '#shared/config';
import { toKinesisEvent } from '#shared/message/kinesis-event';
import type { NormalizedMessage } from '#shared/message';
import { resolveHandler } from '#shared/resolve';
import { resolverDepsFromEnv as depsFromEnv } from '#functions/resolve/deps';
import { adminRouterFromEnv } from '#functions/admin/deps';
import { capacity, resetCapacity } from '#shared/identity/dynamo-store';
import { adminHandler } from '#shared/admin';
import { makeRng, percentile } from './events';
import type { Result } from './result';

export async function benchResolve(batches: number, population = 5_000): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-resolve-'));
  const emu = await startEmulators(join(dir, 'emu'));
  const eb = await startEventBridge({ dataDir: dir, buses: [BUS.name], invoke: async () => {} });
  const secrets = await startLocalSecretsManager(dir);
  try {
    useEndpoints({ ...emu.endpoints, events: eb.endpoint });
    await createResources();
    // The handler environment the local stack gives every function (derived from the resource definitions).
    Object.assign(process.env, localEnv());
    const resolve = resolveHandler(depsFromEnv);
    const rnd = makeRng(11);
    const r = (k: number) => Math.floor(rnd() * k);
    let n = 0;
    let seq = 1_000_000;
    const t0 = Date.UTC(2026, 0, 1);
    const msg = (p: Partial<NormalizedMessage>): NormalizedMessage => {
      n++;
      const timestamp = new Date(t0 + n * 1000).toISOString();
      return { messageId: `m-${n}`, type: 'track', properties: {}, traits: {}, context: {}, timestamp, receivedAt: timestamp, sourceId: 'bench', ...p };
    };
    const send = async (msgs: NormalizedMessage[], shard: string) => {
      const ev = toKinesisEvent(
        msgs.map((m) => ({ data: JSON.stringify(m), partitionKey: m.userId ?? m.anonymousId ?? 'x', sequenceNumber: String(++seq) })),
        STREAMS.normalized.name,
        shard,
        process.env.AWS_REGION,
      );
      const res = await resolve(ev);
      if (res.batchItemFailures.length) throw new Error(`resolve bench: batch failed at ${res.batchItemFailures[0]!.itemIdentifier}`);
    };
    const users = Array.from({ length: population }, (_, i) => ({ user: `cu-${i}`, anon: `ca-${i}`, phone: `+1415555${String(i).padStart(4, '0')}` }));
    for (let i = 0; i < users.length; i += 500) {
      await send(
        users
          .slice(i, i + 500)
          .map((u) => msg({ type: 'identify', userId: u.user, anonymousId: u.anon, traits: { email: `${u.user}@example.com`, phone: u.phone, plan: 'free' } })),
        `shardId-00000000000${(i / 500) % 2}`,
      );
    }
    resetCapacity();
    let events = 0;
    const start = performance.now();
    for (let b = 0; b < batches; b++) {
      const batch: NormalizedMessage[] = [];
      // Traffic comes in sessions: a known customer browses a few pages and products, sometimes
      // buys; new visitors land; a few sign up.
      while (batch.length < 500) {
        const roll = r(100);
        if (roll < 90) {
          const u = users[r(users.length)]!;
          const length = 2 + r(8);
          for (let i = 0; i < length && batch.length < 500; i++) {
            const kind = r(10);
            batch.push(
              kind < 6
                ? msg({ type: 'track', userId: u.user, anonymousId: u.anon, event: 'Product Viewed', properties: { sku: `s-${r(50)}` } })
                : kind < 9
                  ? msg({ type: 'page', userId: u.user, anonymousId: u.anon, name: 'Catalog', context: { page: { path: '/c' } } })
                  : msg({ type: 'track', userId: u.user, event: 'Order Completed', properties: { total: 10 + r(90) } }),
            );
          }
        } else if (roll < 98) {
          const v = `visitor-${b}-${batch.length}`;
          for (let i = 0, length = 1 + r(3); i < length && batch.length < 500; i++) batch.push(msg({ type: 'page', anonymousId: v, name: 'Landing' }));
        } else
          batch.push(
            msg({
              type: 'identify',
              userId: `new-${b}-${batch.length}`,
              anonymousId: `nv-${b}-${batch.length}`,
              traits: { email: `new-${b}-${batch.length}@example.com` },
            }),
          );
      }
      events += batch.length;
      await send(batch, `shardId-00000000000${b % 2}`);
    }
    const seconds = (performance.now() - start) / 1000;
    if (process.env.BENCH_VERBOSE) console.error('resolve units by operation', capacity.byOp);
    const wcu = capacity.wcu / events;
    const rcu = capacity.rcu / events;

    const admin = adminHandler(adminRouterFromEnv);
    const get = async (identifier: string) => {
      const rawPath = `/v1/profiles/${encodeURIComponent(identifier)}`;
      const res = await admin({
        version: '2.0',
        routeKey: 'GET /v1/profiles/{identifier}',
        rawPath,
        rawQueryString: '',
        headers: {},
        isBase64Encoded: false,
        pathParameters: { identifier },
        requestContext: {
          http: { method: 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
        } as APIGatewayProxyEventV2['requestContext'],
      } as APIGatewayProxyEventV2);
      if (res.statusCode !== 200) throw new Error(`profile bench: ${identifier} answered ${res.statusCode}`);
    };
    for (let i = 0; i < 50; i++) await get(`email:${users[i]!.user}@example.com`); // warm
    const times: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const u = users[r(users.length)]!;
      const t = performance.now();
      await get(i % 2 ? `phone:${u.phone}` : `email:${u.user}@example.com`);
      times.push(performance.now() - t);
    }
    return [
      { name: 'resolve.events_per_s', value: Math.round(events / seconds), unit: 'events/s' },
      { name: 'resolve.wcu_per_event', value: +wcu.toFixed(3), unit: 'WCU/event' },
      { name: 'resolve.rcu_per_event', value: +rcu.toFixed(3), unit: 'RCU/event' },
      { name: 'profile.get_p99_ms', value: +percentile(times, 99).toFixed(1), unit: 'ms' },
      { name: 'profile.get_p50_ms', value: +percentile(times, 50).toFixed(1), unit: 'ms' },
    ];
  } finally {
    await secrets.close();
    await eb.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
