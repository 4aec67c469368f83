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
 */
import { mulberry32 } from '../random';
import type { JsonObject } from '../message/types';

export type DemoSourceKey = 'web' | 'app' | 'pos' | 'crm';

/** The demo's sources: their ids in the lake (`source_id`) and write keys. */
export const DEMO_SOURCES: Record<DemoSourceKey, { sourceId: string; name: string; writeKey: string }> = {
  web: { sourceId: 'demo-web', name: 'Demo: website (analytics.js)', writeKey: 'demo-web-write-key' },
  app: { sourceId: 'demo-app', name: 'Demo: mobile app', writeKey: 'demo-app-write-key' },
  pos: { sourceId: 'demo-pos', name: 'Demo: store tills (POS)', writeKey: 'demo-pos-write-key' },
  crm: { sourceId: 'demo-crm', name: 'Demo: CRM / loyalty', writeKey: 'demo-crm-write-key' },
};

export const DEMO_STORES = [
  { id: 'SH-001', name: 'Shoreditch (new store)' },
  { id: 'BR-002', name: 'Brooklyn' },
  { id: 'CA-003', name: 'Castro' },
] as const;
/** The new store opened this many days before `now` (the example journey is about its big first purchases). */
export const NEW_STORE_OPENED_DAYS_AGO = 40;

const PRODUCTS = [
  { id: 'P-100', name: 'Trail Runner Shoes', category: 'Footwear', price: 129 },
  { id: 'P-101', name: 'Merino Base Layer', category: 'Apparel', price: 79 },
  { id: 'P-102', name: 'Rain Shell Jacket', category: 'Apparel', price: 189 },
  { id: 'P-103', name: 'Daypack 22L', category: 'Bags', price: 95 },
  { id: 'P-104', name: 'Wool Socks (3 pack)', category: 'Apparel', price: 24 },
  { id: 'P-105', name: 'Headlamp 400', category: 'Gear', price: 45 },
  { id: 'P-106', name: 'Insulated Bottle', category: 'Gear', price: 32 },
  { id: 'P-107', name: 'Down Jacket', category: 'Apparel', price: 249 },
  { id: 'P-108', name: 'Hiking Boots', category: 'Footwear', price: 219 },
  { id: 'P-109', name: 'Trekking Poles', category: 'Gear', price: 89 },
  { id: 'P-110', name: '2-Person Tent', category: 'Camping', price: 429 },
  { id: 'P-111', name: 'Sleeping Bag -5C', category: 'Camping', price: 299 },
] as const;
type Product = (typeof PRODUCTS)[number];

