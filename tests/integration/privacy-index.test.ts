/**
 * Erasure through the per-person lake index, on the local stack (docs/privacy.md "Finding the
 * person's lake objects", "Runs that continue"):
 *
 *   - resolve indexes, per profile, the events objects normalize put its messages in and the
 *     `profiles` object its snapshot row went to;
 *   - λ erase reads only those objects (and quarantine/): objects without the person's rows are
 *     neither read nor rewritten (GetObject calls recorded; ETag and LastModified unchanged);
 *   - with a deadline that leaves one step per run, the pass stops, keeps its cursor, and the next
 *     runs continue it until the erasure completes: no object is read twice, nothing is left;
 *   - a full scan (data written before the index existed) reads every object;
 *   - of the daily profile snapshots, an erasure reads only the objects of its profiles' hash
 *     buckets (and every object of the older, unbucketed layout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { s3 } from '#shared/aws/clients';
import { LAKE, STREAMS, TABLES } from '#shared/config/resources';
import { StreamJourneyStepLog } from '#shared/journeys/stream-steps';
import { outcomeRow } from '#shared/journeys';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { PASS_KEY, runErasures } from '#shared/privacy';
import { dailySnapshotPrefix, parseDailyKey, snapshotBucket, snapshotProfiles } from '#shared/profiles/snapshot';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { privacyTableFromEnv as privacyTable } from '#functions/env';
import { snapshotStores } from '#functions/snapshot/deps';
import { documentClient as doc } from '#shared/aws/clients';

const admin = { authorization: 'Bearer dev-admin-token' };
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-privacy-index-'));
const RECORD = 'test-record-gets';

const t0 = Date.now() - 3_600_000;
let n = 0;
const ts = () => new Date(t0 + ++n * 1000).toISOString();
/** Keys of every GetObject made through the shared S3 client (λ erase's reads) while recording. */
const gets: string[] = [];
let recording = false;

async function send(batch: Record<string, unknown>[]): Promise<void> {
  expect((await stack.collect(batch)).status).toBe(200);
  expect(await stack.drain(20_000)).toBe(true);
}
const api = async (method: string, path: string) => {
  const res = await fetch(`${stack.url}${path}`, { method, headers: admin });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};
/** Every lake object of events/ and profiles/: ETag, LastModified and decompressed text. */
async function lake(): Promise<Map<string, { etag: string; modified: number; text: string }>> {
  const out = new Map<string, { etag: string; modified: number; text: string }>();
  for (const prefix of [LAKE.eventsPrefix, LAKE.profilesPrefix]) {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: prefix }));
    for (const o of page.Contents ?? []) {
      const b = Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }))).Body!.transformToByteArray());
      out.set(o.Key!, {
        etag: String(o.ETag),
        modified: o.LastModified!.getTime(),
        text: (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8'),
      });
    }
  }
  return out;
}
const holding = (l: Map<string, { text: string }>, s: string) =>
  [...l]
    .filter(([, v]) => v.text.includes(s))
    .map(([k]) => k)
    .sort();
const partition = async (profileId: string) =>
  (
    await doc().send(
      new QueryCommand({ TableName: TABLES.timeline.name, KeyConditionExpression: 'profileId = :p', ExpressionAttributeValues: { ':p': profileId } }),
    )
  ).Items ?? [];

/**
 * Asks for the erasure of `userId`, runs the erasures once (`opts`: the run's options) recording
 * λ erase's GetObject keys in `gets`, and checks the run erased that request in `lakeScan` mode.
 */
async function eraseRecording(userId: string, lakeScan: 'index' | 'full', opts: { fullScan?: boolean } = {}) {
  const del = await api('DELETE', `/v1/profiles/${encodeURIComponent(`user_id:${userId}`)}`);
  gets.length = 0;
  recording = true;
  const r = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0, ...opts });
  recording = false;
  expect(r).toMatchObject({ erased: [del.body.erasureId], lakeScan });
  return r;
}

const stack = useLocalStack({ dataDir, functions: PIPELINE_FUNCTIONS, env: { CAIRN_LOG_LEVEL: 'error' }, removeDataDir: true });
beforeAll(async () => {
  s3().middlewareStack.add(
    (next, ctx) => async (args) => {
      if (recording && ctx.commandName === 'GetObjectCommand') gets.push(String((args.input as { Key?: string }).Key));
      return next(args);
    },
    { step: 'initialize', name: RECORD },
  );
}, 60_000);
afterAll(async () => {
  s3().middlewareStack.remove(RECORD);
});

