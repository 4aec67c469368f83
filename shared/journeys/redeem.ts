/**
 * λ journey's side of a redemption (docs/journeys.md#coupons): the journey's `coupon` rule delivers
 * every `Coupon Redeemed` event; shared/coupons redeemCoupon marks the code once. This adds the
 * journey's counters for the step that issued the code (`redeemed`, or `redeemed_again` for a
 * second redemption with another messageId), and flags a second redemption on the bus
 * (`coupon.redeemed_again`) and in the log. Only the invocation whose conditional write succeeded
 * counts or announces, so a redelivered event changes nothing.
 */
import { redeemCoupon, redeemedCode, type CouponStore } from '../coupons';
import type { BusEvent, Publisher } from '../identity/bus';
import { log } from '../log';
import { count, METRIC } from '../metrics';
import type { JourneyStore } from './store';

/** Attribute of a coupon step's redemption counter in the journey's stats items. */
export const couponStat = (stepId: string, what: 'redeemed' | 'redeemed_again') => `step#${stepId}#${what}`;

export interface RedemptionDeps {
  coupons?: CouponStore;
  store: Pick<JourneyStore, 'addStats'>;
  publisher?: Publisher;
  now(): number;
}

export async function redeemForJourney(
  journeyId: string,
  detail: Record<string, unknown>,
  profileId: string | undefined,
  deps: RedemptionDeps,
): Promise<string> {
  if (!deps.coupons) return 'no_coupon_store';
  const messageId = typeof detail.messageId === 'string' ? detail.messageId : undefined;
  if (!messageId) return 'no_message_id';
  const ts = Date.parse(String(detail.timestamp ?? ''));
  const at = new Date(Number.isFinite(ts) ? ts : deps.now()).toISOString();
  const r = await redeemCoupon(deps.coupons, redeemedCode(detail), journeyId, { at, messageId, profileId: profileId ?? '' });
  if (r.status === 'unknown') {
    log('info', r.mistyped ? 'coupon redeemed with a mistyped code (check symbol wrong)' : 'coupon redeemed with a code in no pool', { journeyId, messageId });
    return r.mistyped ? 'mistyped_code' : 'unknown_code';
  }
  if (r.status !== 'redeemed' && r.status !== 'redeemed_again') return r.status;
  const c = r.coupon;
  // A code the shop handed out itself (no journey issued it) counts for its pool only.
  if (c.journeyId !== journeyId || !c.stepId) return `${r.status}_unissued`;
  // On the version whose step issued the code (none recorded: issued before versions).
  await deps.store.addStats(journeyId, { [couponStat(c.stepId, r.status)]: 1 }, c.profileId ?? profileId ?? '', c.version);
  if (r.status === 'redeemed_again') {
    count(METRIC.couponsRedeemedAgain);
    log('warn', 'coupon code redeemed again', { journeyId, stepId: c.stepId, pool: c.pool, messageId, firstMessageId: c.redeemMessageId });
    if (deps.publisher) await deps.publisher.publish([redeemedAgainEvent(journeyId, c, profileId, messageId, at)]);
  }
  return r.status;
}

/**
 * `coupon.redeemed_again` on the bus: which journey, step and pool, the code (already spent, so no
 * longer worth anything to whoever sees it), whom it was issued to and who redeemed it this time.
 */
export function redeemedAgainEvent(
  journeyId: string,
  c: { stepId?: string; pool: string; code: string; runId?: string; profileId?: string; redeemedAt?: string; redeemMessageId?: string },
  profileId: string | undefined,
  messageId: string,
  at: string,
): BusEvent {
  return {
    detailType: 'coupon.redeemed_again',
    detail: {
      journeyId,
      stepId: c.stepId ?? null,
      pool: c.pool,
      code: c.code,
      runId: c.runId ?? null,
      issuedTo: c.profileId ?? null,
      redeemedBy: profileId ?? null,
      messageId,
      firstRedeemedAt: c.redeemedAt ?? null,
      firstMessageId: c.redeemMessageId ?? null,
    },
    time: at,
  };
}
