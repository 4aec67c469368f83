/**
 * λ import against the emulators (S3 and Kinesis), driven directly: an import that runs out of
 * invocation time writes a checkpoint and the next invocation (the checkpoint's own S3 event)
 * carries on from it, so every row reaches the raw stream exactly once across invocations; a stale
 * checkpoint event and a re-drop do nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { kinesis, s3 } from '#shared/aws/clients';
import { LAKE, STREAMS } from '#shared/config/resources';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { importObject, type ImportReport } from '#shared/import/s3';
import { importDepsFromEnv } from '#functions/import/deps';
import type { RawEnvelope } from '#shared/message/types';

let emu: Emulators;
const Bucket = LAKE.localBucket;

beforeAll(async () => {
  emu = await startEmulators();
  useEndpoints(emu.endpoints);
  await createResources();
}, 60_000);
afterAll(async () => {
  await emu?.close();
});

async function rawStream(): Promise<RawEnvelope[]> {
  const out: RawEnvelope[] = [];
  const shards = (await kinesis().send(new ListShardsCommand({ StreamName: STREAMS.raw.name }))).Shards ?? [];
  for (const sh of shards) {
    let it = (await kinesis().send(new GetShardIteratorCommand({ StreamName: STREAMS.raw.name, ShardId: sh.ShardId!, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    for (;;) {
      const r = await kinesis().send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
      out.push(...(r.Records ?? []).map((x) => JSON.parse(Buffer.from(x.Data!).toString()) as RawEnvelope));
      if (!r.Records?.length || !r.NextShardIterator) break;
      it = r.NextShardIterator;
    }
  }
  return out;
}
const put = (Key: string, Body: string) => s3().send(new PutObjectCommand({ Bucket, Key, Body }));
const reportOf = async (file: string) =>
  JSON.parse(await (await s3().send(new GetObjectCommand({ Bucket, Key: `${file}.report.json` }))).Body!.transformToString()) as ImportReport;

describe('an import longer than one invocation', () => {
  it('checkpoints, continues from the checkpoint, and puts every row on the raw stream once', async () => {
    const file = 'imports/big/users.csv';
    const rows = ['id,email,plan'];
    for (let i = 0; i < 1_200; i++) rows.push(`u${i},user${i}@example.com,${i % 3 === 0 ? 'pro' : 'free'}`);
    rows.splice(800, 0, rows[1]!); // a duplicate of the first row, in the second invocation
    rows.splice(1000, 0, 'u-bad,nope,free'); // a reject, in the second invocation
    await put(`${file}.import.json`, JSON.stringify({ type: 'identify', map: { id: 'userId' }, source: 'backfill' }));
    await put(file, rows.join('\n') + '\n');

    // Always "out of time": each invocation does one chunk (500 messages), then hands over.
    const deps = { ...importDepsFromEnv(), rate: 0 };
    const opts = { remainingMs: () => 0 };
    const first = await importObject(Bucket, file, deps, opts);
    expect(first.status).toBe('continuing');
    const cp = `${file}.checkpoint.json`;
    const outcomes = [first.status];
    for (let i = 0; i < 5 && outcomes.at(-1) === 'continuing'; i++) outcomes.push((await importObject(Bucket, cp, deps, opts)).status);
    expect(outcomes).toEqual(['continuing', 'continuing', 'completed']);

    const r = await reportOf(file);
    expect(r).toMatchObject({ status: 'completed', rowsRead: 1_202, accepted: 1_200, duplicates: 1, rejected: 1, invocations: 3, source: 'backfill' });
    expect(r.firstRejects).toEqual([{ line: 1001, reason: expect.stringMatching(/^column "email": "nope"/) }]);
    const raw = await rawStream();
    expect(raw).toHaveLength(1_200);
    expect(new Set(raw.map((e) => e.message.messageId)).size).toBe(1_200);
    expect(new Set(raw.map((e) => e.message.userId)).size).toBe(1_200);
    expect(raw.every((e) => e.sourceId === 'backfill' && typeof e.message.receivedAt === 'string')).toBe(true);

    // The checkpoint's event delivered again, and the same file dropped again: nothing more is sent.
    expect((await importObject(Bucket, cp, deps, opts)).status).toBe('ignored');
    await put(file, rows.join('\n') + '\n');
    expect((await importObject(Bucket, file, deps, opts)).status).toBe('skipped');
    expect(await rawStream()).toHaveLength(1_200);
  }, 60_000);
});
