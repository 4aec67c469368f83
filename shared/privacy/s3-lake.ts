/** The lake bucket as erasure and export read and rewrite it (the `LakeObjects` of shared/privacy/lake.ts). */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import type { LakeObject, LakeObjects } from './lake';

export class S3LakeObjects implements LakeObjects {
  constructor(private readonly bucket: string) {}

  async get(key: string): Promise<LakeObject> {
    const res = await s3().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const body = await res.Body!.transformToByteArray();
    return {
      body,
      ...(res.Metadata ? { metadata: res.Metadata } : {}),
      ...(res.ContentType ? { contentType: res.ContentType } : {}),
      ...(res.ContentEncoding ? { contentEncoding: res.ContentEncoding } : {}),
      ...(res.VersionId ? { versionId: res.VersionId } : {}),
    };
  }

  async put(key: string, body: Uint8Array, like: { metadata: Record<string, string>; contentType?: string; contentEncoding?: string }): Promise<void> {
    await s3().send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        Metadata: like.metadata,
        ...(like.contentType ? { ContentType: like.contentType } : {}),
        ...(like.contentEncoding ? { ContentEncoding: like.contentEncoding } : {}),
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await s3().send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** ListObjectVersions under the key as prefix, keeping that key's versions that are not the latest (delete markers are listed apart). */
  async noncurrentVersions(key: string): Promise<string[]> {
    const out: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const res = await s3().send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: key,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
        }),
      );
      for (const v of res.Versions ?? []) if (v.Key === key && !v.IsLatest && v.VersionId) out.push(v.VersionId);
      // Keys are listed in order: past this key, nothing more of it.
      if (!res.IsTruncated || res.NextKeyMarker === undefined || res.NextKeyMarker > key) return out;
      keyMarker = res.NextKeyMarker;
      versionMarker = res.NextVersionIdMarker;
    }
  }

  async deleteVersion(key: string, versionId: string): Promise<void> {
    await s3().send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
  }

  async *pages(prefix: string, after: string): AsyncGenerator<string[]> {
    let token: string | undefined;
    do {
      const res = await s3().send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : after > prefix ? { StartAfter: after } : {}),
        }),
      );
      const keys = (res.Contents ?? []).map((o) => o.Key!).filter((k) => k > after);
      if (keys.length) yield keys;
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  /** One listing request per 1,000 days. */
  async partitions(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await s3().send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const p of res.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}
