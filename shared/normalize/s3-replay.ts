/**
 * Replay: re-drives what the pipeline set aside, after the cause was fixed (docs/operations.md) —
 * `npx cairn replay` (cli/replay.ts) and the admin API's `POST /v1/quarantine/replay` run it:
 *
 * - `failed`: batches an event-source mapping gave up on. Locally the poller writes them under the
 *   lake's `failed/` prefix; on AWS Lambda's S3 on-failure destination writes them under
 *   `aws/lambda/<mapping-uuid>/…` of the lake bucket. For S3 destinations Lambda stores the whole
 *   invocation (`payload`, the Kinesis event) beside the metadata (`KinesisBatchInfo`), so the
 *   records are re-put from the object itself. (An SQS destination holds only the metadata: those
 *   records must be re-read from the stream within its retention; not handled here.)
 * - `quarantine`: lake `quarantine` rows (the message as received and its reason). A row of stage
 *   `normalize` goes back onto the raw stream, one of stage `resolve` onto the normalized stream.
 *
 * Records are re-put byte for byte (same messageId), so the dedup markers of normalize (and the
 * resolver's messageId dedup) make a replay count once: a message that was accepted meanwhile is
 * dropped as a duplicate, a fixed one is accepted once. Each source object replayed is recorded in a
 * ledger object `replay/<source key>`, so a second replay skips it. `--dry-run` only counts.
 * A record carrying an identifier on the suppression list (an erased person's: docs/privacy.md) is
 * not replayed (`suppressed`), read as normalize and the lake pass read a raw message, with the
 * stack's suppression key (its secret, read once: the CLI hashes as the pipeline does).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type _Object } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import { LAKE, STREAMS } from '../config';
import { CairnError } from '../errors';
import type { IdentityConfig } from '../identity';
import { partitionKeyFor, putAllRecords, type StreamRecord } from '../message/stream';
import { listedHashes, rawMessageKeys, type SuppressionHasher, type SuppressionView } from '../suppression';

export const REPLAY_LEDGER_PREFIX = 'replay/';
/** Key prefix of Lambda's S3 on-failure records (infra/constructs/failure-destination.ts). */
export const AWS_FAILURE_PREFIX = LAKE.lambdaFailurePrefix;

export type ReplaySource = 'failed' | 'quarantine';

export interface ReplayOptions {
  bucket: string;
  from: ReplaySource[];
  /** Only source objects written at or after this time. */
  since?: Date;
  dryRun?: boolean;
  /** Stream names (default: the local names of STREAMS). */
  streams?: { raw: string; normalized: string };
  /** Progress lines. */
  progress?: (line: string) => void;
  /** The suppression list (the pipeline's reader of the privacy table), its hasher and the identity settings. */
  suppression?: { view: SuppressionView; hash: SuppressionHasher; config: IdentityConfig };
  /** Base backoff of the stream writes (CAIRN_KINESIS_BACKOFF_MS, read by the caller). */
  backoffMs?: number;
  /**
   * Source objects to replay at most in this run (the admin API's request must end in time); the rest
   * are left for the next run, which skips what this one replayed (the ledger): `more` says so.
   */
  limit?: number;
}

/** Whether a record's data (JSON text) carries a suppressed identifier. */
export type IsSuppressed = (data: Buffer) => boolean;

export interface ReplaySummary {
  dryRun: boolean;
  /** Source objects found / replayed now / skipped because the ledger says they were replayed. */
  objects: number;
  replayedObjects: number;
  alreadyReplayed: number;
  /** Records re-put, per stream. */
  records: Record<string, number>;
  /** Records not replayed because they carry an erased person's identifier. */
  suppressed: number;
  /** Records that could not be replayed (no payload, unreadable row), with the reason. */
  unreplayable: { key: string; reason: string }[];
  /** Objects are left for another run (`limit` reached). */
  more?: boolean;
}

/** `2h`, `30m`, `7d` (ago) or an ISO date. */
export function parseSince(v: string, now = Date.now()): Date {
  const m = /^(\d+)\s*(m|h|d)$/.exec(v.trim());
  if (m) return new Date(now - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CairnError('usage', `--since must be a duration (30m, 2h, 7d) or a date, got ${JSON.stringify(v)}`, 400);
  return new Date(t);
}

async function listAll(bucket: string, prefix: string): Promise<_Object[]> {
  const out: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    out.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getBytes(bucket: string, key: string): Promise<Buffer> {
  const r = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchKey') return false;
    throw e;
  }
}

const ledgerKey = (sourceKey: string) => `${REPLAY_LEDGER_PREFIX}${sourceKey}`;
const streamOfArn = (arn: unknown): string | undefined => (typeof arn === 'string' ? /:stream\/([^/]+)/.exec(arn)?.[1] : undefined);

interface Planned {
  stream: string;
  records: StreamRecord[];
}

/** The records of one on-failure object: from its `payload` (the Kinesis event Lambda invoked with). */
export function recordsOfFailure(body: string, key: string, isSuppressed: IsSuppressed = () => false): (Planned & { suppressed: number }) | { error: string } {
  /** A Lambda on-failure record: `payload` (object or JSON text) holding the Kinesis event. */
  type KinesisRecord = { eventSourceARN?: string; kinesis?: { partitionKey?: string; data?: string } };
  let doc: { payload?: unknown; KinesisBatchInfo?: { streamArn?: string } };
  try {
    doc = JSON.parse(body);
  } catch {
    return { error: 'not JSON' };
  }
  let payload = doc.payload;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      return { error: 'payload is not JSON' };
    }
  }
  const recs = (payload as { Records?: KinesisRecord[] } | null | undefined)?.Records;
  if (!Array.isArray(recs)) return { error: 'no payload (SQS/SNS destinations keep only metadata: re-read the records from the stream)' };
  const stream = streamOfArn(recs[0]?.eventSourceARN) ?? streamOfArn(doc.KinesisBatchInfo?.streamArn);
  if (!stream) return { error: `no stream ARN in ${key}` };
  const all = recs.map((r) => ({ partitionKey: String(r.kinesis?.partitionKey ?? 'replay'), data: Buffer.from(String(r.kinesis?.data ?? ''), 'base64') }));
  const records = all.filter((r) => !isSuppressed(r.data));
  return { stream, records, suppressed: all.length - records.length };
}

