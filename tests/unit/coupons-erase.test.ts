/**
 * Erasure of a person's coupon links (shared/coupons/erase.ts, issue 13): after it no item of the
 * coupons table holds their profile id, their codes keep their status (never issued again, still
 * counted), and a run cut short is finished by the next.
 */
import { describe, expect, it } from 'vitest';
import { canonicalCode, eraseCouponHolder, issueCoupon, loadCodes, redeemCoupon, type CouponStore } from '#shared/coupons';
import { MemoryCouponStore } from '#shared/coupons/memory-store';

const NOW = Date.parse('2025-03-01T10:00:00Z');
const EVE = 'p-eve';
const FINN = 'p-finn';
const to = (profileId: string, runId: string, stepId = 'gift') => ({ journeyId: 'welcome-coupon', stepId, runId, profileId });
const dump = (s: MemoryCouponStore) => JSON.stringify([...s.codes.values(), ...s.issues.values(), ...s.holders.keys()]);

async function world() {
  const store = new MemoryCouponStore();
  await loadCodes(store, 'spring', ['SPRING-0001', 'SPRING-0002', 'SPRING-0003', 'SPRING-0004'], { now: NOW });
  await loadCodes(store, 'gone', ['GONE-0001'], { now: NOW });
  const eve = await issueCoupon(store, 'spring', to(EVE, 'r-eve'), NOW);
  const finn = await issueCoupon(store, 'spring', to(FINN, 'r-finn'), NOW);
  // Her run of another step found its pool empty (an issue item with no code, naming her).
  await issueCoupon(store, 'gone', to(FINN, 'r-x'), NOW);
  expect(await issueCoupon(store, 'gone', to(EVE, 'r-eve', 'late'), NOW)).toMatchObject({ status: 'empty' });
  if (eve.status !== 'issued' || finn.status !== 'issued') throw new Error('not issued');
  // She redeems her own code and one the shop handed out itself (never issued).
  const r = (profileId: string, messageId: string) => ({ at: new Date(NOW).toISOString(), messageId, profileId });
  expect(await redeemCoupon(store, eve.code, 'welcome-coupon', r(EVE, 'm1'))).toMatchObject({ status: 'redeemed' });
  expect(await redeemCoupon(store, 'SPRING-0004', 'welcome-coupon', r(EVE, 'm2'))).toMatchObject({ status: 'redeemed' });
  return { store, eveCode: eve.code, finnCode: finn.code };
}

describe('erasing a person from the coupons table', () => {
  it('leaves no item with their profile id; their codes stay issued and redeemed; others untouched', async () => {
    const { store, eveCode: eveShown, finnCode: finnShown } = await world();
    const [eveCode, finnCode] = [canonicalCode(eveShown), canonicalCode(finnShown)];
    expect(dump(store)).toContain(EVE);
    const stats = await store.getPoolStats('spring');
    // Her code (profile id and redeemer), the unissued code's redeemer, two issue items.
    expect(await eraseCouponHolder(store, EVE)).toBe(4);
    expect(dump(store)).not.toContain(EVE);
    expect(await store.getCode(eveCode)).toMatchObject({ issuedAt: expect.any(String), redeemedAt: expect.any(String), runId: 'r-eve' });
    expect(await store.getCode(canonicalCode('SPRING-0004'))).toMatchObject({ redeemedAt: expect.any(String) });
    expect(await store.getPoolStats('spring')).toEqual(stats);
    // Never issued again: not by a retry of another run, not by the pool (its positions are taken).
    const code = (await store.getCode(eveCode))!;
    expect(await store.markIssued(eveCode, code.pool, code.position, { ...to('p-other', 'r-other'), issuedAt: 'x' })).toBe(false);
    const next = await issueCoupon(store, 'spring', to('p-other', 'r-other'), NOW);
    expect(next).toMatchObject({ status: 'issued' });
    expect([eveShown, finnShown, 'SPRING-0004']).not.toContain(next.status === 'issued' && next.code);
    // Finn's items as they were.
    expect(await store.getCode(finnCode)).toMatchObject({ profileId: FINN });
    expect(await store.getIssue('r-finn', 'gift')).toMatchObject({ profileId: FINN });
    expect(store.holders.has(FINN)).toBe(true);
    // Re-runnable: nothing left to do.
    expect(await eraseCouponHolder(store, EVE)).toBe(0);
  });

  it('a run cut short is finished by the next one', async () => {
    const { store } = await world();
    let failed = false;
    const flaky = new Proxy(store, {
      get(t, k, recv) {
        const v = Reflect.get(t, k, recv);
        if (k === 'deleteIssue' && !failed) {
          return async (...a: unknown[]) => {
            failed = true;
            await (v as (...x: unknown[]) => Promise<boolean>).apply(t, a);
            throw new Error('timeout');
          };
        }
        return typeof v === 'function' ? v.bind(t) : v;
      },
    }) as CouponStore;
    await expect(eraseCouponHolder(flaky, EVE)).rejects.toThrow('timeout');
    expect(dump(store)).toContain(EVE);
    await eraseCouponHolder(store, EVE);
    expect(dump(store)).not.toContain(EVE);
  });
});
