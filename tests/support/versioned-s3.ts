/**
 * A versioned S3 bucket in memory, answering the shared S3 client's commands in its place (SDK
 * middleware, `initialize` step): the local S3 (s3rver) has no versioning, and the lake on AWS is
 * versioned (infra/constructs/lake.ts). It follows the S3 API reference (the SDK's command docs:
 * PutObject, GetObject, DeleteObject, ListObjectVersions, ListObjectsV2 of @aws-sdk/client-s3):
 *
 * - PutObject adds a version, which becomes the latest; the answer carries its VersionId;
 * - GetObject without a version id reads the latest version (404 NoSuchKey when that is a delete
 *   marker) and answers its VersionId;
 * - DeleteObject without a version id adds a delete marker as the latest version; with one, it
 *   removes that version for good (the one before becomes the latest);
 * - ListObjectVersions lists object versions (`Versions`) and delete markers (`DeleteMarkers`) by key,
 *   newest first within a key, at most MaxKeys (default 1000) of both together, continued with
 *   KeyMarker/VersionIdMarker (`NextKeyMarker`/`NextVersionIdMarker` when truncated);
 * - ListObjectsV2 lists keys whose latest version is not a delete marker.
 *
 * `versioned: false` models a bucket that never had versioning: one version per key, replaced by a
 * PUT and removed by a DELETE, and no version id in any answer (what the local S3 answers too).
 */
import { s3 } from '#shared/aws/clients';

interface Version {
  versionId: string;
  body?: Uint8Array;
  metadata?: Record<string, string>;
  contentType?: string;
  deleteMarker: boolean;
  /** When it was written (the wall clock). */
  at?: number;
}

const notFound = (key: string) =>
  Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404, attempts: 1, totalRetryDelay: 0 } });

export class VersionedBucket {
  /** Versions per key, oldest first. */
  readonly keys = new Map<string, Version[]>();
  /** Commands answered, by name (and version deletes as `DeleteObjectCommand.version`). */
  readonly calls: string[] = [];
  /** The tags of each key's current version (PutObjectTagging); a PUT over the key drops them, as on S3. */
  readonly tags = new Map<string, Record<string, string>>();
  /** Keys whose version deletes fail (an injected 503). */
  readonly failVersionDeletes = new Set<string>();
  private n = 0;
  constructor(
    readonly bucket: string,
    opts: { versioned?: boolean; maxKeys?: number } = {},
  ) {
    this.versioned = opts.versioned ?? true;
    this.maxKeys = opts.maxKeys ?? 1000;
  }
  private readonly versioned: boolean;
  /** The page size S3 uses when the request names none (1000); smaller to exercise continuation. */
  private readonly maxKeys: number;

  private add(key: string, v: Omit<Version, 'versionId'>): string {
    this.tags.delete(key);
    const versionId = this.versioned ? `v${String(++this.n).padStart(6, '0')}` : 'null';
    if (!this.versioned && v.deleteMarker) {
      this.keys.delete(key);
      return versionId;
    }
    const list = this.versioned ? (this.keys.get(key) ?? []) : [];
    list.push({ ...v, versionId, at: Date.now() });
    this.keys.set(key, list);
    return versionId;
  }
  /** The version id an answer carries: none from a bucket without versioning. */
  private vid(versionId: string): { VersionId?: string } {
    return this.versioned ? { VersionId: versionId } : {};
  }
  put(key: string, body: Uint8Array, contentType?: string): string {
    return this.add(key, { body, metadata: {}, ...(contentType ? { contentType } : {}), deleteMarker: false });
  }
  latest(key: string): Version | undefined {
    return this.keys.get(key)?.at(-1);
  }
  /** Object versions (not delete markers) of the key that are not the latest. */
  noncurrent(key: string): Version[] {
    const list = this.keys.get(key) ?? [];
    return list.slice(0, -1).filter((v) => !v.deleteMarker);
  }

