/**
 * Coupons (docs/journeys.md#coupons): pools of unique codes that journeys' coupon steps issue, one
 * per run and step, and `Coupon Redeemed` events mark. The DynamoDB adapter is imported by its own
 * path (dynamo-store.ts); the in-memory store (memory-store.ts) is for tests and for journey
 * simulations (shared/journeys/simulate), which issue codes that never leave them.
 */
export { canonicalCode, checkSymbol, checkSymbolOk, codeProblem, generateCodes, looksGenerated, CODE_ALPHABET, MAX_CODE_LENGTH } from './code';
export { eraseCouponHolder } from './erase';
export { issueCoupon, lowMark, type IssueOutcome } from './issue';
export { checkPoolId, generateInto, loadCodes, POOL_ID_RE, type LoadOptions, type LoadResult, type Refusal } from './load';
export { redeemCoupon, redeemedCode, type RedeemOutcome } from './redeem';
export { poolStatus, registerCouponRoutes, type PoolStatus } from './routes';
export type { CodeItem, CouponStore, Holder, HolderRef, Issued, IssueItem, PoolItem, PoolStat, Redemption, SlotItem } from './store';
export { MemoryCouponStore } from './memory-store';
