/**
 * `GET /v1/journeys/{id}/stats` (docs/journeys.md#stats): the journey's counters from the state table.
 *
 * ```json
 * { "journeyId": "new-store-coupon", "entered": 3, "completed": 1, "exited": 1, "capped": 1,
 *   "no_consent": 1, "held_out": 0, "already_active": 0, "not_in_audience": 0,
 *   "steps": { "coupon": { "action": "email", "sent": 3, "failed": 0, "skipped": 0 }, … } }
 * ```
 */
import { walkSteps, type JourneyDef } from '../definitions';
import { CairnError } from '../errors';
import type { AdminRouter } from '../http';
import { couponStat } from './redeem';
import { stepStat, type JourneyStore } from './store';

export const JOURNEY_COUNTERS = [
  'entered',
  'completed',
  'exited',
  'capped',
  'no_consent',
  'held_out',
  'already_active',
  'not_in_audience',
  'no_address',
  // The policy across journeys (docs/journeys.md#governance): messages held for their send window, and not sent over a global cap.
  'deferred',
  'capped_global',
] as const;

export interface StepStats {
  /** `email`, `sms`, … or `wait`, `waitUntil`, `branch`, `exit`. */
  type: string;
  sent: number;
  failed: number;
  skipped: number;
  /** Coupon steps: codes it issued that were redeemed, and redemptions of an already redeemed code (flagged). */
  redeemed?: number;
  redeemed_again?: number;
}
export type JourneyStats = { journeyId: string; steps: Record<string, StepStats> } & Record<(typeof JOURNEY_COUNTERS)[number], number>;

/**
 * The journey's counters: `store.getStats` sums its counter shards (`stats#<id>#<n>`) and the unsharded
 * item of older versions (shared/journeys/store.ts), laid out per the stored document's steps.
 */
export async function journeyStats(
  journeyId: string,
  store: JourneyStore,
  definition: (id: string) => Promise<{ definition: JourneyDef } | null>,
): Promise<JourneyStats> {
  const stored = await definition(journeyId);
  const raw = await store.getStats(journeyId);
  if (!stored && !Object.keys(raw).length) throw new CairnError('journey_not_found', `no journey ${journeyId}`, 404);
  const out = { journeyId, steps: {} } as JourneyStats;
  for (const c of JOURNEY_COUNTERS) out[c] = raw[c] ?? 0;
  const n = (stepId: string, what: 'sent' | 'failed' | 'skipped') => raw[stepStat(stepId, what)] ?? 0;
  for (const { step } of stored ? walkSteps(stored.definition.steps) : []) {
    out.steps[step.id] = {
      type: step.type === 'action' ? step.action : step.type,
      sent: n(step.id, 'sent'),
      failed: n(step.id, 'failed'),
      skipped: n(step.id, 'skipped'),
      ...(step.type === 'action' && step.action === 'coupon'
        ? { redeemed: raw[couponStat(step.id, 'redeemed')] ?? 0, redeemed_again: raw[couponStat(step.id, 'redeemed_again')] ?? 0 }
        : {}),
    };
  }
  // Steps counted under an earlier version of the document keep their counts.
  for (const k of Object.keys(raw)) {
    const m = /^step#(.+)#(sent|failed|skipped)$/.exec(k);
    if (m && !out.steps[m[1]!]) out.steps[m[1]!] = { type: 'removed', sent: n(m[1]!, 'sent'), failed: n(m[1]!, 'failed'), skipped: n(m[1]!, 'skipped') };
  }
  return out;
}

/** Registers `GET /v1/journeys/{id}/stats` on the admin router; `definition` reads the stored journey. */
export function journeyStatsRoutes(
  router: AdminRouter,
  store: JourneyStore,
  definition: (id: string) => Promise<{ definition: JourneyDef } | null>,
): AdminRouter {
  return router.add('GET', '/v1/journeys/{id}/stats', async (req) => ({ status: 200, body: await journeyStats(req.params.id!, store, definition) }));
}
