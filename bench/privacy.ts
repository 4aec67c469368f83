/**
 * Time to full erasure on the local stack's emulators (docs/privacy.md): a lake of OBJECTS event
 * objects × ROWS rows (one day-partition per 20 objects, other people's rows and the erased person's
 * rows sprinkled in), one pending erasure, one λ erase run. Run: `npx tsx bench/privacy.ts [objects] [rows]`.
 * Prints one JSON line; not part of `npm run bench` (figures recorded in docs/privacy.md).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints } from '#local/emulators';
import { startLocalSecretsManager } from '#local/secretsmanager/service';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config';
import { encodeJsonLines, eventObjectKey, toEventRow } from '#shared/lake/index';
import type { NormalizedMessage } from '#shared/message';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { runErasures } from '#shared/privacy';
import { SUPPRESSION_HASH_VERSION, suppress } from '#shared/suppression';
import { privacyTableFromEnv } from '#functions/env';

process.env.CAIRN_LOG_LEVEL = 'error';
const OBJECTS = Number(process.argv[2] ?? 500);
const ROWS = Number(process.argv[3] ?? 500);

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-privacy-'));
const emu = await startEmulators(dataDir);
useEndpoints(emu.endpoints);
await createResources();
const secrets = await startLocalSecretsManager(dataDir);
let person = 0;
for (let o = 0; o < OBJECTS; o += 25) {
  await Promise.all(
    Array.from({ length: Math.min(25, OBJECTS - o) }, async (_, k) => {
      const i = o + k;
      const date = new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 20) * 86_400_000).toISOString().slice(0, 10);
      const rows = Array.from({ length: ROWS }, (_, r) => {
        const mine = (i * ROWS + r) % 997 === 0;
        if (mine) person++;
        const m = {
          type: 'track',
          event: 'Order Completed',
          messageId: `m-${i}-${r}`,
          userId: mine ? 'user-erased' : `user-${(i * 7919 + r) % 50_000}`,
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
      await s3().send(
        new PutObjectCommand({ Bucket: LAKE.localBucket, Key: eventObjectKey(date, 'shardId-000000000000', String(1e9 + i)), Body: encodeJsonLines(rows) }),
      );
    }),
  );
}
const now = new Date().toISOString();
const deps = eraseDepsFromEnv();
const hashes = [(await deps.suppression.hasher())('user_id:user-erased')];
await deps.records.put({
  erasureId: 'bench',
  status: 'suppressed',
  requestedAt: now,
  suppressedAt: now,
  identifierHashes: hashes,
  hashVersion: SUPPRESSION_HASH_VERSION,
  profileIds: [],
});
await suppress(privacyTableFromEnv(), hashes, 'bench', now);
await deps.records.enqueue('bench');
const res = await runErasures(deps, { settleSeconds: 0 });
console.log(
  JSON.stringify({
    objects: OBJECTS,
    rowsPerObject: ROWS,
    rows: OBJECTS * ROWS,
    personRows: person,
    erased: res.erased.length,
    lakeObjectsScanned: res.lakeObjectsScanned,
    ms: res.ms,
  }),
);
await secrets.close();
await emu.close();
