/**
 * The daily full profile snapshot against the real emulators (dynalite, s3rver; tests/support/resolve-world.ts): profiles made by
 * λ resolve, then snapshotProfiles → gzip JSON Lines in the lake with exactly the live profiles
 * (merged-away ones, groups and shard markers left out), each in its hash bucket's object, reruns on
 * the same day that blank the earlier run instead of duplicating, parallel-scan segments and paging,
 * a run continued from its cursor over invocations and a crashed step repeated, and SQL over the result
 * (the "current state" query of docs/lake.md) through the local DuckDB lake.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb, s3 } from '#shared/aws/clients';
import { LAKE, TABLES } from '#shared/config/resources';
import { decodeJsonLines, encodeJsonLines } from '#shared/lake';
import type { NormalizedMessage } from '#shared/message/types';
import {
  dailySnapshotPrefix,
  parseDailyKey,
  snapshotBucket,
  snapshotHandler,
  snapshotProfiles,
  SNAPSHOT_JOB_KEY,
  type SnapshotState,
} from '#shared/profiles/snapshot';
import type { LakeProfileRow } from '#shared/identity/view';
import { privacyJobState } from '#shared/profiles/dynamo-snapshot';
import { snapshotStores, snapshotStoresFromEnv } from '#functions/snapshot/deps';
import { queryLocalLake, rowObjects } from '#cli/lake';
import { useResolveWorld } from '../support/resolve-world';

const world = useResolveWorld('snap');
const { msg } = world;
const batch = async (msgs: NormalizedMessage[], shard?: string) =>
  expect(await world.resolve(world.kinesisEvent(msgs, shard))).toEqual({ batchItemFailures: [] });

/** The profiles table as stored: live profile ids and merged-away ones (read with a plain full scan). */
async function tableState(): Promise<{ live: string[]; merged: string[]; other: number }> {
  const live: string[] = [];
  const merged: string[] = [];
  let other = 0;
  let start: Record<string, any> | undefined;
  do {
    const out = await dynamodb().send(new ScanCommand({ TableName: TABLES.profiles.name, ConsistentRead: true, ExclusiveStartKey: start }));
    for (const it of out.Items ?? []) {
      const pk = it.pk!.S!;
      if (!pk.startsWith('profile#')) other++;
      else if (it.mergedInto) merged.push(it.profileId!.S!);
      else live.push(it.profileId!.S!);
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return { live: live.sort(), merged: merged.sort(), other };
}

async function lakeObjects(prefix: string): Promise<{ key: string; rows: LakeProfileRow[] }[]> {
  const out: { key: string; rows: LakeProfileRow[] }[] = [];
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }));
      out.push({ key: o.Key!, rows: decodeJsonLines<LakeProfileRow>(await body.Body!.transformToByteArray()) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}
/** The snapshot's stores on the local tables and bucket. */
const stores = () => snapshotStores({ bucket: LAKE.localBucket, profilesTable: TABLES.profiles.name, privacyTable: TABLES.privacy.name });
const idsOf = (objs: { rows: LakeProfileRow[] }[]) => objs.flatMap((o) => o.rows.map((r) => r.profile_id)).sort();

beforeAll(async () => {
  // Ana browses on two devices, then logs in on both: the two anonymous profiles merge into one.
  await batch([
    msg({ type: 'page', anonymousId: 'ana-web', name: 'Home' }),
    msg({ type: 'page', anonymousId: 'ana-app', name: 'Home' }),
    msg({ type: 'identify', userId: 'ana', anonymousId: 'ana-web', traits: { email: 'ana@example.com', plan: 'pro' } }),
  ]);
  await batch([msg({ type: 'identify', userId: 'ana', anonymousId: 'ana-app' })], 'shardId-000000000001');
  // Ben buys in a store, Cleo only browses, and Ben's company is a group (a `group#` item).
  await batch([
    msg({ type: 'track', userId: 'ben', event: 'Order Completed', properties: { revenue: 42 } }),
    msg({ type: 'group', userId: 'ben', groupId: 'acme', traits: { name: 'Acme' } }),
    msg({ type: 'page', anonymousId: 'cleo-web', name: 'Pricing' }),
  ]);
});

describe('daily profile snapshot', () => {
  const date = '2024-03-05';
  const at = '2024-03-05T03:00:00.000Z';

  it('writes exactly the live profiles (merged-away, groups and shard markers left out), as daily rows', async () => {
    const state = await tableState();
    expect(state.live).toHaveLength(3); // ana, ben, cleo
    expect(state.merged).toHaveLength(1); // one of ana's anonymous profiles
    expect(state.other).toBeGreaterThanOrEqual(2); // group#acme, shard markers

    const res = await snapshotProfiles({ ...stores(), date, snapshotAt: at, totalSegments: 2, buckets: 4 });
    expect(res).toMatchObject({ date, snapshotAt: at, totalSegments: 2, buckets: 4, profiles: 3, runProfiles: 3, continued: false, cleared: [] });
    expect(res.scanned).toBe(state.live.length + state.merged.length + state.other);
    expect(res.rcu).toBeGreaterThan(0);

    const objs = await lakeObjects(dailySnapshotPrefix(date));
    expect(objs.map((o) => o.key)).toEqual(res.objects);
    for (const k of res.objects) expect(k).toMatch(/^profiles\/dt=2024-03-05\/daily-2024-03-05-b00[0-3]of004-r[0-9a-z]+-\d{6}\.json\.gz$/);
    // Each row is in the object of its profile's hash bucket.
    for (const o of objs) for (const r of o.rows) expect(parseDailyKey(o.key)!.bucket).toBe(snapshotBucket(r.profile_id, 4));
    expect(idsOf(objs)).toEqual(state.live);
    const rows = objs.flatMap((o) => o.rows);
    for (const r of rows) expect(r).toMatchObject({ snapshot_kind: 'daily', snapshot_at: at, merged_into: null });
    const ana = rows.find((r) => JSON.parse(r.identities).some((i: { type: string; value: string }) => i.value === 'ana'))!;
    expect(JSON.parse(ana.identities)).toEqual(
      expect.arrayContaining([
        { type: 'anonymous_id', value: 'ana-web' },
        { type: 'anonymous_id', value: 'ana-app' },
        { type: 'email', value: 'ana@example.com' },
      ]),
    );
    expect(JSON.parse(ana.merged_from)).toEqual(state.merged);
    expect(JSON.parse(ana.traits)).toMatchObject({ email: 'ana@example.com', plan: 'pro' });
    const ben = rows.find((r) => JSON.parse(r.identities).some((i: { value: string }) => i.value === 'ben'))!;
    expect(JSON.parse(ben.computed)).toMatchObject({ order_count: 1, revenue: 42 });
  });

  it("a rerun on the same day blanks the earlier run's objects and never duplicates a profile", async () => {
    const first = await snapshotProfiles({ ...stores(), date, snapshotAt: at, totalSegments: 2, buckets: 4 });
    const second = await snapshotProfiles({ ...stores(), date, snapshotAt: '2024-03-05T09:00:00.000Z', totalSegments: 2, buckets: 2 });
    expect(second.cleared).toEqual(expect.arrayContaining(first.objects));
    const objs = (await lakeObjects(dailySnapshotPrefix(date))).filter((o) => o.rows.length);
    expect(objs.map((o) => o.key)).toEqual(second.objects);
    expect(idsOf(objs)).toEqual((await tableState()).live);
    expect(objs.flatMap((o) => o.rows).every((r) => r.snapshot_at === '2024-03-05T09:00:00.000Z')).toBe(true);
  });

  it('parts: at most maxRowsPerPart rows each; the older <segment>-<part> layout of the day is blanked', async () => {
    const d = '2024-03-06';
    const old = `${dailySnapshotPrefix(d)}0-0.json.gz`;
    const anyRow = (await lakeObjects(dailySnapshotPrefix(date))).flatMap((o) => o.rows)[0]!;
    await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: old, Body: encodeJsonLines([anyRow]) }));
    const many = await snapshotProfiles({ ...stores(), date: d, totalSegments: 3, buckets: 2, maxRowsPerPart: 1, pageLimit: 1 });
    expect(many.objects).toHaveLength(3);
    expect(many.pages).toBeGreaterThan(3); // every segment paged through LastEvaluatedKey
    expect(many.cleared).toEqual([old]);
    const objs = await lakeObjects(dailySnapshotPrefix(d));
    for (const o of objs) expect(o.rows.length).toBeLessThanOrEqual(1);
    expect(idsOf(objs)).toEqual((await tableState()).live);
  });

  it('a run that stops after one step continues in the next invocation; the day holds each profile once', async () => {
    const d = '2024-03-07';
    let calls = 0;
    const first = await snapshotProfiles({
      ...stores(),
      date: d,
      totalSegments: 2,
      buckets: 2,
      pageLimit: 1,
      stepRows: 1,
      stopMarginMs: 1000,
      remainingMs: () => (calls++ === 0 ? 60_000 : 0),
    });
    expect(first).toMatchObject({ continued: true, steps: 1 });
    expect(first.profiles).toBeLessThan(3);
    const saved = await privacyJobState<SnapshotState>(TABLES.privacy.name, SNAPSHOT_JOB_KEY).load();
    expect(saved).toMatchObject({ date: d, done: false, buckets: 2, totalSegments: 2, profiles: first.profiles });
    expect(saved!.cursors.some((c) => !c.done && c.start)).toBe(true);
    // The next invocation (any other date asked for: the handler continues the unfinished run's).
    const rest = await snapshotProfiles({ ...stores(), date: d, totalSegments: 2, pageLimit: 1 });
    expect(rest).toMatchObject({ continued: false, cleared: [], runProfiles: 3 });
    expect(first.profiles + rest.profiles).toBe(3);
    const objs = await lakeObjects(dailySnapshotPrefix(d));
    expect(objs.map((o) => o.key).sort()).toEqual([...first.objects, ...rest.objects].sort());
    expect(idsOf(objs)).toEqual((await tableState()).live);
    expect((await privacyJobState<SnapshotState>(TABLES.privacy.name, SNAPSHOT_JOB_KEY).load())!.done).toBe(true);
  });

  it('a crash mid-step repeats that step only: its objects are blanked and written again, no profile twice', async () => {
    const d = '2024-03-08';
    const real = privacyJobState<SnapshotState>(TABLES.privacy.name, SNAPSHOT_JOB_KEY);
    let saves = 0;
    const crashing = {
      load: () => real.load(),
      save: async (s: SnapshotState) => {
        if (++saves === 2) throw new Error('crash after step 2 wrote its objects');
        await real.save(s);
      },
    };
    await expect(snapshotProfiles({ ...stores(), date: d, buckets: 1, pageLimit: 1, stepRows: 1, state: crashing })).rejects.toThrow(/crash/);
    const after = await real.load();
    expect(after).toMatchObject({ date: d, done: false, seq: 1 });
    const written = (await lakeObjects(dailySnapshotPrefix(d))).filter((o) => o.rows.length);
    expect(written.length).toBe(2); // step 1 (saved) and step 2 (not saved)
    const resumed = await snapshotProfiles({ ...stores(), date: d, pageLimit: 1, stepRows: 1 });
    expect(resumed.cleared).toEqual([written[1]!.key]);
    const objs = await lakeObjects(dailySnapshotPrefix(d));
    expect(idsOf(objs)).toEqual((await tableState()).live);
  });

  it("the handler continues an unfinished run, then does nothing once today's is done", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const handler = snapshotHandler({ ...snapshotStoresFromEnv(), totalSegments: 2 });
    const r1 = await handler({}, { getRemainingTimeInMillis: () => 600_000 });
    expect(r1).toMatchObject({ date: today, continued: false, runProfiles: 3 });
    expect(await handler({}, { getRemainingTimeInMillis: () => 600_000 })).toEqual({ skipped: 'done', date: today });
    expect(idsOf(await lakeObjects(dailySnapshotPrefix(today)))).toEqual((await tableState()).live);
  });

  it('refuses a malformed date or segment with a typed error', async () => {
    await expect(snapshotProfiles({ ...stores(), date: '2024-3-5' })).rejects.toMatchObject({ code: 'invalid_snapshot_date' });
    await expect(snapshotProfiles({ ...stores(), date: '2024-02-30' })).rejects.toMatchObject({ code: 'invalid_snapshot_date' });
    await expect(snapshotProfiles({ ...stores(), date, totalSegments: 0 })).rejects.toMatchObject({ code: 'invalid_snapshot_segment' });
  });

  it('SQL: daily rows by snapshot_kind, and the current state (latest row per profile) has only live profiles', async () => {
    const count = rowObjects(
      await queryLocalLake(
        world.dataDir,
        `select count(*) as n, count(distinct profile_id) as d from profiles where snapshot_kind = 'daily' and dt = '${date}'`,
      ),
    );
    expect(count).toEqual([{ n: 3, d: 3 }]);
    // resolve's on-change rows have no snapshot_kind; they read as 'change'.
    const kinds = rowObjects(
      await queryLocalLake(world.dataDir, `select coalesce(snapshot_kind, 'change') as k, count(*) > 0 as some from profiles group by 1 order by 1`),
    );
    expect(kinds).toEqual([
      { k: 'change', some: true },
      { k: 'daily', some: true },
    ]);

    // docs/lake.md, verbatim but for the date
    const current = rowObjects(
      await queryLocalLake(
        world.dataDir,
        `
      SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY profile_id ORDER BY updated_at DESC, snapshot_at DESC) AS rn
        FROM profiles
        WHERE dt >= '${date}'
      ) WHERE rn = 1 AND merged_into IS NULL ORDER BY profile_id`,
      ),
    );
    const state = await tableState();
    expect(current.map((r) => r.profile_id)).toEqual(state.live);
    expect(current.map((r) => r.profile_id)).not.toContain(state.merged[0]);
  });
});
