/**
 * segments.*: the cost of computed traits and real-time segments in λ resolve.
 *
 * - `resolve.events_per_s_0_segments` / `resolve.events_per_s_100_segments`: λ resolve in-process
 *   against dynalite, the local bus and the local scheduler, on the same traffic mix (known
 *   customers browsing and buying, batches of 500), with no definitions vs 3 computed traits and
 *   100 segments (thresholds on computed traits, trait and consent conditions, rolling-window event
 *   counts). Target: 100 segments cost less than 2× throughput.
 * - `segments.evaluations_per_s`: segment evaluations (one segment for one profile, including its
 *   next-change time) per second of one core, over the profiles the 100-segment run produced.
 */
import { makeRng } from './events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResources, startEmulators, useEndpoints } from '#local/emulators';
import { startLocalSecretsManager } from '#local/secretsmanager/service';
import { localEnv } from '#local/stack';
import { requestCounts } from '#shared/aws/clients';
import { startEventBridge } from '#local/eventbridge/server';
import { startScheduler } from '#local/scheduler/server';
import { BUS, STREAMS } from '#shared/config';
import { validateDefinition, type Definition } from '#shared/definitions';
import { toKinesisEvent } from '#shared/message/kinesis-event';
import type { NormalizedMessage } from '#shared/message';
import { resolveHandler } from '#shared/resolve';
import { resolverDepsFromEnv as depsFromEnv } from '#functions/resolve/deps';
import { identityTablesFromEnv, segmentEffectsFromEnv } from '#functions/env';
import { ResolveCache, type ProfileRecord } from '#shared/identity';
import { DynamoStore } from '#shared/identity/dynamo-store';
import { eventBridgePublisher } from '#shared/identity/bus';
import { compileRuntime, runtimeLoader, segmentHooks, settleProfile } from '#shared/segments';

interface Result {
  name: string;
  value: number;
  unit: string;
}

/** 3 computed traits and `n` segments of the kinds marketers write. */
export function benchDefinitions(n = 100): Definition[] {
  const docs: unknown[] = [
    { kind: 'computedTrait', id: 'lifetime_revenue', event: 'Order Completed', aggregate: 'sum', property: 'properties.total' },
    { kind: 'computedTrait', id: 'orders_90d', event: 'Order Completed', aggregate: 'count', window: '90d' },
    { kind: 'computedTrait', id: 'last_sku', event: 'Product Viewed', aggregate: 'last', property: 'properties.sku' },
  ];
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    const where =
      k === 0
        ? { all: [{ computed: 'lifetime_revenue', gte: 50 * (i + 1) }, { consent: 'email' }] }
        : k === 1
          ? {
              any: [
                { trait: 'plan', in: ['pro', 'team'] },
                { computed: 'orders_90d', gte: 1 + (i % 5) },
              ],
            }
          : k === 2
            ? { event: 'Product Viewed', count: { gte: 3 + (i % 10) }, within: `${1 + (i % 14)}d`, where: { 'properties.category': `c-${i % 5}` } }
            : { all: [{ computed: 'lifetime_revenue', gt: 0 }, { not: { event: 'Order Completed', within: `${30 + i}d` } }] };
    docs.push({ kind: 'segment', id: `seg-${i}`, where });
  }
  return docs.map((d, index) => validateDefinition(d, { file: 'bench', index }));
}

