/**
 * The erasure audit across every place a person's data can rest (docs/privacy.md "Where a person's
 * data can rest"), on the local stack: Eve's data goes into the lake (through the pipeline), into a
 * file dropped under imports/ and its rejects (through λ import), and into batches given up on under
 * aws/lambda/ (Lambda's S3 on-failure destination) and failed/ (the local runtime's). After her
 * erasure:
 *
 *   - the failed batches hold none of her records (one rewritten with Finn's, one deleted), so
 *     `cairn replay --from failed` can never put them back, list or no list;
 *   - the import file and its rejects still hold her rows — they are not rewritten — and carry the
 *     expiry tag the lake's `expire-imports` rule acts on (the rule: tests/infra/lake-lifecycle.test.ts);
 *     the manifest does not (it stays for later drops);
 *   - the coupons table: a code issued to her and one she redeemed keep their status (never issued
 *     again, still counted) without her profile id, her issue item is gone, Finn's are untouched;
 *   - the erasure's status lists every store with what was done there: counts where λ erase removed
 *     her data, the date the stack's retention removes it where it expires, "no identifiers" for the
 *     API access logs and the audit log.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, s3 } from '#shared/aws/clients';
import { canonicalCode, issueCoupon, loadCodes, redeemCoupon } from '#shared/coupons';
import { DynamoCouponStore } from '#shared/coupons/dynamo-store';
import { couponsTableFromEnv } from '#functions/env';
import { IMPORTS, LAKE, RETENTION, STREAMS } from '#shared/config/resources';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { decodeFailedBatch, ERASURE_STORES, lifecycleDate, runErasures, type ErasureStoreReport } from '#shared/privacy';
import type { ImportReport } from '#shared/import/s3';
import { replay } from '#cli/replay';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';

const Bucket = LAKE.localBucket;
const dataDir = mkdtempSync(join(tmpdir(), 'cairn-privacy-reach-'));
const stack = useLocalStack({ dataDir, functions: [...PIPELINE_FUNCTIONS, 'import'], env: { CAIRN_LOG_LEVEL: 'error' }, removeDataDir: true });
const admin = { authorization: 'Bearer dev-admin-token' };
const DAY = 86_400_000;

const api = async (method: string, path: string) => {
  const res = await fetch(`${stack.url}${path}`, { method, headers: admin });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};
const bytes = async (Key: string): Promise<Buffer | undefined> => {
  try {
    return Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey') return undefined;
    throw e;
  }
};
const text = async (Key: string) => {
  const b = await bytes(Key);
  return b && (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8');
};
const tags = async (Key: string) => (await s3().send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet ?? [];
async function keys(prefix: string): Promise<string[]> {
  return ((await s3().send(new ListObjectsV2Command({ Bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
}
/** The messages of a failed batch's records, as JSON text. */
const batchMessages = (body: Buffer) =>
  decodeFailedBatch(body).rows.map((r) => Buffer.from((r as { kinesis: { data: string } }).kinesis.data, 'base64').toString('utf8'));

