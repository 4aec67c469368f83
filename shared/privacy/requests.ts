/**
 * Erasure requests (docs/privacy.md). `DELETE /v1/profiles/{identifier}` finds the person (the live
 * profile and every profile merged into it), puts all their identifiers on the suppression list at
 * once, and records a request `erasure#<id>` that λ erase completes later. The record is also the
 * audit record: erasure id, hashed identifiers, counts and timestamps — never a raw identifier. The
 * ids of the person's profiles are kept only while the request is pending (λ erase needs them).
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CairnError } from '../errors';
import type { IdentityConfig } from '../identity/config';
import { identityKey, parseIdentifier } from '../identity/identifiers';
import type { IdentityStore } from '../identity/types';
import { findProfile } from '../profiles/read';
import type { LakeFailure } from './lake';
import { droppedCount, privacyTable, suppress, suppressionHash } from '../suppression';
import { documentClient as doc } from '../aws/clients';

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
  dedupMarkers: number;
  lakeRows: number;
  lakeObjectsRewritten: number;
}

export interface ErasureRecord {
  erasureId: string;
  status: ErasureStatus;
  requestedAt: string;
  suppressedAt?: string;
  erasedAt?: string;
  /** SHA-256 hashes of every identifier suppressed for this person (no raw identifier). */
  identifierHashes: string[];
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

/** What the status route answers (the audit record plus the drops counted so far). */
export interface ErasureView extends Omit<ErasureRecord, 'profileIds'> {
  profiles: number;
  /** Messages for these identifiers dropped by the pipeline since suppression. */
  droppedMessages: number;
}

export async function getErasureRecord(erasureId: string): Promise<ErasureRecord | null> {
  const res = await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: ERASURE_PREFIX + erasureId }, ConsistentRead: true }));
  if (!res.Item) return null;
  const { pk: _pk, ...rec } = res.Item;
  return rec as ErasureRecord;
}

export async function putErasureRecord(rec: ErasureRecord): Promise<void> {
  await doc().send(new PutCommand({ TableName: privacyTable(), Item: { pk: ERASURE_PREFIX + rec.erasureId, ...rec } }));
}

export async function pendingErasureIds(): Promise<string[]> {
  const res = await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: QUEUE_KEY }, ConsistentRead: true }));
  const ids = res.Item?.ids as Set<string> | undefined;
  return ids ? [...ids].sort() : [];
}
export async function enqueue(erasureId: string): Promise<void> {
  await doc().send(
    new UpdateCommand({
      TableName: privacyTable(),
      Key: { pk: QUEUE_KEY },
      UpdateExpression: 'ADD ids :i',
      ExpressionAttributeValues: { ':i': new Set([erasureId]) },
    }),
  );
}
export async function dequeue(erasureId: string): Promise<void> {
  await doc().send(
    new UpdateCommand({
      TableName: privacyTable(),
      Key: { pk: QUEUE_KEY },
      UpdateExpression: 'DELETE ids :i',
      ExpressionAttributeValues: { ':i': new Set([erasureId]) },
    }),
  );
}

/**
 * Records an erasure request and suppresses the person's identifiers (the given one, and every
 * identifier of the live profile and the profiles merged into it). Works for unknown identifiers
 * too (they are suppressed; their lake rows are erased).
 */
export async function requestErasure(store: IdentityStore, config: IdentityConfig, identifier: string, now = new Date()): Promise<ErasureRecord> {
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
  const hashes = [...keys].map(suppressionHash).sort();
  const rec: ErasureRecord = { erasureId, status: 'pending', requestedAt, identifierHashes: hashes, profileIds: [...profileIds].sort() };
  await putErasureRecord(rec);
  await suppress(hashes, erasureId, requestedAt);
  rec.status = 'suppressed';
  rec.suppressedAt = new Date().toISOString();
  await putErasureRecord(rec);
  await enqueue(erasureId);
  return rec;
}

export function erasureView(rec: ErasureRecord, dropped: number): ErasureView {
  const { profileIds, ...rest } = rec;
  return { ...rest, profiles: rec.counts?.profiles ?? profileIds?.length ?? 0, droppedMessages: dropped };
}

export async function getErasure(erasureId: string): Promise<ErasureView | null> {
  const rec = await getErasureRecord(erasureId);
  if (!rec) return null;
  return erasureView(rec, await droppedCount(rec.identifierHashes));
}
