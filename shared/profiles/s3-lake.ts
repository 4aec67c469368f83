/**
 * The profiles room's lake writes: the change rows of a resolve batch (lake.ts says which objects) and
 * the daily snapshot's objects (snapshot.ts).
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import { lakeObjects, type LakeBatch } from './lake';
import type { SnapshotLake } from './snapshot';

/** Writes a batch's lake objects to the bucket. */
export async function writeLakeBatch(bucket: string, b: LakeBatch): Promise<void> {
  await Promise.all(
    lakeObjects(b).map((o) =>
      s3().send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body, ContentType: 'application/x-ndjson', ContentEncoding: 'gzip' })),
    ),
  );
}

/** The daily snapshot's objects in the lake bucket `bucket`. */
export function snapshotLake(bucket: string): SnapshotLake {
  return {
    async put(key, body, rows) {
      await s3().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
          Metadata: { rows: String(rows), 'snapshot-kind': 'daily' },
        }),
      );
    },
    async list(prefix) {
      const keys: { key: string; size: number }[] = [];
      let token: string | undefined;
      do {
        const out = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of out.Contents ?? []) if (o.Key) keys.push({ key: o.Key, size: o.Size ?? 0 });
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
  };
}
