/** The lake bucket as erasure and export read and rewrite it (the `LakeObjects` of shared/privacy/lake.ts). */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
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