  answer(command: string, i: any): unknown {
    if (i.Bucket !== this.bucket) throw new Error(`versioned-s3: unexpected bucket ${i.Bucket}`);
    const name = command === 'DeleteObjectCommand' && i.VersionId ? 'DeleteObjectCommand.version' : command;
    this.calls.push(name);
    switch (name) {
      case 'PutObjectCommand': {
        const body = typeof i.Body === 'string' ? Buffer.from(i.Body) : (i.Body as Uint8Array);
        const versionId = this.add(i.Key, { body, metadata: i.Metadata ?? {}, contentType: i.ContentType, deleteMarker: false });
        return { ...this.vid(versionId), ETag: `"${this.n}"` };
      }
      case 'GetObjectCommand': {
        const list = this.keys.get(i.Key) ?? [];
        const v = i.VersionId ? list.find((x) => x.versionId === i.VersionId) : list.at(-1);
        if (!v || v.deleteMarker) throw notFound(i.Key);
        const bytes = v.body!;
        return {
          Body: { transformToByteArray: async () => bytes, transformToString: async () => Buffer.from(bytes).toString('utf8') },
          Metadata: v.metadata,
          ContentType: v.contentType,
          ETag: `"${v.versionId}"`,
          ...this.vid(v.versionId),
        };
      }
      case 'DeleteObjectCommand': {
        const versionId = this.add(i.Key, { deleteMarker: true });
        return this.versioned ? { DeleteMarker: true, VersionId: versionId } : {};
      }
      case 'DeleteObjectCommand.version': {
        if (this.failVersionDeletes.has(i.Key))
          throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
        const list = this.keys.get(i.Key) ?? [];
        const at = list.findIndex((x) => x.versionId === i.VersionId);
        if (at >= 0) list.splice(at, 1);
        if (!list.length) this.keys.delete(i.Key);
        return { VersionId: i.VersionId };
      }
      case 'ListObjectVersionsCommand': {
        const max = i.MaxKeys ?? this.maxKeys;
        const entries = [...this.keys.keys()]
          .filter((k) => k.startsWith(i.Prefix ?? ''))
          .sort()
          .flatMap((k) => [...this.keys.get(k)!].reverse().map((v, j) => ({ key: k, v, latest: j === 0 })));
        let from = 0;
        if (i.KeyMarker !== undefined) {
          from = entries.findIndex((e) => (i.VersionIdMarker ? e.key === i.KeyMarker && e.v.versionId === i.VersionIdMarker : e.key > i.KeyMarker));
          from = from < 0 ? entries.length : i.VersionIdMarker ? from + 1 : from;
        }
        const page = entries.slice(from, from + max);
        const truncated = from + max < entries.length;
        const last = page.at(-1);
        const row = (e: (typeof entries)[number]) => ({ Key: e.key, VersionId: e.v.versionId, IsLatest: e.latest });
        return {
          Versions: page.filter((e) => !e.v.deleteMarker).map(row),
          DeleteMarkers: page.filter((e) => e.v.deleteMarker).map(row),
          IsTruncated: truncated,
          ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.v.versionId } : {}),
        };
      }
      case 'ListObjectsV2Command': {
        const keys = [...this.keys.keys()]
          .filter((k) => k.startsWith(i.Prefix ?? '') && !this.latest(k)!.deleteMarker && (!i.StartAfter || k > i.StartAfter))
          .sort();
        if (i.Delimiter) {
          // Keys with the delimiter after the prefix roll up into their common prefix.
          const rest = (k: string) => k.slice((i.Prefix ?? '').length);
          const common = [
            ...new Set(keys.filter((k) => rest(k).includes(i.Delimiter)).map((k) => k.slice(0, k.length - rest(k).length + rest(k).indexOf(i.Delimiter) + 1))),
          ];
          return {
            Contents: keys.filter((k) => !rest(k).includes(i.Delimiter)).map((Key) => ({ Key })),
            CommonPrefixes: common.map((Prefix) => ({ Prefix })),
            IsTruncated: false,
          };
        }
        return {
          Contents: keys.map((Key) => ({
            Key,
            Size: this.latest(Key)!.body!.byteLength,
            ETag: `"${this.latest(Key)!.versionId}"`,
            LastModified: new Date(this.latest(Key)!.at!),
          })),
          IsTruncated: false,
        };
      }
      case 'GetObjectTaggingCommand': {
        const v = this.latest(i.Key);
        if (!v || v.deleteMarker) throw notFound(i.Key);
        return { TagSet: Object.entries(this.tags.get(i.Key) ?? {}).map(([Key, Value]) => ({ Key, Value })) };
      }
      case 'PutObjectTaggingCommand': {
        const v = this.latest(i.Key);
        if (!v || v.deleteMarker) throw notFound(i.Key);
        this.tags.set(i.Key, Object.fromEntries((i.Tagging.TagSet as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value])));
        return {};
      }
      case 'CopyObjectCommand': {
        // CopySource: `<bucket>/<key>` (URL-encoded), the source's current version.
        const from = decodeURIComponent(String(i.CopySource).slice(this.bucket.length + 1));
        const src = this.latest(from);
        if (!src || src.deleteMarker) throw notFound(from);
        const versionId = this.add(i.Key, { body: src.body, metadata: src.metadata, contentType: src.contentType, deleteMarker: false });
        return { ...this.vid(versionId) };
      }
    }
    throw new Error(`versioned-s3: ${command} is not modelled`);
  }

  /** Answers the shared S3 client's commands for this bucket until the returned function is called. */
  install(): () => void {
    const name = `versionedBucket-${this.bucket}`;
    s3().middlewareStack.add(
      (next: any, context: any) => async (args: any) => {
        if (args.input?.Bucket !== this.bucket) return next(args);
        return { output: { $metadata: { httpStatusCode: 200 }, ...(this.answer(context.commandName, args.input) as object) }, response: {} };
      },
      { step: 'initialize', name },
    );
    return () => s3().middlewareStack.remove(name);
  }
}
