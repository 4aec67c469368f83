/**
 * Coupon pool routes of the admin API (docs/journeys.md#coupons; `npx cairn coupons` calls them):
 *
 *   GET  /v1/coupons/{pool}            the pool's status
 *   POST /v1/coupons/{pool}/codes      {codes: [...], lowAt?}: load codes (COUPONS.maxCodesPerRequest per request)
 *   POST /v1/coupons/{pool}/generate   {count, lowAt?}: generate codes; the answer lists them (once)
 */
import { COUPONS } from '../config';
import { CairnError } from '../errors';
import type { AdminRouter } from '../http';
import { isPlainObject } from '../lang';
import { lowMark } from './issue';
import { checkPoolId, generateInto, loadCodes } from './load';
import type { CouponStore } from './store';

export interface PoolStatus {
  pool: string;
  /** Codes in the pool (loaded and generated). */
  codes: number;
  generated: number;
  /** Positions taken by coupon steps: codes issued (a step that crashed mid-way may leave one unused). */
  issued: number;
  remaining: number;
  /** Remaining codes at or under which the pool is low (and the low-pool alarm fires). */
  lowAt: number;
  low: boolean;
  redeemed: number;
  /** Redemptions of an already redeemed code (flagged). */
  redeemedAgain: number;
  /** Redeemed codes no journey issued (handed out by the shop itself). */
  redeemedUnissued: number;
  /** A load holds the pool now. */
  loading: boolean;
  createdAt: string;
  updatedAt: string;
}

export async function poolStatus(store: CouponStore, pool: string, now: number): Promise<PoolStatus> {
  checkPoolId(pool);
  const [p, s] = await Promise.all([store.getPool(pool), store.getPoolStats(pool)]);
  if (!p) throw new CairnError('coupon_pool_not_found', `no coupon pool ${pool}: load codes into it first (npx cairn coupons load ${pool} codes.csv)`, 404);
  const remaining = p.loaded - p.taken;
  return {
    pool,
    codes: p.loaded,
    generated: p.generated,
    issued: p.taken,
    remaining,
    lowAt: lowMark(p),
    low: remaining <= lowMark(p),
    redeemed: s.redeemed ?? 0,
    redeemedAgain: s.redeemed_again ?? 0,
    redeemedUnissued: s.redeemed_unissued ?? 0,
    loading: p.loadId !== undefined && (p.loadUntil ?? 0) >= now,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

const bad = (msg: string) => new CairnError('invalid_body', msg, 400);

function fields(body: unknown, allowed: string[], example: string): Record<string, unknown> {
  if (!isPlainObject(body)) throw bad(`body must be a JSON object: ${example}`);
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw bad(`unknown field ${JSON.stringify(k.slice(0, 40))} (fields: ${allowed.join(', ')})`);
  return body;
}

function lowAtOf(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad('lowAt must be a whole number of remaining codes (0 or more)');
  return v;
}

export function registerCouponRoutes(router: AdminRouter, store: CouponStore, now: () => number = Date.now): AdminRouter {
  router.add('GET', '/v1/coupons/{pool}', async (req) => ({ status: 200, body: await poolStatus(store, req.params.pool!, now()) }));
  router.add('POST', '/v1/coupons/{pool}/codes', async (req) => {
    const b = fields(req.body, ['codes', 'lowAt'], '{"codes":["SPRING-0001","SPRING-0002"]}');
    if (!Array.isArray(b.codes) || !b.codes.length) throw bad('codes must be a non-empty list of codes');
    if (b.codes.length > COUPONS.maxCodesPerRequest) throw new CairnError('too_many_codes', `at most ${COUPONS.maxCodesPerRequest} codes per request`, 400);
    const r = await loadCodes(store, req.params.pool!, b.codes, { now: now(), lowAt: lowAtOf(b.lowAt) });
    return { status: 200, body: r };
  });
  router.add('POST', '/v1/coupons/{pool}/generate', async (req) => {
    const b = fields(req.body, ['count', 'lowAt'], '{"count":1000}');
    const r = await generateInto(store, req.params.pool!, b.count as number, { now: now(), lowAt: lowAtOf(b.lowAt) });
    // The codes are in this answer only: never cache it on the way.
    return { status: 200, body: r, headers: { 'cache-control': 'no-store' } };
  });
  return router;
}
