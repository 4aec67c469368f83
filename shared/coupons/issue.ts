/**
 * Issuing a code to one run of a journey's coupon step: never the same code twice, one code per run
 * and step however often the step is retried or run concurrently, with conditional single-item
 * writes only (store.ts):
 *
 * 1. The run's issue (`issue#<runId>#<stepId>`) exists: that is its code (a retry).
 * 2. Else take a position: one conditional increment of the pool's cursor (`taken < loaded`); the
 *    code there is read from its slot and recorded as the run's issue iff the run has none. Losing
 *    that race (a concurrent attempt of the same step recorded one first) leaves this position
 *    unused — a code never issued, never a code issued twice.
 * 3. Mark the code issued to the run: iff it is still that pool's code at that position, unissued
 *    (or issued to this very run: a retry) and unredeemed. A code that fails this (redeemed before
 *    it was issued, or a hand-edited table) is skipped: the issue moves to a new position.
 *
 * An empty pool is recorded as the run's issue too (position -1), so every attempt of the step gives
 * the same answer: one that raced a successful attempt cannot say "empty" while the other issued.
 *
 * Before 1, the run's issue is added to the profile's holder item (one idempotent write), which is how
 * erasure finds the items naming the profile (erase.ts).
 *
 * A crash between 2 and 3 is finished by the retry (1 then 3). The cursor is one item per pool:
 * DynamoDB serves ~1,000 conditional increments/s on it, which is λ journey's own ceiling at its
 * reserved concurrency (docs/deploy.md#known-limits-single-hot-items).
 */
import { COUPONS } from '../config';
import { log } from '../log';
import type { CouponStore, Issued, IssueItem, PoolItem } from './store';

export type IssueOutcome =
  | {
      status: 'issued';
      pool: string;
      code: string;
      /** False when an earlier attempt issued it (a retry). */
      fresh: boolean;
      /** Codes left after this issue, and whether that is at or under the pool's low mark (fresh issues only). */
      remaining?: number;
      low?: boolean;
    }
  | { status: 'empty' | 'no_pool'; pool: string };

const MAX_ATTEMPTS = 20;
/** The position of an issue that found its pool empty. */
const EMPTY = -1;

/** Remaining codes at or under which a pool is low. */
export const lowMark = (p: Pick<PoolItem, 'loaded' | 'lowAt'>): number => p.lowAt ?? Math.ceil((p.loaded * COUPONS.lowPercent) / 100);

/** The next position's code, or why there is none. */
async function nextCode(
  store: CouponStore,
  pool: string,
): Promise<{ position: number; code: string; canonical: string; after: PoolItem } | { status: 'empty' | 'no_pool' }> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const after = await store.takePosition(pool);
    if (!after) return { status: (await store.getPool(pool)) ? 'empty' : 'no_pool' };
    const position = after.taken - 1;
    const slot = await store.getSlot(pool, position);
    // A hole: a code refused by a concurrent load after its position was handed out. Take the next.
    if (slot?.canonical) return { position, code: slot.code, canonical: slot.canonical, after };
    log('warn', 'coupon pool position without a code: skipped', { pool, position });
  }
  throw new Error(`coupon pool ${pool}: ${MAX_ATTEMPTS} positions without a code`);
}

export async function issueCoupon(store: CouponStore, pool: string, to: Omit<Issued, 'issuedAt'>, now: number): Promise<IssueOutcome> {
  const issuedAt = new Date(now).toISOString();
  let fresh: { remaining: number; low: boolean } | undefined;
  // Before any item names the profile: erasure finds them through it (store.ts, erase.ts).
  await store.addHolder(to.profileId, { issue: { runId: to.runId, stepId: to.stepId } });
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let issue = await store.getIssue(to.runId, to.stepId);
    if (issue?.position === EMPTY) return { status: 'empty', pool: issue.pool };
    if (!issue) {
      const next = await nextCode(store, pool);
      if ('status' in next) {
        if (next.status === 'no_pool') return { status: 'no_pool', pool };
        // Recorded, unless a concurrent attempt recorded a code first: then that code is the answer.
        if (await store.putIssue({ ...to, issuedAt, pool, position: EMPTY, code: '', canonical: '' })) return { status: 'empty', pool };
        continue;
      }
      const candidate: IssueItem = { ...to, issuedAt, pool, position: next.position, code: next.code, canonical: next.canonical };
      // Lost to a concurrent attempt of the same step: its issue stands, this position stays unused.
      if (!(await store.putIssue(candidate))) continue;
      issue = candidate;
      const remaining = next.after.loaded - next.after.taken;
      fresh = { remaining, low: remaining <= lowMark(next.after) };
    }
    const { pool: at, position, canonical } = issue;
    const marked = await store.markIssued(canonical, at, position, {
      journeyId: issue.journeyId,
      stepId: issue.stepId,
      runId: issue.runId,
      profileId: issue.profileId,
      ...(issue.version !== undefined ? { version: issue.version } : {}),
      issuedAt: issue.issuedAt,
    });
    if (marked) return { status: 'issued', pool: at, code: issue.code, fresh: fresh !== undefined, ...(fresh ?? {}) };
    // Not this code (redeemed before it was issued, or not at that position): move the issue on.
    log('warn', 'coupon code cannot be issued: taking the next one', { pool: at, position });
    const next = await nextCode(store, at);
    const empty = 'status' in next;
    const dest = empty
      ? { position: EMPTY, code: '', canonical: '', issuedAt }
      : { position: next.position, code: next.code, canonical: next.canonical, issuedAt };
    if (await store.moveIssue(to.runId, to.stepId, position, dest)) {
      if (empty) return { status: 'empty', pool: at };
      const remaining = next.after.loaded - next.after.taken;
      fresh = { remaining, low: remaining <= lowMark(next.after) };
    }
  }
  throw new Error(`coupon issue for run ${to.runId} step ${to.stepId}: still contended after ${MAX_ATTEMPTS} attempts; retry`);
}
