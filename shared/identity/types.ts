/**
 * Records of the identity graph and profiles, and the store interface both the DynamoDB adapter and
 * the in-memory store implement (so the resolution shell and its tests run against either).
 */
import type { Json, JsonObject, MessageType } from '../message';
import type { Identifier } from './identifiers';

/** `id#<type>:<value>` → profile. `cnt` counts links this identifier made (super-node cap). */
export interface IdentityItem {
  /** `type:value` */
  key: string;
  profileId: string;
  cnt: number;
  /** Blocked by an unmerge (shared/identity/unmerge.ts): never used by resolution again, like a block-list entry. */
  blocked?: boolean;
}

/**
 * The merge ledger entry, kept on the merged-away (frozen) record the merge writes anyway: which
 * message linked the two profiles, from which source, through which identifiers, and when. An
 * unmerge (shared/identity/unmerge.ts) splits a profile along one of these.
 */
export interface MergeEntry {
  messageId: string;
  sourceId: string | null;
  /** The message's event time, and when resolve made the merge. */
  timestamp: string;
  at: string;
  /** Identity keys (`type:value`) the message carried that joined the two profiles. */
  via: string[];
  /**
   * Set when a browser message joined a profile it did not speak for to its own session's
   * (shared/identity/trust.ts): which side was the session's, whose consent grants, identifying
   * traits (`traits`) and browser sessions do not carry over (absorb in profile.ts).
   */
  guard?: MergeGuard;
}

/** What a guarded merge withholds from the browser session's side (shared/identity/trust.ts). */
export interface MergeGuard {
  session: 'survivor' | 'merged';
  /** Trait names that carry identifiers (`email`, `phone`, …): the person's side's values only. */
  traits: string[];
}

/** An unmerge in progress, kept on the survivor until its last step (re-running it finishes it). */
export interface PendingUnmerge {
  /** The profile being split off (revived). */
  profileId: string;
  /** Identity keys that go with it. */
  ids: string[];
  at: string;
  blocked: string[];
  /** The ledger entry of the merge being undone. */
  merge: MergeEntry | null;
  /** What the revived profile takes from the survivor's record (split.ts Given), kept for a re-run. */
  given: { traits: JsonObject; traitK: Record<string, string>; consent: Record<string, ConsentState>; sessions?: string[] };
}

export interface ConsentState {
  granted: boolean;
  timestamp: string;
  /** `context.consent`, `context.consent.categoryPreferences` or `traits.consent`. */
  source: string;
  /** Last-write-wins key (event timestamp, then messageId hash). */
  k: string;
}

/** Built-in computed traits (internal form; revenue kept in 1/10,000 units so sums are exact). */
export interface Computed {
  first_seen: string | null;
  last_seen: string | null;
  event_count: number;
  order_count: number;
  revenue_e4: number;
  last_channel: string | null;
  last_channel_k: string | null;
}

/**
 * Exactly-once bookkeeping for computed traits. Per shard: `f` is the first sequence number of the
 * latest batch that wrote this profile, `c` the messageId hashes seen in that batch window, `p` those
 * of earlier windows (bounded). `r`: the last messageId hashes applied, whatever their shard.
 */
export interface Dedupe {
  s: Record<string, { f: string; c: string[]; p: string[]; t: number }>;
  r: string[];
}

