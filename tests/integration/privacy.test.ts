/**
 * Erasure and export on the local stack (docs/privacy.md): a person merged across two profiles is
 * exported, then erased — later events for any of their identifiers are dropped and counted within
 * seconds, λ erase removes the profiles, graph, timeline, dedup markers and lake rows (objects
 * rewritten), the audit record holds no raw identifier, and another person is untouched.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { requestCounts, resetRequestCounts, s3 } from '#shared/aws/clients';
import { LAKE, STREAMS, TABLES } from '#shared/config/resources';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { kinesis } from '#shared/aws/clients';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { runErasures } from '#shared/privacy';
import {
  bucketOf,
  chunkKey,
  droppedCount,
  dropSuppressed,
  dynamoReader,
  META_KEY,
  resetSuppressionCache,
  suppress,
  SuppressionView,
  suppressionView,
} from '#shared/suppression';
import { privacyTableFromEnv as privacyTable, suppressionHasherFromEnv, suppressionRefreshMsFromEnv as refreshMs } from '#functions/env';
import { documentClient as doc } from '#shared/aws/clients';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import type { NormalizedMessage } from '#shared/message/types';
import { gunzipSync } from 'node:zlib';
import { run, type Io } from '#cli/main';
import { markerKey } from '#shared/normalize/dedup';

// Pipeline containers refresh their copy of the suppression list this often (default 15 s).
const stack = useLocalStack({ name: 'privacy', functions: PIPELINE_FUNCTIONS, env: { CAIRN_LOG_LEVEL: 'error', CAIRN_SUPPRESSION_REFRESH_MS: '500' } });
const admin = { authorization: 'Bearer dev-admin-token' };
/** The stack's suppression hasher (its key from the stack's Secrets Manager), as the functions read it. */
const hasher = suppressionHasherFromEnv('test');
/** The container's copy of the list, as λ normalize and resolve hold it. */
const pipelineList = () => ({ table: privacyTable(), view: suppressionView(privacyTable(), refreshMs), hasher });

const t0 = Date.now() - 3_600_000;
let n = 0;
const ts = () => new Date(t0 + ++n * 1000).toISOString();