const FIRST = ['Ada', 'Ben', 'Chloe', 'Diego', 'Elena', 'Farah', 'Gus', 'Hana', 'Ivan', 'Jade', 'Kofi', 'Lena', 'Mateo', 'Nina', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Uma', 'Victor', 'Wen', 'Xavi', 'Yara', 'Zane', 'Amara', 'Bruno', 'Cleo', 'Dev'];
const LAST = ['Lovelace', 'Okafor', 'Martin', 'Silva', 'Novak', 'Haddad', 'Berg', 'Tanaka', 'Petrov', 'Quinn', 'Mensah', 'Fischer', 'Rossi', 'Kowalski', 'Farouk', 'Patel', 'Byrne', 'Garcia', 'Lind', 'Moreau', 'Reyes', 'Costa', 'Zhang', 'Ortiz', 'Nasser', 'Walsh', 'Osei', 'Dubois', 'Kim', 'Shah'];
const DOMAINS = ['example.com', 'example.org', 'example.net'];
const AREA_CODES = ['212', '415', '312', '617', '206', '503', '718', '646'];

export type PersonaKind = 'online' | 'store' | 'browser';

export interface Persona {
  index: number;
  kind: PersonaKind;
  firstName: string;
  lastName: string;
  /** Normalised (lower-case) email; the CRM writes it as typed (`emailAsTyped`). */
  email: string;
  emailAsTyped: string;
  /** The phone as the customer wrote it (US local formats); normalised to E.164 by Cairn. */
  phone: string;
  /** Signed-up customers only. */
  userId?: string;
  /** Loyalty card / CRM number; store shoppers only. */
  crmId?: string;
  webAnonymousId: string;
  appAnonymousId?: string;
  /** The till's customer reference for this person (stable per person). */
  posCustomerId?: string;
  homeStore: string;
  consent: { email: boolean; sms: boolean };
  /** Epoch ms. */
  acquiredAt: number;
  /** Epoch ms of the last activity when the person churned (stopped coming back). */
  churnedAt?: number;
  tier: 'heavy' | 'regular' | 'light';
  referredBy?: number;
  /** What the history gave this person (filled while generating). */
  facts: { orders: number; revenue: number; sessions: number; sources: Set<DemoSourceKey>; bigNewStoreOrder: boolean; redeemedCoupon: boolean; referrals: number };
}

export interface DemoMessage {
  source: DemoSourceKey;
  message: JsonObject;
}

export interface SimulateOptions {
  /** People simulated (signed-up online customers, store-only loyalty members, anonymous browsers). */
  customers: number;
  /** Days of history before `now`. */
  days: number;
  seed: number;
  /** Epoch ms the history ends at. */
  now: number;
}

export interface DemoHistory {
  people: Persona[];
  /** Chronological (by `timestamp`, ties by message id). */
  messages: DemoMessage[];
}

/** The demo's PRNG (shared/random.ts): same seed → same history. */
export const rng = mulberry32;
type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: Rand, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const uuid = (r: Rand) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${pick(r, ['8', '9', 'a', 'b'])}${hex(r, 3)}-${hex(r, 12)}`;
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const DAY = 86_400_000;
const round2 = (x: number) => Math.round(x * 100) / 100;

function localPhone(r: Rand): string {
  const area = pick(r, AREA_CODES);
  const ex = String(int(r, 201, 989)).replace(/^555$/, '556');
  const line = pad(int(r, 0, 9999), 4);
  switch (int(r, 0, 4)) {
    case 0: return `(${area}) ${ex}-${line}`;
    case 1: return `${area}.${ex}.${line}`;
    case 2: return `${area}-${ex}-${line}`;
    case 3: return `+1 ${area} ${ex} ${line}`;
    default: return `${area}${ex}${line}`;
  }
}

/** Another way of writing the same US number (what a second system typed). */
function rewritePhone(phone: string, r: Rand): string {
  const d = phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');
  const [a, b, c] = [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
  return pick(r, [`(${a}) ${b}-${c}`, `${a}.${b}.${c}`, `+1 ${a} ${b} ${c}`, `${a}${b}${c}`]);
}

function makePersona(index: number, r: Rand, o: SimulateOptions): Persona {
  const x = r();
  const kind: PersonaKind = x < 0.15 ? 'browser' : x < 0.33 ? 'store' : 'online';
  const firstName = pick(r, FIRST);
  const lastName = pick(r, LAST);
  const email = `${firstName}.${lastName}${index}@${pick(r, DOMAINS)}`.toLowerCase();
  const emailAsTyped = r() < 0.3 ? `${firstName}.${lastName}${index}@${email.split('@')[1]!.replace(/^e/, 'E')}` : email;
  const shopsInStore = kind === 'store' || (kind === 'online' && r() < 0.4);
  const t = r();
  const tier = t < 0.2 ? 'heavy' : t < 0.6 ? 'regular' : 'light';
  // Acquisition spread over the whole period, a little denser recently (a growing business).
  const acquiredAgo = (1 - Math.pow(r(), 1.2)) * (o.days - 0.5) + 0.25;
  const acquiredAt = Math.round(o.now - acquiredAgo * DAY - r() * 3_600_000);
  // About a third churn: active for one to five weeks, then gone.
  const churnedAt = r() < 0.35 ? acquiredAt + int(r, 7, 35) * DAY : undefined;
  const p: Persona = {
    index,
    kind,
    firstName,
    lastName,
    email,
    emailAsTyped,
    phone: localPhone(r),
    webAnonymousId: uuid(r),
    homeStore: pick(r, DEMO_STORES).id,
    consent: { email: r() < 0.8, sms: r() < 0.45 },
    acquiredAt,
    churnedAt: churnedAt !== undefined && churnedAt < o.now - DAY ? churnedAt : undefined,
    tier,
    facts: { orders: 0, revenue: 0, sessions: 0, sources: new Set(), bigNewStoreOrder: false, redeemedCoupon: false, referrals: 0 },
  };
  if (kind === 'online') {
    p.userId = `cust-${pad(index + 1, 6)}`;
    if (r() < 0.45) p.appAnonymousId = uuid(r);
  }
  if (shopsInStore) {
    p.crmId = `L${pad(100000 + index * 7, 7)}`;
    p.posCustomerId = `pos-${hex(r, 10)}`;
  }
  return p;
}

/** Builds messages for one person; every timestamp strictly before `now`. */
class Writer {
  readonly out: DemoMessage[] = [];
  private k = 0;
  constructor(private readonly prefix: string) {}
  push(source: DemoSourceKey, p: Persona | undefined, at: number, m: JsonObject): void {
    const message: JsonObject = { messageId: `${this.prefix}-${this.k++}`, timestamp: new Date(at).toISOString(), ...m };
    this.out.push({ source, message });
    if (p) p.facts.sources.add(source);
  }
}

const WEB_CONTEXT = (p: Persona, path: string, title: string): JsonObject => ({
  library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
  page: { path, url: `https://shop.cairn-outfitters.example${path}`, title },
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15',
  locale: 'en-US',
  ...(p.referredBy !== undefined ? { campaign: { source: 'referral', medium: 'friend' } } : {}),
});
const APP_CONTEXT = (p: Persona): JsonObject => ({
  library: { name: p.index % 2 ? 'analytics-ios' : 'analytics-android', version: '4.1.9' },
  app: { name: 'Cairn Outfitters', version: '5.2.0', build: '5210' },
  device: { id: p.appAnonymousId ?? null, type: p.index % 2 ? 'ios' : 'android', manufacturer: p.index % 2 ? 'Apple' : 'Google' },
  os: { name: p.index % 2 ? 'iOS' : 'Android', version: p.index % 2 ? '17.5' : '14' },
});
const POS_CONTEXT = (store: string, ids: JsonObject): JsonObject => ({
  library: { name: 'cairn-demo-pos', version: '1.0.0' },
  channel: 'store',
  location: { store_id: store },
  traits: ids,
});

