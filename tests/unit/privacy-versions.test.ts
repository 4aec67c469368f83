/**
 * Noncurrent versions after an erasure rewrite (docs/privacy.md "Lake access for erasure, and object
 * versions"): the lake bucket is versioned on AWS, so rewriting or deleting an object leaves the
 * version read — the person's rows — behind as a noncurrent version, and earlier versions of the key
 * (a replayed batch, a snapshot re-run) may hold them too. λ erase removes every noncurrent version of
 * an object it rewrote or deleted, never the current one.
 *
 * The local S3 (s3rver) has no versioning (its router answers `?versions` with 405 and ignores
 * version ids), so this runs the S3 adapter (shared/privacy/s3-lake.ts, the real SDK commands) against
 * a model of a versioned bucket that follows the S3 API reference (tests/support/versioned-s3.ts).
 * Against an unversioned bucket (S3 answers no version id: the local stack) nothing is listed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import { decodeJsonLines, encodeJsonLines } from '#shared/lake/index';
import { rewriteObject, type ErasureTarget } from '#shared/privacy';
import { S3LakeObjects } from '#shared/privacy/s3-lake';
import { suppressionHasher } from '#shared/suppression';

const suppressionHash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');
import { VersionedBucket } from '../support/versioned-s3';

const config = DEFAULT_IDENTITY_CONFIG;
const BUCKET = 'versioned-lake';
const ada: ErasureTarget = { erasureId: 'e-ada', hashes: new Set([suppressionHash('user_id:ada')]), messageIds: new Set(), profileIds: new Set() };
const row = (userId: string, messageId: string) => ({ message_id: messageId, type: 'track', user_id: userId, event: 'Viewed' });
const rows = (...r: ReturnType<typeof row>[]) => encodeJsonLines(r);
const text = (b: Uint8Array | undefined) => JSON.stringify(decodeJsonLines(b!));

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});
function bucket(opts: { versioned?: boolean; maxKeys?: number } = {}): VersionedBucket {
  const b = new VersionedBucket(BUCKET, opts);
  uninstall = b.install();
  return b;
}

describe('noncurrent versions of rewritten lake objects (versioned bucket)', () => {
  it('a rewrite removes the version it read and every older noncurrent version of the key; the current version stays', async () => {
    const b = bucket();
    const key = 'events/dt=2024-05-01/shardId-000000000000-1.json.gz';
    // Written three times before (a replayed batch rewrites its own key): every version holds Ada's row.
    b.put(key, rows(row('ada', 'm1'), row('bob', 'm2')));
    b.put(key, rows(row('ada', 'm1'), row('bob', 'm2')));
    b.put(key, rows(row('ada', 'm1'), row('bob', 'm2'), row('bob', 'm3')));
    // A neighbour whose key starts with this one's is listed under the same prefix, and is not touched.
    b.put(`${key}.bak`, rows(row('ada', 'm9')));
    b.put(`${key}.bak`, rows(row('ada', 'm9')));

    const r = await rewriteObject(new S3LakeObjects(BUCKET), key, [ada], config, suppressionHash);
    expect(r).toMatchObject({ action: 'rewritten', versionsDeleted: 3, versionsFailed: 0 });
    expect(b.keys.get(key)).toHaveLength(1);
    expect(text(b.latest(key)!.body)).not.toContain('ada');
    expect(text(b.latest(key)!.body)).toContain('m3');
    expect(b.noncurrent(key)).toEqual([]);
    expect(b.keys.get(`${key}.bak`)).toHaveLength(2);
    // Nothing of Ada's left in any version of the key.
    for (const v of b.keys.get(key)!) expect(text(v.body)).not.toContain('"ada"');
  });

  it('a delete leaves only the delete marker: the version with the rows is removed, not left noncurrent', async () => {
    const b = bucket();
    const key = 'events/dt=2024-05-01/shardId-000000000000-7.json.gz';
    b.put(key, rows(row('ada', 'q1')));
    const r = await rewriteObject(new S3LakeObjects(BUCKET), key, [ada], config, suppressionHash);
    expect(r).toMatchObject({ action: 'deleted', versionsDeleted: 1 });
    expect(b.keys.get(key)).toEqual([expect.objectContaining({ deleteMarker: true })]);
    expect(b.calls.filter((c) => c === 'DeleteObjectCommand.version')).toHaveLength(1);
  });

  it('follows ListObjectVersions continuation (KeyMarker, VersionIdMarker) across pages', async () => {
    const b = bucket({ maxKeys: 2 });
    const key = 'events/dt=2024-05-01/shardId-000000000001-1.json.gz';
    for (let i = 0; i < 6; i++) b.put(key, rows(row('ada', `e${i}`), row('bob', `f${i}`)));
    const r = await rewriteObject(new S3LakeObjects(BUCKET), key, [ada], config, suppressionHash);
    expect(r).toMatchObject({ action: 'rewritten', versionsDeleted: 6 });
    expect(b.noncurrent(key)).toEqual([]);
    expect(b.calls.filter((c) => c === 'ListObjectVersionsCommand').length).toBeGreaterThan(1);
  });

  it('an object without the person is neither rewritten nor has its versions listed', async () => {
    const b = bucket();
    const key = 'events/dt=2024-05-01/shardId-000000000000-2.json.gz';
    b.put(key, rows(row('bob', 'm1')));
    b.put(key, rows(row('bob', 'm1')));
    expect(await rewriteObject(new S3LakeObjects(BUCKET), key, [ada], config, suppressionHash)).toMatchObject({ action: 'none' });
    expect(b.calls).not.toContain('ListObjectVersionsCommand');
    expect(b.keys.get(key)).toHaveLength(2);
  });

  it('a version delete that fails does not fail the erasure: counted, and left to the lifecycle rule', async () => {
    const b = bucket();
    const key = 'events/dt=2024-05-01/shardId-000000000000-3.json.gz';
    b.put(key, rows(row('ada', 'm1'), row('bob', 'm2')));
    b.failVersionDeletes.add(key);
    const r = await rewriteObject(new S3LakeObjects(BUCKET), key, [ada], config, suppressionHash);
    expect(r).toMatchObject({ action: 'rewritten', versionsDeleted: 0, versionsFailed: 1 });
    expect(text(b.latest(key)!.body)).not.toContain('ada');
  });

  it('an unversioned bucket (no version id in the answers, as s3rver and an unversioned S3 bucket answer) lists no versions', async () => {
    const b = bucket({ versioned: false });
    const key = 'events/dt=2024-05-01/shardId-000000000000-4.json.gz';
    b.put(key, rows(row('ada', 'm1'), row('bob', 'm2')));
    const r = await rewriteObject(new S3LakeObjects(BUCKET), key, [ada], config, suppressionHash);
    expect(r).toMatchObject({ action: 'rewritten', versionsDeleted: 0, versionsFailed: 0 });
    expect(b.calls).not.toContain('ListObjectVersionsCommand');
    expect(text(b.latest(key)!.body)).not.toContain('ada');
  });
});
