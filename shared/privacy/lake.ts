/**
 * Erasure in the lake (docs/privacy.md): which rows of `events`, `quarantine`, `profiles` and
 * `journey_steps` — and which records of failed batches (shared/privacy/failed-batches.ts) — belong
 * to an erased person (pure), and rewriting an object without them (the object is rewritten in place
 * with the same key and metadata — or deleted when no row is left — so the rows are gone, not
 * hidden; a re-run finds nothing more to remove). In a versioned bucket the versions the rewrite left
 * behind (noncurrent, holding the rows) are removed too.
 *
 * A row belongs to the person when it carries one of their suppressed identifiers (matched by hash:
 * the erasure never needs the raw values), one of their message ids (from the timeline), or one of
 * their profile ids (`profiles` rows; `journey_steps` rows, which hold no other personal datum).
 *
 * An object that cannot be read, decoded, rewritten or deleted makes `rewriteObject` throw a
 * `LakeObjectError`: which step failed, a code, the error's name (never its message, which may quote
 * the object's content) and, when the rows were read, the erasures that had rows in it.
 *
 * The objects are read and written through `LakeObjects` (shared/privacy/s3-lake.ts on S3).
 */
import { LAKE } from '../config';
import { type IdentityConfig, type LakeProfileRow, identityKey } from '../identity';
import { decodeJsonLines, decodeParquetRows, encodeEventsParquet, encodeJsonLines } from '../lake/index';
import { log } from '../log';
import type { Json, JsonObject, LakeEventRow, LakeQuarantineRow } from '../message';
import { looseMessage, messageHashes, rawMessageHashes, type SuppressionHasher } from '../suppression';
import { decodeFailedBatch, failedRecordOwner } from './failed-batches';

/** What identifies the people being erased (one entry per erasure, so rows are counted per erasure). */
export interface ErasureTarget {
  erasureId: string;
  hashes: Set<string>;
  messageIds: Set<string>;
  profileIds: Set<string>;
}

const parse = (s: unknown): Json | undefined => {
  if (typeof s !== 'string') return undefined;
  try {
    return JSON.parse(s) as Json;
  } catch {
    return undefined;
  }
};
const obj = (j: unknown): JsonObject | undefined => (j && typeof j === 'object' && !Array.isArray(j) ? (j as JsonObject) : undefined);

const hashesOfLoose = (o: JsonObject, config: IdentityConfig, hash: SuppressionHasher): string[] => {
  try {
    return messageHashes(looseMessage(o), config, hash);
  } catch {
    return [];
  }
};

/** The lake tables, and `failed`: the batches on-failure destinations wrote (rows are their Kinesis records). */
export type LakeTable = 'events' | 'quarantine' | 'profiles' | 'journey_steps' | 'failed';

/** The erasure a lake row belongs to, or undefined (`hash`: the deployment's suppression hasher, as the targets' hashes were made). */
export function rowOwner(table: LakeTable, row: unknown, targets: ErasureTarget[], config: IdentityConfig, hash: SuppressionHasher): ErasureTarget | undefined {
  if (!targets.length) return undefined;
  if (table === 'failed') return failedRecordOwner(row, targets, config, hash);
  const r = obj(row) ?? {};
  if (table === 'journey_steps') {
    const id = r.profile_id;
    return typeof id === 'string' ? targets.find((t) => t.profileIds.has(id)) : undefined;
  }
  if (table === 'profiles') {
    const p = r as unknown as LakeProfileRow;
    const ids = [p.profile_id, p.merged_into, ...((parse(p.merged_from) as string[] | undefined) ?? [])].filter((x): x is string => typeof x === 'string');
    const hashes = ((parse(p.identities) as { type: string; value: string }[] | undefined) ?? []).map((i) => hash(identityKey(i)));
    return targets.find((t) => ids.some((i) => t.profileIds.has(i)) || hashes.some((h) => t.hashes.has(h)));
  }
  let messageId: string | undefined;
  let hashes: string[];
  if (table === 'events') {
    const e = r as unknown as LakeEventRow;
    messageId = e.message_id;
    hashes = hashesOfLoose(
      {
        type: e.type,
        messageId: e.message_id,
        userId: e.user_id,
        anonymousId: e.anonymous_id,
        previousId: e.previous_id,
        traits: parse(e.traits) ?? null,
        context: parse(e.context) ?? null,
      } as JsonObject,
      config,
      hash,
    );
  } else {
    const q = r as unknown as LakeQuarantineRow;
    messageId = q.message_id ?? undefined;
    // The same reading normalize drops a suppressed person's invalid messages by (before quarantining).
    hashes = rawMessageHashes(parse(q.message), config, hash);
  }
  return targets.find((t) => (messageId !== undefined && t.messageIds.has(messageId)) || hashes.some((h) => t.hashes.has(h)));
}

