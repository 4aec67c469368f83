/**
 * Dedup markers and what makes one count: a marker (`src#<sourceId>#msg#<messageId>` in the dedup
 * table) names the lake object its message went to; it counts only once that object holds the
 * message. The reads and writes are in dedup.ts (DynamoDB, S3).
 *
 * A marker is its source's: a messageId is the sender's choice, so a source that posted another's
 * ids first (any browser key can) would otherwise have that source's messages dropped as
 * duplicates. Markers written before they were scoped (`msg#<messageId>`) are not read: they
 * expire with the dedup window, and a message re-sent across the upgrade within that window is
 * written to the lake a second time (docs/security.md#dedup-markers-per-source).
 */
/** A message as the dedup table knows it: which source sent which id. */
export interface MessageRef {
  sourceId: string;
  messageId: string;
}

export interface Marker extends MessageRef {
  lakeKey: string;
  /** Sequence number of the raw-stream record the message was written from. */
  seq?: string;
  expiresAt: number;
}

/** The marker's key. The source id is escaped, so no pair of ids spells another pair's key. */
export const markerKey = (m: MessageRef): string => `src#${encodeURIComponent(m.sourceId)}#msg#${m.messageId}`;
/** The key markers had before they were scoped per source (erasure still deletes it, within the window). */
export const unscopedMarkerKey = (messageId: string): string => `msg#${messageId}`;

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
export function markerIsCommitted(marker: Pick<Marker, 'lakeKey' | 'seq'>, info: LakeObjectInfo | undefined): boolean {
  if (!info?.exists) return false;
  if (!marker.seq || !info.lastSeq) return true;
  const first = firstSeqOfKey(marker.lakeKey);
  if (first && compareSeq(marker.seq, first) < 0) return false;
  return compareSeq(marker.seq, info.lastSeq) <= 0;
}
