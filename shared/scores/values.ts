/**
 * The score values λ scores keeps on a profile (the profile item's `scores` attribute), shown in the
 * profile's `computed` map and usable in conditions as `computed: rfm_group` etc. Pure.
 */
import type { ProfileRecord } from '../identity';
import { lifecycleStage, type LifecycleStage } from './lifecycle';
import { daysBetween, type RfmScore } from './rfm';

/** Ids of the score computed traits (shared/definitions BUILTIN_COMPUTED lists them too). */
export const SCORE_TRAITS = ['rfm_group', 'rfm_recency', 'rfm_frequency', 'rfm_monetary', 'lifecycle_stage', 'last_order_at'] as const;

export interface ScoreValues {
  lifecycle_stage: LifecycleStage;
  /** Buyers only (absent for prospects). */
  rfm_group?: string;
  rfm_recency?: number;
  rfm_frequency?: number;
  rfm_monetary?: number;
  /** Time of the last `Order Completed` (event time, ISO-8601). */
  last_order_at?: string;
}

/** Profile attributes (`extra`) λ scores owns. */
export const SCORES_ATTR = 'scores';
/** The order count `scores.last_order_at` was looked up for (a new order means a new look-up). */
export const SCORES_ORDERS_ATTR = 'scoresOrders';

/** The stored score values of a profile ({} when never scored). */
export function storedScores(p: ProfileRecord): Record<string, string | number> {
  const s = p.extra?.[SCORES_ATTR];
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, string | number>) : {};
}

/** The values for a profile: RFM for buyers (score from the population's quintiles), a lifecycle stage for all. */
export function scoreValues(orders: number, lastOrderAt: string | null, rfm: RfmScore | undefined, asOf: string): ScoreValues {
  const recency = orders > 0 && lastOrderAt ? daysBetween(lastOrderAt, asOf) : null;
  const out: ScoreValues = { lifecycle_stage: lifecycleStage(orders, recency) };
  if (orders > 0 && rfm) {
    out.rfm_group = rfm.group;
    out.rfm_recency = rfm.r;
    out.rfm_frequency = rfm.f;
    out.rfm_monetary = rfm.m;
  }
  if (orders > 0 && lastOrderAt) out.last_order_at = lastOrderAt;
  return out;
}

/** Canonical JSON (sorted keys) of score values, for comparing and hashing. */
export function canonical(v: Record<string, unknown>): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
  );
}

export const sameScores = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => canonical(a) === canonical(b);