/** A batch given up on, as an on-failure destination writes it: the Kinesis event as JSON text in `payload`. */
function failedBatch(messages: Record<string, unknown>[]): string {
  const Records = messages.map((message) => ({
    eventSource: 'aws:kinesis',
    eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAMS.raw.name}`,
    kinesis: {
      partitionKey: 'k',
      data: Buffer.from(JSON.stringify({ message, sourceId: 'default', receivedAt: new Date().toISOString() })).toString('base64'),
    },
  }));
  return JSON.stringify({
    version: '1.0',
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 6 },
    KinesisBatchInfo: { shardId: 'shardId-000000000000', batchSize: Records.length, streamArn: Records[0]!.eventSourceARN },
    payload: JSON.stringify({ Records }),
  });
}

describe("erasure reaches every place a person's data can rest, or says when it expires", () => {
  it('failed batches rewritten, import files tagged for expiry, and a status that lists every store', async () => {
    const ts = new Date(Date.now() - 3_600_000).toISOString();
    // The lake, through the pipeline.
    expect(
      (
        await stack.collect([
          { type: 'identify', userId: 'user-eve', messageId: 'eve-1', timestamp: ts, traits: { email: 'eve@example.com' } },
          { type: 'identify', userId: 'user-finn', messageId: 'finn-1', timestamp: ts, traits: { email: 'finn@example.com' } },
        ])
      ).status,
    ).toBe(200);
    expect(await stack.drain(30_000)).toBe(true);

    // A file drop: one of Eve's rows imported, one rejected (its timestamp), Finn's imported.
    const file = 'imports/crm/people.csv';
    await s3().send(
      new PutObjectCommand({
        Bucket,
        Key: `${file}.import.json`,
        Body: JSON.stringify({ type: 'identify', map: { User: 'userId', Email: 'traits.email', When: 'timestamp' } }),
      }),
    );
    await s3().send(
      new PutObjectCommand({
        Bucket,
        Key: file,
        Body: `User,Email,When\r\nuser-eve,eve@example.com,${ts}\r\nuser-finn,finn@example.com,${ts}\r\nuser-eve,eve@example.com,not-a-date\r\n`,
      }),
    );
    let report: ImportReport | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      expect(await stack.drain(30_000)).toBe(true);
      const t = await text(`${file}.report.json`);
      report = t ? (JSON.parse(t) as ImportReport) : undefined;
      if (report?.status === 'completed') break;
    }
    expect(report).toMatchObject({ status: 'completed', accepted: 2, rejected: 1, rejectsFile: `${file}.rejects.csv` });
    expect(await text(`${file}.rejects.csv`)).toContain('eve@example.com');

    // Batches given up on: under aws/lambda/ (as Lambda writes them on AWS) and failed/ (as the local runtime does).
    const eve = (id: string) => ({ type: 'identify', userId: 'user-eve', messageId: id, timestamp: ts, traits: { email: 'eve@example.com' } });
    const finn = (id: string) => ({ type: 'track', event: 'Viewed', userId: 'user-finn', messageId: id, timestamp: ts });
    const mixed = `${LAKE.lambdaFailurePrefix}3f1c0f2e-0000-4000-8000-000000000000/shardId-000000000000/2024/05/01/2024-05-01T10.00.00-a.json`;
    const eveOnly = `${LAKE.failedPrefix}normalize/shardId-000000000000/2024/05/01/2024-05-01T10.00.00-b.json`;
    // An anonymous message of hers, linked only by her email in context.traits (read as normalize reads it).
    const anonymous = {
      type: 'track',
      event: 'Viewed',
      anonymousId: 'anon-7',
      messageId: 'eve-fb-3',
      timestamp: ts,
      context: { traits: { email: 'Eve@Example.com' } },
    };
    await s3().send(
      new PutObjectCommand({ Bucket, Key: mixed, ContentType: 'application/json', Body: failedBatch([eve('eve-fb-1'), finn('finn-fb-1'), anonymous]) }),
    );
    await s3().send(new PutObjectCommand({ Bucket, Key: eveOnly, ContentType: 'application/json', Body: failedBatch([eve('eve-fb-2')]) }));

    // Coupons: a code issued to her by a coupon step, one she redeemed at the till (never issued), one issued to Finn.
    const coupons = new DynamoCouponStore(couponsTableFromEnv());
    const pidOf = async (id: string) => (await api('GET', `/v1/profiles/${encodeURIComponent(id)}`)).body.profileId as string;
    const [evePid, finnPid] = [await pidOf('email:eve@example.com'), await pidOf('email:finn@example.com')];
    expect(evePid && finnPid).toBeTruthy();
    await loadCodes(coupons, 'reach', ['REACH-0001', 'REACH-0002', 'REACH-0003', 'REACH-0004'], { now: Date.now() });
    const gift = (profileId: string, runId: string) =>
      issueCoupon(coupons, 'reach', { journeyId: 'welcome-coupon', stepId: 'gift', runId, profileId }, Date.now());
    const eveGift = await gift(evePid, 'run-eve');
    const finnGift = await gift(finnPid, 'run-finn');
    if (eveGift.status !== 'issued' || finnGift.status !== 'issued') throw new Error('no code issued');
    const till = { at: new Date().toISOString(), messageId: 'eve-till', profileId: evePid };
    expect(await redeemCoupon(coupons, 'REACH-0004', 'welcome-coupon', till)).toMatchObject({ status: 'redeemed' });
    const couponItems = async () => (await documentClient().send(new ScanCommand({ TableName: couponsTableFromEnv(), ConsistentRead: true }))).Items ?? [];
    expect(JSON.stringify(await couponItems())).toContain(evePid);

    const del = await api('DELETE', `/v1/profiles/${encodeURIComponent('email:eve@example.com')}`);
    expect(del.status).toBe(202);
    const erasureId = del.body.erasureId as string;
    // Accepted: every store listed, pending (the access logs and the audit log never hold an identifier).
    expect(del.body.stores.map((s: ErasureStoreReport) => s.store)).toEqual([...ERASURE_STORES]);
    expect(del.body.stores.filter((s: ErasureStoreReport) => s.outcome !== 'pending').map((s: ErasureStoreReport) => s.store)).toEqual([
      'api_access_logs',
      'audit_log',
    ]);
    expect(await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 })).toMatchObject({ erased: [erasureId] });

    // Failed batches: none of her records left; Finn's kept, the object otherwise as it was.
    const after = (await bytes(mixed))!;
    expect(batchMessages(after)).toHaveLength(1);
    expect(batchMessages(after)[0]).toContain('finn-fb-1');
    expect(after.toString('utf8')).toContain('"batchSize":3'); // Lambda's metadata kept as written
    expect(await bytes(eveOnly)).toBeUndefined();
    for (const k of [...(await keys(LAKE.lambdaFailurePrefix)), ...(await keys(LAKE.failedPrefix))]) {
      for (const m of batchMessages((await bytes(k))!)) expect(m.toLowerCase()).not.toMatch(/eve@example\.com|user-eve|eve-fb/);
    }
    // So a replay of failed batches re-puts Finn's record only (dry run: counted, nothing sent).
    const r = await replay({ bucket: Bucket, from: ['failed'], dryRun: true });
    expect(r.records[STREAMS.raw.name]).toBe(1);
    // The lake tables: nothing of hers.
    for (const k of await keys(LAKE.eventsPrefix)) expect(await text(k)).not.toContain('user-eve');

    // Coupons: no item names her; her codes keep their status (never issued again, still counted); Finn's as they were.
    expect(JSON.stringify(await couponItems())).not.toContain(evePid);
    expect(await coupons.getIssue('run-eve', 'gift')).toBeNull();
    const eveCode = (await coupons.getCode(canonicalCode(eveGift.code)))!;
    expect(eveCode).toMatchObject({ issuedAt: expect.any(String), runId: 'run-eve' });
    expect(await coupons.getCode(canonicalCode('REACH-0004'))).toMatchObject({ redeemedAt: expect.any(String), redeemMessageId: 'eve-till' });
    expect(
      await coupons.markIssued(eveCode.canonical, eveCode.pool, eveCode.position, {
        journeyId: 'j',
        stepId: 'gift',
        runId: 'run-x',
        profileId: 'p-x',
        issuedAt: 'x',
      }),
    ).toBe(false);
    expect(await coupons.getCode(canonicalCode(finnGift.code))).toMatchObject({ profileId: finnPid });
    expect(await coupons.getIssue('run-finn', 'gift')).toMatchObject({ profileId: finnPid });

    // imports/: not rewritten, tagged for the lake's expire-imports rule (data file, rejects, report); the manifest is not.
    expect(await text(file)).toContain('eve@example.com');
    const expiry = { Key: IMPORTS.expiryTag.key, Value: IMPORTS.expiryTag.value };
    for (const k of [file, `${file}.rejects.csv`, `${file}.report.json`]) expect(await tags(k), k).toEqual([expiry]);
    expect(await tags(`${file}.import.json`)).toEqual([]);

    // The status: every store, what was done there, or when it expires.
    const status = await api('GET', `/v1/erasures/${erasureId}`);
    expect(status.status).toBe(200);
    const v = status.body;
    expect(v.status).toBe('erased');
    const by = Object.fromEntries((v.stores as ErasureStoreReport[]).map((s) => [s.store, s])) as Record<string, ErasureStoreReport & { expiresBy?: string }>;
    expect(Object.keys(by)).toEqual([...ERASURE_STORES]);
    expect(by.failed_batches).toMatchObject({ outcome: 'erased', removed: 3, unit: 'records', objects: 2 });
    expect(by.lake).toMatchObject({ outcome: 'erased', unit: 'rows' });
    expect((by.lake as { removed: number }).removed).toBeGreaterThan(0);
    expect(by.profiles).toMatchObject({ outcome: 'erased', removed: 1 });
    // Her issued code, the code she redeemed, her issue item.
    expect(by.coupons).toMatchObject({ outcome: 'erased', removed: 3, unit: 'items' });
    // The local S3 has no versioning: no version to remove; on AWS any left expires by the rule's date.
    const erasedAt = Date.parse(v.erasedAt);
    expect(by.lake_versions).toMatchObject({
      outcome: 'erased',
      removed: 0,
      expiresBy: new Date(lifecycleDate(erasedAt, RETENTION.noncurrentVersionDays)).toISOString(),
    });
    const viaVersions = (days: number) => new Date(lifecycleDate(lifecycleDate(erasedAt, days), RETENTION.noncurrentVersionDays)).toISOString();
    expect(by.imports).toMatchObject({ outcome: 'expires', expiresBy: viaVersions(RETENTION.importDays) });
    expect(by.athena_results).toMatchObject({ outcome: 'expires', expiresBy: viaVersions(RETENTION.athenaResultsDays) });
    expect(Date.parse(by.journey_failure_queue!.expiresBy!)).toBe(
      erasedAt + RETENTION.journeyFailureLagHours * 3_600_000 + RETENTION.journeyFailureQueueDays * DAY,
    );
    expect(by.api_access_logs).toMatchObject({ outcome: 'no_identifiers' });
    expect(by.audit_log).toMatchObject({ outcome: 'no_identifiers' });
    expect(v.counts).toMatchObject({ failedBatchRecords: 3, failedBatchObjects: 2, lakeVersionsDeleted: 0 });
    // Nothing personal in the status.
    expect(JSON.stringify(v)).not.toMatch(/eve@example\.com|user-eve/i);
  }, 180_000);
});
