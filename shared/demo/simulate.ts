/**
 * The demo retailer ("Cairn Outfitters"): a seeded, deterministic simulator of customers and the
 * Segment-spec messages their behaviour produces on four sources (docs/demo.md).
 *
 * - web: analytics.js — anonymous browsing (page, Product Viewed, …), sign-up (`identify` with the
 *   email, consent in `traits.consent`, `Signed Up`), later sessions as the signed-in user.
 * - app: the mobile app — `Application Installed` on a device anonymous id, then a login
 *   (`identify` with the same user id and the device's anonymous id), screens and orders.
 * - pos: store tills — `Order Completed` / `Coupon Redeemed` with only what a till knows: the
 *   loyalty card (`crm_id`), the e-receipt email or the phone, in `context.traits`.
 * - crm: the CRM / loyalty system — `identify` with `crm_id`, email and phone as typed at the desk
 *   (mixed case, local phone formats).
 *
 * Same seed, options and `now` → the same messages (message ids included), so a re-run is deduped.
 * Nothing here does I/O: the CLI (cli/demo.ts) sends what this returns.
 *
 * This file is the driver of the history (who does what when, over `days`); the parts: world.ts
 * (sources, stores, products, personas, seeded helpers), events.ts (the messages of a session, a
 * till purchase), live.ts (live traffic after the history). index.ts is what callers import.
 */
import type { JsonObject } from '../message';
import { APP_CONTEXT, onlineSession, orderTotal, POS_CONTEXT, storeVisit, tillIds, WEB_CONTEXT, Writer, type DemoMessage } from './events';
import {
  DAY,
  makePersona,
  NEW_STORE_OPENED_DAYS_AGO,
  pad,
  pick,
  PRODUCTS,
  rewritePhone,
  rng,
  round2,
  type DemoSourceKey,
  type Persona,
  type SimulateOptions,
} from './world';

export interface DemoHistory {
  people: Persona[];
  /** Chronological (by `timestamp`, ties by message id). */
  messages: DemoMessage[];
}

