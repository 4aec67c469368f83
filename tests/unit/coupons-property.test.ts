/**
 * Coupons under concurrency and retries (docs/journeys.md#coupons), on the in-memory store whose
 * single-item conditions are DynamoCouponStore's: every store operation is a scheduling point
 * (fast-check's scheduler runs them in any order), and any of them may "crash" after its write
 * took effect (the caller sees an error, as a Lambda that timed out after DynamoDB answered), the
 * attempt then retried from scratch as Lambda retries an invocation.
 *
 * - issues: many attempts per run (duplicated deliveries and retries) → each run one code, codes
 *   distinct across runs, each code marked issued to its run; a run told "empty" only when the pool
 *   has no position left;
 * - loads: two pools loaded at once with overlapping codes, with crashed loads run again → a code
 *   is committed in at most one pool and, issuing everything, no code is issued twice;
 * - redemptions: one code redeemed by several events, each delivered several times, concurrently →
 *   exactly one first redemption, every other event flagged exactly once.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalCode, issueCoupon, loadCodes, redeemCoupon, type CouponStore, type IssueOutcome, type RedeemOutcome } from '#shared/coupons';
import { MemoryCouponStore } from '#shared/coupons/memory-store';

const NOW = Date.parse('2025-03-01T10:00:00Z');
const RUNS = Number(process.env.CAIRN_PROP_RUNS ?? 150);

class Crash extends Error {
  constructor() {
    super('injected crash');
    this.name = 'InjectedCrash';
  }
}

/**
 * `store` seen through the scheduler: every call waits for its turn; the calls numbered in
 * `crashes` (in the order they run) throw after their effect.
 */
function scheduled(store: CouponStore, s: fc.Scheduler, crashes: Set<number>): CouponStore {
  let n = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const f = Reflect.get(target, prop, receiver);
      if (typeof f !== 'function') return f;
      return async (...args: unknown[]) => {
        await s.schedule(Promise.resolve(), String(prop));
        const r = await (f as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (crashes.has(n++)) throw new Crash();
        return r;
      };
    },
  });
}

/** Runs `f` until it does not crash (a Lambda retry each time). */
async function retried<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof Crash) || i > 50) throw e;
    }
  }
}

