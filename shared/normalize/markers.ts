/**
 * Dedup markers and what makes one count: a marker (`msg#<messageId>` in the dedup table) names the
 * lake object its message went to; it counts only once that object holds the message. The reads and
 * writes are in dedup.ts (DynamoDB, S3).
 */
export interface Marker {
  messageId: string;
  lakeKey: string;
  /** Sequence number of the raw-stream record the message was written from. */
  seq?: string;
  expiresAt: number;
}

export const markerKey = (messageId: string) => `msg#${messageId}`;

export interface LakeObjectInfo {
  exists: boolean;
  /** `last-sequence-number` metadata: the last raw-stream record of the batch that wrote it. */
  lastSeq?: string;
}

/** Compares two Kinesis sequence numbers (decimal strings of up to 128 bits). */
export function compareSeq(a: string, b: string): number {
  const x = a.replace(/^0+/, ''),
    y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** First sequence number encoded in a lake key `.../<shardId>-<firstSeq>.json.gz`. */
export function firstSeqOfKey(key: string): string | undefined {
  return /-(\d+)\.json\.gz$/.exec(key)?.[1];
}

/**
 * Is the message behind `marker` really in its lake object? The object must exist and, when both
 * are known, the batch that wrote it must cover the marker's record. (A retried batch may be split
 * by Lambda: the first half rewrites the object under the same key, and the markers of the second
 * half, left by the failed attempt, point to an object that does not hold them.)
 */
export function markerIsCommitted(marker: Marker, info: LakeObjectInfo | undefined): boolean {
  if (!info?.exists) return false;
  if (!marker.seq || !info.lastSeq) return true;
  const first = firstSeqOfKey(marker.lakeKey);
  if (first && compareSeq(marker.seq, first) < 0) return false;
  return compareSeq(marker.seq, info.lastSeq) <= 0;
}
