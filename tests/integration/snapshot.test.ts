/**
 * The daily full profile snapshot against the real emulators (dynalite, s3rver): profiles made by
 * λ resolve, then snapshotProfiles → gzip JSON Lines in the lake with exactly the live profiles
 * (merged-away ones, groups and shard markers left out), deterministic keys so reruns on the same
 * day replace instead of duplicating, parallel-scan segments and paging, and SQL over the result
 * (the "current state" query of docs/lake.md) through the local DuckDB lake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createResources, startEmulators, useEndpoints, type Emulators } from '../../local/emulators';
import { startEventBridge, type LocalEventBridge } from '../../local/eventbridge/server';
import { dynamodb, s3 } from '../../shared/aws/clients';
import { BUS, ENV, LAKE, STREAMS, TABLES } from '../../shared/config/resources';
import { decodeJsonLines } from '../../shared/lake';
import { toKinesisEvent } from '../../shared/message/kinesis-event';
import type { NormalizedMessage } from '../../shared/message/types';
import { depsFromEnv, resolveHandler } from '../../shared/identity/handler';
import { snapshotProfiles, dailySnapshotPrefix } from '../../shared/profiles/snapshot';
import type { LakeProfileRow } from '../../shared/profiles/view';
import { queryLocalLake, rowObjects } from '../../cli/lake';

process.env.CAIRN_LOG_LEVEL = 'error';
let emu: Emulators;
let eb: LocalEventBridge;
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-snapshot-'));
let seq = 2_000_000;
let n = 0;
let resolve: ReturnType<typeof resolveHandler>;

const msg = (p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>): NormalizedMessage => ({
  messageId: `snap-${++n}`,
  properties: {},
  traits: {},
  context: {},
  timestamp: new Date(Date.UTC(2024, 2, 1) + n * 1000).toISOString(),
  receivedAt: new Date(Date.UTC(2024, 2, 1) + n * 1000 + 50).toISOString(),
  sourceId: 'src',
  ...p,
});
const batch = async (msgs: NormalizedMessage[], shard = 'shardId-000000000000') => {
  const res = await resolve(toKinesisEvent(
    msgs.map((m) => ({ data: JSON.stringify(m), partitionKey: m.userId ?? m.anonymousId ?? 'x', sequenceNumber: String(++seq) })),
    STREAMS.normalized.name,
    shard,
  ));
  expect(res).toEqual({ batchItemFailures: [] });
};

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
const idsOf = (objs: { rows: LakeProfileRow[] }[]) => objs.flatMap((o) => o.rows.map((r) => r.profile_id)).sort();

beforeAll(async () => {
  emu = await startEmulators(dataDir);
  eb = await startEventBridge({ dataDir, buses: [BUS.name], invoke: async () => undefined });
  useEndpoints({ ...emu.endpoints, events: eb.endpoint });
  await createResources();
  Object.assign(process.env, {
    [ENV.identitiesTable]: TABLES.identities.name,
    [ENV.profilesTable]: TABLES.profiles.name,
    [ENV.timelineTable]: TABLES.timeline.name,
    [ENV.lakeBucket]: LAKE.localBucket,
    [ENV.eventBus]: BUS.name,
  });
  resolve = resolveHandler(depsFromEnv);

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
afterAll(async () => {
  await eb?.close();
  await emu?.close();
});

describe('daily profile snapshot', () => {
  const date = '2024-03-05';
  const at = '2024-03-05T03:00:00.000Z';

  it('writes exactly the live profiles (merged-away, groups and shard markers left out), as daily rows', async () => {
    const state = await tableState();
    expect(state.live).toHaveLength(3); // ana, ben, cleo
    expect(state.merged).toHaveLength(1); // one of ana's anonymous profiles
    expect(state.other).toBeGreaterThanOrEqual(2); // group#acme, shard markers

    const res = await snapshotProfiles({ bucket: LAKE.localBucket, date, snapshotAt: at, totalSegments: 2 });
    expect(res).toMatchObject({ date, snapshotAt: at, totalSegments: 2, segments: [0, 1], profiles: 3, cleared: [] });
    expect(res.scanned).toBe(state.live.length + state.merged.length + state.other);
    expect(res.rcu).toBeGreaterThan(0);

    const objs = await lakeObjects(dailySnapshotPrefix(date));
    expect(objs.map((o) => o.key)).toEqual(res.objects);
    for (const k of res.objects) expect(k).toMatch(/^profiles\/dt=2024-03-05\/daily-2024-03-05-[01]-0\.json\.gz$/);
    expect(idsOf(objs)).toEqual(state.live);
    const rows = objs.flatMap((o) => o.rows);
    for (const r of rows) expect(r).toMatchObject({ snapshot_kind: 'daily', snapshot_at: at, merged_into: null });
    const ana = rows.find((r) => JSON.parse(r.identities).some((i: { type: string; value: string }) => i.value === 'ana'))!;
    expect(JSON.parse(ana.identities)).toEqual(expect.arrayContaining([
      { type: 'anonymous_id', value: 'ana-web' }, { type: 'anonymous_id', value: 'ana-app' }, { type: 'email', value: 'ana@example.com' },
    ]));
    expect(JSON.parse(ana.merged_from)).toEqual(state.merged);
    expect(JSON.parse(ana.traits)).toMatchObject({ email: 'ana@example.com', plan: 'pro' });
    const ben = rows.find((r) => JSON.parse(r.identities).some((i: { value: string }) => i.value === 'ben'))!;
    expect(JSON.parse(ben.computed)).toMatchObject({ order_count: 1, revenue: 42 });
  });

  it('a rerun on the same day writes the same keys and never duplicates a profile', async () => {
    const first = await snapshotProfiles({ bucket: LAKE.localBucket, date, snapshotAt: at, totalSegments: 2 });
    const second = await snapshotProfiles({ bucket: LAKE.localBucket, date, snapshotAt: '2024-03-05T09:00:00.000Z', totalSegments: 2 });
    expect(second.objects).toEqual(first.objects);
    const objs = await lakeObjects(dailySnapshotPrefix(date));
    expect(objs.map((o) => o.key)).toEqual(first.objects);
    expect(idsOf(objs)).toEqual((await tableState()).live);
    expect(objs.flatMap((o) => o.rows).every((r) => r.snapshot_at === '2024-03-05T09:00:00.000Z')).toBe(true);
  });

  it('parts: at most maxRowsPerPart rows each; a rerun with fewer parts or segments blanks the leftovers', async () => {
    const d = '2024-03-06';
    const many = await snapshotProfiles({ bucket: LAKE.localBucket, date: d, totalSegments: 3, maxRowsPerPart: 1, pageLimit: 1 });
    expect(many.objects).toHaveLength(3);
    expect(many.pages).toBeGreaterThan(3); // every segment paged through LastEvaluatedKey
    const few = await snapshotProfiles({ bucket: LAKE.localBucket, date: d, totalSegments: 1, maxRowsPerPart: 2 });
    expect(few.objects).toEqual([`${dailySnapshotPrefix(d)}0-0.json.gz`, `${dailySnapshotPrefix(d)}0-1.json.gz`]);
    const objs = await lakeObjects(dailySnapshotPrefix(d));
    expect(few.cleared).toEqual(objs.map((o) => o.key).filter((k) => !few.objects.includes(k)));
    expect(few.cleared.length).toBeGreaterThan(0);
    for (const o of objs) expect(o.rows.length).toBeLessThanOrEqual(2);
    expect(idsOf(objs)).toEqual((await tableState()).live);
  });

  it('one segment at a time (one invocation per segment) covers the table exactly once', async () => {
    const d = '2024-03-07';
    const results = [];
    for (let segment = 0; segment < 4; segment++) results.push(await snapshotProfiles({ bucket: LAKE.localBucket, date: d, segment, totalSegments: 4, pageLimit: 2 }));
    expect(results.map((r) => r.segments)).toEqual([[0], [1], [2], [3]]);
    expect(results.reduce((s, r) => s + r.profiles, 0)).toBe(3);
    expect(idsOf(await lakeObjects(dailySnapshotPrefix(d)))).toEqual((await tableState()).live);
  });

  it('refuses a malformed date or segment with a typed error', async () => {
    await expect(snapshotProfiles({ bucket: LAKE.localBucket, date: '2024-3-5' })).rejects.toMatchObject({ code: 'invalid_snapshot_date' });
    await expect(snapshotProfiles({ bucket: LAKE.localBucket, date: '2024-02-30' })).rejects.toMatchObject({ code: 'invalid_snapshot_date' });
    await expect(snapshotProfiles({ bucket: LAKE.localBucket, date, segment: 2, totalSegments: 2 })).rejects.toMatchObject({ code: 'invalid_snapshot_segment' });
  });

  it('SQL: daily rows by snapshot_kind, and the current state (latest row per profile) has only live profiles', async () => {
    const count = rowObjects(await queryLocalLake(dataDir, `select count(*) as n, count(distinct profile_id) as d from profiles where snapshot_kind = 'daily' and dt = '${date}'`));
    expect(count).toEqual([{ n: 3, d: 3 }]);
    // resolve's on-change rows have no snapshot_kind; they read as 'change'.
    const kinds = rowObjects(await queryLocalLake(dataDir, `select coalesce(snapshot_kind, 'change') as k, count(*) > 0 as some from profiles group by 1 order by 1`));
    expect(kinds).toEqual([{ k: 'change', some: true }, { k: 'daily', some: true }]);

    // docs/lake.md, verbatim but for the date
    const current = rowObjects(await queryLocalLake(dataDir, `
      SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY profile_id ORDER BY updated_at DESC, snapshot_at DESC) AS rn
        FROM profiles
        WHERE dt >= '${date}'
      ) WHERE rn = 1 AND merged_into IS NULL ORDER BY profile_id`));
    const state = await tableState();
    expect(current.map((r) => r.profile_id)).toEqual(state.live);
    expect(current.map((r) => r.profile_id)).not.toContain(state.merged[0]);
  });
});
