/**
 * The demo retailer's world (docs/demo.md): its four sources, stores and products, and its people —
 * who they are (personas: online customers, store-only loyalty members, anonymous browsers), how
 * they write their email and phone, when they were acquired and churned, what they consented to —
 * plus the seeded random helpers every part of the simulator draws from.
 * Pure and deterministic: same seed → same people.
 */
import { mulberry32 } from '../random';

export type DemoSourceKey = 'web' | 'app' | 'pos' | 'crm';

/**
 * The demo's sources: their ids in the lake (`source_id`), write keys and trust levels (the web
 * page's and the app's keys ship to every visitor: `browser`; the tills and the CRM are the
 * retailer's own systems: `server`; docs/security.md#source-trust).
 */
export const DEMO_SOURCES: Record<DemoSourceKey, { sourceId: string; name: string; writeKey: string; trust: 'server' | 'browser' }> = {
  web: { sourceId: 'demo-web', name: 'Demo: website (analytics.js)', writeKey: 'demo-web-write-key', trust: 'browser' },
  app: { sourceId: 'demo-app', name: 'Demo: mobile app', writeKey: 'demo-app-write-key', trust: 'browser' },
  pos: { sourceId: 'demo-pos', name: 'Demo: store tills (POS)', writeKey: 'demo-pos-write-key', trust: 'server' },
  crm: { sourceId: 'demo-crm', name: 'Demo: CRM / loyalty', writeKey: 'demo-crm-write-key', trust: 'server' },
};

export const DEMO_STORES = [
  { id: 'SH-001', name: 'Shoreditch (new store)' },
  { id: 'BR-002', name: 'Brooklyn' },
  { id: 'CA-003', name: 'Castro' },
] as const;
/** The new store opened this many days before `now` (the example journey is about its big first purchases). */
export const NEW_STORE_OPENED_DAYS_AGO = 40;

export const PRODUCTS = [
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
export type Product = (typeof PRODUCTS)[number];

const FIRST = [
  'Ada',
  'Ben',
  'Chloe',
  'Diego',
  'Elena',
  'Farah',
  'Gus',
  'Hana',
  'Ivan',
  'Jade',
  'Kofi',
  'Lena',
  'Mateo',
  'Nina',
  'Omar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sami',
  'Tara',
  'Uma',
  'Victor',
  'Wen',
  'Xavi',
  'Yara',
  'Zane',
  'Amara',
  'Bruno',
  'Cleo',
  'Dev',
];
const LAST = [
  'Lovelace',
  'Okafor',
  'Martin',
  'Silva',
  'Novak',
  'Haddad',
  'Berg',
  'Tanaka',
  'Petrov',
  'Quinn',
  'Mensah',
  'Fischer',
  'Rossi',
  'Kowalski',
  'Farouk',
  'Patel',
  'Byrne',
  'Garcia',
  'Lind',
  'Moreau',
  'Reyes',
  'Costa',
  'Zhang',
  'Ortiz',
  'Nasser',
  'Walsh',
  'Osei',
  'Dubois',
  'Kim',
  'Shah',
];
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
  facts: {
    orders: number;
    revenue: number;
    sessions: number;
    sources: Set<DemoSourceKey>;
    bigNewStoreOrder: boolean;
    redeemedCoupon: boolean;
    referrals: number;
  };
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

/** The demo's PRNG (shared/random.ts): same seed → same history. */
export const rng = mulberry32;
export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: Rand, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const uuid = (r: Rand) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${pick(r, ['8', '9', 'a', 'b'])}${hex(r, 3)}-${hex(r, 12)}`;
export const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const DAY = 86_400_000;
export const round2 = (x: number) => Math.round(x * 100) / 100;

function localPhone(r: Rand): string {
  const area = pick(r, AREA_CODES);
  const ex = String(int(r, 201, 989)).replace(/^555$/, '556');
  const line = pad(int(r, 0, 9999), 4);
  switch (int(r, 0, 4)) {
    case 0:
      return `(${area}) ${ex}-${line}`;
    case 1:
      return `${area}.${ex}.${line}`;
    case 2:
      return `${area}-${ex}-${line}`;
    case 3:
      return `+1 ${area} ${ex} ${line}`;
    default:
      return `${area}${ex}${line}`;
  }
}

/** Another way of writing the same US number (what a second system typed). */
export function rewritePhone(phone: string, r: Rand): string {
  const d = phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');
  const [a, b, c] = [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
  return pick(r, [`(${a}) ${b}-${c}`, `${a}.${b}.${c}`, `+1 ${a} ${b} ${c}`, `${a}${b}${c}`]);
}

export function makePersona(index: number, r: Rand, o: SimulateOptions): Persona {
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
  const acquiredAgo = (1 - r() ** 1.2) * (o.days - 0.5) + 0.25;
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