export function simulateHistory(o: SimulateOptions): DemoHistory {
  if (!(o.customers >= 1) || !(o.days >= 7)) throw new Error('simulateHistory: customers >= 1 and days >= 7');
  const r = rng(o.seed);
  const people: Persona[] = [];
  for (let i = 0; i < o.customers; i++) people.push(makePersona(i, r, o));
  // Referrals: some online customers were invited by an earlier online customer.
  const online = people.filter((p) => p.kind === 'online');
  for (const p of online) {
    if (r() < 0.12) {
      const earlier = online.filter((q) => q.acquiredAt < p.acquiredAt - DAY);
      if (earlier.length) p.referredBy = pick(r, earlier).index;
    }
  }
  const newStoreOpen = o.now - NEW_STORE_OPENED_DAYS_AGO * DAY;
  const end = o.now - 60_000;
  const orderIds = { n: 0 };
  const writers: Writer[] = [];
  const weekly = { heavy: 1.0, regular: 0.4, light: 0.2 } as const;

  for (const p of people) {
    const pr = rng((o.seed * 1_000_003 + p.index * 7919) >>> 0);
    const w = new Writer(`demo${o.seed}-${p.index}`);
    writers.push(w);
    const stopAt = Math.min(end, p.churnedAt ?? end);
    // Session times: a Poisson process from acquisition, at the tier's weekly rate.
    const times: number[] = [p.acquiredAt];
    const rate = p.kind === 'browser' ? 0.5 : weekly[p.tier];
    for (let t = p.acquiredAt; ; ) {
      t += (-Math.log(1 - pr()) / rate) * 7 * DAY;
      if (t >= stopAt) break;
      times.push(Math.round(t));
    }
    if (p.kind === 'browser') times.splice(3);
    const redemptions: number[] = [];
    let signedUp = false;
    let appInstalled = false;
    let loyaltyJoined = false;

    const joinLoyalty = (at: number) => {
      if (loyaltyJoined || !p.crmId) return;
      loyaltyJoined = true;
      w.push('crm', p, at, {
        type: 'identify',
        anonymousId: `crm-${p.crmId}`,
        context: { library: { name: 'cairn-demo-crm', version: '1.0.0' } },
        traits: {
          crm_id: p.crmId,
          email: p.emailAsTyped,
          phone: rewritePhone(p.phone, pr),
          firstName: p.firstName,
          lastName: p.lastName,
          loyalty_tier: pick(pr, ['member', 'member', 'silver', 'gold']),
          home_store: p.homeStore,
          consent: { email: p.consent.email, sms: p.consent.sms },
        },
      });
    };

    for (const [i, at] of times.entries()) {
      if (at >= end) break;
      p.facts.sessions++;
      if (p.kind === 'browser') {
        onlineSession(w, pr, p, at, 'web', false, orderIds);
        continue;
      }
      if (p.kind === 'store') {
        joinLoyalty(at - 120_000);
        const store = p.homeStore === 'SH-001' && at < newStoreOpen ? 'BR-002' : p.homeStore;
        const back = storeVisit(w, pr, p, at, store, orderIds, newStoreOpen);
        if (back !== undefined) redemptions.push(back);
        continue;
      }
      // Online customers: the first session is anonymous browsing that ends in a sign-up.
      if (!signedUp) {
        let t = onlineSession(w, pr, p, at, 'web', false, orderIds) + 40_000;
        signedUp = true;
        const ref = p.referredBy !== undefined ? `REF-${people[p.referredBy]!.userId}` : undefined;
        w.push('web', p, t, {
          type: 'identify',
          userId: p.userId!,
          anonymousId: p.webAnonymousId,
          context: WEB_CONTEXT(p, '/signup', 'Create account'),
          traits: {
            email: p.email,
            firstName: p.firstName,
            lastName: p.lastName,
            ...(pr() < 0.6 ? { phone: p.phone } : {}),
            consent: { email: p.consent.email, sms: p.consent.sms },
          },
        });
        t += 1000;
        w.push('web', p, t, {
          type: 'track',
          event: 'Signed Up',
          userId: p.userId!,
          anonymousId: p.webAnonymousId,
          context: WEB_CONTEXT(p, '/signup', 'Create account'),
          properties: { method: 'email', ...(ref ? { referral_code: ref } : {}) },
        });
        continue;
      }
      // Later: the app (installed on a device that starts anonymous, then logs in), the web, or a store.
      if (p.appAnonymousId && !appInstalled && i >= 1 && pr() < 0.6) {
        appInstalled = true;
        w.push('app', p, at, {
          type: 'track',
          event: 'Application Installed',
          anonymousId: p.appAnonymousId,
          context: APP_CONTEXT(p),
          properties: { version: '5.2.0', build: '5210' },
        });
        w.push('app', p, at + 45_000, {
          type: 'identify',
          userId: p.userId!,
          anonymousId: p.appAnonymousId,
          context: APP_CONTEXT(p),
          traits: { email: p.email },
        });
        onlineSession(w, pr, p, at + 60_000, 'app', true, orderIds);
        continue;
      }
      const x = pr();
      if (p.crmId && x < 0.35) {
        joinLoyalty(at - 300_000);
        const store = p.homeStore === 'SH-001' && at < newStoreOpen ? 'BR-002' : p.homeStore;
        const back = storeVisit(w, pr, p, at, store, orderIds, newStoreOpen);
        if (back !== undefined) redemptions.push(back);
        continue;
      }
      const t = onlineSession(w, pr, p, at, appInstalled && x < 0.7 ? 'app' : 'web', true, orderIds);
      if (pr() < 0.06) {
        p.facts.referrals++;
        w.push('web', p, t + 20_000, {
          type: 'track',
          event: 'Referral Sent',
          userId: p.userId!,
          anonymousId: p.webAnonymousId,
          context: WEB_CONTEXT(p, '/refer', 'Invite a friend'),
          properties: { referral_code: `REF-${p.userId}`, channel: pick(pr, ['email', 'whatsapp', 'link']) },
        });
      }
    }
    // Coupon redemptions at the new store (the example journey's exit event), with the purchase they go with.
    for (const at of redemptions) {
      if (at >= end) continue;
      p.facts.redeemedCoupon = true;
      const ids = tillIds(pr, p);
      const bigOrder = w.out.find(
        (m) =>
          m.message.event === 'Order Completed' &&
          (m.message.properties as JsonObject).store_id === 'SH-001' &&
          Number((m.message.properties as JsonObject).total) >= 500,
      );
      const code = `${(bigOrder?.message.properties as JsonObject | undefined)?.order_id ?? 'SH-001'}-GIFT`;
      w.push('pos', p, at, {
        type: 'track',
        event: 'Coupon Redeemed',
        anonymousId: p.posCustomerId!,
        context: POS_CONTEXT('SH-001', ids),
        properties: { coupon: code, discount: 50, currency: 'USD', store_id: 'SH-001' },
      });
      const items = [pick(pr, PRODUCTS.slice(0, 10))];
      const total = Math.max(0, orderTotal(pr, items) - 50);
      w.push('pos', p, at + 90_000, {
        type: 'track',
        event: 'Order Completed',
        anonymousId: p.posCustomerId!,
        context: POS_CONTEXT('SH-001', ids),
        properties: {
          order_id: `SH-001-${pad(++orderIds.n, 7)}`,
          total,
          currency: 'USD',
          store_id: 'SH-001',
          coupon: code,
          products: items.map((c) => ({ product_id: c.id, price: c.price, quantity: 1 })),
        },
      });
      p.facts.orders++;
      p.facts.revenue = round2(p.facts.revenue + total);
    }
  }
  const messages = writers.flatMap((w) => w.out).filter((m) => Date.parse(String(m.message.timestamp)) < o.now);
  messages.sort((a, b) => {
    const ta = String(a.message.timestamp);
    const tb = String(b.message.timestamp);
    return ta < tb ? -1 : ta > tb ? 1 : String(a.message.messageId) < String(b.message.messageId) ? -1 : 1;
  });
  return { people, messages };
}

/** People worth opening in the demo's summary. */
export function interestingPeople(h: DemoHistory, now: number): { crossChannel?: Persona; bigSpender?: Persona; churned?: Persona; couponRedeemer?: Persona } {
  const byRevenue = [...h.people].sort((a, b) => b.facts.revenue - a.facts.revenue || a.index - b.index);
  const taken = new Set<number>();
  const first = (f: (p: Persona) => boolean) => {
    const p = byRevenue.find((q) => !taken.has(q.index) && f(q));
    if (p) taken.add(p.index);
    return p;
  };
  return {
    crossChannel: first((p) => p.kind === 'online' && ['web', 'app', 'pos', 'crm'].every((s) => p.facts.sources.has(s as DemoSourceKey))),
    bigSpender: first((p) => p.consent.email && p.kind !== 'browser'),
    churned: first((p) => p.churnedAt !== undefined && p.facts.orders > 0 && p.churnedAt < now - 61 * DAY),
    couponRedeemer: first((p) => p.facts.redeemedCoupon),
  };
}