export interface ProfileRecord {
  profileId: string;
  /** Stored version; 0 when not stored yet. Every write is conditional on it. */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Set when this profile was merged away (frozen: never written again). */
  mergedInto?: string;
  /** The merge was explicit (alias): it is completed even if it breaks identifier limits. */
  forcedMerge?: boolean;
  /** On a merged-away record: the merge ledger entry of the merge that froze it. */
  mergedBy?: MergeEntry;
  /** On a profile an unmerge revived: the survivor it was split from (a re-run of that unmerge finds it from here). */
  splitFrom?: string;
  /** On a survivor: an unmerge that has not finished all its steps. */
  unmerge?: PendingUnmerge;
  identities: Identifier[];
  traits: JsonObject;
  /** Per trait: last-write-wins key of the value held. */
  traitK: Record<string, string>;
  computed: Computed;
  consent: Record<string, ConsentState>;
  /**
   * Browser sessions that speak for this person (shared/identity/trust.ts): hashes of the anonymous
   * ids that first identified one of its user ids, or that a server source linked to it. Sorted.
   */
  sessions?: string[];
  groups: string[];
  /** Every profile merged into this one, transitively. */
  mergedFrom: string[];
  dd: Dedupe;
  /** Attributes owned by other stages (e.g. segment membership); preserved on every write. */
  extra?: Record<string, unknown>;
}

export interface GroupRecord {
  groupId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  traits: JsonObject;
  traitK: Record<string, string>;
}

/** One event on a profile's timeline (compact; the full message is in the lake). */
export interface TimelineItem {
  profileId: string;
  /** `<timestamp>#<messageId>`: newest-first paging key; a duplicate delivery overwrites. */
  sk: string;
  messageId: string;
  type: MessageType;
  event?: string;
  name?: string;
  groupId?: string;
  timestamp: string;
  receivedAt: string;
  properties?: JsonObject;
  traits?: JsonObject;
  /**
   * Identity keys (`type:value`) the message carried that its profile holds: an unmerge reassigns
   * events by them (shared/identity/split.ts). Counted in the item's size budget.
   */
  ids?: string[];
  /** True when properties/traits were dropped to keep the item under 1 KB (see the lake). */
  truncated?: boolean;
  /** The source the message came in on (the key of its dedup marker, which erasure deletes). */
  sourceId?: string;
  /**
   * What a browser source asserted that was not applied (shared/identity/trust.ts), e.g.
   * `consent:email`, `trait:email`, `identifier:email`, `merge`; the traits kept here are those applied.
   */
  refused?: string[];
  /**
   * The lake objects holding this message's row (and, on one item per changed profile per batch, the
   * `profiles/` object its snapshot row went to): the erasure's per-person index, carried by the item
   * resolve writes anyway (shared/identity/lake-index.ts). Stored beside the item's data, never served.
   */
  lakeKeys?: string[];
}

/** One index item before it is written: the lake objects holding some of `profileId`'s rows. */
export interface LakeIndexEntry {
  profileId: string;
  keys: string[];
}

/**
 * The last batch of a shard that wrote, and where it put each message: written before the batch's
 * first write. A batch that re-delivers records of it (a retry after an interruption, or a replay)
 * anchors those messages on the profiles they were already applied to (see docs/identity.md).
 */
export interface ShardMarker {
  shardId: string;
  /** First and last sequence numbers covered (a retry of a partly processed range keeps its end). */
  f: string;
  last: string;
  /** messageId hash → profiles the batch applied (or meant to apply) it to. */
  intent?: Record<string, string[]>;
  /**
   * The shard's last messages (oldest first, ≤ RECENT_PER_SHARD): messageId hash → the profile it was
   * applied to. A copy re-put with a new sequence number whose identifiers now lead elsewhere (the
   * original was anchored by intent, or its identifier was released or its merge undone since) is
   * anchored on that profile and found a duplicate there.
   */
  recent?: [string, string][];
}

export interface ReadRequest {
  identities?: string[];
  profiles?: string[];
  groups?: string[];
  markers?: string[];
}
export interface ReadResult {
  identities: Map<string, IdentityItem>;
  profiles: Map<string, ProfileRecord>;
  groups: Map<string, GroupRecord>;
  markers?: Map<string, ShardMarker>;
}

