/**
 * File drops on the local stack (docs/import.md): a CSV and its manifest put under `imports/` in the
 * lake bucket with the S3 SDK are imported by λ import (triggered by s3rver's object events, as S3
 * triggers it on AWS): profiles appear, the report and the rejects file are written beside the file,
 * the manifest may come before or after the file, and dropping the same file again adds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LAKE } from '#shared/config/resources';
import { queryLocalLake } from '#cli/lake';
import type { ImportReport } from '#shared/import/s3';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';

let s3: S3Client;
const dir = mkdtempSync(join(tmpdir(), 'cairn-import-drop-'));
const dataDir = join(dir, 'data');
const Bucket = LAKE.localBucket;
const stack = useLocalStack({ dataDir, env: JOURNEY_FUNCTION_ENV });

beforeAll(() => {
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: stack.stack.endpoints.s3,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});
afterAll(() => {
  s3?.destroy();
});

const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket, Key, Body }));
const text = async (Key: string): Promise<string | undefined> => {
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
    throw e;
  }
};
/**
 * The final report of `file`, once the stack has drained: the drop's import (and any continuation)
 * has run and what it sent is processed. The local S3 never serves half an object, so the report
 * read is a whole one.
 */
async function report(file: string): Promise<ImportReport> {
  expect(await stack.drain(60_000)).toBe(true);
  const t = await text(`${file}.report.json`);
  expect(t, `no report for ${file}`).toBeDefined();
  const r = JSON.parse(t!) as ImportReport;
  expect(['completed', 'failed'], JSON.stringify(r)).toContain(r.status);
  return r;
}
const profile = async (id: string) => {
  const r = await stack.profile(id);
  return { status: r.status, body: (r.status === 200 ? r.json : undefined) as Record<string, any> };
};
const count = async (where: string) => Number((await queryLocalLake(dataDir, `select count(*) from events where ${where}`)).rows[0]![0]);

function customers(n: number): string {
  const lines = ['CustomerNo;Email;First Name;Points'];
  for (let i = 0; i < n; i++) lines.push(`D${String(i).padStart(4, '0')};Drop${i}@Example.com;Name ${i};${i}`);
  lines.push(lines[1]!); // an exact duplicate: sent once
  lines.push('D9998;not-an-email;Bad;1'); // line n + 3: rejected
  lines.push('D9999;x@example.com'); // line n + 4: a cell lost
  return lines.join('\r\n') + '\r\n';
}

describe('file drops under imports/ in the lake bucket', () => {
  const n = 40;
  const file = 'imports/crm/customers 2024.csv'; // a space: keys arrive URL-encoded in S3 events

  it('imports a CSV dropped after its manifest; report and rejects beside it; a re-drop adds nothing', async () => {
    await put(`${file}.import.json`, JSON.stringify({ type: 'identify', map: { Email: 'traits.email', CustomerNo: 'crm_id' }, source: 'crm' }));
    await put(file, customers(n));
    const r = await report(file);
    expect(r).toMatchObject({
      status: 'completed',
      type: 'identify',
      format: 'csv',
      delimiter: ';',
      source: 'crm',
      rowsRead: n + 3,
      accepted: n,
      duplicates: 1,
      rejected: 2,
      invocations: 1,
      rejectsFile: `${file}.rejects.csv`,
    });
    expect(r.firstRejects).toEqual([
      { line: n + 3, reason: expect.stringMatching(/^column "Email": "not-an-email" /) },
      { line: n + 4, reason: 'expected 4 fields, found 2' },
    ]);
    expect(r.durationMs).toBeGreaterThan(0);
    const rejects = await text(`${file}.rejects.csv`);
    expect(rejects).toMatch(/^CustomerNo;Email;First Name;Points;_line;_reason\r\n/);
    expect(rejects).toContain(`D9998;not-an-email;Bad;1;${n + 3};`);
    expect(rejects).toContain(`"D9999;x@example.com";;;;${n + 4};expected 4 fields, found 2\r\n`);

    expect(await stack.drain(60_000)).toBe(true);
    const p = await profile('email:drop7@example.com');
    expect(p.status).toBe(200);
    expect(p.body.traits).toMatchObject({ email: 'drop7@example.com', crm_id: 'D0007', 'First Name': 'Name 7', Points: 7 });
    expect((await profile('crm_id:D0007')).body.profileId).toBe(p.body.profileId);
    expect(await count(`source_id = 'crm'`)).toBe(n);

    // The same file again: skipped (same ETag, same manifest); the report is left as it was.
    await put(file, customers(n));
    expect(await stack.drain(60_000)).toBe(true);
    expect(JSON.parse((await text(`${file}.report.json`))!)).toEqual(r);

    // Without the report, the file runs again: every messageId is the same, so the lake does not grow.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: `${file}.report.json` }));
    await put(file, customers(n));
    const again = await report(file);
    expect(again).toMatchObject({ status: 'completed', accepted: n, rejected: 2 });
    expect(again.startedAt).not.toBe(r.startedAt);
    expect(await stack.drain(60_000)).toBe(true);
    expect(await count(`source_id = 'crm'`)).toBe(n);
  }, 90_000);

  it('imports a JSON Lines file whose manifest comes after it; a bad manifest is reported', async () => {
    const events = 'imports/shop/orders.jsonl';
    await put(
      events,
      [
        '{"email":"drop3@example.com","order_id":"O-1","total":12.5,"at":"2024-03-01T10:00:00Z"}',
        '{"email":"drop4@example.com","order_id":"O-2","total":3,"at":"2024-03-02"}',
        'not json',
      ].join('\n') + '\n',
    );
    expect(await stack.drain(60_000)).toBe(true);
    expect(await text(`${events}.report.json`)).toBeUndefined(); // waiting for its manifest
    await put(`${events}.import.json`, JSON.stringify({ type: 'track', event: 'Order Completed', map: ['at=timestamp'] }));
    const r = await report(events);
    expect(r).toMatchObject({
      status: 'completed',
      format: 'jsonl',
      source: 'default',
      accepted: 2,
      rejected: 1,
      firstRejects: [{ line: 3, reason: expect.stringMatching(/^invalid JSON/) }],
    });
    expect(await text(`${events}.rejects.jsonl`)).toMatch(/"_raw":"not json","_line":3/);
    expect(await stack.drain(60_000)).toBe(true);
    const rows = (
      await queryLocalLake(
        dataDir,
        `select properties->>'order_id', timestamp from events where event = 'Order Completed' and source_id = 'default' order by 1`,
      )
    ).rows;
    expect(rows).toEqual([
      ['O-1', '2024-03-01T10:00:00.000Z'],
      ['O-2', '2024-03-02T00:00:00.000Z'],
    ]);

    const bad = 'imports/shop/bad.csv';
    await put(`${bad}.import.json`, JSON.stringify({ type: 'track', map: { Nope: 'traits.email' } }));
    await put(bad, 'email,total\na@example.com,1\n');
    const f = await report(bad);
    expect(f).toMatchObject({
      status: 'failed',
      accepted: 0,
      error: { code: 'invalid_import_manifest', message: expect.stringMatching(/no column "Nope" in the header; the columns are: email, total/) },
    });
  }, 90_000);
});
