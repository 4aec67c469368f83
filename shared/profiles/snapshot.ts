/**
 * The daily full profile snapshot: every live profile (no `mergedInto`) of the profiles table as a
 * `profiles` lake row with `snapshot_kind = 'daily'`, next to the on-change rows λ resolve writes
 * (shared/profiles/lake.ts). Objects are gzip JSON Lines at deterministic keys
 *
 *   profiles/dt=<date>/daily-<date>-<segment>-<part>.json.gz
 *
 * so a rerun on the same day overwrites its own objects; parts an earlier run of the day wrote and
 * this run does not (fewer profiles now, or fewer segments) are overwritten with zero rows, so a
 * day never holds a profile's daily row twice. The table is read with an eventually consistent
 * parallel Scan (`totalSegments` segments, each paged through `LastEvaluatedKey`); consumed read
 * units are counted (ReturnConsumedCapacity) and returned. See docs/lake.md.
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { dynamodb, s3 } from '../aws/clients';
import { ENV, env, LAKE } from '../config/resources';
import { CairnError } from '../errors';
import { dateOf, encodeJsonLines } from '../lake';
import { log } from '../log';
import { isLiveProfileItem, LIVE_PROFILES_FILTER, profileFromItem } from '../identity/dynamo-store';
import { toProfileRow, type LakeProfileRow } from './view';

/** Rows per lake object (the last part of a segment holds the rest). */
export const SNAPSHOT_PART_ROWS = 50_000;
/** Parallel-scan segments the scheduled snapshot uses (scanned concurrently in one invocation). */
export const DAILY_SNAPSHOT_SEGMENTS = 4;

export interface SnapshotOptions {
  /** Lake bucket. */
  bucket: string;
  /** Partition date `YYYY-MM-DD` (the scheduled run uses today, UTC). */
  date: string;
  /** Profiles table; default `CAIRN_PROFILES_TABLE`. */
  table?: string;
  /** Scan only this segment (0-based), e.g. one invocation per segment; default: every segment, concurrently. */
  segment?: number;
  /** Parallel-scan segments; default 1. Keep it the same for every run of a day (keys name the segment). */
  totalSegments?: number;
  /** Rows per object; default SNAPSHOT_PART_ROWS. */
  maxRowsPerPart?: number;
  /** Scan page size (`Limit`); default DynamoDB's 1 MB pages. */
  pageLimit?: number;
  /** `snapshot_at` of every row; default now. */
  snapshotAt?: string;
}

