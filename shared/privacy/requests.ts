/**
 * Erasure requests (docs/privacy.md). `DELETE /v1/profiles/{identifier}` finds the person (the live
 * profile and every profile merged into it), puts all their identifiers on the suppression list at
 * once, and records a request `erasure#<id>` that λ erase completes later. The record is also the
 * audit record: erasure id, hashed identifiers (keyed hashes: shared/suppression/hash.ts), counts and
 * timestamps — never a raw identifier. The ids of the person's profiles are kept only while the
 * request is pending (λ erase needs them). The status route answers the record without its hashes.
 * The records live in the privacy table (`ErasureRecords`, shared/privacy/dynamo-requests.ts).
 */
import { randomUUID } from 'node:crypto';
import { CairnError } from '../errors';
import { type Identifier, type IdentityConfig, identityKey, parseIdentifier, type IdentityStore } from '../identity';
import { findProfile } from '../profiles';
import type { LakeFailure } from './lake';
import { lookupHashes, SUPPRESSION_HASH_VERSION, type SuppressionHasher } from '../suppression';
import { erasureStores, type ErasureStoreReport, type Retention } from './reach';

export const ERASURE_PREFIX = 'erasure#';
export const QUEUE_KEY = 'erasure-queue';

export type ErasureStatus = 'pending' | 'suppressed' | 'erased';

export interface ErasureCounts {
  profiles: number;
  identities: number;
  timeline: number;
  segmentMemberships: number;
  journeyStates: number;
  schedules: number;
  /** Coupons table items that named them: issue items deleted, codes with the profile id removed. */
  coupons: number;
  dedupMarkers: number;
  lakeRows: number;
  lakeObjectsRewritten: number;
  /** Records removed from failed batches (`failed/`, `aws/lambda/`), and the objects rewritten or deleted for them. */
  failedBatchRecords: number;
  failedBatchObjects: number;
  /** Noncurrent versions removed of the lake objects rewritten or deleted for the person (versioned bucket). */
  lakeVersionsDeleted: number;
  /** Those that could not be removed: they expire by lifecycle rule (`expire-old-versions`). */
  lakeVersionsFailed: number;
}

export interface ErasureRecord {
  erasureId: string;
  status: ErasureStatus;
  requestedAt: string;
  suppressedAt?: string;
  erasedAt?: string;
  /**
   * Suppression hashes of every identifier suppressed for this person (no raw identifier), of
   * version `hashVersion`; never in the status route's answer.
   */
  identifierHashes: string[];
  /** SUPPRESSION_HASH_VERSION (2, keyed) of `identifierHashes`; absent: v1, written before the key (until `cairn suppression rekey`). */
  hashVersion?: number;
  /** Profiles to erase (live + merged-away); removed once erased. */
  profileIds?: string[];
  /** What the runs removed, summed over the runs that worked on it. */
  counts?: ErasureCounts;
  /** λ erase runs that worked on it. */
  runs?: number;
  /** Time of the last run that left it pending (lake objects failed). */
  lastRunAt?: string;
  /**
   * While pending after a run: the lake objects that run could not finish and that may hold the
   * person's rows (at most MAX_LAKE_FAILURES, by key; `lakeObjectsFailed` counts them all). Cleared
   * when the erasure completes. Keys and error names only: no personal data.
   */
  lakeFailures?: ErasureLakeFailure[];
  lakeObjectsFailed?: number;
}

/** A failed lake object as the record keeps it: `since` is the run that first saw it fail. */
export interface ErasureLakeFailure extends LakeFailure {
  since: string;
}
/** Failed lake objects kept in an erasure record (the item stays far below DynamoDB's 400 KB). */
export const MAX_LAKE_FAILURES = 100;

/**
 * What the status route answers: the audit record without the profile ids and without the identifier
 * hashes (an answer that leaves the table carries nothing to test guessed identifiers against), plus
 * the drops counted so far.
 */
export interface ErasureView extends Omit<ErasureRecord, 'profileIds' | 'identifierHashes' | 'hashVersion'> {
  profiles: number;
  /** Messages for these identifiers dropped by the pipeline since suppression. */
  droppedMessages: number;
  /** Every place the person's data can rest and what was done there (shared/privacy/reach.ts). */
  stores: ErasureStoreReport[];
}

/** The erasure records and the queue of pending ones, kept in the privacy table (shared/privacy/dynamo-requests.ts). */
export interface ErasureRecords {
  get(erasureId: string): Promise<ErasureRecord | null>;
  put(rec: ErasureRecord): Promise<void>;
  /** The queued erasure ids, sorted. */
  pending(): Promise<string[]>;
  enqueue(erasureId: string): Promise<void>;
  dequeue(erasureId: string): Promise<void>;
}

