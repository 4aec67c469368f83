/**
 * Loading codes into a pool (from a marketer's file, or generated), COUPONS.maxCodesPerRequest per
 * call, with single-item conditional writes (store.ts):
 *
 * 1. Hold the pool with a lease (one load at a time per pool; a crashed load's lease runs out).
 * 2. Classify each code by its `code#` item: new; already in this pool (skipped, so a load cut off
 *    half-way can simply be run again); in another pool, or issued, or redeemed (refused: a code is
 *    unique across pools); or left behind by a load that never committed (taken over).
 * 3. Write each new code's item iff still absent (or still the same left-behind item), then its
 *    slot at the next free position, then move `loaded` past them iff the lease is still ours.
 *    Positions are appended only while held, so a slot under `loaded` never changes under a coupon
 *    step reading it.
 *
 * Bad codes are refused by index with the reason; the good ones of the same request are loaded.
 */
import { randomUUID } from 'node:crypto';
import { COUPONS } from '../config';
import { CairnError } from '../errors';
import { canonicalCode, codeProblem, generateCodes } from './code';
import type { CodeItem, CouponStore, PoolItem } from './store';

export interface Refusal {
  /** Position of the code in the request. */
  index: number;
  code: string;
  reason: string;
}

export interface LoadResult {
  pool: string;
  /** Codes added to the pool. */
  loaded: number;
  /** Codes the pool already had (an earlier, maybe interrupted, load of the same file). */
  alreadyLoaded: number;
  refused: Refusal[];
  /** Codes in the pool, and not yet issued. */
  size: number;
  remaining: number;
}

export const POOL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;

export function checkPoolId(pool: string): void {
  if (!POOL_ID_RE.test(pool))
    throw new CairnError(
      'invalid_pool',
      `pool ids are letters, digits, - and _, starting with a letter or digit, at most 48: ${JSON.stringify(pool.slice(0, 60))}`,
      400,
    );
}

/**
 * Runs `f` over `items` with at most `limit` calls at once. After a failure no new call starts, and
 * the first error is thrown only once every call under way has ended: the load never lets go of its
 * lease while its own writes are still landing.
 */
async function eachLimited<T>(items: T[], limit: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  let failed: { e: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length && !failed)
        try {
          await f(items[i++]!);
        } catch (e) {
          failed ??= { e };
        }
    }),
  );
  if (failed) throw failed.e;
}

type Verdict = { kind: 'new'; expect: { pool: string; position: number } | null } | { kind: 'already' } | { kind: 'refused'; reason: string };

/** Whether the code item `c` is committed: its pool has it under `loaded` in its slot. */
async function committed(store: CouponStore, c: CodeItem, pools: Map<string, Promise<PoolItem | null>>): Promise<boolean> {
  if (c.issuedAt !== undefined || c.redeemedAt !== undefined) return true;
  let p = pools.get(c.pool);
  if (!p) pools.set(c.pool, (p = store.getPool(c.pool)));
  const pool = await p;
  if (!pool || c.position >= pool.loaded) return false;
  return (await store.getSlot(c.pool, c.position))?.canonical === c.canonical;
}

async function classify(store: CouponStore, pool: PoolItem, canonical: string, pools: Map<string, Promise<PoolItem | null>>): Promise<Verdict> {
  const c = await store.getCode(canonical);
  if (!c) return { kind: 'new', expect: null };
  if (await committed(store, c, pools)) {
    if (c.pool === pool.pool) return { kind: 'already' };
    return { kind: 'refused', reason: `already in pool ${c.pool}` };
  }
  return { kind: 'new', expect: { pool: c.pool, position: c.position } };
}

export interface LoadOptions {
  now: number;
  /** Set the pool's low mark (remaining codes). */
  lowAt?: number;
  /** The codes were generated (counted apart in the status). */
  generated?: boolean;
}

