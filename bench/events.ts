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
