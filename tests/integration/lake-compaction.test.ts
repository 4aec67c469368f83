/**
 * Compaction against the local twin's S3 (s3rver) and the DuckDB views of `npx cairn sql` (docs/lake.md#compaction):
 * the same counts and the same report before, during and after a day is compacted and once its
 * objects expired; a late object in a compacted day (a replay) counted once before and after it is
 * compacted in turn; a replay that rewrites a compacted object not counted twice; erasure of a person
 * whose rows are in Parquet. The expiry tag is read back from s3rver (GetObjectTagging).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { s3 } from '#shared/aws/clients';
import { COMPACTION, LAKE } from '#shared/config';
import { compactLake, decodeJsonLines, decodeParquetRows, encodeJsonLines, isParquet, type LakeEventRow } from '#shared/lake';
import { s3CompactionStore } from '#shared/lake/s3-compaction';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import { ERASURE_LAKE_PREFIXES, rewriteObject, type ErasureTarget } from '#shared/privacy';
import { S3LakeObjects } from '#shared/privacy/s3-lake';
import { suppressionHasher } from '#shared/suppression';
import { openLocalLake, rowObjects, type LocalLake } from '#cli/lake';
import { reportSql } from '#cli/reports';
import { run } from '#cli/main';
import { io as captureIo } from '../support/io';

const DAYS = ['2024-05-01', '2024-05-02', '2024-05-03'];
const hash = suppressionHasher('integration-suppression-key-0123456789abcdef');

let n = 0;
const row = (user: string, event: string, dt: string, hour: number, total = 10): LakeEventRow => ({
  message_id: `m-${++n}`,
  type: 'track',
  event,
  name: null,
  category: null,
  user_id: user,
  anonymous_id: null,
  group_id: null,
  previous_id: null,
  timestamp: `${dt}T${String(hour).padStart(2, '0')}:00:00.000Z`,
  original_timestamp: null,
  sent_at: null,
  received_at: `${dt}T${String(hour).padStart(2, '0')}:00:01.000Z`,
  properties: JSON.stringify({ total }),
  traits: '{}',
  context: JSON.stringify({ library: { name: 'test' } }),
  source_id: 'default',
});
const put = (key: string, body: Uint8Array) => s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: key, Body: body }));
const keyOf = (dt: string, i: number) => `${LAKE.eventsPrefix}dt=${dt}/shardId-000000000000-${String(i).padStart(4, '0')}.json.gz`;
async function keys(prefix: string): Promise<string[]> {
  const out = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}
const body = async (key: string) => (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: key }))).Body!.transformToByteArray();

describe('compaction over the local lake', () => {
  let emu: Emulators;
  let lake: LocalLake;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-compaction-'));
  const store = () => s3CompactionStore(LAKE.localBucket);
  const compact = (o: { graceMinutes?: number; now?: number; targetBytes?: number } = {}) =>
    compactLake(store(), {
      settleHours: 0,
      graceMinutes: o.graceMinutes ?? 0,
      targetBytes: o.targetBytes ?? 4096,
      now: () => o.now ?? Date.now() + 86_400_000,
    });
  const count = async (sql = 'select count(*) as n, count(distinct message_id) as d from events') => rowObjects(await lake.query(sql))[0];
  const report = async () => (await lake.query(reportSql('funnel', { steps: 'Product Viewed,Order Completed' }, 'duckdb'))).rows;
  const written: string[] = [];
  let replayed: Uint8Array;

  beforeAll(async () => {
    emu = await startEmulators(dataDir);
    useEndpoints(emu.endpoints);
    await createResources();
    let i = 0;
    for (const dt of DAYS) {
      for (let b = 0; b < 4; b++) {
        const rows = ['ada', 'bob', 'cy'].flatMap((u, j) => [
          row(u, 'Product Viewed', dt, 8 + j),
          ...(u !== 'cy' ? [row(u, 'Order Completed', dt, 12 + j, 20 + b)] : []),
        ]);
        written.push(...rows.map((r) => r.message_id));
        const encoded = encodeJsonLines(rows);
        if (i === 0) replayed = encoded;
        await put(keyOf(dt, i++), encoded);
      }
    }
    lake = await openLocalLake(dataDir);
  }, 60_000);
  afterAll(async () => {
    lake?.close();
    await emu?.close();
  });

  it('counts and reports the same before, while and after the days are compacted', async () => {
    const before = { all: await count(), report: await report() };
    expect(before.all).toEqual({ n: written.length, d: written.length });
    // Parts written, not yet published (a grace period runs): the JSON objects still count.
    const t = Date.now() - 2 * 3_600_000;
    let r = await compact({ graceMinutes: 45, now: t });
    expect(r.days.map((d) => d.steps.join(','))).toEqual(['compact,wait', 'compact,wait', 'compact,wait']);
    expect((await keys(LAKE.parquetEventsPrefix)).length).toBeGreaterThanOrEqual(DAYS.length);
    expect(await count()).toEqual(before.all);
    // Published: the parts count and the JSON objects, still under events/, do not; they are tagged for expiry.
    r = await compact({ graceMinutes: 45, now: t + 45 * 60_000 });
    expect(r.days.map((d) => d.steps.join(','))).toEqual(['publish,tag', 'publish,tag', 'publish,tag']);
    expect(r.days.every((d) => d.state === 'done' && d.sourcesTagged === 4)).toBe(true);
    expect(await count()).toEqual(before.all);
    expect(await count('select count(*) as n from events_json')).toEqual({ n: written.length });
    expect(await count('select count(*) as n from events_parquet')).toEqual({ n: written.length });
    const tags = await s3().send(new GetObjectTaggingCommand({ Bucket: LAKE.localBucket, Key: keyOf(DAYS[0]!, 0) }));
    expect(tags.TagSet).toEqual([{ Key: COMPACTION.expiryTag.key, Value: COMPACTION.expiryTag.value }]);
    // The lifecycle rule removes them (on AWS; here by hand): the rows are read from Parquet only.
    for (const k of await keys(LAKE.eventsPrefix)) await s3().send(new DeleteObjectCommand({ Bucket: LAKE.localBucket, Key: k }));
    expect(await count()).toEqual(before.all);
    expect(await report()).toEqual(before.report);
    // Column types as before: timestamps and JSON columns.
    const one = rowObjects(
      await lake.query(
        `select typeof("timestamp") as t, properties->>'total' as total, dt from events where event = 'Order Completed' order by dt, message_id limit 1`,
      ),
    )[0];
    expect(one).toMatchObject({ t: 'TIMESTAMP WITH TIME ZONE', dt: DAYS[0] });
    expect(Number(one!.total)).toBeGreaterThanOrEqual(20);
  });

  it('a late object in a compacted day counts once, before and after it is compacted; a replayed compacted object not twice', async () => {
    const total = written.length;
    const late = [row('dee', 'Order Completed', DAYS[1]!, 20)];
    await put(keyOf(DAYS[1]!, 99), encodeJsonLines(late));
    expect(await count()).toEqual({ n: total + 1, d: total + 1 });
    // Normalize re-processing a batch writes its object again, with the same rows, under the same key.
    await put(keyOf(DAYS[0]!, 0), replayed);
    expect(await count()).toEqual({ n: total + 1, d: total + 1 });
    const r = await compact();
    expect(r.days.find((d) => d.dt === DAYS[1])).toMatchObject({ steps: ['compact', 'publish', 'tag'], rowsCompacted: 1, sourcesTagged: 1 });
    expect(r.days.find((d) => d.dt === DAYS[0])).toMatchObject({ steps: ['tag'], sourcesTagged: 1 });
    expect(await count()).toEqual({ n: total + 1, d: total + 1 });
    written.push(late[0]!.message_id);
  });

  it('npx cairn sql reads the view; erasure leaves none of a person’s rows in any part or object', async () => {
    const ada: ErasureTarget = { erasureId: 'e-ada', hashes: new Set([hash('user_id:ada')]), messageIds: new Set(), profileIds: new Set() };
    const objects = new S3LakeObjects(LAKE.localBucket);
    let removed = 0;
    for (const prefix of ERASURE_LAKE_PREFIXES)
      for await (const page of objects.pages(prefix, ''))
        for (const k of page) removed += (await rewriteObject(objects, k, [ada], DEFAULT_IDENTITY_CONFIG, hash)).removed.get('e-ada')?.length ?? 0;
    // Each of Ada's rows is in a part (the objects expired), the replayed object's in it too.
    expect(removed).toBe(2 * 4 * DAYS.length + 2);
    for (const prefix of [LAKE.eventsPrefix, LAKE.parquetEventsPrefix]) {
      for (const k of await keys(prefix)) {
        const b = await body(k);
        const rows = isParquet(b) ? await decodeParquetRows<LakeEventRow>(b) : decodeJsonLines<LakeEventRow>(b);
        expect(rows.map((x) => x.user_id)).not.toContain('ada');
      }
    }
    const io = captureIo();
    expect(await run(['--data-dir', dataDir, 'sql', 'select user_id, count(*) as n from events group by 1 order by 1', '--format', 'json'], io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual([
      { user_id: 'bob', n: 2 * 4 * DAYS.length },
      { user_id: 'cy', n: 4 * DAYS.length },
      { user_id: 'dee', n: 1 },
    ]);
  });
});
