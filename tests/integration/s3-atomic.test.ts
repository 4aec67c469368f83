/**
 * The local S3 (s3rver, local/s3rver-atomic.cjs) never shows an object before its PUT completed,
 * as S3 does not: while a body is still arriving, GET, HEAD, listings and the lake reader see the
 * previous version (or no object), an upload that breaks off leaves the previous version in place,
 * and a GET racing a replacement gets one version whole. Before, s3rver wrote into the object file
 * as the body came in, so the lake reader could count the rows of half an object and a HEAD found
 * a truncated object "there".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { queryLocalLake } from '#cli/lake';
import { sleep } from '#shared/lang';

const Bucket = LAKE.localBucket;

let emu: Emulators;
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-s3-atomic-'));
beforeAll(async () => {
  emu = await startEmulators(dataDir, { threads: true });
  useEndpoints(emu.endpoints);
  await createResources();
}, 60_000);
afterAll(async () => emu?.close());

/** A PUT whose body is sent in two parts, the second (or an abort) when the test says. */
function slowPut(key: string, body: Buffer): { req: ClientRequest; sendRest(): void; done: Promise<number> } {
  const half = body.length >> 1;
  const req = request(`${emu.endpoints.s3}/${Bucket}/${key}`, {
    method: 'PUT',
    headers: { 'content-length': String(body.length), 'content-type': 'application/gzip' },
  });
  const done = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
    req.on('error', reject);
  });
  req.write(body.subarray(0, half));
  return { req, sendRest: () => req.end(body.subarray(half)), done };
}

const get = async (key: string): Promise<Buffer | 404> => {
  try {
    const r = await s3().send(new GetObjectCommand({ Bucket, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey') return 404;
    throw e;
  }
};
const head = async (key: string): Promise<number> => {
  try {
    return (await s3().send(new HeadObjectCommand({ Bucket, Key: key }))).ContentLength ?? -1;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return 404;
    throw e;
  }
};
const listed = async (prefix: string) => ((await s3().send(new ListObjectsV2Command({ Bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key);

/** `n` lake event rows, gzip JSON Lines, padded so the body is large. */
function rows(n: number, tag: string): Buffer {
  const pad = 'x'.repeat(2_000);
  return gzipSync(
    Array.from({ length: n }, (_, i) => JSON.stringify({ message_id: `${tag}-${i}`, type: 'track', event: `e ${i} ${pad}${Math.random()}` })).join('\n') + '\n',
  );
}

describe('local S3: a PUT is atomic', () => {
  it('a new key does not exist until its body is complete; then it is whole', async () => {
    const key = 'events/dt=2024-01-01/new.json.gz';
    const body = rows(300, 'new');
    const put = slowPut(key, body);
    for (let i = 0; i < 10; i++) {
      await sleep(40);
      expect(await head(key)).toBe(404);
      expect(await get(key)).toBe(404);
      expect(await listed('events/')).toEqual([]);
    }
    put.sendRest();
    expect(await put.done).toBe(200);
    expect((await get(key)) as Buffer).toEqual(body);
    expect(await head(key)).toBe(body.length);
    expect((await queryLocalLake(dataDir, 'select count(*) from events')).rows[0]![0]).toBe(300);
  });

  it('while a replacement arrives the previous version is served; an upload that breaks off leaves it in place', async () => {
    const key = 'events/dt=2024-01-01/replaced.json.gz';
    const v1 = rows(5, 'v1');
    await s3().send(new PutObjectCommand({ Bucket, Key: key, Body: v1 }));
    const put = slowPut(key, rows(300, 'v2'));
    put.done.catch(() => undefined);
    for (let i = 0; i < 10; i++) {
      await sleep(40);
      expect(await get(key)).toEqual(v1);
      expect(await head(key)).toBe(v1.length);
    }
    put.req.destroy();
    await sleep(300);
    expect(await get(key)).toEqual(v1);
    expect((await queryLocalLake(dataDir, `select count(*) from events where message_id like 'v1-%'`)).rows[0]![0]).toBe(5);
  });

  it('a GET racing replacements gets one version whole, never a mix or a cut', async () => {
    const key = 'reports/racing.json';
    const small = Buffer.from(JSON.stringify({ status: 'running', rows: 1 }));
    const large = Buffer.from(JSON.stringify({ status: 'completed', rows: 2, pad: 'y'.repeat(200_000) }));
    await s3().send(new PutObjectCommand({ Bucket, Key: key, Body: small }));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 40; i++) await s3().send(new PutObjectCommand({ Bucket, Key: key, Body: i % 2 ? small : large }));
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const body = (await get(key)) as Buffer;
      expect(body.equals(small) || body.equals(large), `read ${reads}: ${body.length} bytes`).toBe(true);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(5);
  });
});
