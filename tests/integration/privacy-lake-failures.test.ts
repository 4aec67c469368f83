/**
 * Erasure when lake objects fail (docs/privacy.md "When a lake object fails"), on the local stack:
 *
 *   run 1: DeleteObject of one object holding only Ann's rows is denied (an injected 403, as on AWS
 *          before λ erase had s3:DeleteObject). Every other object is still rewritten or deleted,
 *          Cid's erasure in the same pass completes, Ann's other stores are erased, and Ann's erasure
 *          stays pending with the key, the step and a code in its status — no personal data;
 *   run 2: the delete goes through, but a corrupt (truncated gzip) object now fails to decode: it may
 *          hold anyone's rows, so every erasure of the pass stays pending, with `lake_object_unreadable`;
 *   run 3: an operator has replaced the object with its readable rows (one of them Ann's, linked to her
 *          only by its message id, which her kept timeline still lists): both erasures complete, Ann's
 *          counts summed over the three runs, and Ben's rows are untouched throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { s3 } from '#shared/aws/clients';
import { LAKE, STREAMS, TABLES } from '#shared/config/resources';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { runErasures } from '#shared/privacy';
import { documentClient as doc } from '#shared/aws/clients';
import { encodeJsonLines } from '#shared/lake/index';
import { DENY_DELETE, denyDelete } from '../support/s3-faults';
import { markerKey } from '#shared/normalize/dedup';

const admin = { authorization: 'Bearer dev-admin-token' };
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-privacy-lake-'));

const t0 = Date.now() - 3_600_000;
let n = 0;
const ts = () => new Date(t0 + ++n * 1000).toISOString();

async function send(batch: Record<string, unknown>[]): Promise<void> {
  expect((await stack.collect(batch)).status).toBe(200);
  expect(await stack.drain(20_000)).toBe(true);
}
const api = async (method: string, path: string) => {
  const res = await fetch(`${stack.url}${path}`, { method, headers: admin });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};
/** Lake objects under events/ as decompressed text (or `<unreadable>`), by key. */
async function events(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.eventsPrefix }));
  for (const o of page.Contents ?? []) {
    const b = Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }))).Body!.transformToByteArray());
    try {
      out.set(o.Key!, (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8'));
    } catch {
      out.set(o.Key!, '<unreadable>');
    }
  }
  return out;
}
const keysHolding = (texts: Map<string, string>, s: string) => [...texts].filter(([, t]) => t.includes(s)).map(([k]) => k);
/** Every item of a profile's timeline partition: its events and its lake index items (`lake#…`). */
const partitionOf = async (profileId: string) =>
  (
    await doc().send(
      new QueryCommand({ TableName: TABLES.timeline.name, KeyConditionExpression: 'profileId = :p', ExpressionAttributeValues: { ':p': profileId } }),
    )
  ).Items ?? [];
const timelineOf = async (profileId: string) => (await partitionOf(profileId)).filter((i) => !String(i.sk).startsWith('lake#'));
/** The raw-stream shard a partition key goes to (2 shards: the upper half of the MD5 range is shard 1). */
const shardOf = (key: string) => (createHash('md5').update(key).digest()[0]! >= 0x80 ? 1 : 0);

beforeAll(() => {
  expect(STREAMS.raw.shards).toBe(2);
});
const stack = useLocalStack({ dataDir, functions: PIPELINE_FUNCTIONS, env: { CAIRN_LOG_LEVEL: 'error' }, removeDataDir: true });
afterAll(() => {
  s3().middlewareStack.remove(DENY_DELETE);
});

