/**
 * Computed traits and segment membership on a profile (shared/segments/state.ts): merging states
 * equals applying both histories, and the example segments enter and leave as their comments say,
 * with the re-evaluation time computed for windows that slide.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyComputedTrait, computedTraitValue, loadDefinitions, type ComputedState, type ComputedTraitDef } from '#shared/definitions';
import type { NormalizedMessage } from '#shared/message/types';
import { applyMessage, newProfile } from '#shared/identity/profile';
import type { ProfileRecord } from '#shared/identity/types';
import { compileRuntime } from '#shared/segments/runtime';
import { mergeComputedState, profileExtension, settleProfile, statesOf, withSettled } from '#shared/segments/state';

const DAY = 86_400_000;
const EXAMPLES = join(__dirname, '..', '..', 'examples');
const examples = loadDefinitions(
  ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') })),
);
const rt = compileRuntime(examples);

// ---------------------------------------------------------------------------------------------
// merge(a, b) = applying both histories
// ---------------------------------------------------------------------------------------------

const T0 = Date.UTC(2025, 0, 1);
const msgArb = fc.record({
  t: fc.integer({ min: 0, max: 120 * DAY }),
  event: fc.constantFrom('Order Completed', 'Product Viewed'),
  total: fc.option(fc.integer({ min: -50, max: 2000 }), { nil: undefined }),
  store: fc.constantFrom('SH-001', 'SH-002'),
});
const defArb = fc.record({
  aggregate: fc.constantFrom('count', 'sum', 'min', 'max', 'first', 'last') as fc.Arbitrary<ComputedTraitDef['aggregate']>,
  windowMs: fc.option(fc.constantFrom(90_000, 2 * 3_600_000, 30 * DAY, 90 * DAY), { nil: undefined }),
  event: fc.option(fc.constant('Order Completed'), { nil: undefined }),
  filtered: fc.boolean(),
});

function toDef(d: { aggregate: ComputedTraitDef['aggregate']; windowMs: number | undefined; event: string | undefined; filtered: boolean }) {
  return {
    aggregate: d.aggregate,
    ...(d.event ? { event: d.event } : {}),
    ...(d.aggregate === 'count' ? {} : { property: 'properties.total' }),
    ...(d.windowMs !== undefined ? { windowMs: d.windowMs } : {}),
    where: d.filtered ? [{ path: 'properties.store_id', tests: [{ op: 'eq' as const, value: 'SH-001' }] }] : [],
  };
}

let seq = 0;
function messages(list: { t: number; event: string; total: number | undefined; store: string }[]) {
  return list.map((m) => ({
    type: 'track',
    event: m.event,
    messageId: `m${seq++}`,
    timestamp: new Date(T0 + m.t).toISOString(),
    properties: { ...(m.total !== undefined ? { total: m.total } : {}), store_id: m.store },
  }));
}

describe('mergeComputedState', () => {
  it('reading a merged state equals reading the state of both histories applied to one profile', () => {
    fc.assert(
      fc.property(
        defArb,
        fc.array(msgArb, { maxLength: 25 }),
        fc.array(msgArb, { maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 100 * DAY }), { minLength: 1, maxLength: 5 }),
        (d, h1, h2, offsets) => {
          const def = toDef(d);
          const m1 = messages(h1);
          const m2 = messages(h2);
          const fold = (ms: typeof m1, s?: ComputedState) => ms.reduce<ComputedState | undefined>((st, m) => applyComputedTrait(def, st, m), s);
          const merged = mergeComputedState(fold(m1), fold(m2), def.windowMs);
          const both = fold([...m1, ...m2]);
          const newest = Math.max(T0, ...[...m1, ...m2].map((m) => Date.parse(m.timestamp)));
          for (const off of offsets) {
            const now = newest + off;
            expect(computedTraitValue(def, merged, now)).toEqual(computedTraitValue(def, both, now));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is what a survivor holds after absorbing a merged-away profile (resolve hook)', () => {
    const ext = profileExtension(rt);
    const a = newProfile('a', '2025-01-01T00:00:00.000Z');
    const b = newProfile('b', '2025-01-01T00:00:00.000Z');
    const order = (id: string, total: number, day: number, store = 'SH-001') =>
      ({
        type: 'track',
        event: 'Order Completed',
        messageId: id,
        timestamp: new Date(T0 + day * DAY).toISOString(),
        receivedAt: '',
        properties: { total, store_id: store },
        traits: {},
        context: {},
      }) as unknown as NormalizedMessage;
    ext.apply(a, order('1', 600, 1));
    ext.apply(b, order('2', 500, 2, 'SH-002'));
    ext.apply(b, order('3', 10, 3));
    ext.absorb(a, b);
    const now = T0 + 4 * DAY;
    const s = settleProfile(a, rt, now);
    expect(s.computed).toMatchObject({ lifetime_revenue: 1110, orders_90d: 3, last_store: 'SH-001' });
    expect(s.segments).toContain('store-sh001-regulars');
  });
});

// ---------------------------------------------------------------------------------------------
// The example segments
// ---------------------------------------------------------------------------------------------

function person(): ProfileRecord {
  return newProfile('p1', new Date(T0).toISOString());
}
function send(p: ProfileRecord, m: Partial<NormalizedMessage> & { timestamp: string }) {
  const msg = {
    type: 'track',
    messageId: `x${seq++}`,
    receivedAt: m.timestamp,
    properties: {},
    traits: {},
    context: {},
    sourceId: 's',
    ...m,
  } as NormalizedMessage;
  applyMessage(p, msg);
  profileExtension(rt).apply(p, msg);
}
const at = (ms: number) => new Date(ms).toISOString();
/** Stores the settled attributes on the profile (as resolve does) and returns them. */
function settle(p: ProfileRecord, now: number) {
  const s = settleProfile(p, rt, now);
  p.extra = withSettled(p.extra, s);
  return s;
}

