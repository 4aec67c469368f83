/**
 * The demo's event generators: the Segment-spec messages one person's activity produces on each
 * source — an online session on the web (analytics.js) or in the app (browse, cart, checkout,
 * order), a purchase at a store till with only what a till knows (loyalty card, e-receipt email or
 * phone), and the Writer that stamps them with deterministic message ids. Used by the history
 * (simulate.ts) and by live traffic (live.ts).
 */
import type { JsonObject } from '../message';
import { DAY, int, pad, pick, PRODUCTS, rewritePhone, round2, type DemoSourceKey, type Persona, type Product, type Rand } from './world';

export interface DemoMessage {
  source: DemoSourceKey;
  message: JsonObject;
}

/** Builds messages for one person; every timestamp strictly before `now`. */
export class Writer {
  readonly out: DemoMessage[] = [];
  private k = 0;
  constructor(private readonly prefix: string) {}
  push(source: DemoSourceKey, p: Persona | undefined, at: number, m: JsonObject): void {
    const message: JsonObject = { messageId: `${this.prefix}-${this.k++}`, timestamp: new Date(at).toISOString(), ...m };
    this.out.push({ source, message });
    if (p) p.facts.sources.add(source);
  }
}

export const WEB_CONTEXT = (p: Persona, path: string, title: string): JsonObject => ({
  library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
  page: { path, url: `https://shop.cairn-outfitters.example${path}`, title },
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15',
  locale: 'en-US',
  ...(p.referredBy !== undefined ? { campaign: { source: 'referral', medium: 'friend' } } : {}),
});
export const APP_CONTEXT = (p: Persona): JsonObject => ({
  library: { name: p.index % 2 ? 'analytics-ios' : 'analytics-android', version: '4.1.9' },
  app: { name: 'Cairn Outfitters', version: '5.2.0', build: '5210' },
  device: { id: p.appAnonymousId ?? null, type: p.index % 2 ? 'ios' : 'android', manufacturer: p.index % 2 ? 'Apple' : 'Google' },
  os: { name: p.index % 2 ? 'iOS' : 'Android', version: p.index % 2 ? '17.5' : '14' },
});
export const POS_CONTEXT = (store: string, ids: JsonObject): JsonObject => ({
  library: { name: 'cairn-demo-pos', version: '1.0.0' },
  channel: 'store',
  location: { store_id: store },
  traits: ids,
});

export function orderTotal(r: Rand, items: Product[]): number {
  return round2(items.reduce((s, it) => s + it.price, 0) * (r() < 0.2 ? 0.85 : 1));
}

/** One online session (web, or app when the person has it): browse, maybe cart, checkout, order. */
export function onlineSession(w: Writer, r: Rand, p: Persona, at: number, channel: 'web' | 'app', signedIn: boolean, orderIds: { n: number }): number {
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
    w.push(channel, p, t, {
      type: 'track',
      event: 'Product Viewed',
      ...who,
      context: ctx(path, prod.name),
      properties: { product_id: prod.id, name: prod.name, category: prod.category, price: prod.price },
    });
  }
  const buyer = p.tier === 'heavy' ? 0.55 : p.tier === 'regular' ? 0.4 : 0.3;
  if (!(r() < buyer)) return t;
  const cart = seen.slice(0, int(r, 1, seen.length));
  for (const prod of cart)
    w.push(channel, p, step(), {
      type: 'track',
      event: 'Added to Cart',
      ...who,
      context: ctx('/cart', 'Cart'),
      properties: { product_id: prod.id, price: prod.price, quantity: 1 },
    });
  if (!(r() < 0.7) || !signedIn) return t;
  const total = orderTotal(r, cart);
  w.push(channel, p, step(), {
    type: 'track',
    event: 'Checkout Started',
    ...who,
    context: ctx('/checkout', 'Checkout'),
    properties: { value: total, currency: 'USD' },
  });
  if (!(r() < 0.8)) return t;
  const orderId = `${channel === 'app' ? 'A' : 'W'}-${pad(++orderIds.n, 7)}`;
  w.push(channel, p, step(), {
    type: 'track',
    event: 'Order Completed',
    ...who,
    context: ctx('/checkout/done', 'Thank you'),
    properties: {
      order_id: orderId,
      total,
      currency: 'USD',
      store_id: 'ONLINE',
      products: cart.map((c) => ({ product_id: c.id, price: c.price, quantity: 1 })),
    },
  });
  p.facts.orders++;
  p.facts.revenue = round2(p.facts.revenue + total);
  return t;
}

/** The identifiers a till records for this purchase: loyalty card, e-receipt email or phone. */
export function tillIds(r: Rand, p: Persona): JsonObject {
  const x = r();
  if (p.crmId && x < 0.5) return { crm_id: p.crmId };
  if (x < 0.8) return { email: p.email };
  return { phone: rewritePhone(p.phone, r) };
}

/** A purchase at a till; answers when the person comes back to redeem the new store's coupon, if they do. */
export function storeVisit(w: Writer, r: Rand, p: Persona, at: number, store: string, orderIds: { n: number }, newStoreOpen: number): number | undefined {
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
    type: 'track',
    event: 'Order Completed',
    anonymousId: p.posCustomerId!,
    context: POS_CONTEXT(store, tillIds(r, p)),
    properties: {
      order_id: orderId,
      total,
      currency: 'USD',
      store_id: store,
      payment: pick(r, ['card', 'card', 'cash', 'wallet']),
      products: items.map((c) => ({ product_id: c.id, price: c.price, quantity: 1 })),
    },
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
