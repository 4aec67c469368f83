/**
 * `profiles` lake snapshots: every profile a resolve batch changed, as gzip JSON Lines under
 * `profiles/dt=<snapshot date>/<shardId>-<firstSequenceNumber>.json.gz` (a replayed batch overwrites
 * its own object). Quarantine rows of the resolve stage go next to normalize's, under `resolve-<shardId>`.
 * The write is s3-lake.ts (`writeLakeBatch`).
 */
import { dateOf, encodeJsonLines, profileObjectKey, quarantineObjectKey } from '../lake';
import type { LakeQuarantineRow } from '../message';
import { type ProfileRecord, toProfileRow } from '../identity';

export interface LakeBatch {
  shardId: string;
  batchFirst: string;
  batchLast: string;
  now: string;
  changed: ProfileRecord[];
  quarantine: LakeQuarantineRow[];
}

/** Objects (key → gzip body) a batch writes to the lake. */
export function lakeObjects(b: LakeBatch): { key: string; body: Buffer }[] {
  const out: { key: string; body: Buffer }[] = [];
  const date = dateOf(b.now);
  if (b.changed.length) out.push({ key: profileObjectKey(date, b.shardId, b.batchFirst), body: encodeJsonLines(b.changed.map((p) => toProfileRow(p, b.now))) });
  if (b.quarantine.length) out.push({ key: quarantineObjectKey(date, `resolve-${b.shardId}`, b.batchFirst, b.batchLast), body: encodeJsonLines(b.quarantine) });
  return out;
}