describe('erasure through the lake index', () => {
  it('reads only the objects the index lists, continues across runs from its cursor, and leaves other objects untouched', async () => {
    // Dora's events in three separate deliveries (three events objects), others' in five more.
    await send([{ type: 'track', event: 'Viewed', userId: 'user-dora', messageId: 'x-d1', timestamp: ts(), properties: { page: 1 } }]);
    for (let i = 0; i < 5; i++) await send([{ type: 'track', event: 'Viewed', userId: `user-other-${i}`, messageId: `x-o${i}`, timestamp: ts() }]);
    await send([{ type: 'identify', userId: 'user-dora', messageId: 'x-d2', timestamp: ts(), traits: { email: 'dora@example.com' } }]);
    await send([{ type: 'track', event: 'Order Completed', userId: 'user-dora', messageId: 'x-d3', timestamp: ts(), properties: { revenue: 5 } }]);

    const before = await lake();
    const doraObjects = holding(before, 'user-dora');
    const eventsOfDora = doraObjects.filter((k) => k.startsWith(LAKE.eventsPrefix));
    expect(eventsOfDora).toHaveLength(3);
    expect(doraObjects.some((k) => k.startsWith(LAKE.profilesPrefix))).toBe(true);
    const untouched = [...before.keys()].filter((k) => !doraObjects.includes(k));
    expect(untouched.filter((k) => k.startsWith(LAKE.eventsPrefix)).length).toBeGreaterThanOrEqual(5);

    // The index lists exactly the objects that hold her rows (events and profiles snapshots): carried
    // by her timeline items (attribute lk), which resolve writes anyway — no separate index item.
    const doraId = (await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-dora')}`)).body.profileId as string;
    const items = await partition(doraId);
    expect(items.filter((i) => String(i.sk).startsWith('lake#'))).toEqual([]);
    const indexed = [...new Set(items.flatMap((i) => (i.lk as string[] | undefined) ?? []))].sort();
    expect(indexed).toEqual(doraObjects);
    for (const i of items) expect(i.expiresAt).toEqual(expect.any(Number)); // events expire (timeline TTL)
    // The profile events API never shows the lake keys.
    const evs = (await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-dora')}/events`)).body;
    expect(JSON.stringify(evs)).not.toContain(LAKE.eventsPrefix);
    expect(JSON.stringify(evs)).not.toContain('"lk"');

    const del = await api('DELETE', `/v1/profiles/${encodeURIComponent('email:dora@example.com')}`);
    expect(del.status).toBe(202);
    const erasureId = del.body.erasureId as string;

    // One key per step, and a deadline that lets each run do one step: the pass stops and continues.
    recording = true;
    const runs: Awaited<ReturnType<typeof runErasures>>[] = [];
    for (let i = 0; i < 20; i++) {
      let checks = 0;
      const r = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0, pageSize: 1, remainingMs: () => (checks++ === 0 ? 900_000 : 1_000) });
      runs.push(r);
      if (!r.continued) break;
      // Between runs the cursor is saved: the keys done so far, in order.
      const pass = JSON.parse(String((await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: PASS_KEY } }))).Item!.data));
      expect(pass).toMatchObject({ ids: [erasureId], mode: 'index', runs: i + 1, scanned: i + 1 });
      expect(JSON.stringify(pass)).not.toContain('dora');
    }
    recording = false;
    expect(runs.length).toBe(indexed.length); // one step per run; the last finishes the erasure
    expect(runs.slice(0, -1).every((r) => r.continued && r.erased.length === 0 && r.lakeObjectsScanned === 1)).toBe(true);
    expect(runs.at(-1)).toMatchObject({ erased: [erasureId], lakeScan: 'index', lakeObjectsScanned: 1 });
    expect((await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: PASS_KEY } }))).Item?.data).toBeUndefined();

    // λ erase read exactly the indexed objects, each once (no quarantine objects here).
    const lakeGets = gets.filter((k) => k.startsWith(LAKE.eventsPrefix) || k.startsWith(LAKE.profilesPrefix));
    expect([...lakeGets].sort()).toEqual(indexed);

    const after = await lake();
    for (const k of untouched) {
      expect(after.get(k)?.etag).toBe(before.get(k)!.etag);
      expect(after.get(k)?.modified).toBe(before.get(k)!.modified);
    }
    const all = [...after.values()].map((v) => v.text).join('\n');
    for (const s of ['user-dora', 'dora@example.com', 'x-d1', 'x-d2', 'x-d3', doraId]) expect(all).not.toContain(s);
    for (let i = 0; i < 5; i++) expect(all).toContain(`x-o${i}`);
    expect(await partition(doraId)).toEqual([]);
    expect((await api('GET', `/v1/erasures/${erasureId}`)).body).toMatchObject({
      status: 'erased',
      counts: { timeline: 3, lakeRows: expect.any(Number), lakeObjectsRewritten: indexed.length },
    });
  }, 180_000);

  it('a full scan reads every object of the lake', async () => {
    await send([{ type: 'track', event: 'Viewed', userId: 'user-eve', messageId: 'x-e1', timestamp: ts() }]);
    const objects = (await lake()).size;
    const r = await eraseRecording('user-eve', 'full', { fullScan: true });
    // events/ and profiles/ objects (quarantine/ is empty here) as listed before the run.
    expect(r.lakeObjectsScanned).toBe(objects);
    expect(holding(await lake(), 'user-eve')).toEqual([]);
  }, 120_000);
  it("of the daily snapshots, an erasure reads only the objects of its profiles' hash buckets (and the older layout whole)", async () => {
    for (let i = 0; i < 12; i++) await send([{ type: 'identify', userId: `user-snap-${i}`, messageId: `x-s${i}`, timestamp: ts(), traits: { plan: 'p' } }]);
    const d = new Date().toISOString().slice(0, 10);
    const snap = await snapshotProfiles({
      ...snapshotStores({ bucket: LAKE.localBucket, profilesTable: TABLES.profiles.name, privacyTable: privacyTable() }),
      date: d,
      buckets: 8,
    });
    expect(snap.continued).toBe(false);
    expect(snap.objects.length).toBeGreaterThan(2);
    // A day written before the buckets: one object of the older layout, read whole by every erasure.
    const old = `${dailySnapshotPrefix(d)}0-0.json.gz`;
    const oldBody = (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: snap.objects[0]! }))).Body!.transformToByteArray();
    await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: old, Body: await oldBody }));

    const victim = (await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-snap-3')}`)).body.profileId as string;
    const bucket = snapshotBucket(victim, 8);
    const before = await lake();
    const mine = snap.objects.filter((k) => parseDailyKey(k)!.bucket === bucket);
    expect(mine.length).toBe(1);
    expect(before.get(mine[0]!)!.text).toContain(victim);
    const others = snap.objects.filter((k) => !mine.includes(k));

    await eraseRecording('user-snap-3', 'index');
    const dailyGets = gets.filter((k) => k.startsWith(dailySnapshotPrefix(d)));
    expect(dailyGets.sort()).toEqual([old, ...mine].sort());
    const after = await lake();
    expect(after.get(mine[0]!)!.text).not.toContain(victim);
    for (const k of others) expect(after.get(k)?.etag).toBe(before.get(k)!.etag);
  }, 180_000);

  it('a partition older than the timeline retention (whose items, and so their lake keys, may have expired) is read whole', async () => {
    await send([{ type: 'track', event: 'Viewed', userId: 'user-fay', messageId: 'x-f1', timestamp: ts() }]);
    const days = Number(process.env.CAIRN_TIMELINE_DAYS ?? 3650);
    const oldDay = new Date(Date.now() - (days + 2) * 86_400_000).toISOString().slice(0, 10);
    const recentDay = new Date(Date.now() - (days - 2) * 86_400_000).toISOString().slice(0, 10);
    // Rows of hers that no timeline item names any more: one past the retention, one inside it.
    const row = JSON.stringify({ message_id: 'x-f-old', type: 'track', user_id: 'user-fay', event: 'Viewed' });
    const oldKey = `${LAKE.eventsPrefix}dt=${oldDay}/shardId-000000000009-1.json.gz`;
    const recentKey = `${LAKE.eventsPrefix}dt=${recentDay}/shardId-000000000009-2.json.gz`;
    for (const Key of [oldKey, recentKey]) await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key, Body: row + '\n' }));
    await eraseRecording('user-fay', 'index');
    expect(gets).toContain(oldKey);
    expect(gets).not.toContain(recentKey); // inside the retention the timeline's keys are trusted
    const after = await lake();
    expect(after.has(oldKey)).toBe(false); // only her row: the object is deleted
    expect(after.get(recentKey)?.text).toContain('x-f-old');
  }, 120_000);

  it('an export reads only the objects its timeline items name, and finds every lake row of the person', async () => {
    await send([{ type: 'track', event: 'Viewed', userId: 'user-gil', messageId: 'x-g1', timestamp: ts() }]);
    await send([{ type: 'track', event: 'Viewed', userId: 'user-other-g', messageId: 'x-og', timestamp: ts() }]);
    await send([{ type: 'track', event: 'Viewed', userId: 'user-gil', messageId: 'x-g2', timestamp: ts() }]);
    const gil = holding(await lake(), 'user-gil').filter((k) => k.startsWith(LAKE.eventsPrefix));
    expect(gil).toHaveLength(2);
    gets.length = 0;
    recording = true;
    const res = await fetch(`${stack.url}/v1/profiles/${encodeURIComponent('user_id:user-gil')}/export`, { headers: admin });
    recording = false;
    expect(res.status).toBe(200);
    const x = (await res.json()) as { lake: { events: { message_id: string }[]; complete: boolean }; timeline: { events: unknown[] } };
    expect(x.lake.events.map((e) => e.message_id).sort()).toEqual(['x-g1', 'x-g2']);
    expect(x.lake.complete).toBe(true);
    expect(gets.filter((k) => k.startsWith(LAKE.eventsPrefix)).sort()).toEqual(gil);
    expect(JSON.stringify(x.timeline)).not.toContain(LAKE.eventsPrefix);
  }, 60_000);

  it('journey step rows sent through the raw stream are indexed under their person: an erasure reads only her journey_steps objects and rewrites them without her rows', async () => {
    await send([
      { type: 'identify', userId: 'user-jo', messageId: 'x-j1', timestamp: ts(), traits: { plan: 'a' } },
      { type: 'identify', userId: 'user-kim', messageId: 'x-k1', timestamp: ts(), traits: { plan: 'b' } },
    ]);
    const idOf = async (u: string) => (await api('GET', `/v1/profiles/${encodeURIComponent(`user_id:${u}`)}`)).body.profileId as string;
    const [jo, kim] = [await idOf('user-jo'), await idOf('user-kim')];
    const row = (profileId: string, runId: string) =>
      outcomeRow('welcome', profileId, { type: 'outcome', runId, version: 1, at: Date.parse(ts()), stepId: null, action: 'run', outcome: 'entered' });
    // As λ journey sends them: one record per transition, the same id on a retry (sent twice here).
    const steps = new StreamJourneyStepLog(STREAMS.raw.name, 50);
    for (let i = 0; i < 2; i++) {
      await Promise.all([
        steps.put(`${jo}.welcome.0`, jo, Date.now(), [row(jo, 'run-jo')]),
        steps.put(`${kim}.welcome.0`, kim, Date.now(), [row(kim, 'run-kim')]),
      ]);
      expect(await stack.drain(20_000)).toBe(true);
    }
    await steps.put(`${kim}.welcome.1`, kim, Date.now(), [row(kim, 'run-kim-2')]);
    expect(await stack.drain(20_000)).toBe(true);

    const stepObjects = async () => {
      const out = new Map<string, string>();
      const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.journeyStepsPrefix }));
      for (const o of page.Contents ?? []) {
        const b = Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }))).Body!.transformToByteArray());
        out.set(o.Key!, gunzipSync(b).toString('utf8'));
      }
      return out;
    };
    const before = await stepObjects();
    const runs = [...before.values()].join('').match(/"run_id":"[^"]+"/g)!;
    expect(runs.sort()).toEqual(['"run_id":"run-jo"', '"run_id":"run-kim"', '"run_id":"run-kim-2"']); // once each
    const hers = [...before].filter(([, t]) => t.includes('run-jo')).map(([k]) => k);
    expect(hers).toHaveLength(1);
    // Her index: one item naming that object (λ resolve, from λ normalize's lakeIndex record).
    const index = (await partition(jo)).filter((i) => String(i.sk).startsWith('lake#'));
    expect(index.flatMap((i) => i.k as string[])).toEqual(hers);

    await eraseRecording('user-jo', 'index');
    expect(gets.filter((k) => k.startsWith(LAKE.journeyStepsPrefix))).toEqual(hers);
    const after = await stepObjects();
    expect([...after.values()].join('')).not.toContain(jo);
    expect(
      [...after.values()]
        .join('')
        .match(/"run_id":"[^"]+"/g)!
        .sort(),
    ).toEqual(['"run_id":"run-kim"', '"run_id":"run-kim-2"']);
  }, 120_000);
});
