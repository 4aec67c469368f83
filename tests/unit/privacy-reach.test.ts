/**
 * Where an erased person's data can rest (docs/privacy.md "Where a person's data can rest"): the
 * `stores` list of an erasure's status (shared/privacy/reach.ts), and the failed-batch objects the
 * erasure pass rewrites (shared/privacy/failed-batches.ts).
 */
import { describe, expect, it } from 'vitest';
import { RETENTION } from '#shared/config/resources';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import {
  decodeFailedBatch,
  ERASURE_STORES,
  erasureStores,
  erasureView,
  filterRows,
  lifecycleDate,
  retentionOf,
  rewriteObject,
  type ErasureRecord,
  type ErasureStoreReport,
  type ErasureTarget,
  type LakeObjects,
} from '#shared/privacy';
import { suppressionHasher } from '#shared/suppression';

const suppressionHash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');

const config = DEFAULT_IDENTITY_CONFIG;
const DAY = 86_400_000;
const counts = {
  profiles: 2,
  identities: 5,
  timeline: 3,
  segmentMemberships: 1,
  journeyStates: 1,
  schedules: 1,
  dedupMarkers: 3,
  lakeRows: 5,
  lakeObjectsRewritten: 4,
  failedBatchRecords: 2,
  failedBatchObjects: 1,
  lakeVersionsDeleted: 4,
  lakeVersionsFailed: 0,
  coupons: 3,
};
const rec = (over: Partial<ErasureRecord> = {}): ErasureRecord => ({
  erasureId: 'e1',
  status: 'erased',
  requestedAt: '2024-05-01T09:00:00.000Z',
  suppressedAt: '2024-05-01T09:00:00.100Z',
  erasedAt: '2024-05-01T10:30:00.000Z',
  identifierHashes: [],
  counts,
  runs: 1,
  ...over,
});

describe("an erasure's stores", () => {
  it('S3 lifecycle dates: days added, then rounded up to the next midnight UTC', () => {
    expect(new Date(lifecycleDate(Date.parse('2014-01-15T10:30:00Z'), 3)).toISOString()).toBe('2014-01-19T00:00:00.000Z');
  });

  it('an erased person: every store, with what was removed, the date each retention has removed the rest, or no identifiers', () => {
    const r = retentionOf(30);
    const stores = erasureStores(rec(), r);
    expect(stores.map((s) => s.store)).toEqual([...ERASURE_STORES]);
    const by = Object.fromEntries(stores.map((s) => [s.store, s])) as Record<string, ErasureStoreReport & { expiresBy?: string }>;
    expect(by.profiles).toMatchObject({ outcome: 'erased', removed: 2, unit: 'items' });
    expect(by.coupons).toMatchObject({ outcome: 'erased', removed: 3, unit: 'items' });
    expect(by.lake).toMatchObject({ outcome: 'erased', removed: 5, unit: 'rows', objects: 4 });
    expect(by.failed_batches).toMatchObject({ outcome: 'erased', removed: 2, unit: 'records', objects: 1 });
    // Noncurrent versions: those of the rewritten objects removed, any other gone by the rule's date.
    expect(by.lake_versions).toMatchObject({ outcome: 'erased', removed: 4, unit: 'versions', expiresBy: '2024-06-01T00:00:00.000Z' });
    // imports/ and athena-results/: the current-version rule, then the noncurrent one (each rounded to midnight).
    expect(by.imports).toMatchObject({ outcome: 'expires', expiresBy: '2024-07-02T00:00:00.000Z' });
    expect(by.athena_results).toMatchObject({ outcome: 'expires', expiresBy: '2024-07-02T00:00:00.000Z' });
    expect(Date.parse(by.journey_failure_queue!.expiresBy!)).toBe(Date.parse('2024-05-01T10:30:00.000Z') + 30 * 3_600_000 + 14 * DAY);
    expect(Date.parse(by.table_backups!.expiresBy!)).toBe(Date.parse('2024-05-01T10:30:00.000Z') + RETENTION.tableBackupDays * DAY);
    expect(by.api_access_logs).toMatchObject({ outcome: 'no_identifiers' });
    expect(by.audit_log).toMatchObject({ outcome: 'no_identifiers' });
    // cairn:importDays moves the imports date.
    expect(Object.fromEntries(erasureStores(rec(), retentionOf(7)).map((s) => [s.store, s])).imports).toMatchObject({ expiresBy: '2024-06-09T00:00:00.000Z' });
  });

  it('before any run: every store pending; after a run that left a lake object failed: the lake stores and the timeline pending, the others erased', () => {
    const pending = erasureStores(rec({ status: 'suppressed', erasedAt: undefined, counts: undefined, runs: undefined }));
    expect(pending.filter((s) => s.outcome !== 'pending').map((s) => s.store)).toEqual(['api_access_logs', 'audit_log']);
    const incomplete = erasureStores(rec({ status: 'suppressed', erasedAt: undefined, lastRunAt: '2024-05-01T10:30:00.000Z', runs: 1 }));
    const waiting = incomplete.filter((s) => s.outcome === 'pending').map((s) => s.store);
    expect(waiting).toEqual(expect.arrayContaining(['lake', 'lake_versions', 'failed_batches', 'timeline', 'dedup_markers', 'imports']));
    expect(incomplete.find((s) => s.store === 'profiles')).toMatchObject({ outcome: 'erased', removed: 2 });
  });

  it('the status view carries the list (older records without the new counts read as zero)', () => {
    const { failedBatchRecords: _f, lakeVersionsDeleted: _v, coupons: _c, ...old } = counts;
    const v = erasureView(rec({ counts: old as typeof counts }), 0);
    expect(v.stores.find((s) => s.store === 'failed_batches')).toMatchObject({ outcome: 'erased', removed: 0 });
    expect(v.stores.find((s) => s.store === 'lake_versions')).toMatchObject({ outcome: 'erased', removed: 0 });
    expect(v.stores.find((s) => s.store === 'coupons')).toMatchObject({ outcome: 'erased', removed: 0 });
  });
});