export interface IdentityStore {
  /** One batched read round (keys that do not exist are absent from the maps). */
  read(req: ReadRequest, consistent: boolean): Promise<ReadResult>;
  /**
   * Points `key` at `to`, only if it is unclaimed (`from` null) or still points at `from`, or already at `to`.
   * false: the condition failed (someone else claimed or moved it).
   */
  claimIdentity(key: string, to: string, from: string | null): Promise<boolean>;
  /** Adds to an existing identity item's link counter. */
  addIdentityCount(key: string, n: number): Promise<void>;
  /** Writes the whole record (`rec.version` is the new version) iff the stored version is `expected` (null: absent). */
  putProfile(rec: ProfileRecord, expected: number | null): Promise<boolean>;
  putGroup(rec: GroupRecord, expected: number | null): Promise<boolean>;
  /**
   * Optional batched forms, for stores that can write many items conditionally in one request (the
   * DynamoDB one: PartiQL INSERTs). Each result is what the single call would have returned for that
   * item, and each item succeeds or fails on its own (no atomicity across items): `createProfiles` is
   * `putProfile(rec, null)` per record, `claimNewIdentities` is `claimIdentity(key, to, null)` per claim
   * (distinct keys). A failure midway leaves some written and some not, as the single calls would.
   */
  createProfiles?(recs: ProfileRecord[]): Promise<boolean[]>;
  claimNewIdentities?(claims: { key: string; to: string }[]): Promise<boolean[]>;
  /** Timeline items and, in the same writes, the batch's lake index entries (shared/identity/lake-index.ts). */
  putTimeline(items: TimelineItem[], index?: LakeIndexEntry[]): Promise<void>;
  putMarker(m: ShardMarker): Promise<void>;
  /** Marks an existing identity item blocked (unmerge); false when there is no such item. */
  blockIdentity(key: string): Promise<boolean>;
  /** Removes timeline events (an unmerge moves them to the profile they belong to). */
  deleteTimeline(items: { profileId: string; sk: string }[]): Promise<void>;
  /** Events only (never lake index items), newest first; `before` is an exclusive `sk` bound. */
  queryTimeline(profileId: string, opts: { limit: number; before?: string }): Promise<TimelineItem[]>;
}

/**
 * State other stages keep on profiles and update with the messages resolve applies (computed traits
 * and event counters, shared/segments). `apply` is called exactly where the built-in computed traits
 * are applied (once per message per profile, after the dedupe check); `absorb` once per merge, when a
 * survivor absorbs a merged-away profile (after `absorb` in profile.ts returned true).
 */
export interface ProfileExtension {
  apply(p: ProfileRecord, m: import('../message').NormalizedMessage): void;
  absorb(survivor: ProfileRecord, merged: ProfileRecord): void;
}

export type { Json };

/**
 * State other stages keep on profiles (computed traits, event counters, segment membership:
 * shared/segments; λ scores' cache: shared/scores), split by an unmerge (shared/identity/unmerge.ts) along with the rest of the
 * profile, and what follows from the two profiles' new state.
 */
export interface UnmergeHooks {
  /** Once per unmerge run, before its writes: how the stages' state of the two records is split. */
  prepare(now: Date): Promise<UnmergeExtension | undefined>;
  /**
   * Once both sides are written (`profiles`: as the unmerge wrote or last read them) and before the
   * unmerge is marked done, so a re-run after any failure does it again (at least once): e.g. segment
   * events. `key` is the same on every run of one unmerge.
   */
  afterSplit(profiles: ProfileRecord[], key: string): Promise<void>;
}

/** Called on the records the unmerge is about to write (it sets their `extra`); pure. */
export interface UnmergeExtension {
  /**
   * The survivor without what the other side contributed: `merged` is that side's frozen record (its
   * state as at the merge), `moved` its events applied to the survivor since, `mergedEvents` every
   * event of that side, `own` the survivor's own events.
   */
  survivor(s: ProfileRecord, merged: ProfileRecord, events: { moved: TimelineItem[]; mergedEvents: TimelineItem[]; own: TimelineItem[] }): void;
  /** The revived side (its frozen record brought back to life) with its moved events. */
  revived(l: ProfileRecord, moved: TimelineItem[]): void;
}
