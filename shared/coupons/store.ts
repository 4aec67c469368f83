/**
 * The coupons table's items and the single-item operations on them (docs/journeys.md#coupons). Every
 * write the algorithms rely on is ONE conditional write of ONE item — DynamoDB has transactions,
 * dynalite (the local twin) has none — so issue.ts, load.ts and redeem.ts are correct under any
 * interleaving of these operations, which is what tests/unit/coupons-property.test.ts checks
 * against memory-store.ts. dynamo-store.ts is the DynamoDB adapter.
 *
 * - `pool#<pool>` (PoolItem): `loaded` codes sit at positions 0..loaded-1; `taken` positions have
 *   been taken by coupon steps (the cursor: one conditional increment per issue); a load holds the
 *   pool with a lease (`loadId`, `loadUntil`) while it appends.
 * - `slot#<pool>#<position>` (SlotItem): the code at a position. Written only at positions ≥ `loaded`
 *   by the lease holder, so a slot below `loaded` never changes.
 * - `code#<canonical>` (CodeItem): one code, unique across pools: where it was loaded, whom it was
 *   issued to (set once), its redemption (set once) and later redemptions (flagged).
 * - `issue#<runId>#<stepId>` (IssueItem): what a coupon step issued to a run (set once, moved only
 *   before its code is marked): retries of the step find it and issue the same code.
 * - `pool-stats#<pool>`: redemption counters, apart from the cursor so redemptions do not slow issues.
 * - `holder#<profileId>` (Holder): the issues and redeemed codes that name the profile, added (one
 *   idempotent set ADD) BEFORE the write that names it, so erasure finds every item holding the
 *   profile id by key, without a scan (erase.ts): a superset, checked item by item.
 */

export interface PoolItem {
  pool: string;
  /** Codes at positions 0..loaded-1. */
  loaded: number;
  /** Positions taken by coupon steps (≤ loaded). */
  taken: number;
  /** Remaining codes at or under which the pool is low (absent: COUPONS.lowPercent of `loaded`). */
  lowAt?: number;
  /** Codes that came from `generate` (the rest were loaded from files). */
  generated: number;
  createdAt: string;
  updatedAt: string;
  /** The load holding the pool, until when (ms). */
  loadId?: string;
  loadUntil?: number;
}

export interface SlotItem {
  pool: string;
  position: number;
  /** The code as loaded (what messages show). */
  code: string;
  canonical: string;
}

/** Whom a code was issued to. */
export interface Issued {
  journeyId: string;
  stepId: string;
  runId: string;
  profileId: string;
  /** The journey version whose step issued it (docs/journeys.md#versions: its redemptions count there); absent before versions. */
  version?: number;
  /** ISO-8601. */
  issuedAt: string;
}

export interface CodeItem extends Partial<Issued> {
  canonical: string;
  code: string;
  pool: string;
  position: number;
  loadedAt: string;
  /** The first redemption: the event's time (ISO-8601), its messageId, who redeemed. */
  redeemedAt?: string;
  redeemMessageId?: string;
  redeemProfileId?: string;
  /** messageIds of later redemptions (each flagged once). */
  againIds?: string[];
}

export interface IssueItem extends Issued {
  pool: string;
  position: number;
  code: string;
  canonical: string;
}

export interface Redemption {
  /** Event time, ISO-8601. */
  at: string;
  messageId: string;
  profileId: string;
}

/** Where a profile id is written in the table (the `holder#<profileId>` item). */
export interface Holder {
  issues: { runId: string; stepId: string }[];
  /** Canonical codes the profile redeemed (first redemptions record `redeemProfileId`). */
  redeemed: string[];
}
export type HolderRef = { issue: { runId: string; stepId: string } } | { redeemed: string };

export const POOL_STATS = ['redeemed', 'redeemed_again', 'redeemed_unissued'] as const;
export type PoolStat = (typeof POOL_STATS)[number];

export interface CouponStore {
  getPool(pool: string): Promise<PoolItem | null>;
  /** Takes the next position: `taken + 1` iff `taken < loaded`. The pool after it, or null (absent or empty). */
  takePosition(pool: string): Promise<PoolItem | null>;
  getSlot(pool: string, position: number): Promise<SlotItem | null>;
  /** Unconditional: callers hold the pool's lease and write at positions ≥ `loaded` only. */
  putSlot(slot: SlotItem): Promise<void>;
  getIssue(runId: string, stepId: string): Promise<IssueItem | null>;
  /** Records an issue iff the run's step has none. */
  putIssue(item: IssueItem): Promise<boolean>;
  /** Moves an issue to another position and code iff it is still at `from`. */
  moveIssue(runId: string, stepId: string, from: number, to: Pick<IssueItem, 'position' | 'code' | 'canonical' | 'issuedAt'>): Promise<boolean>;
  getCode(canonical: string): Promise<CodeItem | null>;
  /**
   * Writes a code's item for a load: iff absent (`expect` null), or iff it is still the unissued,
   * unredeemed item of a load that never committed it (`expect`: its pool and position as read).
   */
  putCode(item: CodeItem, expect: { pool: string; position: number } | null): Promise<boolean>;
  /**
   * Marks a code issued iff it is the code of `pool` at `position`, not redeemed, and not issued —
   * or already issued to this same run and step (a retry).
   */
  markIssued(canonical: string, pool: string, position: number, to: Issued): Promise<boolean>;
  /** The first redemption iff there was none and the code is unissued or issued by `journeyId`. */
  markRedeemed(canonical: string, journeyId: string, r: Redemption): Promise<boolean>;
  /** A later redemption iff its messageId is neither the first's nor already flagged. */
  markRedeemedAgain(canonical: string, r: Redemption): Promise<boolean>;
  addPoolStats(pool: string, counters: Partial<Record<PoolStat, number>>): Promise<void>;
  getPoolStats(pool: string): Promise<Partial<Record<PoolStat, number>>>;
  /**
   * Holds the pool for a load until `until` (creating it when absent; setting `lowAt` when given)
   * iff no other load holds it at `now`. The pool as held, or null.
   */
  lease(pool: string, loadId: string, until: number, now: number, lowAt?: number): Promise<PoolItem | null>;
  /** Ends a load: `loaded` from `from` to `to` (and `generated` + `generated`) iff the lease is still `loadId`. */
  commit(pool: string, loadId: string, from: number, to: number, generated: number, at: string): Promise<boolean>;
  /** Lets go of the lease iff still held by `loadId` (a failed load). */
  release(pool: string, loadId: string): Promise<void>;
  /** Adds a reference to the profile's holder item (idempotent). */
  addHolder(profileId: string, ref: HolderRef): Promise<void>;
  getHolder(profileId: string): Promise<Holder | null>;
  deleteHolder(profileId: string): Promise<void>;
  /** Deletes the run's issue iff it names `profileId`; false otherwise (gone already). */
  deleteIssue(runId: string, stepId: string, profileId: string): Promise<boolean>;
  /**
   * Removes `profileId` from a code (as `profileId` and as `redeemProfileId`, each iff it is that
   * one), keeping `issuedAt`/`redeemedAt`: the code is never issued again and still counted. How
   * many of the two it removed.
   */
  forgetProfile(canonical: string, profileId: string): Promise<number>;
}