describe('failed batches', () => {
  const ada: ErasureTarget = {
    erasureId: 'e-ada',
    hashes: new Set([suppressionHash('email:ada@example.com')]),
    messageIds: new Set(['tl-1']),
    profileIds: new Set(),
  };
  const rec64 = (v: unknown) => ({
    eventSourceARN: 'arn:aws:kinesis:us-east-1:1:stream/cairn-raw',
    kinesis: { partitionKey: 'p', data: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64') },
  });
  const envelope = (message: Record<string, unknown>) => ({ message, sourceId: 's', receivedAt: '2024-05-01T00:00:00.000Z' });
  const records = [
    rec64(envelope({ type: 'identify', userId: 'u1', messageId: 'r1', traits: { email: 'ADA@example.com' } })), // her email, any case
    rec64(envelope({ type: 'track', event: 'E', userId: 'u2', messageId: 'r2' })), // someone else
    rec64({ type: 'track', event: 'E', userId: 'u3', messageId: 'tl-1', context: {} }), // a normalised message: her message id
    rec64('not json'), // cannot be attributed: kept
  ];

  it('the records that are the person’s are found by identifier and by message id, in raw and normalised messages', () => {
    const { kept, removed } = filterRows('failed', records, [ada], config, suppressionHash);
    expect(removed.get('e-ada')).toHaveLength(2);
    expect(kept).toEqual([records[1], records[3]]);
  });

  it('rewritten with the other records, everything else as Lambda wrote it (payload as JSON text or object); deleted when none is left', async () => {
    const store = new Map<string, Uint8Array>();
    const lake: LakeObjects = {
      get: async (k) => ({ body: store.get(k)!, contentType: 'application/json' }),
      put: async (k, body) => void store.set(k, body),
      delete: async (k) => void store.delete(k),
      noncurrentVersions: async () => [],
      deleteVersion: async () => undefined,
      pages: async function* () {},
      partitions: async () => [],
    };
    const doc = {
      version: '1.0',
      KinesisBatchInfo: { shardId: 'shardId-000000000000', batchSize: 4 },
      requestContext: { condition: 'RetryAttemptsExhausted' },
    };
    store.set('aws/lambda/uuid/shardId-000000000000/2024/05/01/a.json', Buffer.from(JSON.stringify({ ...doc, payload: JSON.stringify({ Records: records }) })));
    store.set('failed/normalize/shardId-000000000000/2024/05/01/b.json', Buffer.from(JSON.stringify({ ...doc, payload: { Records: records } })));
    store.set(
      'failed/normalize/shardId-000000000000/2024/05/01/c.json',
      Buffer.from(JSON.stringify({ ...doc, payload: JSON.stringify({ Records: [records[0]] }) })),
    );
    const a = await rewriteObject(lake, 'aws/lambda/uuid/shardId-000000000000/2024/05/01/a.json', [ada], config, suppressionHash);
    expect(a).toMatchObject({ action: 'rewritten' });
    const after = JSON.parse(Buffer.from(store.get('aws/lambda/uuid/shardId-000000000000/2024/05/01/a.json')!).toString('utf8'));
    expect(after).toMatchObject(doc);
    expect(typeof after.payload).toBe('string');
    expect(JSON.parse(after.payload).Records).toEqual([records[1], records[3]]);
    const b = await rewriteObject(lake, 'failed/normalize/shardId-000000000000/2024/05/01/b.json', [ada], config, suppressionHash);
    expect(b.action).toBe('rewritten');
    expect(decodeFailedBatch(store.get('failed/normalize/shardId-000000000000/2024/05/01/b.json')!).rows).toEqual([records[1], records[3]]);
    const c = await rewriteObject(lake, 'failed/normalize/shardId-000000000000/2024/05/01/c.json', [ada], config, suppressionHash);
    expect(c.action).toBe('deleted');
    expect(store.has('failed/normalize/shardId-000000000000/2024/05/01/c.json')).toBe(false);
    // Nothing left anywhere that names her.
    for (const body of store.values()) {
      const text = JSON.stringify(decodeFailedBatch(body).rows.map((r) => Buffer.from((r as { kinesis: { data: string } }).kinesis.data, 'base64').toString()));
      expect(text.toLowerCase()).not.toContain('ada@example.com');
      expect(text).not.toContain('tl-1');
    }
  });

  it('an object that is not JSON cannot be read for records: the pass reports it unreadable (it may hold anyone’s)', async () => {
    const lake = { get: async () => ({ body: Buffer.from('{"payload": trunc') }) } as unknown as LakeObjects;
    await expect(rewriteObject(lake, 'aws/lambda/x/y.json', [ada], config, suppressionHash)).rejects.toMatchObject({
      failure: { code: 'lake_object_unreadable', operation: 'decode' },
    });
  });
});
