/**
 * Proof under faults, on the full local stack: a poison record in a Kinesis batch (the test-only
 * CAIRN_TEST_POISON hook of λ normalize) is isolated by bisection and goes to the on-failure
 * destination (lake `failed/`) while the rest of its shard keeps flowing; after the "fix",
 * `npx cairn replay` brings it in exactly once, a second replay does nothing, and a replay whose
 * ledger was lost is absorbed by the dedup markers. Quarantined rows replay the same way.
 * The handlers' EMF metrics are visible in `/v1/status` (what `npx cairn status` prints).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '#shared/aws/clients';
import { LAKE, TABLES } from '#shared/config/resources';
import { suppress } from '#shared/suppression';
import { suppressionHasherFromEnv } from '#functions/env';
import { decodeJsonLines } from '#shared/lake/index';
import type { LakeEventRow } from '#shared/message/types';
import { run } from '#cli/main';
import { useLocalStack } from '../support/stack';
import { io as captureIo } from '../support/io';

const POISON = 'poison-7f3c';
const basic = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-replay-'));
const stack = useLocalStack({ dataDir, env: { CAIRN_TEST_POISON: POISON }, tuning: { retryBaseDelayMs: 5, retryMaxDelayMs: 20 } });

async function listKeys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function lakeEvents(): Promise<LakeEventRow[]> {
  const rows: LakeEventRow[] = [];
  for (const key of await listKeys(LAKE.eventsPrefix)) {
    const got = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: key }));
    rows.push(...decodeJsonLines<LakeEventRow>(await got.Body!.transformToByteArray()));
  }
  return rows;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo({ env: { ...process.env, PORT: String(stack.port), CAIRN_DATA_DIR: dataDir } });
  const code = await run(args, io);
  return { code, stdout: io.out, stderr: io.err };
}

async function send(messages: object[], requestId?: string): Promise<number> {
  const r = await fetch(`${stack.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic, ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ batch: messages }),
  });
  return r.status;
}

const track = (i: number, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Order Completed',
  userId: 'u-replay',
  messageId: `m-replay-${i}`,
  properties: { i, ...extra },
});

const metric = async (fn: string, name: string): Promise<number> => {
  const st = await stack.status();
  return st.metrics.find((m) => m.function === fn && m.metric === name)?.value ?? 0;
};

describe('poison record → failed/ → cairn replay, exactly once', () => {
  const SENT = 20;
  const POISON_AT = 9;

  it('the poison goes to the failure destination; everything after it on the shard still reaches the lake', async () => {
    // One request per message, same user (one shard, in order): the poison sits mid-shard.
    for (let i = 0; i < SENT; i++) expect(await send([track(i, i === POISON_AT ? { note: POISON } : {})], `req-${i}`)).toBe(200);
    expect(await stack.drain(30_000)).toBe(true);
    const failed = await listKeys(LAKE.failedPrefix);
    expect(failed.length).toBe(1);
    const doc = JSON.parse(await (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: failed[0]! }))).Body!.transformToString());
    expect(doc.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(doc.KinesisBatchInfo.batchSize).toBe(1);
    const ids = (await lakeEvents()).map((r) => r.message_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      Array.from({ length: SENT }, (_, i) => `m-replay-${i}`)
        .filter((id) => id !== `m-replay-${POISON_AT}`)
        .sort(),
    );
    // EMF metrics, aggregated from the function threads: collect accepted all, normalize wrote all but one.
    expect(await metric('collect', 'accepted')).toBe(SENT);
    expect(await metric('normalize', 'normalized')).toBe(SENT - 1);
    const st = await stack.status();
    expect(st.functions.normalize!.failedRecords).toBe(1);
  }, 60_000);

  it('dry run counts without sending; after the fix, replay brings the poison in once', async () => {
    const dry = await cli(['replay', '--from', 'failed', '--dry-run', '--format', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, objects: 1, replayedObjects: 0, records: { 'cairn-raw': 1 } });
    expect(await listKeys('replay/')).toEqual([]);

    delete process.env.CAIRN_TEST_POISON; // the fix
    const r = await cli(['replay', '--from', 'failed', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ objects: 1, replayedObjects: 1, alreadyReplayed: 0, records: { 'cairn-raw': 1 } });
    expect(await stack.drain(30_000)).toBe(true);
    const ids = (await lakeEvents()).map((x) => x.message_id);
    expect(ids.length).toBe(SENT);
    expect(new Set(ids).size).toBe(SENT);
  }, 60_000);

  it('a second replay does nothing; a replay whose ledger was lost is dropped by the dedup markers', async () => {
    const again = await cli(['replay', '--from', 'failed', '--format', 'json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ objects: 1, replayedObjects: 0, alreadyReplayed: 1, records: {} });

    for (const k of await listKeys('replay/')) await s3().send(new DeleteObjectCommand({ Bucket: LAKE.localBucket, Key: k }));
    const dupsBefore = await metric('normalize', 'duplicates');
    const forced = await cli(['replay', '--from', 'failed', '--format', 'json']);
    expect(JSON.parse(forced.stdout)).toMatchObject({ replayedObjects: 1, records: { 'cairn-raw': 1 } });
    expect(await stack.drain(30_000)).toBe(true);
    const ids = (await lakeEvents()).map((x) => x.message_id);
    expect(ids.length).toBe(SENT);
    expect(await metric('normalize', 'duplicates')).toBe(dupsBefore + 1);
  }, 60_000);

  it('quarantine rows replay too: a message accepted since is dropped, a fixed one is accepted once', async () => {
    // Rows as an older normalize would have quarantined them: the raw envelope text and its reason.
    const envelope = (i: number) =>
      JSON.stringify({
        message: { ...track(i), timestamp: new Date().toISOString(), receivedAt: new Date().toISOString() },
        sourceId: 'default',
        receivedAt: new Date().toISOString(),
      });
    const rows = [
      {
        message_id: 'm-replay-100',
        code: 'old_rule',
        reason: 'a rule since fixed',
        message: envelope(100),
        received_at: new Date().toISOString(),
        source_id: 'default',
        stage: 'normalize',
      },
      {
        message_id: 'm-replay-3',
        code: 'old_rule',
        reason: 'a rule since fixed',
        message: envelope(3),
        received_at: new Date().toISOString(),
        source_id: 'default',
        stage: 'normalize',
      },
    ];
    const day = new Date().toISOString().slice(0, 10);
    await s3().send(
      new PutObjectCommand({
        Bucket: LAKE.localBucket,
        Key: `${LAKE.quarantinePrefix}dt=${day}/test-quarantine.json.gz`,
        Body: gzipSync(rows.map((x) => JSON.stringify(x)).join('\n') + '\n'),
      }),
    );

    const r = await cli(['replay', '--from', 'quarantine', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ replayedObjects: 1, records: { 'cairn-raw': 2 } });
    expect(await stack.drain(30_000)).toBe(true);
    const ids = (await lakeEvents()).map((x) => x.message_id);
    expect(ids.length).toBe(SENT + 1);
    expect(ids.filter((id) => id === 'm-replay-100')).toHaveLength(1);
    expect(ids.filter((id) => id === 'm-replay-3')).toHaveLength(1);

    const again = await cli(['replay', '--from', 'quarantine', '--format', 'json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ replayedObjects: 0, records: {} });

    // Figures for the report.
    const sent = SENT + 2;
    const found = ids.length;
    const distinct = new Set(ids).size;
    console.log(JSON.stringify({ replayProof: { sent, accepted: SENT + 1, found, duplicated: found - distinct, lost: SENT + 1 - distinct } }));
  }, 60_000);

  it('cairn status shows the handler metrics', async () => {
    const r = await cli(['status', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout) as { metrics: { function: string; metric: string; value: number }[] };
    expect(st.metrics).toContainEqual({ function: 'collect', metric: 'accepted', value: SENT });
    expect(st.metrics.find((m) => m.function === 'normalize' && m.metric === 'normalized')?.value).toBe(SENT + 1);
  }, 30_000);

  it('records of an erased person are not replayed from quarantine/ or failed/', async () => {
    // Hashed with the stack's key (its Secrets Manager), as an erasure request hashes: the replay reads the same key.
    const hash = await suppressionHasherFromEnv('test')();
    await suppress(TABLES.privacy.name, [hash('email:erased-r@example.com')], 'erasure-replay-test', new Date().toISOString());
    const now = new Date().toISOString();
    const envelope = (messageId: string, email: string) =>
      JSON.stringify({
        message: { type: 'identify', messageId, userId: `u-${messageId}`, traits: { email }, timestamp: now, receivedAt: now },
        sourceId: 'default',
        receivedAt: now,
      });
    const row = (messageId: string, email: string) => ({
      message_id: messageId,
      code: 'old_rule',
      reason: 'a rule since fixed',
      message: envelope(messageId, email),
      received_at: now,
      source_id: 'default',
      stage: 'normalize',
    });
    const day = now.slice(0, 10);
    await s3().send(
      new PutObjectCommand({
        Bucket: LAKE.localBucket,
        Key: `${LAKE.quarantinePrefix}dt=${day}/test-erased.json.gz`,
        Body: gzipSync([row('m-erased-q', 'Erased-R@example.com'), row('m-kept-q', 'kept-r@example.com')].map((x) => JSON.stringify(x)).join('\n') + '\n'),
      }),
    );
    // An on-failure record as Lambda's S3 destination writes it: the Kinesis event as `payload`.
    const kin = (messageId: string, email: string) => ({
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/cairn-raw',
      kinesis: { partitionKey: messageId, data: Buffer.from(envelope(messageId, email)).toString('base64') },
    });
    await s3().send(
      new PutObjectCommand({
        Bucket: LAKE.localBucket,
        Key: `${LAKE.failedPrefix}test-erased.json`,
        Body: JSON.stringify({ payload: { Records: [kin('m-erased-f', 'erased-r@example.com'), kin('m-kept-f', 'kept-r@example.com')] } }),
      }),
    );
    const r = await cli(['replay', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ suppressed: 2, records: { 'cairn-raw': 2 } });
    expect(await stack.drain(30_000)).toBe(true);
    const ids = (await lakeEvents()).map((x) => x.message_id);
    expect(ids).toEqual(expect.arrayContaining(['m-kept-q', 'm-kept-f']));
    expect(ids).not.toContain('m-erased-q');
    expect(ids).not.toContain('m-erased-f');
  }, 60_000);
});
