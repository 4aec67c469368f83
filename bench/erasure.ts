/**
 * Erasure at scale, locally (docs/privacy.md "Measured", docs/deploy.md "Jobs that finish at scale"):
 * a lake of OBJECTS event objects × ROWS rows (one day-partition per 20 objects) on the emulators,
 * one person's rows in PERSON objects, indexed as λ resolve indexes them (timeline table `lake#…`
 * items). Two erasures of such a person: through the lake index, then with a full scan. Figures:
 * objects read, time, and lake objects read per second (what sets the AWS arithmetic).
 *
 *   BENCH_ONLY=erasure npm run bench          # 1,000 objects × 200 rows (BENCH_SCALE scales objects)
 *   npx tsx bench/erasure.ts [objects] [rows] [personObjects]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStack } from '#local/stack';
import { s3 } from '#shared/aws/clients';
import { LAKE, TABLES } from '#shared/config';
import { DynamoStore } from '#shared/identity/dynamo-store';
import { encodeJsonLines, eventObjectKey, toEventRow } from '#shared/lake/index';
import type { NormalizedMessage } from '#shared/message';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { runErasures } from '#shared/privacy';
import { SUPPRESSION_HASH_VERSION, suppress } from '#shared/suppression';
import { privacyTableFromEnv } from '#functions/env';
import type { Result } from './result';

async function buildLake(objects: number, rows: number, people: { user: string; profileId: string; every: number }[]): Promise<void> {
  const store = new DynamoStore({ identities: TABLES.identities.name, profiles: TABLES.profiles.name, timeline: TABLES.timeline.name });
  for (let o = 0; o < objects; o += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, objects - o) }, async (_, k) => {
        const i = o + k;
        const date = new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 20) * 86_400_000).toISOString().slice(0, 10);
        const key = eventObjectKey(date, 'shardId-000000000000', String(1e9 + i));
        const owner = people.find((p) => i % p.every === 0);
        const body = Array.from({ length: rows }, (_, r) => {
          const m = {
            type: 'track',
            event: 'Order Completed',
            messageId: `m-${i}-${r}`,
            userId: owner && r === 0 ? owner.user : `user-${(i * 7919 + r) % 50_000}`,
            anonymousId: `anon-${r}`,
            properties: { revenue: r, sku: `sku-${r % 100}` },
            traits: {},
            context: { ip: '203.0.113.1', library: { name: 'analytics.js' } },
            timestamp: `${date}T12:00:00.000Z`,
            receivedAt: `${date}T12:00:00.100Z`,
            sourceId: 'default',
          } as unknown as NormalizedMessage;
          return toEventRow(m);
        });
        await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: key, Body: encodeJsonLines(body) }));
        // As λ resolve indexes it: one item per (profile, batch) listing the object.
        if (owner) await store.putTimeline([], [{ profileId: owner.profileId, keys: [key] }]);
      }),
    );
  }
}

async function erase(id: string, user: string, profileId: string, fullScan: boolean) {
  const now = new Date(Date.now() - 600_000).toISOString();
  const deps = eraseDepsFromEnv();
  // Hashed with the stack's suppression key (its local Secrets Manager), as an erasure request hashes.
  const hashes = [(await deps.suppression.hasher())(`user_id:${user}`)];
  await deps.records.put({
    erasureId: id,
    status: 'suppressed',
    requestedAt: now,
    suppressedAt: now,
    identifierHashes: hashes,
    hashVersion: SUPPRESSION_HASH_VERSION,
    profileIds: [profileId],
  });
  await suppress(privacyTableFromEnv(), hashes, id, now);
  await deps.records.enqueue(id);
  const t = Date.now();
  const r = await runErasures(deps, { settleSeconds: 0, erasureIds: [id], fullScan });
  if (!r.erased.includes(id)) throw new Error(`bench: erasure ${id} did not complete`);
  return { objects: r.lakeObjectsScanned, ms: Date.now() - t };
}

export async function benchErasure(objects = 1000, rows = 200, personObjects = 10): Promise<Result[]> {
  // The local stack (emulators, tables, bucket, scheduler, secrets), without functions: λ erase is called directly.
  const stack = await startLocalStack({ port: 0, dataDir: mkdtempSync(join(tmpdir(), 'cairn-bench-erasure-')), functions: {}, routes: [] });
  try {
    const every = Math.max(1, Math.floor(objects / personObjects));
    await buildLake(objects, rows, [
      { user: 'user-erased-a', profileId: 'p-erased-a', every },
      { user: 'user-erased-b', profileId: 'p-erased-b', every: every + 1 },
    ]);
    const indexed = await erase('bench-index', 'user-erased-a', 'p-erased-a', false);
    const full = await erase('bench-full', 'user-erased-b', 'p-erased-b', true);
    return [
      { name: 'erasure.lake_objects', value: objects, unit: `objects × ${rows} rows` },
      { name: 'erasure.index.objects_read', value: indexed.objects, unit: 'objects' },
      { name: 'erasure.index.ms', value: indexed.ms, unit: 'ms' },
      { name: 'erasure.full_scan.objects_read', value: full.objects, unit: 'objects' },
      { name: 'erasure.full_scan.ms', value: full.ms, unit: 'ms' },
      { name: 'erasure.full_scan.objects_per_s', value: Math.round((full.objects / full.ms) * 1000), unit: 'objects/s (16 concurrent, local s3rver)' },
    ];
  } finally {
    await stack.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.env.CAIRN_LOG_LEVEL = 'error';
  const res = await benchErasure(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 200), Number(process.argv[4] ?? 10));
  console.log(JSON.stringify(Object.fromEntries(res.map((r) => [r.name, r.value]))));
  process.exit();
}