/** Splits rows into those kept and those removed (per erasure id). */
export function filterRows<T>(
  table: LakeTable,
  rows: T[],
  targets: ErasureTarget[],
  config: IdentityConfig,
  hash: SuppressionHasher,
): { kept: T[]; removed: Map<string, T[]> } {
  const kept: T[] = [];
  const removed = new Map<string, T[]>();
  for (const row of rows) {
    const t = rowOwner(table, row, targets, config, hash);
    if (!t) kept.push(row);
    else {
      let l = removed.get(t.erasureId);
      if (!l) removed.set(t.erasureId, (l = []));
      l.push(row);
    }
  }
  return { kept, removed };
}

/** Where failed batches are written: Lambda's S3 on-failure destination on AWS, the local runtime's locally. */
export const FAILED_BATCH_PREFIXES = [LAKE.lambdaFailurePrefix, LAKE.failedPrefix] as const;

/**
 * The prefixes the erasure pass rewrites (and λ erase's `lake.prefixes`, tests/infra/security.test.ts):
 * with the tables', the Parquet parts compaction makes of `events` (docs/lake.md#compaction).
 */
export const ERASURE_LAKE_PREFIXES = [
  LAKE.eventsPrefix,
  LAKE.quarantinePrefix,
  LAKE.profilesPrefix,
  LAKE.journeyStepsPrefix,
  ...FAILED_BATCH_PREFIXES,
  LAKE.parquetEventsPrefix,
] as const;

export const tableOfKey = (key: string): LakeTable | undefined =>
  key.startsWith(LAKE.eventsPrefix) || key.startsWith(LAKE.parquetEventsPrefix)
    ? 'events'
    : key.startsWith(LAKE.quarantinePrefix)
      ? 'quarantine'
      : key.startsWith(LAKE.profilesPrefix)
        ? 'profiles'
        : key.startsWith(LAKE.journeyStepsPrefix)
          ? 'journey_steps'
          : FAILED_BATCH_PREFIXES.some((p) => key.startsWith(p))
            ? 'failed'
            : undefined;

/** A lake object as read: its body and what a rewrite keeps of it. */
export interface LakeObject {
  body: Uint8Array;
  metadata?: Record<string, string>;
  contentType?: string;
  contentEncoding?: string;
  /** The version read, when the bucket is versioned (S3 answers no version id otherwise). */
  versionId?: string;
}

/** The lake bucket as erasure and export use it (shared/privacy/s3-lake.ts). Errors are S3's, as thrown. */
export interface LakeObjects {
  /** The object with its body read (S3's `NoSuchKey` when it is gone). */
  get(key: string): Promise<LakeObject>;
  /** Writes `body` under `key` with the metadata, content type and encoding of `like`. */
  put(key: string, body: Uint8Array, like: { metadata: Record<string, string>; contentType?: string; contentEncoding?: string }): Promise<void>;
  delete(key: string): Promise<void>;
  /** The version ids of the noncurrent versions of exactly `key` (object versions: not delete markers). */
  noncurrentVersions(key: string): Promise<string[]>;
  /** Removes one version of `key` for good. */
  deleteVersion(key: string, versionId: string): Promise<void>;
  /** Every key under `prefix` after `after` (exclusive), in order, a listing page at a time. */
  pages(prefix: string, after: string): AsyncGenerator<string[]>;
  /** The `dt=` partitions under `prefix`. */
  partitions(prefix: string): Promise<string[]>;
}

export interface RewriteResult {
  key: string;
  /** Rows removed per erasure id. */
  removed: Map<string, unknown[]>;
  action: 'none' | 'rewritten' | 'deleted';
  /** Noncurrent versions of the object removed after the rewrite (versioned bucket). */
  versionsDeleted?: number;
  /** Noncurrent versions that could not be removed: they expire by lifecycle rule (RETENTION.noncurrentVersionDays). */
  versionsFailed?: number;
}

/**
 * Why an object could not be erased from (docs/privacy.md "When a lake object fails", docs/errors.md):
 * - `lake_object_unreadable`: read, but not gzip JSON Lines (corrupt); permanent until an operator acts;
 * - `lake_access_denied`: S3 answered 403 (the function's IAM grant, the bucket policy or the KMS key);
 * - `lake_object_failed`: any other S3 failure after the SDK's retries (throttling, 5xx, network).
 */
export type LakeFailureCode = 'lake_object_unreadable' | 'lake_access_denied' | 'lake_object_failed';

/** One object the erasure pass could not finish. Holds no personal data: keys name dates, shards and sequence numbers. */
export interface LakeFailure {
  key: string;
  /** The step that failed: GetObject (`read`), gunzip/JSON (`decode`), PutObject (`write`), DeleteObject (`delete`). */
  operation: 'read' | 'decode' | 'write' | 'delete';
  code: LakeFailureCode;
  /** The error's name (S3 error code, zlib code, `SyntaxError`); never its message. */
  error: string;
  /** HTTP status of S3's answer, when there was one. */
  httpStatus?: number;
}

export class LakeObjectError extends Error {
  constructor(
    readonly failure: LakeFailure,
    /** Erasures with rows in the object, when it was read; undefined: unknown (it could not be read). */
    readonly erasureIds?: string[],
  ) {
    super(`lake object ${failure.key}: ${failure.operation} failed (${failure.code}: ${failure.error})`);
    this.name = 'LakeObjectError';
  }
}

