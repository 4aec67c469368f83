/**
 * No copy of an erased person's rows is left behind by compaction (docs/privacy.md, docs/lake.md#compaction),
 * noncurrent versions included: the lake bucket is versioned on AWS, so this runs the S3 adapters
 * (shared/lake/s3-compaction.ts, shared/privacy/s3-lake.ts: the real SDK commands) against the model
 * of a versioned bucket (tests/support/versioned-s3.ts), as tests/unit/privacy-versions.test.ts does
 * for the JSON objects.
 *
 * - Archiving an object removes every version of it from events/ (its copy under raw/ is the one left).
 * - Erasure rewrites a Parquet part (as Parquet) and a raw/ copy, and removes their noncurrent versions.
 */
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import { LAKE } from '#shared/config';
import { compactionKeys, compactLake, decodeJsonLines, decodeParquetRows, encodeJsonLines, isParquet, type LakeEventRow } from '#shared/lake';
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
      if (!k.startsWith(LAKE.eventsPrefix) && !k.startsWith(LAKE.parquetEventsPrefix) && !k.startsWith(LAKE.rawEventsPrefix)) continue;
      const rows = isParquet(v.body) ? await decodeParquetRows<LakeEventRow>(v.body) : decodeJsonLines<LakeEventRow>(v.body);
      for (const r of rows) {
        if (!out.has(r.user_id!)) out.set(r.user_id!, new Set());
        out.get(r.user_id!)!.add(k);
      }
    }
  }
  return out;
}

it('archiving removes every version of an events/ object; erasure leaves no version of a part or raw copy with the rows', async () => {
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
    dates: [DAY],
    now: () => Date.parse('2024-06-01T00:00:00Z'),
  });
  expect(r.days[0]).toMatchObject({ state: 'done', sourcesArchived: 2, rowsCompacted: 4 });
  // Gone from events/ with every version and no delete marker left; copied to raw/.
  expect([...b.keys.keys()].filter((k) => k.startsWith(LAKE.eventsPrefix))).toEqual([]);
  expect(b.keys.get(compactionKeys.raw(key(1)))).toHaveLength(1);
  const parts = [...b.keys.keys()].filter((k) => k.startsWith(LAKE.parquetEventsPrefix));
  expect(parts).toHaveLength(1);

  // The erasure pass over the prefixes it rewrites (full mode): the part is rewritten as Parquet.
  const lake = new S3LakeObjects(BUCKET);
  const removed: Record<string, number> = {};
  for (const prefix of ERASURE_LAKE_PREFIXES) {
    for await (const page of lake.pages(prefix, '')) {
      for (const k of page) {
        const res = await rewriteObject(lake, k, [ada], DEFAULT_IDENTITY_CONFIG, hash);
        removed[k] = res.removed.get('e-ada')?.length ?? 0;
      }
    }
  }
  expect(removed[parts[0]!]).toBe(2);
  expect(removed[compactionKeys.raw(key(1))]).toBe(1);
  expect(removed[compactionKeys.raw(key(2))]).toBe(1);
  expect(isParquet(b.latest(parts[0]!)!.body!)).toBe(true);
  expect((await decodeParquetRows<LakeEventRow>(b.latest(parts[0]!)!.body!)).map((x) => x.message_id)).toEqual(['m2', 'm3']);

  const users = await usersInEveryVersion(b);
  expect(users.has('ada')).toBe(false);
  expect([...users.get('bob')!].sort()).toEqual([compactionKeys.raw(key(1)), compactionKeys.raw(key(2)), parts[0]].sort());
});
