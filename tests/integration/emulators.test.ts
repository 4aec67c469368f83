import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
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
});