function orderTotal(r: Rand, items: Product[]): number {
  return round2(items.reduce((s, it) => s + it.price, 0) * (r() < 0.2 ? 0.85 : 1));
}

/** One online session (web, or app when the person has it): browse, maybe cart, checkout, order. */
function onlineSession(w: Writer, r: Rand, p: Persona, at: number, channel: 'web' | 'app', signedIn: boolean, orderIds: { n: number }): number {
  const who: JsonObject = channel === 'app' ? { anonymousId: p.appAnonymousId! } : { anonymousId: p.webAnonymousId };
  if (signedIn && p.userId) who.userId = p.userId;
  const ctx = (path: string, title: string) => (channel === 'app' ? APP_CONTEXT(p) : WEB_CONTEXT(p, path, title));
  let t = at;
  const step = () => (t += int(r, 15, 150) * 1000);
  if (channel === 'app') w.push('app', p, t, { type: 'screen', name: 'Home', ...who, context: ctx('/', 'Home'), properties: {} });
  else w.push('web', p, t, { type: 'page', name: 'Home', ...who, context: ctx('/', 'Home'), properties: { path: '/', title: 'Home' } });
  const views = int(r, 1, p.tier === 'heavy' ? 3 : 2);
  const seen: Product[] = [];
  for (let i = 0; i < views; i++) {
    const prod = pick(r, PRODUCTS);
    seen.push(prod);
    step();
    const path = `/products/${prod.id.toLowerCase()}`;
    w.push(channel, p, t, { type: 'track', event: 'Product Viewed', ...who, context: ctx(path, prod.name), properties: { product_id: prod.id, name: prod.name, category: prod.category, price: prod.price } });
  }
  const buyer = p.tier === 'heavy' ? 0.55 : p.tier === 'regular' ? 0.4 : 0.3;
  if (!(r() < buyer)) return t;
  const cart = seen.slice(0, int(r, 1, seen.length));
  for (const prod of cart) w.push(channel, p, step(), { type: 'track', event: 'Added to Cart', ...who, context: ctx('/cart', 'Cart'), properties: { product_id: prod.id, price: prod.price, quantity: 1 } });
  if (!(r() < 0.7) || !signedIn) return t;
  const total = orderTotal(r, cart);
  w.push(channel, p, step(), { type: 'track', event: 'Checkout Started', ...who, context: ctx('/checkout', 'Checkout'), properties: { value: total, currency: 'USD' } });
  if (!(r() < 0.8)) return t;
  const orderId = `${channel === 'app' ? 'A' : 'W'}-${pad(++orderIds.n, 7)}`;
  w.push(channel, p, step(), {
    type: 'track', event: 'Order Completed', ...who, context: ctx('/checkout/done', 'Thank you'),
    properties: { order_id: orderId, total, currency: 'USD', store_id: 'ONLINE', products: cart.map((c) => ({ product_id: c.id, price: c.price, quantity: 1 })) },
  });
  p.facts.orders++;
  p.facts.revenue = round2(p.facts.revenue + total);
  return t;
}