const codesOf = (pool: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${pool}-${String(from + i).padStart(4, '0')}`);

describe('coupons: property tests', () => {
  it('concurrent and retried issues: one code per run, never one code twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 10 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { maxLength: 12 }),
        fc.scheduler(),
        async (nCodes, attempts, crashAt, s) => {
          const base = new MemoryCouponStore();
          if (nCodes) await loadCodes(base, 'spring', codesOf('S', nCodes), { now: NOW });
          else await base.lease('spring', 'x', NOW, NOW - 1).then(() => base.release('spring', 'x'));
          const store = scheduled(base, s, new Set(crashAt));
          const outcomes: { run: number; out: IssueOutcome }[] = [];
          const all = attempts.flatMap((k, run) =>
            Array.from({ length: k }, () =>
              retried(() => issueCoupon(store, 'spring', { journeyId: 'j', stepId: 'gift', runId: `run-${run}`, profileId: `p-${run}` }, NOW)).then((out) =>
                outcomes.push({ run, out }),
              ),
            ),
          );
          await s.waitFor(Promise.all(all));

          const codeOf = new Map<number, string>();
          const said = new Map<number, string>();
          for (const { run, out } of outcomes) {
            // Every attempt of a run got the same answer: the same code, or all "empty".
            const answer = out.status === 'issued' ? out.code : out.status;
            if (said.has(run)) expect(answer).toBe(said.get(run));
            said.set(run, answer);
            if (out.status === 'issued') codeOf.set(run, out.code);
          }
          // Never one code to two runs.
          expect(new Set(codeOf.values()).size).toBe(codeOf.size);
          // Each issued code is marked issued to its run, and nothing else is marked.
          for (const [run, code] of codeOf)
            expect(base.codes.get(canonicalCode(code))).toMatchObject({ runId: `run-${run}`, stepId: 'gift', profileId: `p-${run}` });
          const marked = [...base.codes.values()].filter((c) => c.issuedAt !== undefined);
          expect(marked.length).toBe(codeOf.size);
          // "empty" only when no position was left; a run is never both issued and told empty by a later attempt.
          const pool = base.pools.get('spring')!;
          for (const { run, out } of outcomes)
            if (out.status === 'empty') {
              expect(pool.taken).toBe(pool.loaded);
              expect(codeOf.has(run)).toBe(false);
            }
          // With no contention for positions beyond the runs, every run got a code.
          if (attempts.length + attempts.reduce((a, b) => a + b, 0) + crashAt.length <= nCodes) expect(codeOf.size).toBe(attempts.length);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('concurrent, crashed and repeated loads into two pools: no code in two pools, none issued twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 8 }),
        fc.scheduler(),
        async (own, shared, crashAt, s) => {
          const base = new MemoryCouponStore();
          const store = scheduled(base, s, new Set(crashAt));
          const common = codesOf('C', shared);
          const a = [...codesOf('A', own), ...common];
          const b = [...common.slice().reverse(), ...codesOf('B', own)];
          // A load that crashes, or finds its pool held by its own crashed attempt's lease, is run again later, as a marketer would.
          const load = (pool: string, codes: string[]) =>
            retried(async () => {
              for (let i = 0; ; i++) {
                try {
                  return await loadCodes(store, pool, codes, { now: NOW + i * 120_000 });
                } catch (e) {
                  if ((e as { code?: string }).code !== 'coupon_pool_busy' || i > 5) throw e;
                }
              }
            });
          await s.waitFor(Promise.all([load('a', a), load('b', b)]));
          // The same file again (a marketer re-running a load): it loads what a race or crash left out.
          const again = await s.waitFor(load('a', a));

          // Committed codes: slots under `loaded` whose code item names that pool and position.
          const committed = new Map<string, string>();
          for (const pool of ['a', 'b']) {
            const p = base.pools.get(pool)!;
            expect(p.taken).toBe(0);
            for (let i = 0; i < p.loaded; i++) {
              const slot = base.slots.get(`${pool}#${i}`);
              if (!slot?.canonical) continue;
              const item = base.codes.get(slot.canonical);
              if (item?.pool !== pool || item.position !== i) continue;
              expect(committed.has(slot.canonical), `${slot.canonical} in two pools`).toBe(false);
              committed.set(slot.canonical, pool);
            }
          }
          // After the re-run every code of A's file is in a pool, and only codes B holds were refused; B's own codes are in B.
          for (const c of a) expect(committed.has(canonicalCode(c)), c).toBe(true);
          for (const r of again.refused) expect(committed.get(canonicalCode(r.code))).toBe('b');
          for (const c of codesOf('A', own)) expect(committed.get(canonicalCode(c))).toBe('a');
          for (const c of codesOf('B', own)) expect(committed.get(canonicalCode(c)), c).toBe('b');
          // Issue until both pools are empty: distinct codes.
          const issued: string[] = [];
          for (const pool of ['a', 'b'])
            for (let run = 0; ; run++) {
              const out = await issueCoupon(base, pool, { journeyId: 'j', stepId: 's', runId: `${pool}-${run}`, profileId: 'p' }, NOW);
              if (out.status !== 'issued') break;
              issued.push(out.code);
            }
          expect(new Set(issued).size).toBe(issued.length);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a code redeemed by several events, each delivered several times: one redemption, each other event flagged once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }), fc.scheduler(), async (deliveries, s) => {
        const base = new MemoryCouponStore();
        await loadCodes(base, 'spring', ['SPRING-0001'], { now: NOW });
        await issueCoupon(base, 'spring', { journeyId: 'j', stepId: 'gift', runId: 'r1', profileId: 'p1' }, NOW);
        const store = scheduled(base, s, new Set());
        const outs: { m: number; out: RedeemOutcome }[] = [];
        const all = deliveries.flatMap((k, m) =>
          Array.from({ length: k }, () =>
            redeemCoupon(store, 'spring-0001', 'j', { at: new Date(NOW + m).toISOString(), messageId: `m${m}`, profileId: 'p1' }).then((out) =>
              outs.push({ m, out }),
            ),
          ),
        );
        await s.waitFor(Promise.all(all));
        const firsts = outs.filter((o) => o.out.status === 'redeemed');
        expect(firsts).toHaveLength(1);
        const again = outs.filter((o) => o.out.status === 'redeemed_again').map((o) => o.m);
        expect(new Set(again).size).toBe(again.length);
        expect(again.length).toBe(deliveries.length - 1);
        expect(again).not.toContain(firsts[0]!.m);
        expect(outs.filter((o) => o.out.status === 'duplicate').length).toBe(deliveries.reduce((a, b) => a + b, 0) - deliveries.length);
        expect(base.stats.get('spring')).toEqual({ redeemed: 1, ...(deliveries.length > 1 ? { redeemed_again: deliveries.length - 1 } : {}) });
      }),
      { numRuns: RUNS },
    );
  });
});