export async function benchSegments(batches = Number(process.env.CAIRN_BENCH_SEGMENT_BATCHES ?? 6), population = 1_000): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-segments-'));
  const emu = await startEmulators(join(dir, 'emu'));
  const eb = await startEventBridge({ dataDir: dir, buses: [BUS.name], invoke: async () => {} });
  const sch = await startScheduler({ dataDir: dir, invoke: async () => {}, tickMs: 0 });
  const secrets = await startLocalSecretsManager(dir);
  try {
    useEndpoints({ ...emu.endpoints, events: eb.endpoint, scheduler: sch.endpoint });
    await createResources();
    // The handler environment the local stack gives every function (derived from the resource definitions).
    Object.assign(process.env, localEnv());
    const defs = benchDefinitions(100);
    let seq = 1_000_000;
    let n = 0;
    const t0 = Date.now() - 10 * 86_400_000;

    const runOnce = async (tag: string, definitions: Definition[]) => {
      const publisher = eventBridgePublisher(BUS.name);
      const resolve = resolveHandler(() => ({
        ...depsFromEnv(),
        cache: new ResolveCache(),
        hooks: segmentHooks({ ...segmentEffectsFromEnv(publisher), loader: runtimeLoader(async () => definitions, 60_000) }),
      }));
      const rnd = makeRng(7);
      const r = (k: number) => Math.floor(rnd() * k);
      const msg = (p: Partial<NormalizedMessage>): NormalizedMessage => {
        n++;
        const timestamp = new Date(t0 + n * 500).toISOString();
        return { messageId: `${tag}-${n}`, type: 'track', properties: {}, traits: {}, context: {}, timestamp, receivedAt: timestamp, sourceId: 'bench', ...p };
      };
      const send = async (msgs: NormalizedMessage[], shard: string) => {
        const ev = toKinesisEvent(
          msgs.map((m) => ({ data: JSON.stringify(m), partitionKey: m.userId ?? 'x', sequenceNumber: String(++seq) })),
          STREAMS.normalized.name,
          shard,
          process.env.AWS_REGION,
        );
        const res = await resolve(ev);
        if (res.batchItemFailures.length) throw new Error('segments bench: batch failed');
      };
      const users = Array.from({ length: population }, (_, i) => `${tag}-u${i}`);
      for (let i = 0; i < users.length; i += 500) {
        await send(
          users.slice(i, i + 500).map((u, j) =>
            msg({
              type: 'identify',
              userId: u,
              traits: { email: `${u}@example.com`, plan: j % 3 ? 'free' : 'pro' },
              context: { consent: { email: j % 2 === 0 } },
            }),
          ),
          'shardId-000000000000',
        );
      }
      let events = 0;
      const before = new Map(requestCounts);
      const start = performance.now();
      for (let b = 0; b < batches; b++) {
        const batch: NormalizedMessage[] = [];
        while (batch.length < 500) {
          const u = users[r(users.length)]!;
          const roll = r(10);
          batch.push(
            roll < 6
              ? msg({ userId: u, event: 'Product Viewed', properties: { sku: `s-${r(50)}`, category: `c-${r(5)}` } })
              : roll < 8
                ? msg({ type: 'page', userId: u, name: 'Catalog' })
                : msg({ userId: u, event: 'Order Completed', properties: { total: 5 + r(300), sku: `s-${r(50)}` } }),
          );
        }
        await send(batch, `shardId-00000000000${b % 2}`);
        events += batch.length;
      }
      const perSecond = events / ((performance.now() - start) / 1000);
      if (process.env.BENCH_VERBOSE) {
        const perEvent = [...requestCounts].map(([k, v]) => [k, +((v - (before.get(k) ?? 0)) / events).toFixed(3)] as const).filter(([, v]) => v > 0);
        console.error(`segments bench (${definitions.length} definitions): requests and units per event`, Object.fromEntries(perEvent));
      }
      const wcuPerEvent = ((requestCounts.get('dynamodb.wcu') ?? 0) - (before.get('dynamodb.wcu') ?? 0)) / events;
      return { perSecond, users, wcuPerEvent };
    };

    const base = await runOnce('z', []);
    const withSegments = await runOnce('s', defs);

    // Evaluations per second of one core, over the stored profiles of the 100-segment run.
    const store = new DynamoStore(identityTablesFromEnv());
    const sample: ProfileRecord[] = [];
    const ids = withSegments.users.slice(0, 200);
    const rt = compileRuntime(defs);
    // Profiles are found through their user ids.
    const pointers = await store.read({ identities: ids.map((u) => `user_id:${u}`) }, false);
    const profiles = await store.read({ profiles: [...new Set([...pointers.identities.values()].map((i) => i.profileId))] }, false);
    sample.push(...profiles.profiles.values());
    let evaluations = 0;
    const now = Date.now();
    const start = performance.now();
    while (performance.now() - start < 1500) {
      for (const p of sample) {
        settleProfile(p, rt, now);
        evaluations += rt.segments.length;
      }
    }
    const evalPerSecond = evaluations / ((performance.now() - start) / 1000);
    return [
      { name: 'segments.evaluations_per_s', value: Math.round(evalPerSecond), unit: 'evaluations/s' },
      { name: 'resolve.events_per_s_100_segments', value: Math.round(withSegments.perSecond), unit: 'events/s' },
      { name: 'resolve.events_per_s_0_segments', value: Math.round(base.perSecond), unit: 'events/s' },
      // Uniform-random traffic (no sessions): nearly one profile write per event, so item size shows directly.
      { name: 'resolve.wcu_per_event_100_segments', value: +withSegments.wcuPerEvent.toFixed(3), unit: 'WCU/event' },
      { name: 'resolve.wcu_per_event_0_segments', value: +base.wcuPerEvent.toFixed(3), unit: 'WCU/event' },
    ];
  } finally {
    await secrets.close();
    await sch.close();
    await eb.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchSegments().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
