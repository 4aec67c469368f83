/** The lake bucket as compaction reads and writes it (the `CompactionStore` of shared/lake/compact.ts). */
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import { COMPACTION } from '../config';
import type { CompactionStore } from './compact';
import type { ObjectInfo } from './compaction';

const isMissing = (e: unknown) => {
  const n = (e as { name?: string })?.name;
  return n === 'NoSuchKey' || n === 'NotFound' || (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
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
    async tagForExpiry(key) {
      const { key: k, value: v } = COMPACTION.expiryTag;
      try {
        // Other tags (an operator's) are kept: PutObjectTagging replaces the whole set.
        const current = (await s3().send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
        if (current.some((t) => t.Key === k && t.Value === v)) return;
        const others = current.filter((t) => t.Key !== k);
        await s3().send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [...others, { Key: k, Value: v }] } }));
      } catch (e) {
        // Gone since the listing (an erasure deleted it, or it expired): nothing to tag.
        if (!isMissing(e)) throw e;
      }
    },
  };
}