/** The identifiers a till records for this purchase: loyalty card, e-receipt email or phone. */
function tillIds(r: Rand, p: Persona): JsonObject {
  const x = r();
  if (p.crmId && x < 0.5) return { crm_id: p.crmId };
  if (x < 0.8) return { email: p.email };
  return { phone: rewritePhone(p.phone, r) };
}

/** A purchase at a till; answers when the person comes back to redeem the new store's coupon, if they do. */
function storeVisit(w: Writer, r: Rand, p: Persona, at: number, store: string, orderIds: { n: number }, newStoreOpen: number): number | undefined {
  const items: Product[] = Array.from({ length: int(r, 1, 3) }, () => pick(r, PRODUCTS.slice(0, 10)));
  // The new store's opening offer: some first visits there are big purchases (tents, sleeping bags).
  const firstAtNewStore = store === 'SH-001' && !p.facts.bigNewStoreOrder && at >= newStoreOpen;
  if (firstAtNewStore && r() < 0.3) {
    items.push(PRODUCTS[10], PRODUCTS[11]);
    if (r() < 0.5) items.push(PRODUCTS[7]);
  }
  const total = orderTotal(r, items);
  const orderId = `${store}-${pad(++orderIds.n, 7)}`;
  w.push('pos', p, at, {
    type: 'track', event: 'Order Completed', anonymousId: p.posCustomerId!, context: POS_CONTEXT(store, tillIds(r, p)),
    properties: { order_id: orderId, total, currency: 'USD', store_id: store, payment: pick(r, ['card', 'card', 'cash', 'wallet']), products: items.map((c) => ({ product_id: c.id, price: c.price, quantity: 1 })) },
  });
  p.facts.orders++;
  p.facts.revenue = round2(p.facts.revenue + total);
  if (store === 'SH-001' && total >= 500 && !p.facts.bigNewStoreOrder) {
    p.facts.bigNewStoreOrder = true;
    // The example journey emails a code `<order_id>-GIFT` (with email consent); some come back for it.
    if (p.consent.email && r() < 0.45) {
      return at + int(r, 1, 6) * DAY + int(r, 1, 8) * 3_600_000;
    }
  }
  return undefined;
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
        type: 'identify', anonymousId: `crm-${p.crmId}`, context: { library: { name: 'cairn-demo-crm', version: '1.0.0' } },
        traits: { crm_id: p.crmId, email: p.emailAsTyped, phone: rewritePhone(p.phone, pr), firstName: p.firstName, lastName: p.lastName, loyalty_tier: pick(pr, ['member', 'member', 'silver', 'gold']), home_store: p.homeStore, consent: { email: p.consent.email, sms: p.consent.sms } },
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
          type: 'identify', userId: p.userId!, anonymousId: p.webAnonymousId, context: WEB_CONTEXT(p, '/signup', 'Create account'),
          traits: { email: p.email, firstName: p.firstName, lastName: p.lastName, ...(pr() < 0.6 ? { phone: p.phone } : {}), consent: { email: p.consent.email, sms: p.consent.sms } },
        });
        t += 1000;
        w.push('web', p, t, { type: 'track', event: 'Signed Up', userId: p.userId!, anonymousId: p.webAnonymousId, context: WEB_CONTEXT(p, '/signup', 'Create account'), properties: { method: 'email', ...(ref ? { referral_code: ref } : {}) } });
        continue;
      }
      // Later: the app (installed on a device that starts anonymous, then logs in), the web, or a store.
      if (p.appAnonymousId && !appInstalled && i >= 1 && pr() < 0.6) {
        appInstalled = true;
        w.push('app', p, at, { type: 'track', event: 'Application Installed', anonymousId: p.appAnonymousId, context: APP_CONTEXT(p), properties: { version: '5.2.0', build: '5210' } });
        w.push('app', p, at + 45_000, { type: 'identify', userId: p.userId!, anonymousId: p.appAnonymousId, context: APP_CONTEXT(p), traits: { email: p.email } });
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
        w.push('web', p, t + 20_000, { type: 'track', event: 'Referral Sent', userId: p.userId!, anonymousId: p.webAnonymousId, context: WEB_CONTEXT(p, '/refer', 'Invite a friend'), properties: { referral_code: `REF-${p.userId}`, channel: pick(pr, ['email', 'whatsapp', 'link']) } });
      }
    }
    // Coupon redemptions at the new store (the example journey's exit event), with the purchase they go with.
    for (const at of redemptions) {
      if (at >= end) continue;
      p.facts.redeemedCoupon = true;
      const ids = tillIds(pr, p);
      const bigOrder = w.out.find((m) => m.message.event === 'Order Completed' && (m.message.properties as JsonObject).store_id === 'SH-001' && Number((m.message.properties as JsonObject).total) >= 500);
      const code = `${(bigOrder?.message.properties as JsonObject | undefined)?.order_id ?? 'SH-001'}-GIFT`;
      w.push('pos', p, at, { type: 'track', event: 'Coupon Redeemed', anonymousId: p.posCustomerId!, context: POS_CONTEXT('SH-001', ids), properties: { coupon: code, discount: 50, currency: 'USD', store_id: 'SH-001' } });
      const items = [pick(pr, PRODUCTS.slice(0, 10))];
      const total = Math.max(0, orderTotal(pr, items) - 50);
      w.push('pos', p, at + 90_000, {
        type: 'track', event: 'Order Completed', anonymousId: p.posCustomerId!, context: POS_CONTEXT('SH-001', ids),
        properties: { order_id: `SH-001-${pad(++orderIds.n, 7)}`, total, currency: 'USD', store_id: 'SH-001', coupon: code, products: items.map((c) => ({ product_id: c.id, price: c.price, quantity: 1 })) },
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

/**
 * Live traffic: one short burst of activity at `now` (a session of a known customer, a new visitor,
 * a store purchase, sometimes a big purchase at the new store followed shortly by its coupon).
 * Message ids are random (live messages are new every time).
 */
export class LiveTraffic {
  private readonly r: Rand;
  private readonly pending: { at: number; m: DemoMessage }[] = [];
  private next: number;
  private readonly orderIds = { n: 9_000_000 };
  constructor(private readonly people: Persona[], seed: number, private readonly newId: () => string) {
    this.r = rng(seed ^ 0x5eed);
    this.next = people.length;
  }

  /** Messages due by `now`, generating about `count` new ones. */
  tick(now: number, count: number): DemoMessage[] {
    const out: DemoMessage[] = [];
    while (out.length < count) {
      const w = new Writer('live');
      const x = this.r();
      const known = this.people.filter((p) => p.kind !== 'browser');
      if (x < 0.15 || !known.length) {
        // A new visitor; a third of them sign up.
        const p = makePersona(this.next++, this.r, { customers: 1, days: 7, seed: 0, now });
        p.kind = 'online';
        p.userId = `cust-${pad(p.index + 1, 6)}`;
        let t = onlineSession(w, this.r, p, now - 60_000, 'web', false, this.orderIds);
        if (this.r() < 0.35) {
          t += 2000;
          w.push('web', p, t, { type: 'identify', userId: p.userId, anonymousId: p.webAnonymousId, context: WEB_CONTEXT(p, '/signup', 'Create account'), traits: { email: p.email, firstName: p.firstName, lastName: p.lastName, consent: p.consent } });
          w.push('web', p, t + 500, { type: 'track', event: 'Signed Up', userId: p.userId, anonymousId: p.webAnonymousId, context: WEB_CONTEXT(p, '/signup', 'Create account'), properties: { method: 'email' } });
          this.people.push(p);
        }
      } else if (x < 0.35) {
        const p = pick(this.r, known.filter((q) => q.posCustomerId) as Persona[]) ?? pick(this.r, known);
        if (!p.posCustomerId) continue;
        const store = this.r() < 0.5 ? 'SH-001' : p.homeStore;
        const had = p.facts.bigNewStoreOrder;
        p.facts.bigNewStoreOrder = false; // let the opening offer happen live too
        const back = storeVisit(w, this.r, p, now - 5_000, store, this.orderIds, 0);
        if (had) p.facts.bigNewStoreOrder = true;
        if (back !== undefined) {
          // Redeem the coupon a little later (seconds, not days: it is a demo), so the journey's exit shows.
          const ids = tillIds(this.r, p);
          const last = w.out[w.out.length - 1]!.message.properties as JsonObject;
          const due = now + int(this.r, 20, 60) * 1000;
          this.pending.push({ at: due, m: { source: 'pos', message: { type: 'track', event: 'Coupon Redeemed', anonymousId: p.posCustomerId, context: POS_CONTEXT('SH-001', ids), properties: { coupon: `${last.order_id}-GIFT`, discount: 50, currency: 'USD', store_id: 'SH-001' } } } });
        }
      } else {
        const p = pick(this.r, known.filter((q) => q.userId));
        if (!p) continue;
        onlineSession(w, this.r, p, now - 30_000, p.appAnonymousId && this.r() < 0.5 ? 'app' : 'web', true, this.orderIds);
      }
      for (const m of w.out) out.push(m);
    }
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const it = this.pending[i]!;
      if (it.at > now) continue;
      this.pending.splice(i, 1);
      out.push({ source: it.m.source, message: { ...it.m.message, timestamp: new Date(now).toISOString() } });
    }
    // Live timestamps are within the last minute; message ids are fresh.
    for (const m of out) {
      m.message.messageId = this.newId();
      if (Date.parse(String(m.message.timestamp)) > now) m.message.timestamp = new Date(now).toISOString();
    }
    return out;
  }
}
