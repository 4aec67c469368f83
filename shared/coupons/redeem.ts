/**
 * A `Coupon Redeemed` event (COUPONS.redeemEvent) against the codes (docs/journeys.md#coupons):
 *
 * - the first redemption of a code marks it (event time, messageId, who) with one conditional write:
 *   whichever delivery or rule gets there first, it is recorded once;
 * - a later redemption of the same code with another messageId is flagged once per message (a set
 *   of messageIds on the code, added conditionally): the same event delivered again is a duplicate;
 * - a code the event names that is in no pool is `unknown` (`mistyped` when it has a generated
 *   code's shape but a wrong check symbol: a typo at the till, not a forged code).
 *
 * `journeyId` is the journey whose rule delivered the event: a code issued by another journey is
 * left to that journey's own rule (each coupon journey has one), so each redemption is counted by
 * the journey that issued the code. A loaded code never issued (handed out by the shop itself) is
 * recorded by whichever rule comes first.
 */
import { canonicalCode, checkSymbolOk, looksGenerated } from './code';
import type { CodeItem, CouponStore, Redemption } from './store';

export type RedeemOutcome =
  | { status: 'no_code' }
  | { status: 'unknown'; mistyped: boolean }
  | { status: 'other_journey' }
  | { status: 'duplicate' }
  | { status: 'redeemed' | 'redeemed_again'; coupon: CodeItem };

/** The code a redemption event names: `properties.code`, else `properties.coupon`. */
export function redeemedCode(detail: Record<string, unknown>): string | undefined {
  const p = detail.properties as Record<string, unknown> | undefined;
  const v = p?.code ?? p?.coupon;
  return typeof v === 'string' && v.trim() ? v : typeof v === 'number' ? String(v) : undefined;
}

export async function redeemCoupon(store: CouponStore, named: string | undefined, journeyId: string, r: Redemption): Promise<RedeemOutcome> {
  if (named === undefined) return { status: 'no_code' };
  const canonical = canonicalCode(named);
  const c = await store.getCode(canonical);
  if (!c) return { status: 'unknown', mistyped: looksGenerated(canonical) && !checkSymbolOk(canonical) };
  if (c.journeyId !== undefined && c.journeyId !== journeyId) return { status: 'other_journey' };
  // Before the code names the redeemer (only a first redemption does): erasure finds it through the holder item (erase.ts).
  if (c.redeemedAt === undefined && r.profileId) await store.addHolder(r.profileId, { redeemed: canonical });
  if (await store.markRedeemed(canonical, journeyId, r)) {
    await store.addPoolStats(c.pool, c.issuedAt ? { redeemed: 1 } : { redeemed: 1, redeemed_unissued: 1 });
    return { status: 'redeemed', coupon: { ...c, redeemedAt: r.at, redeemMessageId: r.messageId, redeemProfileId: r.profileId } };
  }
  const now = await store.getCode(canonical);
  if (!now || now.redeemMessageId === r.messageId) return { status: 'duplicate' };
  if (now.journeyId !== undefined && now.journeyId !== journeyId) return { status: 'other_journey' };
  if (!(await store.markRedeemedAgain(canonical, r))) return { status: 'duplicate' };
  await store.addPoolStats(c.pool, { redeemed_again: 1 });
  return { status: 'redeemed_again', coupon: now };
}