export async function loadCodes(store: CouponStore, pool: string, codes: unknown[], o: LoadOptions): Promise<LoadResult> {
  checkPoolId(pool);
  if (codes.length > COUPONS.maxCodesPerRequest)
    throw new CairnError('too_many_codes', `at most ${COUPONS.maxCodesPerRequest} codes per request, got ${codes.length}`, 400);
  const refused: Refusal[] = [];
  const wanted: { index: number; code: string; canonical: string }[] = [];
  const seen = new Map<string, number>();
  for (const [index, raw] of codes.entries()) {
    const problem = codeProblem(raw);
    const code = typeof raw === 'string' ? raw.trim() : String(raw);
    if (problem) {
      refused.push({ index, code, reason: problem });
      continue;
    }
    const canonical = canonicalCode(code);
    const first = seen.get(canonical);
    if (first !== undefined) {
      refused.push({ index, code, reason: `the same code as #${first + 1} of this request` });
      continue;
    }
    seen.set(canonical, index);
    wanted.push({ index, code, canonical });
  }

  const loadId = randomUUID();
  const held = await store.lease(pool, loadId, o.now + COUPONS.loadLeaseMs, o.now, o.lowAt);
  if (!held) throw new CairnError('coupon_pool_busy', `another load into pool ${pool} is under way; try again in a minute`, 409);
  try {
    const pools = new Map<string, Promise<PoolItem | null>>([[pool, Promise.resolve(held)]]);
    const verdicts = new Map<number, Verdict>();
    await eachLimited(wanted, 16, async (w) => void verdicts.set(w.index, await classify(store, held, w.canonical, pools)));
    let alreadyLoaded = 0;
    const fresh: (typeof wanted)[number][] = [];
    for (const w of wanted) {
      const v = verdicts.get(w.index)!;
      if (v.kind === 'already') alreadyLoaded++;
      else if (v.kind === 'refused') refused.push({ index: w.index, code: w.code, reason: v.reason });
      else fresh.push(w);
    }
    const at = new Date(o.now).toISOString();
    let written = 0;
    await eachLimited(
      fresh.map((w, i) => ({ ...w, position: held.loaded + i })),
      16,
      async (w) => {
        const v = verdicts.get(w.index) as Extract<Verdict, { kind: 'new' }>;
        const ok = await store.putCode({ canonical: w.canonical, code: w.code, pool, position: w.position, loadedAt: at }, v.expect);
        // Taken by a concurrent load into another pool: refused, and its position becomes a hole coupon
        // steps skip (written empty, so no code a crashed load left at that position is ever read there).
        if (!ok) refused.push({ index: w.index, code: w.code, reason: 'loaded into another pool at the same time' });
        else written++;
        await store.putSlot({ pool, position: w.position, code: ok ? w.code : '', canonical: ok ? w.canonical : '' });
      },
    );
    const to = held.loaded + fresh.length;
    if (!(await store.commit(pool, loadId, held.loaded, to, o.generated ? written : 0, at)))
      throw new CairnError('coupon_pool_busy', `the load into pool ${pool} lost its hold on the pool; run it again (codes already loaded are skipped)`, 409);
    refused.sort((a, b) => a.index - b.index);
    return { pool, loaded: written, alreadyLoaded, refused, size: to, remaining: to - held.taken };
  } catch (e) {
    await store.release(pool, loadId).catch(() => undefined);
    throw e;
  }
}

/** Generates `count` new codes into the pool; the codes are returned (for the shop's till or site). */
export async function generateInto(
  store: CouponStore,
  pool: string,
  count: number,
  o: Omit<LoadOptions, 'generated'>,
): Promise<LoadResult & { codes: string[] }> {
  if (!Number.isInteger(count) || count < 1 || count > COUPONS.maxCodesPerRequest)
    throw new CairnError('too_many_codes', `count must be a whole number from 1 to ${COUPONS.maxCodesPerRequest}, got ${JSON.stringify(count)}`, 400);
  const codes = generateCodes(count);
  const r = await loadCodes(store, pool, codes, { ...o, generated: true });
  const bad = new Set(r.refused.map((x) => x.index));
  // 75 random bits: a clash with an existing code is astronomically unlikely; such a code is simply not returned.
  return { ...r, codes: codes.filter((_, i) => !bad.has(i)) };
}