describe('example segments', () => {
  it('high-value: lifetime revenue of at least 1000 and email consent', () => {
    const p = person();
    send(p, { event: 'Order Completed', timestamp: at(T0), properties: { total: 600 } });
    send(p, { event: 'Order Completed', timestamp: at(T0 + DAY), properties: { total: 500 } });
    expect(settle(p, T0 + 2 * DAY).segments).not.toContain('high-value'); // no consent yet
    send(p, { type: 'identify', timestamp: at(T0 + 2 * DAY), context: { consent: { email: true } } });
    const s = settle(p, T0 + 2 * DAY);
    expect(s.computed.lifetime_revenue).toBe(1100);
    expect(s.segments).toContain('high-value');
    send(p, { type: 'identify', timestamp: at(T0 + 3 * DAY), context: { consent: { email: false } } });
    expect(settle(p, T0 + 3 * DAY).segments).not.toContain('high-value');
  });

  it('store-sh001-regulars: two SH-001 orders within 30 days; leaves when the window slides past the first', () => {
    const p = person();
    send(p, { event: 'Order Completed', timestamp: at(T0 + 10 * 3_600_000), properties: { total: 20, store_id: 'SH-001' } });
    send(p, { event: 'Order Completed', timestamp: at(T0 + 5 * DAY), properties: { total: 20, store_id: 'SH-002' } });
    expect(settle(p, T0 + 5 * DAY).segments).not.toContain('store-sh001-regulars');
    send(p, { event: 'Order Completed', timestamp: at(T0 + 6 * DAY), properties: { total: 20, store_id: 'SH-001' } });
    const s = settle(p, T0 + 6 * DAY);
    expect(s.segments).toContain('store-sh001-regulars');
    // The first order's day bucket leaves the 30-day window at the end of day 0 + 30 days.
    expect(s.recheckAt).toBe(T0 + DAY + 30 * DAY);
    expect(settle(p, s.recheckAt! - 1000).segments).toContain('store-sh001-regulars');
    expect(settle(p, s.recheckAt!).segments).not.toContain('store-sh001-regulars');
  });

  it('churn-risk: bought before, nothing in 60 days; a new order takes the person out', () => {
    const p = person();
    send(p, { event: 'Order Completed', timestamp: at(T0), properties: { total: 80 } });
    const s0 = settle(p, T0 + DAY);
    expect(s0.segments).not.toContain('churn-risk');
    expect(s0.recheckAt).toBe(T0 + DAY + 60 * DAY);
    expect(settle(p, s0.recheckAt!).segments).toContain('churn-risk');
    send(p, { event: 'Order Completed', timestamp: at(T0 + 70 * DAY), properties: { total: 5 } });
    expect(settle(p, T0 + 70 * DAY).segments).not.toContain('churn-risk');
  });

  it('a profile that never matched anything has no recheck time and empty computed values', () => {
    const p = person();
    send(p, { type: 'page', name: 'Home', timestamp: at(T0) });
    const s = settle(p, T0);
    expect(s.segments).toEqual([]);
    expect(s.recheckAt).toBeNull();
    expect(s.computed).toEqual({ lifetime_revenue: 0, orders_90d: 0, last_store: null });
    expect(JSON.parse(s.cstate)).toEqual({});
    expect(statesOf(p)).toEqual({});
  });
});