const errorName = (e: unknown): string => {
  const x = e as { code?: unknown; name?: unknown } | undefined;
  const n = typeof x?.code === 'string' && /^(Z_|ERR_)/.test(x.code) ? x.code : typeof x?.name === 'string' ? x.name : 'Error';
  // An error code (`AccessDenied`, `KMS.DisabledException`, `Z_DATA_ERROR`), or nothing that could quote data.
  return /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(n) ? n : 'Error';
};

/** The failure for an error thrown by an S3 call (or reading its body). */
export function s3Failure(key: string, operation: LakeFailure['operation'], e: unknown): LakeFailure {
  const httpStatus = (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const error = errorName(e);
  const denied = httpStatus === 403 || error === 'AccessDenied' || error === 'Forbidden';
  return { key, operation, code: denied ? 'lake_access_denied' : 'lake_object_failed', error, ...(typeof httpStatus === 'number' ? { httpStatus } : {}) };
}

/**
 * Reads one lake object and rewrites it without the erased rows (same key, same metadata), or
 * deletes it when none is left. Throws a `LakeObjectError` when a step fails (a missing key is not a
 * failure: there is nothing left to erase).
 */
export async function rewriteObject(
  lake: LakeObjects,
  key: string,
  targets: ErasureTarget[],
  config: IdentityConfig,
  hash: SuppressionHasher,
): Promise<RewriteResult> {
  const table = tableOfKey(key);
  if (!table) return { key, removed: new Map(), action: 'none' };
  let res: LakeObject;
  try {
    res = await lake.get(key);
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey') return { key, removed: new Map(), action: 'none' };
    throw new LakeObjectError(s3Failure(key, 'read', e));
  }
  let rows: unknown[];
  let encode: (kept: unknown[]) => Uint8Array;
  let split: { kept: unknown[]; removed: Map<string, unknown[]> };
  try {
    if (table === 'failed') ({ rows, encode } = decodeFailedBatch(res.body));
    // A compacted part: rewritten as Parquet, its rows in the order they were (the part's sort order).
    else if (key.startsWith(LAKE.parquetEventsPrefix))
      (rows = await decodeParquetRows(res.body)), (encode = (kept) => encodeEventsParquet(kept as LakeEventRow[]));
    else (rows = decodeJsonLines(res.body)), (encode = encodeJsonLines);
    split = filterRows(table, rows, targets, config, hash);
  } catch (e) {
    throw new LakeObjectError({ key, operation: 'decode', code: 'lake_object_unreadable', error: errorName(e) });
  }
  const { kept, removed } = split;
  if (!removed.size) return { key, removed, action: 'none' };
  const owners = [...removed.keys()];
  if (!kept.length) {
    try {
      await lake.delete(key);
    } catch (e) {
      throw new LakeObjectError(s3Failure(key, 'delete', e), owners);
    }
    return { key, removed, action: 'deleted', ...(await removeOldVersions(lake, key, res.versionId)) };
  }
  const metadata = { ...(res.metadata ?? {}) };
  if (metadata.rows !== undefined) metadata.rows = String(kept.length);
  metadata['erased-rows'] = String(Number(metadata['erased-rows'] ?? 0) + rows.length - kept.length);
  try {
    await lake.put(key, encode(kept), {
      metadata,
      ...(res.contentType ? { contentType: res.contentType } : {}),
      ...(res.contentEncoding ? { contentEncoding: res.contentEncoding } : {}),
    });
  } catch (e) {
    throw new LakeObjectError(s3Failure(key, 'write', e), owners);
  }
  return { key, removed, action: 'rewritten', ...(await removeOldVersions(lake, key, res.versionId)) };
}

/**
 * After a rewrite or delete in a versioned bucket (the read answered a version id), the version read
 * — now noncurrent — still holds the erased rows, and older noncurrent versions of the key (a replayed
 * batch or a snapshot run rewrote it before) may too: remove every noncurrent version of the key. The
 * current version is never touched. A failure here does not hold the erasure back: the rows are gone
 * from the current version, and what is left expires by the lifecycle rule `expire-old-versions`; it is
 * counted (`versionsFailed`) and logged.
 */
async function removeOldVersions(
  lake: LakeObjects,
  key: string,
  versionRead: string | undefined,
): Promise<{ versionsDeleted: number; versionsFailed: number }> {
  if (versionRead === undefined || versionRead === 'null') return { versionsDeleted: 0, versionsFailed: 0 };
  let versions: string[];
  try {
    versions = await lake.noncurrentVersions(key);
  } catch (e) {
    log('warn', 'privacy.lake_versions_failed', { key, operation: 'list', error: errorName(e) });
    return { versionsDeleted: 0, versionsFailed: 1 };
  }
  let deleted = 0;
  let failed = 0;
  for (const v of versions) {
    try {
      await lake.deleteVersion(key, v);
      deleted++;
    } catch (e) {
      failed++;
      log('warn', 'privacy.lake_versions_failed', { key, operation: 'delete', error: errorName(e) });
    }
  }
  return { versionsDeleted: deleted, versionsFailed: failed };
}
