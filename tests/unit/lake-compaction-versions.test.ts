/**
 * No copy of an erased person's rows is left behind in the lake once a day is compacted (docs/privacy.md,
 * docs/lake.md#compaction), noncurrent versions included: the lake bucket is versioned on AWS, so this
 * runs the S3 adapters (shared/lake/s3-compaction.ts, shared/privacy/s3-lake.ts: the real SDK commands)
 * against the model of a versioned bucket (tests/support/versioned-s3.ts), as
 * tests/unit/privacy-versions.test.ts does for the JSON objects.
 *
 * Compaction deletes nothing (the events/ objects are tagged for the lifecycle rule); erasure rewrites
 * a Parquet part as Parquet, the events/ objects as before, and removes the noncurrent versions of both.
 */
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import { COMPACTION, LAKE } from '#shared/config';
import { compactLake, decodeJsonLines, decodeParquetRows, encodeJsonLines, isParquet, type LakeEventRow } from '#shared/lake';
import { s3CompactionStore } from '#shared/lake/s3-compaction';
import { ERASURE_LAKE_PREFIXES, rewriteObject, type ErasureTarget } from '#shared/privacy';
import { S3LakeObjects } from '#shared/privacy/s3-lake';
import { suppressionHasher } from '#shared/suppression';
import { VersionedBucket } from '../support/versioned-s3';

const hash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');
const BUCKET = 'versioned-lake';
const DAY = '2024-05-01';
const ada: ErasureTarget = { erasureId: 'e-ada', hashes: new Set([hash('user_id:ada')]), messageIds: new Set(), profileIds: new Set() };
const row = (userId: string, id: string): LakeEventRow => ({
  message_id: id,
  type: 'track',
  event: 'Viewed',
  name: null,
  category: null,
  user_id: userId,
  anonymous_id: null,
  group_id: null,
  previous_id: null,
  timestamp: `${DAY}T10:00:00.000Z`,
  original_timestamp: null,
  sent_at: null,
  received_at: `${DAY}T10:00:00.000Z`,
  properties: '{}',
  traits: '{}',
  context: '{}',
  source_id: 'default',
});
const key = (n: number) => `${LAKE.eventsPrefix}dt=${DAY}/shardId-000000000000-${n}.json.gz`;

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

/** Every user id in every version of every object of the bucket. */
async function usersInEveryVersion(b: VersionedBucket): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const [k, versions] of b.keys) {
    for (const v of versions) {
      if (v.deleteMarker || !v.body) continue;
      if (!k.startsWith(LAKE.eventsPrefix) && !k.startsWith(LAKE.parquetEventsPrefix)) continue;
      const rows = isParquet(v.body) ? await decodeParquetRows<LakeEventRow>(v.body) : decodeJsonLines<LakeEventRow>(v.body);
      for (const r of rows) {
        if (!out.has(r.user_id!)) out.set(r.user_id!, new Set());
        out.get(r.user_id!)!.add(k);
      }
    }
  }
  return out;
}

it('compaction tags and deletes nothing; erasure leaves no version of a part or an object with the rows', async () => {
  const b = new VersionedBucket(BUCKET);
  uninstall = b.install();
  // A replayed batch wrote key 1 twice: two versions, both with Ada's row.
  b.put(key(1), encodeJsonLines([row('ada', 'm1'), row('bob', 'm2')]));
  b.put(key(1), encodeJsonLines([row('ada', 'm1'), row('bob', 'm2')]));
  b.put(key(2), encodeJsonLines([row('bob', 'm3'), row('ada', 'm4')]));

  const r = await compactLake(s3CompactionStore(BUCKET), {
    settleHours: 0,
    graceMinutes: 0,
    targetBytes: 1024 ** 2,
    now: () => Date.parse('2024-06-01T00:00:00Z'),
  });
  expect(r.days[0]).toMatchObject({ state: 'done', sourcesTagged: 2, rowsCompacted: 4 });
  expect(b.calls.filter((c) => c.startsWith('DeleteObject'))).toEqual([]);
  expect(b.tags.get(key(1))).toEqual({ [COMPACTION.expiryTag.key]: COMPACTION.expiryTag.value });
  const parts = [...b.keys.keys()].filter((k) => k.startsWith(LAKE.parquetEventsPrefix));
  expect(parts).toHaveLength(1);
  // A second compaction of the same objects (a dropped pending one, say) rewrote the part: a noncurrent version.
  b.put(parts[0]!, b.latest(parts[0]!)!.body!);

  // The erasure pass over the prefixes it rewrites (full mode): the part is rewritten as Parquet.
  const lake = new S3LakeObjects(BUCKET);
  const removed: Record<string, number> = {};
  for (const prefix of ERASURE_LAKE_PREFIXES) {
    for await (const page of lake.pages(prefix, '')) {
      for (const k of page) removed[k] = (await rewriteObject(lake, k, [ada], DEFAULT_IDENTITY_CONFIG, hash)).removed.get('e-ada')?.length ?? 0;
    }
  }
  expect(removed).toEqual({ [key(1)]: 1, [key(2)]: 1, [parts[0]!]: 2 });
  expect(isParquet(b.latest(parts[0]!)!.body!)).toBe(true);
  expect((await decodeParquetRows<LakeEventRow>(b.latest(parts[0]!)!.body!)).map((x) => x.message_id)).toEqual(['m2', 'm3']);
  expect(b.noncurrent(parts[0]!)).toEqual([]);

  const users = await usersInEveryVersion(b);
  expect(users.has('ada')).toBe(false);
  expect([...users.get('bob')!].sort()).toEqual([key(1), key(2), parts[0]].sort());
  // The rewrite dropped the expiry tag (a PUT does): the next compaction run tags the objects again.
  expect(b.tags.has(key(1))).toBe(false);
  const again = await compactLake(s3CompactionStore(BUCKET), {
    settleHours: 0,
    graceMinutes: 0,
    targetBytes: 1024 ** 2,
    now: () => Date.parse('2024-06-02T00:00:00Z'),
  });
  expect(again.days[0]).toMatchObject({ steps: ['tag'], sourcesTagged: 2 });
  expect(b.tags.has(key(1))).toBe(true);
});
