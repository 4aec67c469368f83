/**
 * The per-person lake index (docs/privacy.md "Finding the person's lake objects"): which lake objects
 * hold a profile's rows, so an erasure rewrites those objects instead of reading the whole lake.
 *
 * λ normalize knows the object each message goes to and passes its key along on the normalized stream
 * (the internal field `lakeKey`, never part of the message). λ resolve writes a timeline item for
 * every message it attaches to a profile anyway, so the index rides on those items at no extra write:
 * each carries (attribute `lk`) the `events/` object of its message, and the first item of each
 * changed profile in the batch also the `profiles/` object the batch writes its snapshot row to.
 * A retried batch rewrites the same items with the keys of its own attempt; an earlier attempt's
 * objects hold the same rows only if its write landed, and then its items named them first — the
 * erasure also reads the dedup-free `events/` partitions older than the timeline retention whole
 * (timeline items expire, docs/privacy.md).
 *
 * A changed profile with no timeline item in the batch (one merged away by another's message) gets
 * a separate index item, as do messages no profile holds:
 *
 *   timeline table  profileId = <profile id>   sk = `lake#<16 hex digits of SHA-256 of the keys>`   k = [keys]
 *
 * The sort key is a hash of the (sorted) key list, so a retried batch rewrites the same item and a
 * different retry adds one: never fewer keys. Index items have no `expiresAt` and sort after every
 * event (`lake#` > any ISO timestamp), which timeline readers exclude with `sk < "lake#"`.
 *
 * Messages a resolve batch does not attach to a profile (quarantined there, or dropped because a
 * suppressed identifier reached the lake before normalize saw the suppression) are indexed under the
 * partition UNATTACHED, which every erasure reads whole (it only grows with such messages).
 */
import { createHash } from 'node:crypto';
import type { LakeIndexEntry, TimelineItem } from './types';

export const LAKE_INDEX_SK_PREFIX = 'lake#';
/** Exclusive upper bound of event sort keys (`<ISO timestamp>#<messageId>` < `lake#…`). */
export const TIMELINE_SK_BOUND = LAKE_INDEX_SK_PREFIX;
/** Index partition of messages in the lake that no profile holds. */
export const UNATTACHED = 'lake#unattached';

export const isLakeIndexSk = (sk: unknown): boolean => typeof sk === 'string' && sk.startsWith(LAKE_INDEX_SK_PREFIX);

/** The DynamoDB item of an index entry (keys sorted and unique; sk from their hash). */
export function lakeIndexItem(e: LakeIndexEntry): { profileId: string; sk: string; k: string[] } {
  const keys = [...new Set(e.keys)].sort();
  const sk = LAKE_INDEX_SK_PREFIX + createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 16);
  return { profileId: e.profileId, sk, k: keys };
}

/** Index entries of a batch: one per profile, with every key it got (entries without keys dropped). */
export function lakeIndexEntries(pairs: Iterable<{ profileId: string | null; key: string | undefined }>): LakeIndexEntry[] {
  const by = new Map<string, Set<string>>();
  for (const { profileId, key } of pairs) {
    if (!key) continue;
    const p = profileId ?? UNATTACHED;
    let s = by.get(p);
    if (!s) by.set(p, (s = new Set()));
    s.add(key);
  }
  return [...by].map(([profileId, keys]) => ({ profileId, keys: [...keys].sort() }));
}

/**
 * The lake keys items of the timeline table name, as read: an index item's list (`k`) and the keys an
 * event's item carries (`lk`).
 */
export function lakeKeysOf(items: Record<string, unknown>[]): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    for (const key of Array.isArray(v) ? v : v instanceof Set ? [...v] : []) if (typeof key === 'string') out.add(key);
  };
  for (const it of items) {
    if (isLakeIndexSk(it.sk)) add(it.k);
    add(it.lk);
  }
  return [...out].sort();
}

/**
 * The batch's timeline items with their lake keys (each message's `events/` object; the snapshot
 * object on the first item of each changed profile), and the separate index entries still needed:
 * changed profiles without a timeline item in the batch.
 */
export function withLakeKeys(
  timeline: TimelineItem[],
  keyOf: Map<string, string | undefined>,
  changedProfiles: string[],
  snapshotKey: string | undefined,
): { timeline: TimelineItem[]; index: LakeIndexEntry[] } {
  const snapshotDone = new Set<string>();
  const changed = new Set(changedProfiles);
  const out = timeline.map((t) => {
    const keys = new Set<string>();
    const k = keyOf.get(t.messageId);
    if (k) keys.add(k);
    if (snapshotKey && changed.has(t.profileId) && !snapshotDone.has(t.profileId)) {
      snapshotDone.add(t.profileId);
      keys.add(snapshotKey);
    }
    return keys.size ? { ...t, lakeKeys: [...keys].sort() } : t;
  });
  const index = snapshotKey ? lakeIndexEntries(changedProfiles.filter((p) => !snapshotDone.has(p)).map((profileId) => ({ profileId, key: snapshotKey }))) : [];
  return { timeline: out, index };
}