export interface SnapshotResult {
  date: string;
  snapshotAt: string;
  totalSegments: number;
  segments: number[];
  /** Items the scan read (profiles, merged-away profiles, groups, shard markers). */
  scanned: number;
  /** Live profiles written. */
  profiles: number;
  /** Scan requests made. */
  pages: number;
  /** Read capacity units consumed by the scan. */
  rcu: number;
  /** Keys written with rows. */
  objects: string[];
  /** Keys of an earlier run of the day overwritten with zero rows. */
  cleared: string[];
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export const dailySnapshotPrefix = (date: string): string => `${LAKE.profilesPrefix}dt=${date}/daily-${date}-`;
export const dailySnapshotKey = (date: string, segment: number, part: number): string => `${dailySnapshotPrefix(date)}${segment}-${part}.json.gz`;
const KEY_RE = /daily-\d{4}-\d{2}-\d{2}-(\d+)-(\d+)\.json\.gz$/;

async function put(bucket: string, key: string, rows: LakeProfileRow[]): Promise<void> {
  await s3().send(new PutObjectCommand({
    Bucket: bucket, Key: key, Body: encodeJsonLines(rows), ContentType: 'application/x-ndjson', ContentEncoding: 'gzip',
    Metadata: { rows: String(rows.length), 'snapshot-kind': 'daily' },
  }));
}

async function listKeys(bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function snapshotProfiles(opts: SnapshotOptions): Promise<SnapshotResult> {
  const { bucket, date } = opts;
  if (!DATE_RE.test(date) || dateOf(`${date}T00:00:00.000Z`) !== date) {
    throw new CairnError('invalid_snapshot_date', `date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }
  const totalSegments = opts.totalSegments ?? 1;
  if (!Number.isInteger(totalSegments) || totalSegments < 1 || totalSegments > 1_000_000) {
    throw new CairnError('invalid_snapshot_segment', `totalSegments must be an integer from 1 to 1000000, got ${totalSegments}`);
  }
  if (opts.segment !== undefined && !(Number.isInteger(opts.segment) && opts.segment >= 0 && opts.segment < totalSegments)) {
    throw new CairnError('invalid_snapshot_segment', `segment must be an integer from 0 to ${totalSegments - 1}, got ${opts.segment}`);
  }
  const maxRows = opts.maxRowsPerPart ?? SNAPSHOT_PART_ROWS;
  const table = opts.table ?? env(ENV.profilesTable);
  const snapshotAt = opts.snapshotAt ?? new Date().toISOString();
  const segments = opts.segment !== undefined ? [opts.segment] : Array.from({ length: totalSegments }, (_, i) => i);
  const doc = DynamoDBDocumentClient.from(dynamodb());
  const result: SnapshotResult = { date, snapshotAt, totalSegments, segments, scanned: 0, profiles: 0, pages: 0, rcu: 0, objects: [], cleared: [] };
  const partsWritten = new Map<number, number>();

  const scanSegment = async (segment: number): Promise<void> => {
    let rows: LakeProfileRow[] = [];
    let part = 0;
    const flush = async () => {
      const key = dailySnapshotKey(date, segment, part++);
      await put(bucket, key, rows);
      result.objects.push(key);
      rows = [];
    };
    let start: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(new ScanCommand({
        TableName: table,
        ...(totalSegments > 1 ? { Segment: segment, TotalSegments: totalSegments } : {}),
        // Eventually consistent (half the read units); the filter only trims the transfer, units count every item read.
        ...LIVE_PROFILES_FILTER,
        ReturnConsumedCapacity: 'TOTAL',
        ...(opts.pageLimit ? { Limit: opts.pageLimit } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }));
      result.pages++;
      result.scanned += out.ScannedCount ?? 0;
      result.rcu += out.ConsumedCapacity?.CapacityUnits ?? out.ConsumedCapacity?.ReadCapacityUnits ?? 0;
      for (const item of out.Items ?? []) {
        if (!isLiveProfileItem(item)) continue;
        rows.push(toProfileRow(profileFromItem(item), snapshotAt, 'daily'));
        result.profiles++;
        if (rows.length >= maxRows) await flush();
      }
      start = out.LastEvaluatedKey;
    } while (start);
    if (rows.length) await flush();
    partsWritten.set(segment, part);
  };
  await Promise.all(segments.map(scanSegment));

  // Blank what an earlier run of the day wrote beyond this run's parts (and, when this run covers
  // segment 0, segments beyond totalSegments), so no profile has two daily rows for the date.
  for (const key of await listKeys(bucket, dailySnapshotPrefix(date))) {
    const m = KEY_RE.exec(key);
    if (!m) continue;
    const seg = Number(m[1]);
    const part = Number(m[2]);
    const stale = partsWritten.has(seg) ? part >= partsWritten.get(seg)! : seg >= totalSegments && partsWritten.has(0);
    if (!stale) continue;
    await put(bucket, key, []);
    result.cleared.push(key);
  }
  result.objects.sort();
  result.cleared.sort();
  result.rcu = Math.round(result.rcu * 1000) / 1000;
  log('info', 'profiles.snapshot', {
    date, totalSegments, segments: segments.length, scanned: result.scanned, profiles: result.profiles, objects: result.objects.length, cleared: result.cleared.length, rcu: result.rcu,
  });
  return result;
}

/** λ snapshot: the scheduler's event is ignored; the snapshot is of today (UTC). */
export function snapshotHandler(opts: { totalSegments?: number } = {}) {
  return async (_event: unknown): Promise<SnapshotResult> => {
    const snapshotAt = new Date().toISOString();
    return snapshotProfiles({ bucket: env(ENV.lakeBucket), date: dateOf(snapshotAt), snapshotAt, totalSegments: opts.totalSegments ?? DAILY_SNAPSHOT_SEGMENTS });
  };
}