/** The records of one quarantine object (gzipped JSON Lines of quarantine rows), by target stream. */
export function recordsOfQuarantine(
  body: Buffer,
  streams: { raw: string; normalized: string },
  isSuppressed: IsSuppressed = () => false,
): { planned: Planned[]; errors: string[]; suppressed: number } {
  const text = (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body).toString('utf8');
  const byStream = new Map<string, StreamRecord[]>();
  const errors: string[] = [];
  let suppressed = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let row: { message?: unknown; code?: string; stage?: string; message_id?: string | null };
    try {
      row = JSON.parse(line);
    } catch {
      errors.push('row is not JSON');
      continue;
    }
    if (typeof row.message !== 'string') {
      errors.push('row has no message');
      continue;
    }
    const data = row.code === 'invalid_utf8' ? Buffer.from(row.message, 'base64') : Buffer.from(row.message, 'utf8');
    if (row.code !== 'invalid_utf8' && isSuppressed(data)) {
      suppressed++;
      continue;
    }
    const stream = row.stage === 'resolve' ? streams.normalized : streams.raw;
    let key = row.message_id ?? undefined;
    if (!key) {
      try {
        const v = JSON.parse(row.message) as { message?: { userId?: unknown; anonymousId?: unknown } };
        const id = v?.message?.userId ?? v?.message?.anonymousId;
        if (typeof id === 'string') key = id;
      } catch {
        /* not JSON: any key will do */
      }
    }
    const list = byStream.get(stream) ?? [];
    list.push({ partitionKey: partitionKeyFor(key ?? createHash('sha256').update(data).digest('hex')), data });
    byStream.set(stream, list);
  }
  return { planned: [...byStream].map(([stream, records]) => ({ stream, records })), errors, suppressed };
}

export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  const streams = o.streams ?? { raw: STREAMS.raw.name, normalized: STREAMS.normalized.name };
  const summary: ReplaySummary = { dryRun: !!o.dryRun, objects: 0, replayedObjects: 0, alreadyReplayed: 0, records: {}, suppressed: 0, unreplayable: [] };
  const sup = o.suppression;
  if (sup) await sup.view.fresh();
  const isSuppressed: IsSuppressed = (data) => {
    if (!sup) return false;
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch {
      return false; // not JSON: it carries no identifier normalize could read either
    }
    return listedHashes(sup.view, sup.hash, rawMessageKeys(raw, sup.config)).length > 0;
  };
  const prefixes = [
    ...(o.from.includes('failed') ? [LAKE.failedPrefix, AWS_FAILURE_PREFIX] : []),
    ...(o.from.includes('quarantine') ? [LAKE.quarantinePrefix] : []),
  ];
  for (const prefix of prefixes) {
    const objects = (await listAll(o.bucket, prefix))
      .filter((x) => x.Key && (!o.since || (x.LastModified && x.LastModified >= o.since)))
      .sort((a, b) => (a.LastModified?.getTime() ?? 0) - (b.LastModified?.getTime() ?? 0) || a.Key!.localeCompare(b.Key!));
    for (const obj of objects) {
      const key = obj.Key!;
      if (o.limit !== undefined && summary.objects - summary.alreadyReplayed >= o.limit) {
        summary.more = true;
        break;
      }
      summary.objects++;
      if (await exists(o.bucket, ledgerKey(key))) {
        summary.alreadyReplayed++;
        continue;
      }
      const body = await getBytes(o.bucket, key);
      let planned: Planned[];
      if (prefix === LAKE.quarantinePrefix) {
        const q = recordsOfQuarantine(body, streams, isSuppressed);
        for (const e of q.errors) summary.unreplayable.push({ key, reason: e });
        summary.suppressed += q.suppressed;
        planned = q.planned;
      } else {
        const f = recordsOfFailure(body.toString('utf8'), key, isSuppressed);
        if ('error' in f) {
          summary.unreplayable.push({ key, reason: f.error });
          continue;
        }
        summary.suppressed += f.suppressed;
        planned = [{ stream: f.stream, records: f.records }];
      }
      for (const p of planned) {
        if (!o.dryRun && p.records.length) await putAllRecords(p.stream, p.records, { backoffMs: o.backoffMs ?? 50 });
        summary.records[p.stream] = (summary.records[p.stream] ?? 0) + p.records.length;
      }
      if (!o.dryRun) {
        const n = planned.reduce((s, p) => s + p.records.length, 0);
        await s3().send(
          new PutObjectCommand({
            Bucket: o.bucket,
            Key: ledgerKey(key),
            Body: JSON.stringify({ replayedAt: new Date().toISOString(), source: key, records: n }),
            ContentType: 'application/json',
          }),
        );
        summary.replayedObjects++;
      }
      o.progress?.(`${o.dryRun ? 'would replay' : 'replayed'} ${key}\n`);
    }
  }
  return summary;
}
