/** The lake bucket as compaction reads and writes it (the `CompactionStore` of shared/lake/compact.ts). */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import type { CompactionStore } from './compact';
import type { ObjectInfo } from './compaction';

const isMissing = (e: unknown) => {
  const n = (e as { name?: string })?.name;
  return n === 'NoSuchKey' || n === 'NotFound' || (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
};

/** The bucket does not keep versions (s3rver answers `?versions` with 405: the local stack). */
const notVersioned = (e: unknown) => {
  const x = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return x?.$metadata?.httpStatusCode === 405 || x?.$metadata?.httpStatusCode === 501 || x?.name === 'MethodNotAllowed' || x?.name === 'NotImplemented';
};

export function s3CompactionStore(bucket: string): CompactionStore {
  return {
    async list(prefix) {
      const out: ObjectInfo[] = [];
      let token: string | undefined;
      do {
        const res = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of res.Contents ?? []) {
          if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified?.getTime() ?? 0 });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async dates(prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const res = await s3().send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const p of res.CommonPrefixes ?? []) {
          const d = /dt=(\d{4}-\d{2}-\d{2})\/$/.exec(p.Prefix ?? '')?.[1];
          if (d) out.push(d);
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async get(key) {
      try {
        const res = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { body: await res.Body!.transformToByteArray(), etag: res.ETag ?? '' };
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async put(key, body, contentType, contentEncoding) {
      await s3().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(contentEncoding ? { ContentEncoding: contentEncoding } : {}),
        }),
      );
    },
    async copy(from, to) {
      // Same bucket, so the copy is encrypted with the bucket's key like the original. URL-encoded as S3
      // asks; lake keys hold only [A-Za-z0-9._=/-], which encodeURI keeps (s3rver decodes with decodeURI).
      await s3().send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: encodeURI(`${bucket}/${from}`) }));
    },
    async purge(key) {
      // Every version and delete marker of exactly this key (a versioned bucket keeps the old ones otherwise).
      let versions: { VersionId?: string }[] | undefined = [];
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      try {
        for (;;) {
          const res = await s3().send(
            new ListObjectVersionsCommand({
              Bucket: bucket,
              Prefix: key,
              ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
              ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
            }),
          );
          for (const v of [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])]) if (v.Key === key && v.VersionId) versions.push(v);
          if (!res.IsTruncated || res.NextKeyMarker === undefined || res.NextKeyMarker > key) break;
          keyMarker = res.NextKeyMarker;
          versionMarker = res.NextVersionIdMarker;
        }
      } catch (e) {
        if (!notVersioned(e)) throw e;
        versions = undefined;
      }
      if (!versions) {
        await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        return;
      }
      for (const v of versions) await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v.VersionId }));
    },
  };
}
