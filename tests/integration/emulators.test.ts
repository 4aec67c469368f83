import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { dynamodb, kinesis, s3 } from '#shared/aws/clients';
import { LAKE, STREAMS, TABLES } from '#shared/config/resources';

describe('local emulators', () => {
  let emu: Emulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-emu-'));
  beforeAll(async () => {
    emu = await startEmulators(dataDir);
    useEndpoints(emu.endpoints);
    await createResources();
  });
  afterAll(async () => emu?.close());

  it('creates every table, stream and the lake bucket from the shared definitions, idempotently', async () => {
    await createResources(); // second call must not fail
    const tables = await dynamodb().send(new ListTablesCommand({}));
    for (const t of Object.values(TABLES)) expect(tables.TableNames).toContain(t.name);
    const streams = await kinesis().send(new ListStreamsCommand({}));
    for (const s of Object.values(STREAMS)) expect(streams.StreamNames).toContain(s.name);
    await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: 'probe/x.txt', Body: 'hello' }));
    const got = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: 'probe/x.txt' }));
    expect(await got.Body!.transformToString()).toBe('hello');
    const put = await kinesis().send(new PutRecordCommand({ StreamName: STREAMS.raw.name, PartitionKey: 'p', Data: Buffer.from('x') }));
    expect(put.SequenceNumber).toBeTruthy();
  });

  it("keeps a PUT's tags as S3 does (local/s3rver-tagging.cjs): set by the x-amz-tagging header, replaced by the next PUT, never served as metadata", async () => {
    const Bucket = LAKE.localBucket;
    const Key = 'probe/tagged.json';
    const tags = async () => (await s3().send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet;
    await s3().send(new PutObjectCommand({ Bucket, Key, Body: '{}', Tagging: 'cairn-expiry=import&team=a%20b' }));
    expect(await tags()).toEqual([
      { Key: 'cairn-expiry', Value: 'import' },
      { Key: 'team', Value: 'a b' },
    ]);
    expect((await s3().send(new HeadObjectCommand({ Bucket, Key }))).Metadata).toEqual({});
    // A PUT without tags leaves the new object untagged (S3 does not carry tags over).
    await s3().send(new PutObjectCommand({ Bucket, Key, Body: '{}' }));
    expect(await tags()).toEqual([]);
    // PutObjectTagging still works as s3rver had it.
    await s3().send(new PutObjectTaggingCommand({ Bucket, Key, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    expect(await tags()).toEqual([{ Key: 'k', Value: 'v' }]);
  });
});