describe('erasure when lake objects fail', () => {
  it('records the failed object, finishes everything else, keeps the erasure pending, and completes it on a later run', async () => {
    const ann = 'user-ann';
    // Ben shares a shard with Ann, so one object holds both their rows (rewritten, not deleted).
    const ben = Array.from({ length: 64 }, (_, i) => `user-ben-${i}`).find((u) => shardOf(u) === shardOf(ann))!;
    const cid = 'user-cid';
    await send([
      { type: 'track', event: 'Viewed', userId: ann, messageId: 'f-a1', timestamp: ts(), properties: { page: 1 } },
      { type: 'identify', userId: ann, messageId: 'f-a2', timestamp: ts(), traits: { email: 'ann@example.com', name: 'Ann' } },
    ]);
    await send([
      { type: 'track', event: 'Viewed', userId: ann, messageId: 'f-a3', timestamp: ts() },
      { type: 'track', event: 'Viewed', userId: ben, messageId: 'f-b1', timestamp: ts() },
    ]);
    await send([{ type: 'identify', userId: cid, messageId: 'f-c1', timestamp: ts(), traits: { email: 'cid@example.com' } }]);

    let lake = await events();
    const [annOnly] = keysHolding(lake, '"f-a1"');
    expect(keysHolding(lake, '"f-a2"')).toEqual([annOnly]);
    expect(lake.get(annOnly!)).not.toContain('f-b1');
    const [mixed] = keysHolding(lake, '"f-a3"');
    expect(keysHolding(lake, '"f-b1"')).toEqual([mixed]);
    const [cidOnly] = keysHolding(lake, '"f-c1"');
    expect(new Set([annOnly, mixed, cidOnly]).size).toBe(3);

    const annProfile = (await api('GET', `/v1/profiles/${encodeURIComponent(`user_id:${ann}`)}`)).body.profileId as string;
    expect(await timelineOf(annProfile)).toHaveLength(3);
    // The lake index: her timeline items name the events objects holding their rows (attribute lk).
    const index = (await partitionOf(annProfile)).flatMap((i) => (i.lk as string[] | undefined) ?? []);
    expect(index).toEqual(expect.arrayContaining([annOnly, mixed]));
    expect(index).not.toContain(cidOnly);
    const delAnn = await api('DELETE', `/v1/profiles/${encodeURIComponent('email:ann@example.com')}`);
    const delCid = await api('DELETE', `/v1/profiles/${encodeURIComponent(`user_id:${cid}`)}`);
    expect([delAnn.status, delCid.status]).toEqual([202, 202]);
    const annErasure = delAnn.body.erasureId as string;
    const cidErasure = delCid.body.erasureId as string;

    // ---- run 1: the delete of Ann's own object is denied ---------------------------------------
    const denied = denyDelete(annOnly!);
    const run1 = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 });
    expect(denied.calls).toBe(1);
    expect(run1).toMatchObject({ erased: [cidErasure], incomplete: [annErasure], lakeObjectsFailed: 1 });

    lake = await events();
    expect([...lake.keys()]).toContain(annOnly); // the failed one, untouched
    expect([...lake.keys()]).not.toContain(cidOnly); // deleted: only Cid's rows
    expect(lake.get(mixed!)).toContain('"f-b1"'); // rewritten: Ben's row kept, Ann's gone
    expect(lake.get(mixed!)).not.toContain('f-a3');
    expect([...lake.values()].join('\n')).not.toContain(cid);

    const s1 = await api('GET', `/v1/erasures/${annErasure}`);
    expect(s1.status).toBe(200);
    expect(s1.body).toMatchObject({
      status: 'suppressed',
      runs: 1,
      lakeObjectsFailed: 1,
      lakeFailures: [{ key: annOnly, operation: 'delete', code: 'lake_access_denied', error: 'AccessDenied', httpStatus: 403, since: expect.any(String) }],
      counts: { profiles: 1, timeline: 0 },
    });
    // Ann's rows: f-a3 in the events object shared with Ben, and her rows of the `profiles` table objects.
    const c1 = s1.body.counts;
    expect(c1.lakeRows).toBeGreaterThanOrEqual(1);
    expect(s1.body.erasedAt).toBeUndefined();
    for (const pii of [ann, 'ann@example.com', annProfile]) expect(JSON.stringify(s1.body)).not.toContain(pii);
    expect((await api('GET', `/v1/erasures/${cidErasure}`)).body).toMatchObject({ status: 'erased', runs: 1, counts: { profiles: 1, timeline: 1 } });
    expect((await api('GET', `/v1/erasures/${cidErasure}`)).body.lakeFailures).toBeUndefined();

    // Ann's other stores are erased all the same; her timeline is kept (it names her messages) until the lake is done.
    // The API refuses her from the request on (410 profile_erased, docs/privacy.md); the tables below are the proof.
    expect((await api('GET', `/v1/profiles/${encodeURIComponent(`user_id:${ann}`)}`)).status).toBe(410);
    const identities = ((await doc().send(new ScanCommand({ TableName: TABLES.identities.name }))).Items ?? []).map((i) => String(i.pk));
    expect(identities.filter((k) => k.includes('ann'))).toEqual([]);
    expect(identities).toContain(`id#user_id:${ben}`);
    expect(await timelineOf(annProfile)).toHaveLength(3);

    // ---- run 2: the delete goes through; a corrupt object fails for every erasure of the pass ------
    s3().middlewareStack.remove(DENY_DELETE);
    const dt = annOnly!.split('/')[1]!;
    const corrupt = `${LAKE.eventsPrefix}${dt}/zz-corrupt.json.gz`;
    const benRow = JSON.parse(
      lake
        .get(mixed!)!
        .split('\n')
        .find((l) => l.includes('"f-b1"'))!,
    );
    const recovered = [
      { ...benRow, message_id: 'f-x1' },
      { ...benRow, message_id: 'f-a1', user_id: null, anonymous_id: 'anon-unrelated', traits: '{}', context: '{}' },
    ];
    const gz = Buffer.from(encodeJsonLines(recovered)); // gzip JSON Lines
    await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: corrupt, Body: gz.subarray(0, gz.length - 12), ContentType: 'application/gzip' }));
    const delNobody = await api('DELETE', `/v1/profiles/${encodeURIComponent('user_id:nobody-at-all')}`);
    const nobody = delNobody.body.erasureId as string;

    // The planted object is in no lake index (as data written before the index existed): a full scan reads it.
    const run2 = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0, fullScan: true });
    expect(run2).toMatchObject({ erased: [], lakeObjectsFailed: 1 });
    expect(run2.incomplete.sort()).toEqual([annErasure, nobody].sort());
    lake = await events();
    expect([...lake.keys()]).not.toContain(annOnly);
    const s2 = (await api('GET', `/v1/erasures/${annErasure}`)).body;
    expect(s2).toMatchObject({
      status: 'suppressed',
      runs: 2,
      lakeObjectsFailed: 1,
      lakeFailures: [{ key: corrupt, operation: 'decode', code: 'lake_object_unreadable', error: expect.stringMatching(/^Z_/) }],
      // Counts add up over the runs: this one deleted the object with f-a1 and f-a2.
      counts: { profiles: 1, timeline: 0, lakeRows: c1.lakeRows + 2, lakeObjectsRewritten: c1.lakeObjectsRewritten + 1 },
    });
    expect((await api('GET', `/v1/erasures/${nobody}`)).body).toMatchObject({
      status: 'suppressed',
      lakeFailures: [{ key: corrupt, code: 'lake_object_unreadable' }],
    });
    // A later run retries and the failure's first sighting is kept.
    const again = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0, fullScan: true });
    expect(again.incomplete.sort()).toEqual([annErasure, nobody].sort());
    const s2b = (await api('GET', `/v1/erasures/${annErasure}`)).body;
    expect(s2b.runs).toBe(3);
    expect(s2b.lakeFailures[0].since).toBe(s2.lakeFailures[0].since);

    // ---- the operator replaces the object with its readable rows; the next run completes ----------
    await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: corrupt, Body: gz, ContentType: 'application/gzip' }));
    const run3 = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0, fullScan: true });
    expect(run3.erased.sort()).toEqual([annErasure, nobody].sort());
    expect(run3).toMatchObject({ incomplete: [], lakeObjectsFailed: 0 });

    lake = await events();
    expect(lake.get(corrupt)).toContain('"f-x1"'); // the row linked to Ann only by its message id is gone
    expect(lake.get(corrupt)).not.toContain('"f-a1"');
    const all = [...lake.values()].join('\n');
    for (const s of [ann, 'ann@example.com', annProfile, '"f-a2"', '"f-a3"']) expect(all).not.toContain(s);
    expect(all).toContain('"f-b1"');
    expect(await timelineOf(annProfile)).toEqual([]);
    expect(await partitionOf(annProfile)).toEqual([]); // her lake index items went with the timeline
    const dedup = ((await doc().send(new ScanCommand({ TableName: TABLES.dedup.name }))).Items ?? []).map((i) => String(i.pk));
    // Markers are their source's (markers.ts): none of the erased person's messages keeps one, scoped or not.
    expect(dedup.filter((k) => /(^|#)msg#f-a/.test(k))).toEqual([]);
    expect(dedup).toContain(markerKey({ sourceId: 'default', messageId: 'f-b1' }));

    const done = (await api('GET', `/v1/erasures/${annErasure}`)).body;
    expect(done).toMatchObject({
      status: 'erased',
      runs: 4,
      counts: { profiles: 1, timeline: 3, lakeRows: c1.lakeRows + 3, lakeObjectsRewritten: c1.lakeObjectsRewritten + 2 },
    });
    expect(done.erasedAt).toEqual(expect.any(String));
    expect(done.lakeFailures).toBeUndefined();
    expect(done.lakeObjectsFailed).toBeUndefined();
    expect((await api('GET', `/v1/erasures/${nobody}`)).body).toMatchObject({ status: 'erased' });
    // Nothing is left to do.
    expect(await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 })).toMatchObject({ erased: [], incomplete: [] });
  }, 120_000);
});
