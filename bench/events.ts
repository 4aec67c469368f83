/**
 * A realistic synthetic event mix for the benchmarks: a pool of customers, most events from people
 * already known (tracks and pages carrying userId), some identifies with email and phone, some
 * anonymous browsing, orders with totals and store ids.
 */
import { mulberry32 } from '#shared/random';
export interface SyntheticOptions {
  customers?: number;
  seed?: number;
}

export const makeRng = (seed = 42) => mulberry32(seed);

const PRODUCTS = ['SKU-1', 'SKU-2', 'SKU-3', 'SKU-4', 'SKU-5', 'SKU-6'];
const STORES = ['SH-001', 'SH-002', 'WEB'];

export function syntheticMessages(n: number, opts: SyntheticOptions = {}): Record<string, unknown>[] {
  const rnd = makeRng(opts.seed ?? 42);
  const customers = opts.customers ?? 5_000;
  const out: Record<string, unknown>[] = [];
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * customers);
    const userId = `user-${c}`;
    const anonymousId = `anon-${c}-${c % 3}`;
    const timestamp = new Date(now - Math.floor(rnd() * 60_000)).toISOString();
    const context = { library: { name: 'bench', version: '1' }, channel: rnd() < 0.5 ? 'web' : 'app', ip: '203.0.113.9' };
    const r = rnd();
    if (r < 0.08) {
      out.push({
        type: 'identify',
        userId,
        anonymousId,
        timestamp,
        context,
        traits: {
          email: ` Customer${c}@Example.com `,
          phone: `(415) 555-${String(1000 + (c % 9000)).padStart(4, '0')}`,
          firstName: `Name${c}`,
          plan: c % 2 ? 'pro' : 'free',
        },
      });
    } else if (r < 0.25) {
      out.push({
        type: 'page',
        anonymousId,
        ...(rnd() < 0.7 ? { userId } : {}),
        name: 'Product',
        timestamp,
        context,
        properties: { path: `/p/${PRODUCTS[c % 6]}`, referrer: 'https://search.example' },
      });
    } else if (r < 0.35) {
      out.push({
        type: 'track',
        userId,
        event: 'Order Completed',
        timestamp,
        context,
        properties: {
          order_id: `o-${i}`,
          total: Math.round(rnd() * 60_000) / 100,
          currency: 'EUR',
          store_id: STORES[c % 3],
          products: [{ sku: PRODUCTS[i % 6], price: 19.99, quantity: 1 }],
        },
      });
    } else {
      out.push({
        type: 'track',
        userId,
        anonymousId,
        event: 'Product Viewed',
        timestamp,
        context,
        properties: { sku: PRODUCTS[i % 6], price: 19.99, category: 'shoes' },
      });
    }
  }
  return out;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * Session-shaped traffic as the collection API receives it (the shape of the resolve bench; no timestamps:
 * the sender stamps them):
 * 90 % of the time a known customer (`cu-<i>`, identified beforehand) browses 2–9 pages and
 * products in a row, sometimes buying; 8 % a new visitor lands on 1–3 pages; 2 % a visitor signs up.
 */
export function sessionMessages(n: number, opts: { customers: number; seed?: number; tag?: string }): Record<string, unknown>[] {
  const rnd = makeRng(opts.seed ?? 11);
  const r = (k: number) => Math.floor(rnd() * k);
  const tag = opts.tag ?? 's';
  const out: Record<string, unknown>[] = [];
  while (out.length < n) {
    const roll = r(100);
    if (roll < 90) {
      const c = r(opts.customers);
      const userId = `cu-${c}`;
      const anonymousId = `ca-${c}`;
      for (let i = 0, length = 2 + r(8); i < length && out.length < n; i++) {
        const kind = r(10);
        out.push(
          kind < 6
            ? { type: 'track', userId, anonymousId, event: 'Product Viewed', properties: { sku: `s-${r(50)}`, category: `c-${r(5)}`, price: 19.99 } }
            : kind < 9
              ? { type: 'page', userId, anonymousId, name: 'Catalog', properties: { path: '/c' } }
              : {
                  type: 'track',
                  userId,
                  event: 'Order Completed',
                  properties: { order_id: `o-${tag}-${out.length}`, total: 10 + r(90), currency: 'EUR', store_id: STORES[c % 3] },
                },
        );
      }
    } else if (roll < 98) {
      const anonymousId = `visitor-${tag}-${out.length}`;
      for (let i = 0, length = 1 + r(3); i < length && out.length < n; i++) out.push({ type: 'page', anonymousId, name: 'Landing' });
    } else {
      const id = `new-${tag}-${out.length}`;
      out.push({ type: 'identify', userId: id, anonymousId: `nv-${tag}-${out.length}`, traits: { email: `${id}@example.com` } });
    }
  }
  return out;
}

/** The customers `sessionMessages` refers to, as identify messages (email, phone, plan, email consent for half). */
export function sessionCustomers(customers: number): Record<string, unknown>[] {
  return Array.from({ length: customers }, (_, i) => ({
    type: 'identify',
    userId: `cu-${i}`,
    anonymousId: `ca-${i}`,
    traits: { email: `cu-${i}@example.com`, phone: `+1415555${String(i % 10_000).padStart(4, '0')}`, plan: i % 3 ? 'free' : 'pro', firstName: `N${i}` },
    context: { consent: { email: i % 2 === 0, sms: i % 4 === 0 } },
  }));
}