async function send(batch: Record<string, unknown>[]): Promise<void> {
  expect((await stack.collect(batch)).status).toBe(200);
  expect(await stack.drain(20_000)).toBe(true);
}
const api = async (method: string, path: string) => {
  const res = await fetch(`${stack.url}${path}`, { method, headers: admin });
  return { status: res.status, body: (await res.json().catch(() => null)) as any, headers: res.headers };
};
/** Every lake object (events, quarantine, profiles) as decompressed text, by key. */
async function lakeTexts(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }));
      const b = Buffer.from(await got.Body!.transformToByteArray());
      out.set(o.Key!, (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8'));
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}
const scan = async (table: string) => (await doc().send(new ScanCommand({ TableName: table }))).Items ?? [];

describe('erasure and export on the local stack', () => {
  it('exports, then erases a merged person everywhere and drops their later events', async () => {
    // Person A: an anonymous visitor and a known user, merged by an identify; person B alongside.
    await send([
      { type: 'track', event: 'Viewed', anonymousId: 'anon-ada-1', messageId: 'a-1', timestamp: ts(), properties: { page: 1 } },
      { type: 'track', event: 'Order Completed', userId: 'user-ada', messageId: 'a-2', timestamp: ts(), properties: { revenue: 10 } },
      { type: 'track', event: 'Viewed', userId: 'user-bob', messageId: 'b-1', timestamp: ts(), properties: {} },
    ]);
    await send([
      {
        type: 'identify',
        userId: 'user-ada',
        anonymousId: 'anon-ada-1',
        messageId: 'a-3',
        timestamp: ts(),
        traits: { email: 'Ada@Example.com', name: 'Ada', phone: '+14155550123' },
        context: { consent: { email: true } },
      },
      { type: 'identify', userId: 'user-bob', messageId: 'b-2', timestamp: ts(), traits: { email: 'bob@example.com' } },
    ]);
    const before = await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-ada')}`);
    expect(before.status).toBe(200);
    expect(before.body.mergedFrom).toHaveLength(1);
    const pids = [before.body.profileId, ...before.body.mergedFrom] as string[];

    // Export: profile, identities, consent and every event, from the timeline and the lake.
    const ex = await api('GET', `/v1/profiles/${encodeURIComponent('email:ada@example.com')}/export`);
    expect(ex.status).toBe(200);
    expect(ex.body.format).toBe('cairn.profile-export.v1');
    expect(ex.body.profile.profileId).toBe(before.body.profileId);
    expect(ex.body.identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'ada@example.com' },
        { type: 'anonymous_id', value: 'anon-ada-1' },
      ]),
    );
    expect(ex.body.consent.email.granted).toBe(true);
    expect(ex.body.timeline.events.map((e: any) => e.messageId).sort()).toEqual(['a-1', 'a-2', 'a-3']);
    expect(ex.body.lake.events.map((e: any) => e.message_id).sort()).toEqual(['a-1', 'a-2', 'a-3']);
    expect(ex.body.lake.complete).toBe(true);
    expect(JSON.parse(ex.body.lake.events.find((e: any) => e.message_id === 'a-2').properties)).toEqual({ revenue: 10 });

    // Erase: 202 with a status route; suppression is immediate.
    const del = await api('DELETE', `/v1/profiles/${encodeURIComponent('anonymous_id:anon-ada-1')}`);
    expect(del.status).toBe(202);
    const { erasureId } = del.body;
    expect(del.headers.get('location')).toBe(`/v1/erasures/${erasureId}`);
    expect(del.body.status).toBe('suppressed');
    // The API stops serving A at once, by any of their identifiers, though λ erase has not run.
    for (const id of ['user_id:user-ada', 'email:ada@example.com', `profile_id:${before.body.profileId}`]) {
      // (`/export` answers the same, tests/unit/profile-api.test.ts; an export here would add audit rows checked below.)
      for (const tail of ['', '/events']) {
        const r = await api('GET', `/v1/profiles/${encodeURIComponent(id)}${tail}`);
        expect({ status: r.status, body: r.body }, `${id}${tail}`).toMatchObject({
          status: 410,
          body: { success: false, error: { code: 'profile_erased', erasureId } },
        });
      }
    }
    expect((await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-bob')}`)).status).toBe(200);
    // Pipeline containers refresh their copy of the list every refreshMs(): suppression holds from then on.
    await new Promise((r) => setTimeout(r, refreshMs() + 200));

    // Later events with any of A's identifiers are dropped (and counted); B's still flow.
    await send([
      { type: 'track', event: 'Viewed', userId: 'user-ada', messageId: 'a-4', timestamp: ts() },
      { type: 'track', event: 'Viewed', anonymousId: 'anon-other', messageId: 'a-5', timestamp: ts(), context: { traits: { email: 'ADA@example.com' } } },
      { type: 'identify', anonymousId: 'anon-new', messageId: 'a-6', timestamp: ts(), traits: { phone: '+1 415 555 0123' } },
      { type: 'track', event: 'Viewed', userId: 'user-bob', messageId: 'b-3', timestamp: ts() },
    ]);
    const st = await api('GET', `/v1/erasures/${erasureId}`);
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({ erasureId, status: 'suppressed', droppedMessages: 3 });
    let lake = [...(await lakeTexts()).values()].join('\n');
    for (const id of ['a-4', 'a-5', 'a-6']) expect(lake).not.toContain(`"${id}"`);
    expect(lake).toContain('"b-3"');
    expect(lake).toContain('user-ada'); // not erased yet: λ erase has not run

    // A run before the settle time leaves it pending; a run after erases it.
    expect((await runErasures(eraseDepsFromEnv())).waiting).toContain(erasureId);
    const run = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 });
    expect(run.erased).toEqual([erasureId]);

    // Erased: the suppressed identifiers answer 410 (with the erasure id), the gone profile ids 404.
    for (const id of ['user_id:user-ada', 'anonymous_id:anon-ada-1', 'email:ada@example.com', 'phone:+14155550123']) {
      expect((await api('GET', `/v1/profiles/${encodeURIComponent(id)}`)).body?.error, id).toMatchObject({ code: 'profile_erased', erasureId });
    }
    for (const id of pids.map((p) => `profile_id:${p}`)) expect((await api('GET', `/v1/profiles/${encodeURIComponent(id)}`)).status, id).toBe(404);
    const identities = (await scan(TABLES.identities.name)).map((i) => String(i.pk));
    expect(identities.filter((k) => /ada|anon-ada|14155550123/.test(k))).toEqual([]);
    expect(identities).toContain('id#email:bob@example.com');
    const timeline = await scan(TABLES.timeline.name);
    expect(timeline.filter((i) => pids.includes(String(i.profileId)))).toEqual([]);
    const profiles = (await scan(TABLES.profiles.name)).map((i) => String(i.pk));
    for (const p of pids) expect(profiles).not.toContain(`profile#${p}`);
    const dedup = (await scan(TABLES.dedup.name)).map((i) => String(i.pk));
    // Markers are their source's (markers.ts): none of the erased person's messages keeps one, scoped or not.
    expect(dedup.filter((k) => /(^|#)msg#a-/.test(k))).toEqual([]);
    expect(dedup).toContain(markerKey({ sourceId: 'default', messageId: 'b-1' }));

    // The lake holds no row of A (objects rewritten, not hidden), B's rows are intact.
    const texts = await lakeTexts();
    lake = [...texts.values()].join('\n');
    for (const s of ['user-ada', 'anon-ada-1', 'ada@example.com', 'Ada@Example.com', '4155550123']) expect(lake).not.toContain(s);
    // The audit table keeps who exported and erased (docs/security.md#audit-log): the export's row names
    // the profile id it exported, and nothing else of A; every other table holds no profile id of A.
    const [auditTexts, dataTexts] = [[...texts].filter(([k]) => k.startsWith(LAKE.auditPrefix)), [...texts].filter(([k]) => !k.startsWith(LAKE.auditPrefix))];
    for (const p of pids) expect(dataTexts.map(([, t]) => t).join('\n')).not.toContain(p);
    const auditRows = auditTexts.flatMap(([, t]) =>
      t
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
    expect(auditRows.map((r) => r.action).sort()).toEqual(['erasure.requested', 'profile.exported']);
    for (const r of auditRows) for (const p of pids) if (JSON.stringify(r).includes(p)) expect(r).toMatchObject({ action: 'profile.exported', target: p });
    for (const id of ['b-1', 'b-2', 'b-3']) expect(lake).toContain(`"${id}"`);
    expect((await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-bob')}`)).status).toBe(200);

    // The audit record: status, counts, hashes and times — no raw identifier, no profile id.
    const done = await api('GET', `/v1/erasures/${erasureId}`);
    expect(done.body).toMatchObject({ status: 'erased', droppedMessages: 3, counts: { profiles: 2, timeline: 3 } });
    expect(done.body.counts.lakeRows).toBeGreaterThanOrEqual(3);
    const audit = JSON.stringify(await scan(TABLES.privacy.name));
    for (const s of ['user-ada', 'anon-ada-1', 'ada@example.com', '4155550123', ...pids]) expect(audit).not.toContain(s);

    // A re-run finds nothing left to do; the identifiers stay suppressed.
    expect((await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 })).erased).toEqual([]);
    await send([{ type: 'track', event: 'Viewed', userId: 'user-ada', messageId: 'a-7', timestamp: ts() }]);
    expect((await api('GET', `/v1/profiles/${encodeURIComponent('user_id:user-ada')}`)).status).toBe(410);
    expect((await api('GET', `/v1/erasures/${erasureId}`)).body.droppedMessages).toBe(4);
  }, 120_000);

  it('npx cairn profile export and npx cairn erase', async () => {
    await send([{ type: 'identify', userId: 'user-cli', messageId: 'c-1', timestamp: ts(), traits: { email: 'cli@example.com' } }]);
    const cli = async (...args: string[]) => {
      const c = {
        out: '',
        err: '',
        stdout: (s: string) => void (c.out += s),
        stderr: (s: string) => void (c.err += s),
        readStdin: async () => '',
        env: { ...process.env, CAIRN_ADMIN_TOKEN: 'dev-admin-token' },
        cwd: process.cwd(),
      } satisfies Io & { out: string; err: string };
      return { code: await run(['--port', String(stack.port), ...args], c), ...c };
    };
    const ex = await cli('profile', 'export', 'email:cli@example.com');
    expect(ex.code).toBe(0);
    expect(JSON.parse(ex.out).timeline.events.map((e: any) => e.messageId)).toEqual(['c-1']);
    const er = await cli('erase', 'email:cli@example.com');
    expect(er.code).toBe(0);
    expect(JSON.parse(er.out)).toMatchObject({ status: 'suppressed', statusUrl: expect.stringMatching(/^\/v1\/erasures\//) });
    expect(await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 })).toMatchObject({ erased: [JSON.parse(er.out).erasureId] });
    const gone = await cli('profile', 'export', 'user_id:user-cli');
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/410 profile_erased: .*erasure [0-9a-f-]{36}/);
    expect((await cli('erase', 'nocolon')).code).toBe(2);
  }, 60_000);

  it('checks a batch against the list without a read per identifier: one meta read per refresh interval', async () => {
    const msg = (i: number) =>
      ({
        type: 'track',
        event: 'E',
        messageId: `n-${i}`,
        userId: `fresh-user-${i}`,
        anonymousId: `fresh-anon-${i}`,
        properties: {},
        traits: {},
        context: {},
        timestamp: ts(),
        receivedAt: ts(),
        sourceId: 's',
      }) as unknown as NormalizedMessage;
    const batch = Array.from({ length: 500 }, (_, i) => msg(i)); // 1,000 distinct identifiers nobody erased
    resetSuppressionCache();
    await dropSuppressed(batch.slice(0, 1), (m) => m, DEFAULT_IDENTITY_CONFIG, 'resolve', pipelineList()); // cold start: the whole list
    await new Promise((r) => setTimeout(r, refreshMs() + 50));
    const dynamoRequests = () => [...requestCounts].filter(([k]) => k.startsWith('dynamodb.') && !/\.(rcu|wcu)$/.test(k));
    resetRequestCounts();
    const out = await dropSuppressed(batch, (m) => m, DEFAULT_IDENTITY_CONFIG, 'resolve', pipelineList());
    expect(out).toMatchObject({ dropped: 0, kept: batch });
    expect(dynamoRequests()).toEqual([['dynamodb.GetItem', 1]]); // supmeta; nothing changed, so no bucket read
    resetRequestCounts();
    await dropSuppressed(batch, (m) => m, DEFAULT_IDENTITY_CONFIG, 'resolve', pipelineList()); // within the interval
    expect(dynamoRequests()).toEqual([]);
    // The suppression key was read on the container's first batch; warm batches never read it (not per event).
    expect([...requestCounts].filter(([k]) => k.startsWith('secretsmanager.'))).toEqual([]);
  });

  it('spills a full bucket into a second chunk item and still drops; a sup# item deleted by hand lets the person back in', async () => {
    const key = 'user_id:spill-person';
    const h = (await hasher())(key);
    const b = bucketOf(h);
    // Fill the bucket item up to DynamoDB's 400 KB with other (random) entries.
    const fill = async (n: number) =>
      doc().send(
        new UpdateCommand({
          TableName: privacyTable(),
          Key: { pk: chunkKey(b, 0) },
          UpdateExpression: 'ADD h :e',
          ExpressionAttributeValues: { ':e': new Set(Array.from({ length: n }, () => randomBytes(8).toString('hex'))) },
        }),
      );
    await fill(25_590); // 16 bytes each: ~409,440 of the 409,600 bytes an item may hold
    for (let i = 0; ; i++) {
      expect(i).toBeLessThan(50);
      try {
        await fill(1);
      } catch (e) {
        expect((e as Error).message).toMatch(/size/);
        break;
      }
    }
    await suppress(privacyTable(), [h], 'erasure-spill', new Date().toISOString());
    const meta = (await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: META_KEY }, ConsistentRead: true }))).Item!;
    expect(meta[`n${b}`]).toBe(2);
    const spilled = (await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: chunkKey(b, 1) } }))).Item!;
    expect([...(spilled.h as Set<string>)]).toEqual([h.slice(2, 18)]);

    const message = {
      type: 'track',
      event: 'E',
      messageId: 'spill-1',
      userId: 'spill-person',
      properties: {},
      traits: {},
      context: {},
      timestamp: ts(),
      receivedAt: ts(),
      sourceId: 's',
    } as unknown as NormalizedMessage;
    const view = new SuppressionView(dynamoReader(privacyTable()), Date.now, refreshMs);
    const list = { table: privacyTable(), view, hasher };
    expect(await dropSuppressed([message], (m) => m, DEFAULT_IDENTITY_CONFIG, 'normalize', list)).toMatchObject({ dropped: 1, kept: [] });
    expect(await dropSuppressed([message], (m) => m, DEFAULT_IDENTITY_CONFIG, 'resolve', list)).toMatchObject({ dropped: 1 });
    expect(await droppedCount(privacyTable(), [h])).toBe(1); // the same message twice counts once
    // Idempotent: suppressing again adds no chunk.
    await suppress(privacyTable(), [h], 'erasure-spill-2', new Date().toISOString());
    expect((await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: META_KEY }, ConsistentRead: true }))).Item![`n${b}`]).toBe(2);

    await doc().send(new DeleteCommand({ TableName: privacyTable(), Key: { pk: `sup#${h}` } }));
    expect(await dropSuppressed([message], (m) => m, DEFAULT_IDENTITY_CONFIG, 'normalize', list)).toMatchObject({ dropped: 0, kept: [message] });
  }, 60_000);

  it('answers 404 for an unknown erasure and 400 for a malformed identifier', async () => {
    expect((await api('GET', '/v1/erasures/nope')).body.error.code).toBe('erasure_not_found');
    expect((await api('DELETE', '/v1/profiles/nocolon')).status).toBe(400);
  });

  it('an invalid message of an erased person is dropped before quarantine, not written to quarantine/', async () => {
    await send([{ type: 'identify', userId: 'user-quinn', messageId: 'q-1', timestamp: ts(), traits: { email: 'quinn@example.com' } }]);
    const del = await api('DELETE', `/v1/profiles/${encodeURIComponent('user_id:user-quinn')}`);
    expect(del.status).toBe(202);
    await new Promise((r) => setTimeout(r, refreshMs() + 200));
    // Records the collector would refuse reach the raw stream anyway (another producer, a replay):
    // no userId or anonymousId, so normalize refuses them — one carries Quinn's email, one someone else's.
    const raw = (message: Record<string, unknown>) =>
      kinesis().send(
        new PutRecordCommand({
          StreamName: STREAMS.raw.name,
          PartitionKey: String(message.messageId),
          Data: Buffer.from(JSON.stringify({ message, receivedAt: new Date().toISOString(), sourceId: 'default' })),
        }),
      );
    await raw({ type: 'identify', messageId: 'q-2', timestamp: ts(), traits: { email: 'QUINN@example.com' } });
    await raw({ type: 'identify', messageId: 'q-3', timestamp: ts(), traits: { email: 'control-q@example.com' } });
    expect(await stack.drain(20_000)).toBe(true);
    const quarantine = [...(await lakeTexts())].filter(([k]) => k.startsWith(LAKE.quarantinePrefix)).map(([, t]) => t.toLowerCase());
    expect(quarantine.join('\n')).toContain('control-q@example.com');
    expect(quarantine.join('\n')).not.toContain('quinn@example.com');
    // Counted like any other drop of the person's messages.
    expect((await api('GET', `/v1/erasures/${del.body.erasureId}`)).body.droppedMessages).toBe(1);
  }, 60_000);
});
