/** The person an erasure is for, as stored when the run starts: their profiles, identifiers, messages and lake objects. */
import { isLakeIndexSk, lakeKeysOf, identityKey, timelineDataOf, type IdentityStore, type ProfileRecord } from '../identity';
import { SUPPRESSION_HASH_VERSION, type SuppressionHasher } from '../suppression';
import type { LakeFailure } from './lake';
import { keyedHashes, type ErasureCounts, type ErasureRecord } from './requests';
import type { ErasureTables } from './ports';

export interface Person {
  /** The record, its identifier hashes as v2 (a run writes it back so: a v1 record is re-keyed by its next run). */
  rec: ErasureRecord;
  profiles: ProfileRecord[];
  profileIds: Set<string>;
  identityKeys: Set<string>;
  /** Suppression hashes (v2, keyed) of every identifier of the person. */
  hashes: Set<string>;
  messageIds: Set<string>;
  /** The same messages with their source (timeline items carry it; older ones do not): their dedup markers' keys. */
  messages: { messageId: string; sourceId?: string }[];
  counts: ErasureCounts;
  /** Lake objects of this run's pass that failed and may hold the person's rows. */
  lakeFailures: LakeFailure[];
  lakeObjectsFailed: number;
  /** Lake objects the lake index lists for their profiles. */
  lakeKeys: string[];
}

/** The person as stored now: their profiles (following merges both ways), identifiers and messages. */
export async function loadPerson(
  stored: ErasureRecord,
  store: IdentityStore,
  tables: Pick<ErasureTables, 'timeline'>,
  hash: SuppressionHasher,
): Promise<Person> {
  const rec: ErasureRecord = { ...stored, identifierHashes: keyedHashes(stored, hash), hashVersion: SUPPRESSION_HASH_VERSION };
  const profileIds = new Set(rec.profileIds ?? []);
  const profiles = new Map<string, ProfileRecord>();
  let want = [...profileIds];
  for (let round = 0; want.length && round < 20; round++) {
    const r = await store.read({ profiles: want }, true);
    want = [];
    for (const p of r.profiles.values()) {
      profiles.set(p.profileId, p);
      for (const id of [...p.mergedFrom, ...(p.mergedInto ? [p.mergedInto] : [])]) {
        if (!profileIds.has(id)) {
          profileIds.add(id);
          want.push(id);
        }
      }
    }
  }
  const identityKeys = new Set<string>();
  for (const p of profiles.values()) for (const i of p.identities) identityKeys.add(identityKey(i));
  const hashes = new Set([...rec.identifierHashes, ...[...identityKeys].map(hash)]);
  const messageIds = new Set<string>();
  const messages = new Map<string, { messageId: string; sourceId?: string }>();
  const index: Record<string, unknown>[] = [];
  for (const pid of profileIds) {
    for (const item of await tables.timeline(pid)) {
      index.push(item); // index items (lake#…) and the lake keys (lk) events' items carry
      if (isLakeIndexSk(item.sk)) continue;
      const data = timelineDataOf(item) as { messageId?: unknown; sourceId?: unknown };
      const messageId = String(data.messageId ?? String(item.sk).split('#').slice(1).join('#'));
      const sourceId = typeof data.sourceId === 'string' && data.sourceId ? data.sourceId : undefined;
      messageIds.add(messageId);
      messages.set(`${sourceId ?? ''}\u0000${messageId}`, { messageId, ...(sourceId ? { sourceId } : {}) });
    }
  }
  const counts: ErasureCounts = {
    profiles: 0,
    identities: 0,
    timeline: 0,
    segmentMemberships: 0,
    journeyStates: 0,
    schedules: 0,
    coupons: 0,
    dedupMarkers: 0,
    lakeRows: 0,
    lakeObjectsRewritten: 0,
    failedBatchRecords: 0,
    failedBatchObjects: 0,
    lakeVersionsDeleted: 0,
    lakeVersionsFailed: 0,
  };
  return {
    rec,
    profiles: [...profiles.values()],
    profileIds,
    identityKeys,
    hashes,
    messageIds,
    messages: [...messages.values()],
    counts,
    lakeFailures: [],
    lakeObjectsFailed: 0,
    lakeKeys: lakeKeysOf(index),
  };
}
