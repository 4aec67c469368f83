/** The stores erasure and export read and delete from, as ports their callers build (functions/erase, functions/admin). */
import type { DefinitionKind } from '../definitions';
import type { ProfileRecord } from '../identity';
import type { PersonState } from '../journeys';

/** A person's journey state as the journeys table keeps it: run items, the action ledger, send logs (shared/privacy/dynamo-journeys.ts). */
export interface JourneyRuns {
  /** The person's state in the journey (the `run#<journey>#<profile>` item's data), or undefined. */
  get(journeyId: string, profileId: string, consistent: boolean): Promise<Omit<PersonState, 'version'> | undefined>;
  deleteRun(journeyId: string, profileId: string): Promise<void>;
  /** Deletes the action ledger items of these runs' steps. */
  deleteActions(actions: { runId: string; stepId: string }[]): Promise<void>;
  /** The profile's send logs: the messages the policy's caps counted, per channel (docs/journeys.md#governance). */
  getSends(profileId: string): Promise<{ channel: string; sends: { journeyId: string; at: number; priority: string }[] }[]>;
  /** Deletes the profile's send logs; how many there were. */
  deleteSends(profileId: string): Promise<number>;
}

/** The stored definitions, optionally of one kind (shared/definitions' store). */
export type ListDefinitions = (kind?: DefinitionKind) => Promise<{ kind: DefinitionKind; id: string; definition: unknown }[]>;

/** The DynamoDB items of a person that erasure reads and deletes (shared/privacy/dynamo-erase.ts). */
export interface ErasureTables {
  /** Every timeline item of the profile (events and lake index items), read consistently. */
  timeline(profileId: string): Promise<Record<string, unknown>[]>;
  deleteTimeline(keys: { profileId: unknown; sk: unknown }[]): Promise<void>;
  /** Deletes the messages' dedup markers: their source's, and the unscoped key of before (an unknown source: that one only). */
  deleteDedupMarkers(messages: { messageId: string; sourceId?: string | null }[]): Promise<void>;
  /** Deletes the profile's membership of the segment; false when there was none. */
  deleteMembership(segmentId: string, profileId: string): Promise<boolean>;
  /** Deletes the identity item of `key` if it points at one of `profileIds`; false when it does not (or no longer does). */
  unlinkIdentity(key: string, profileIds: string[]): Promise<boolean>;
  /** Deletes the identity item of `key` unless it points at a profile other than `profileId`. */
  unlinkIdentityOf(key: string, profileId: string): Promise<void>;
  /** The stored profile (read consistently), or undefined. */
  profile(profileId: string): Promise<ProfileRecord | undefined>;
  deleteProfile(profileId: string): Promise<void>;
}

/** The coupons table's items naming a profile (shared/coupons/erase.ts). */
export interface CouponHolders {
  /** Removes the profile id from codes (their status kept) and deletes its issue items; how many items. Idempotent. */
  forget(profileId: string): Promise<number>;
}

/** Journey wait schedules by name (shared/privacy/schedules.ts: EventBridge Scheduler, the journeys' group). */
export interface WaitSchedules {
  /** false: there was no such schedule. */
  delete(name: string): Promise<boolean>;
}