/** The suppression list as erasure uses it (shared/suppression; its table and key are the caller's to give). */
export interface SuppressionList {
  /** The deployment's suppression hasher (its key read from Secrets Manager by the caller, cached). */
  hasher(): Promise<SuppressionHasher>;
  /** Puts the hashes on the list for this erasure. */
  suppress(hashes: Iterable<string>, erasureId: string, at: string): Promise<unknown>;
  /** Messages for these hashes the pipeline dropped since suppression. */
  droppedCount(hashes: string[]): Promise<number>;
  /** The erasure that suppressed any of these hashes, if one did (the profile API answers 410). */
  erasureOf(hashes: string[]): Promise<string | undefined>;
}

/** What an erasure request needs: the person (store, config), the records, the suppression list. */
export interface RequestDeps {
  store: IdentityStore;
  config: IdentityConfig;
  records: ErasureRecords;
  suppression: SuppressionList;
}

/**
 * Records an erasure request and suppresses the person's identifiers (the given one, and every
 * identifier of the live profile and the profiles merged into it). Works for unknown identifiers
 * too (they are suppressed; their lake rows are erased).
 */
export async function requestErasure(deps: RequestDeps, identifier: string, now = new Date()): Promise<ErasureRecord> {
  const { store, config, records, suppression } = deps;
  const id = parseIdentifier(identifier, config);
  const p = await findProfile(store, config, identifier);
  const keys = new Set<string>();
  if (id.type !== 'profile_id') keys.add(identityKey(id));
  const profileIds = new Set<string>();
  if (p) {
    profileIds.add(p.profileId);
    for (const m of p.mergedFrom) profileIds.add(m);
    for (const i of p.identities) keys.add(identityKey(i));
    // Merged-away profiles keep their own identifier lists.
    const merged = await store.read({ profiles: p.mergedFrom }, true);
    for (const mp of merged.profiles.values()) for (const i of mp.identities) keys.add(identityKey(i));
  } else if (id.type === 'profile_id') {
    throw new CairnError('profile_not_found', 'no profile for identifier profile_id:…', 404);
  }
  const erasureId = randomUUID();
  const requestedAt = now.toISOString();
  const hash = await suppression.hasher();
  const hashes = [...keys].map(hash).sort();
  const rec: ErasureRecord = {
    erasureId,
    status: 'pending',
    requestedAt,
    identifierHashes: hashes,
    hashVersion: SUPPRESSION_HASH_VERSION,
    profileIds: [...profileIds].sort(),
  };
  await records.put(rec);
  await suppression.suppress(hashes, erasureId, requestedAt);
  rec.status = 'suppressed';
  rec.suppressedAt = new Date().toISOString();
  await records.put(rec);
  await records.enqueue(erasureId);
  return rec;
}

/**
 * Throws `profile_erased` (410, with the erasure id) when the requested identifier, or any identifier
 * of the profile found for it, is on the suppression list: the profile API stops serving a person the
 * moment their erasure is accepted, not once λ erase has run (docs/privacy.md).
 */
export async function refuseErased(
  suppression: Pick<SuppressionList, 'erasureOf' | 'hasher'>,
  config: IdentityConfig,
  identifier: string,
  identities: readonly Identifier[] = [],
): Promise<void> {
  const id = parseIdentifier(identifier, config);
  const keys = identities.map(identityKey);
  if (id.type !== 'profile_id') keys.unshift(identityKey(id));
  const hash = await suppression.hasher();
  // v2 and v1 forms: a person erased before the suppression key existed is refused too.
  const erasureId = await suppression.erasureOf([...new Set(keys)].flatMap((k) => lookupHashes(hash, k)));
  if (erasureId !== undefined) {
    throw new CairnError('profile_erased', `the person holding identifier ${id.type}:… is erased or being erased (erasure ${erasureId})`, 410, { erasureId });
  }
}

export function erasureView(rec: ErasureRecord, dropped: number, retention?: Retention): ErasureView {
  const { profileIds, identifierHashes: _hashes, hashVersion: _version, ...rest } = rec;
  return { ...rest, profiles: rec.counts?.profiles ?? profileIds?.length ?? 0, droppedMessages: dropped, stores: erasureStores(rec, retention) };
}

/** A record's identifier hashes as v2 (keyed) hashes: a v1 record's are re-keyed (`hash.fromV1`). */
export const keyedHashes = (rec: Pick<ErasureRecord, 'identifierHashes' | 'hashVersion'>, hash: SuppressionHasher): string[] =>
  rec.hashVersion === SUPPRESSION_HASH_VERSION ? rec.identifierHashes : rec.identifierHashes.map((h) => hash.fromV1(h));

export async function getErasure(
  deps: Pick<RequestDeps, 'records' | 'suppression'> & { retention?: Retention },
  erasureId: string,
): Promise<ErasureView | null> {
  const rec = await deps.records.get(erasureId);
  if (!rec) return null;
  // A v1 record's drops were counted on v1 items until the list was re-keyed, on v2 items since.
  const hashes =
    rec.hashVersion === SUPPRESSION_HASH_VERSION ? rec.identifierHashes : [...rec.identifierHashes, ...keyedHashes(rec, await deps.suppression.hasher())];
  return erasureView(rec, await deps.suppression.droppedCount(hashes), deps.retention);
}
