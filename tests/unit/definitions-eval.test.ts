import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CairnError } from '#shared/errors';
import {
  applyComputedTrait,
  bucketSize,
  computedTraitValue,
  counterFor,
  eventConditions,
  eventCounters,
  evaluateCondition,
  evaluateSegments,
  loadDefinitions,
  nextChangeAt,
  parseDefinitions,
  pruneComputedState,
  renderTemplate,
  renderValue,
  type ComputedState,
  type ComputedTraitDef,
  type Condition,
  type Definition,
  type EvalContext,
  type EventQuery,
  type SegmentDef,
} from '#shared/definitions';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.parse('2025-06-15T12:00:00.000Z');

const example = (f: string) => ({ file: f, text: readFileSync(new URL(`../../examples/${f}`, import.meta.url), 'utf8') });
const defs = loadDefinitions(['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map(example));
const get = <K extends Definition['kind']>(kind: K, id: string) => defs.find((d) => d.kind === kind && d.id === id) as Extract<Definition, { kind: K }>;

/** A condition from YAML, through the real grammar. */
function cond(yaml: string, journey = false): Condition {
  if (journey) {
    const [j] = parseDefinitions(`kind: journey\nid: j\ntrigger: { event: T }\nsteps: [{ if: ${yaml}, then: [{ exit: true }] }]\n`, 'c.yaml');
    const step = (j as Extract<Definition, { kind: 'journey' }>).steps[0]!;
    if (step.type !== 'branch') throw new Error('expected a branch');
    return step.if;
  }
  return (parseDefinitions(`kind: segment\nid: s\nwhere: ${yaml}\n`, 'c.yaml')[0] as SegmentDef).where;
}

const order = (t: number, props: Record<string, unknown>, id = `m${t}`) => ({
  type: 'track',
  event: 'Order Completed',
  messageId: id,
  timestamp: new Date(t).toISOString(),
  properties: props,
});

/** Counters for every event condition of `c`, fed with `messages` (what λ resolve keeps per profile). */
function countersFor(c: Condition, messages: ReturnType<typeof order>[]): Record<string, ComputedState> {
  const out: Record<string, ComputedState> = {};
  for (const ec of eventConditions(c)) {
    const counter = counterFor(ec);
    let s: ComputedState | undefined;
    for (const m of messages) s = applyComputedTrait(counter, s, m);
    out[counter.key] = s ?? { b: [] };
  }
  return out;
}

describe('operators on profile traits (truth tables)', () => {
  const table = (where: string, values: [unknown, boolean][]) => {
    const c = cond(`{ trait: v, ${where} }`);
    return values.map(([v, expected]) => [where, v, expected, c] as const);
  };
  const all = [
    ...table('gte: 500', [
      [500, true],
      [500.0, true],
      [499.99, false],
      [1e9, true],
      ['500', false],
      [null, false],
      [undefined, false],
      [[100, 600], true],
      [[100], false],
    ]),
    ...table('gt: 0', [
      [0, false],
      [0.01, true],
      [-1, false],
      [true, false],
    ]),
    ...table('lte: 10', [
      [10, true],
      [11, false],
    ]),
    ...table('lt: 10', [
      [10, false],
      [-5, true],
    ]),
    ...table('gte: "2024-01-01"', [
      ['2024-01-01T00:00:00Z', true],
      ['2023-12-31', false],
      [20250101, false],
    ]),
    ...table('eq: pro', [
      ['pro', true],
      ['Pro', false],
      ['pro ', false],
      [undefined, false],
      [['free', 'pro'], true],
    ]),
    ...table('eq: 3', [
      [3, true],
      [3.0, true],
      ['3', false],
    ]),
    ...table('eq: false', [
      [false, true],
      [0, false],
      [undefined, false],
    ]),
    ...table('ne: pro', [
      ['free', true],
      ['pro', false],
      [undefined, false],
      [null, false],
      [5, true],
    ]),
    ...table('in: [a, 2]', [
      ['a', true],
      [2, true],
      ['2', false],
      ['b', false],
      [undefined, false],
    ]),
    ...table('prefix: "+33"', [
      ['+33612', true],
      ['0033', false],
      [33, false],
    ]),
    ...table('exists: true', [
      ['x', true],
      [0, true],
      [false, true],
      [null, false],
      [undefined, false],
      [[], false],
      [{ a: 1 }, false],
    ]),
    ...table('exists: false', [
      [undefined, true],
      [null, true],
      ['x', false],
    ]),
    ...table('gte: 10, lt: 20', [
      [10, true],
      [19.9, true],
      [20, false],
      [9, false],
    ]),
  ];
  it.each(all)('%s with %j → %s', (_w, v, expected, c) => {
    const traits: Record<string, unknown> = v === undefined ? {} : { v };
    expect(evaluateCondition(c, { traits, now: NOW })).toBe(expected);
  });

  it('dotted trait paths reach nested values and arrays of objects', () => {
    const c = cond('{ trait: address.city, eq: Paris }');
    expect(evaluateCondition(c, { traits: { address: { city: 'Paris' } }, now: NOW })).toBe(true);
    expect(evaluateCondition(c, { traits: { address: [{ city: 'Lyon' }, { city: 'Paris' }] }, now: NOW })).toBe(true);
    expect(evaluateCondition(c, { traits: { address: 'Paris' }, now: NOW })).toBe(false);
  });
});

describe('all / any / not', () => {
  const c = cond('{ all: [ { consent: email }, { any: [ { consent: sms }, { not: { consent: push } } ] } ] }');
  it.each([
    [false, false, false, false],
    [false, true, true, false],
    [true, false, false, true],
    [true, false, true, false],
    [true, true, true, true],
    [true, true, false, true],
  ])('email=%s sms=%s push=%s → %s', (email, sms, push, expected) => {
    expect(evaluateCondition(c, { consent: { email, sms, push }, now: NOW })).toBe(expected);
  });
});

describe('identifier, consent, segment and computed leaves', () => {
  it('identifier: has one of the type; with operators, one whose value passes', () => {
    const ids = [
      { type: 'email', value: 'a@b.com' },
      { type: 'phone', value: '+33612345678' },
    ];
    expect(evaluateCondition(cond('{ identifier: email }'), { identities: ids, now: NOW })).toBe(true);
    expect(evaluateCondition(cond('{ identifier: crm_id }'), { identities: ids, now: NOW })).toBe(false);
    expect(evaluateCondition(cond('{ identifier: phone, prefix: "+33" }'), { identities: ids, now: NOW })).toBe(true);
    expect(evaluateCondition(cond('{ identifier: phone, prefix: "+44" }'), { identities: ids, now: NOW })).toBe(false);
  });

  it('consent: granted only (a boolean or {granted} as on the profile)', () => {
    const c = cond('{ consent: email }');
    expect(evaluateCondition(c, { consent: { email: true }, now: NOW })).toBe(true);
    expect(evaluateCondition(c, { consent: { email: { granted: true } }, now: NOW })).toBe(true);
    expect(evaluateCondition(c, { consent: { email: { granted: false } }, now: NOW })).toBe(false);
    expect(evaluateCondition(c, { consent: {}, now: NOW })).toBe(false);
    expect(evaluateCondition(c, { now: NOW })).toBe(false);
  });

  it('segment: from membership (list or map), or from definitions', () => {
    const c = cond('{ segment: high-value }');
    expect(evaluateCondition(c, { segments: ['x', 'high-value'], now: NOW })).toBe(true);
    expect(evaluateCondition(c, { segments: new Set(['x']), now: NOW })).toBe(false);
    expect(evaluateCondition(c, { segments: { 'high-value': { since: 1 } }, now: NOW })).toBe(true);
    const segmentDefs = { 'high-value': get('segment', 'high-value').where };
    expect(evaluateCondition(c, { segmentDefs, computed: { lifetime_revenue: 1500 }, consent: { email: true }, segments: [], now: NOW })).toBe(true);
  });

  it('computed: a null value is absent; built-ins by name', () => {
    expect(evaluateCondition(cond('{ computed: last_store, exists: false }'), { computed: { last_store: null }, now: NOW })).toBe(true);
    expect(evaluateCondition(cond('{ computed: revenue, gte: 10 }'), { computed: { revenue: 12 }, now: NOW })).toBe(true);
  });
});

describe('the example segments', () => {
  const highValue = get('segment', 'high-value').where;
  const regulars = get('segment', 'store-sh001-regulars').where;
  const churn = get('segment', 'churn-risk').where;

  it('high-value: lifetime revenue ≥ 1000 and email consent', () => {
    expect(evaluateCondition(highValue, { computed: { lifetime_revenue: 1000 }, consent: { email: true }, now: NOW })).toBe(true);
    expect(evaluateCondition(highValue, { computed: { lifetime_revenue: 999.99 }, consent: { email: true }, now: NOW })).toBe(false);
    expect(evaluateCondition(highValue, { computed: { lifetime_revenue: 5000 }, consent: { email: false }, now: NOW })).toBe(false);
    expect(evaluateCondition(highValue, { computed: {}, consent: { email: true }, now: NOW })).toBe(false);
  });

  it('store-sh001-regulars: two SH-001 orders in 30 days; the window slides out', () => {
    const msgs = [order(NOW - 20 * DAY, { store_id: 'SH-001' }), order(NOW - 2 * DAY, { store_id: 'SH-001' }), order(NOW - DAY, { store_id: 'SH-002' })];
    const events = countersFor(regulars, msgs);
    const ctx: EvalContext = { events, now: NOW };
    expect(evaluateCondition(regulars, ctx)).toBe(true);
    expect(evaluateCondition(regulars, { events: countersFor(regulars, msgs.slice(1)), now: NOW })).toBe(false);
    // Without any new event, the order 20 days ago leaves the 30-day window: membership ends then.
    const t = nextChangeAt(regulars, ctx)!;
    expect(t).toBeGreaterThan(NOW + 10 * DAY - 1);
    expect(t).toBeLessThanOrEqual(NOW + 11 * DAY);
    expect(evaluateCondition(regulars, { events, now: t - 1 })).toBe(true);
    expect(evaluateCondition(regulars, { events, now: t })).toBe(false);
  });

  it('churn-risk: bought before but not in 60 days; entering happens by time alone', () => {
    const lastOrder = NOW - 50 * DAY;
    const events = countersFor(churn, [order(NOW - 200 * DAY, { total: 30 }), order(lastOrder, { total: 20 })]);
    const ctx: EvalContext = { computed: { lifetime_revenue: 50 }, events, now: NOW };
    expect(evaluateCondition(churn, ctx)).toBe(false);
    const t = nextChangeAt(churn, ctx)!;
    // The order leaves the window between 60 and 61 days after it (daily buckets).
    expect(t).toBeGreaterThanOrEqual(lastOrder + 60 * DAY);
    expect(t).toBeLessThanOrEqual(lastOrder + 61 * DAY);
    expect(evaluateCondition(churn, { ...ctx, now: t })).toBe(true);
    expect(evaluateCondition(churn, { ...ctx, now: t - 1 })).toBe(false);
    // Once in, nothing by time alone takes the person out.
    expect(nextChangeAt(churn, { ...ctx, now: t })).toBeNull();
    // Never bought: not at risk, and never will be without an event.
    const none: EvalContext = { computed: { lifetime_revenue: 0 }, events: {}, now: NOW };
    expect(evaluateCondition(churn, none)).toBe(false);
    expect(nextChangeAt(churn, none)).toBeNull();
  });

  it('evaluateSegments gives the memberships and the next time any could change', () => {
    const segs = defs.filter((d): d is SegmentDef => d.kind === 'segment');
    const msgs = [order(NOW - 50 * DAY, { store_id: 'SH-001', total: 2000 })];
    const events: Record<string, ComputedState> = {};
    for (const c of eventCounters(defs)) {
      let s: ComputedState | undefined;
      for (const m of msgs) s = applyComputedTrait(c, s, m);
      events[c.key] = s!;
    }
    const r = evaluateSegments(segs, { computed: { lifetime_revenue: 2000 }, consent: { email: true }, events, now: NOW });
    expect(r.members).toEqual(['high-value']);
    expect(r.nextChangeAt).toBeGreaterThanOrEqual(NOW + 10 * DAY);
    expect(r.nextChangeAt).toBeLessThanOrEqual(NOW + 11 * DAY);
  });
});

describe('event conditions', () => {
  it('count operators, where filters and windows', () => {
    const c = cond('{ event: Order Completed, count: { gte: 2, lt: 4 }, within: 7d, where: { properties.total: { gte: 100 } } }');
    const msgs = (n: number, total = 150) => Array.from({ length: n }, (_, i) => order(NOW - i * HOUR, { total }, `m${i}-${total}`));
    expect(evaluateCondition(c, { events: countersFor(c, msgs(1)), now: NOW })).toBe(false);
    expect(evaluateCondition(c, { events: countersFor(c, msgs(2)), now: NOW })).toBe(true);
    expect(evaluateCondition(c, { events: countersFor(c, msgs(3)), now: NOW })).toBe(true);
    expect(evaluateCondition(c, { events: countersFor(c, msgs(4)), now: NOW })).toBe(false);
    expect(evaluateCondition(c, { events: countersFor(c, msgs(3, 99)), now: NOW })).toBe(false);
    expect(evaluateCondition(c, { events: countersFor(c, msgs(3)), now: NOW + 9 * DAY })).toBe(false);
  });

  it('a countEvents callback receives the query', () => {
    const c = cond('{ event: Coupon Redeemed, since: journey.start }', true);
    const seen: EventQuery[] = [];
    const ctx = (n: number): EvalContext => ({ events: (q) => (seen.push(q), n), journey: { start: NOW - DAY }, now: NOW });
    expect(evaluateCondition(c, ctx(0))).toBe(false);
    expect(evaluateCondition(c, ctx(1))).toBe(true);
    expect(seen[0]).toMatchObject({ event: 'Coupon Redeemed', sinceMs: NOW - DAY, now: NOW, where: [] });
    expect(seen[0]!.withinMs).toBeUndefined();
    expect(evaluateCondition({ type: 'not', of: c }, ctx(0))).toBe(true); // the remind step of new-store-coupon
  });

  it('without event history an event condition is an error, not a silent false', () => {
    const c = cond('{ event: X }');
    let err: unknown;
    try {
      evaluateCondition(c, { now: NOW });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe('event_history_unavailable');
  });

  it('nextChangeAt with a callback re-checks after one bucket when something counts', () => {
    const c = cond('{ event: X, within: 2h }');
    expect(nextChangeAt(c, { events: () => 1, now: NOW })).toBe(NOW + HOUR);
    expect(nextChangeAt(c, { events: () => 0, now: NOW })).toBeNull();
  });

  it('nextChangeAt with windowed computed traits', () => {
    const o90 = get('computedTrait', 'orders_90d');
    let s: ComputedState | undefined;
    for (const t of [NOW - 80 * DAY, NOW - 10 * DAY, NOW - 5 * DAY]) s = applyComputedTrait(o90, s, order(t, {}));
    const c = cond('{ computed: orders_90d, gte: 3 }');
    const ctx: EvalContext = { computedDefs: { orders_90d: o90 }, computedStates: { orders_90d: s! }, now: NOW };
    expect(evaluateCondition(c, ctx)).toBe(true);
    const t = nextChangeAt(c, ctx)!;
    expect(t).toBeGreaterThanOrEqual(NOW + 10 * DAY);
    expect(t).toBeLessThanOrEqual(NOW + 11 * DAY);
    expect(evaluateCondition(c, { ...ctx, now: t })).toBe(false);
  });
});

describe('computed traits', () => {
  const ct = (yaml: string) => parseDefinitions(`kind: computedTrait\nid: x\n${yaml}`, 'c.yaml')[0] as ComputedTraitDef;
  const fold = (d: ComputedTraitDef, msgs: object[]) => msgs.reduce<ComputedState | undefined>((s, m) => applyComputedTrait(d, s, m as never), undefined);

  it('lifetime_revenue sums properties.total of Order Completed only, exactly', () => {
    const d = get('computedTrait', 'lifetime_revenue');
    const s = fold(d, [
      order(NOW - 3 * DAY, { total: 0.1 }),
      order(NOW - 2 * DAY, { total: 0.2 }),
      { ...order(NOW - DAY, { total: 1000 }), event: 'Order Refunded' },
      order(NOW - DAY, { total: '50' }),
      order(NOW, { total: 999.7 }),
    ]);
    expect(computedTraitValue(d, s, NOW)).toBe(1000);
    expect(computedTraitValue(d, undefined, NOW)).toBe(0);
  });

  it('last_store is the latest by timestamp, whatever the arrival order', () => {
    const d = get('computedTrait', 'last_store');
    const s = fold(d, [order(NOW, { store_id: 'SH-003' }), order(NOW - DAY, { store_id: 'SH-001' }), order(NOW - 2 * DAY, { store_id: 'SH-002' })]);
    expect(computedTraitValue(d, s, NOW)).toBe('SH-003');
    expect(computedTraitValue(d, undefined, NOW)).toBeNull();
  });

  it('first, min, max, with where and a window', () => {
    const msgs = [
      order(NOW - 40 * DAY, { total: 5, c: 'a' }),
      order(NOW - 3 * DAY, { total: 70, c: 'b' }),
      order(NOW - 2 * DAY, { total: 9, c: 'c' }),
      order(NOW - DAY, { total: 900, c: 'd', test: true }),
    ];
    expect(
      computedTraitValue(
        ct('event: Order Completed\naggregate: first\nproperty: properties.c\n'),
        fold(ct('event: Order Completed\naggregate: first\nproperty: properties.c\n'), msgs),
        NOW,
      ),
    ).toBe('a');
    const w = ct('event: Order Completed\naggregate: first\nproperty: properties.c\nwindow: 30d\n');
    expect(computedTraitValue(w, fold(w, msgs), NOW)).toBe('b');
    const mn = ct('event: Order Completed\naggregate: min\nproperty: properties.total\nwindow: 30d\n');
    expect(computedTraitValue(mn, fold(mn, msgs), NOW)).toBe(9);
    const mx = ct('event: Order Completed\naggregate: max\nproperty: properties.total\nwhere: { properties.test: { exists: false } }\n');
    expect(computedTraitValue(mx, fold(mx, msgs), NOW)).toBe(70);
    const all = ct('aggregate: count\n'); // no event: every message
    expect(computedTraitValue(all, fold(all, [...msgs, { type: 'identify', timestamp: new Date(NOW).toISOString(), messageId: 'i' }]), NOW)).toBe(5);
  });

  it('bucket sizes follow the window', () => {
    expect([bucketSize(90 * DAY), bucketSize(DAY), bucketSize(23 * HOUR), bucketSize(15 * 60_000), bucketSize(30_000)]).toEqual([DAY, DAY, HOUR, 60_000, 1000]);
  });

  it('expired buckets are dropped as events arrive and on prune', () => {
    const d = get('computedTrait', 'orders_90d');
    let s = fold(
      d,
      Array.from({ length: 200 }, (_, i) => order(NOW - (200 - i) * DAY, {})),
    )!;
    expect(s.b.length).toBeLessThanOrEqual(92);
    expect(computedTraitValue(d, s, NOW)).toBeGreaterThanOrEqual(90);
    s = pruneComputedState(d, s, NOW + 365 * DAY);
    expect(s.b).toEqual([]);
    expect(computedTraitValue(d, s, NOW + 365 * DAY)).toBe(0);
  });

  it('a rolling window slides: bucketed aggregates equal a brute-force scan (property)', () => {
    const windows = [30_000, 15 * 60_000, 2 * HOUR, 36 * HOUR, 3 * DAY, 30 * DAY];
    const aggregates = ['count', 'sum', 'min', 'max', 'first', 'last'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...windows),
        fc.constantFrom(...aggregates),
        // Each step: an event some time before the current clock (late arrivals included), then the clock advances.
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: -50, max: 50 }), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 40,
        }),
        (windowMs, aggregate, steps) => {
          const def = { event: 'E', aggregate, where: [], windowMs, ...(aggregate === 'count' ? {} : { property: 'properties.v' }) } as Pick<
            ComputedTraitDef,
            'event' | 'aggregate' | 'property' | 'where' | 'windowMs'
          >;
          const size = bucketSize(windowMs);
          let clock = Date.parse('2025-01-01T00:00:00Z');
          let state: ComputedState | undefined;
          const seen: { t: number; v: number; id: string }[] = [];
          steps.forEach(([lateness, v, advance], i) => {
            const t = Math.floor(clock - lateness * 2 * windowMs);
            const id = `m${i}`;
            state = applyComputedTrait(def, state, { type: 'track', event: 'E', messageId: id, timestamp: t, properties: { v } });
            seen.push({ t, v, id });
            clock = Math.max(clock, t) + Math.floor(advance * windowMs * 0.7);
            // Brute force: the events in the buckets from the one holding clock − W to the one holding clock.
            const from = Math.floor((clock - windowMs) / size);
            const to = Math.floor(clock / size);
            const inWindow = seen.filter((e) => Math.floor(e.t / size) >= from && Math.floor(e.t / size) <= to);
            const byTime = [...inWindow].sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
            const expected =
              aggregate === 'count'
                ? inWindow.length
                : aggregate === 'sum'
                  ? inWindow.reduce((a, e) => a + e.v, 0)
                  : !inWindow.length
                    ? null
                    : aggregate === 'min'
                      ? Math.min(...inWindow.map((e) => e.v))
                      : aggregate === 'max'
                        ? Math.max(...inWindow.map((e) => e.v))
                        : aggregate === 'first'
                          ? byTime[0]!.v
                          : byTime[byTime.length - 1]!.v;
            expect(computedTraitValue(def, state, clock)).toBe(expected);
            // The window always covers at least the last W.
            for (const e of seen) if (e.t > clock - windowMs && e.t <= clock) expect(inWindow).toContain(e);
          });
          // Storage stays bounded by the window, not by history.
          expect(state!.b.length).toBeLessThanOrEqual(Math.ceil(windowMs / size) + 2);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('templates', () => {
  const ctx = {
    traits: { firstName: 'Ada', email: 'ada@example.com', empty: '', nil: null, tags: ['a', 'b'], html: '<b>"Tom" & Jerry\'s</b>' },
    computed: { lifetime_revenue: 1250.5 },
    event: { properties: { order_id: 'o-42', total: 500 } },
    journey: { id: 'new-store-coupon', name: 'Coupon', start: '2025-06-15T12:00:00.000Z', step: 'coupon' },
    profile: { id: 'p1' },
  };

  it('renders the example templates', () => {
    expect(renderTemplate('A gift for you, {{ traits.firstName }}', ctx)).toBe('A gift for you, Ada');
    expect(renderTemplate('Use code {{ event.properties.order_id }}-GIFT for 50 off your next visit.', ctx)).toBe(
      'Use code o-42-GIFT for 50 off your next visit.',
    );
    expect(renderTemplate('Thank you, {{ traits.firstName }}: {{ computed.lifetime_revenue }} spent with us.', ctx)).toBe(
      'Thank you, Ada: 1250.5 spent with us.',
    );
    expect(renderTemplate('{{journey.name}} / {{ journey.step }} / {{ profile.id }}', ctx)).toBe('Coupon / coupon / p1');
  });

  it('missing values render a safe default, never the raw {{ }}', () => {
    expect(renderTemplate('Hi {{ traits.firstName }}!', {})).toBe('Hi !');
    expect(renderTemplate('Hi {{ traits.firstName | default: "there" }}!', {})).toBe('Hi there!');
    expect(renderTemplate('Hi {{ traits.empty | default: "there" }}!', ctx)).toBe('Hi there!');
    expect(renderTemplate("Hi {{ traits.nil | default: 'you' }}!", ctx)).toBe('Hi you!');
    expect(renderTemplate('Hi {{ traits.firstName | default: "there" }}!', ctx)).toBe('Hi Ada!');
    expect(renderTemplate('{{ computed.nope | default: 0 }}', ctx)).toBe('0');
    expect(renderTemplate('{{ traits.firstName | upcase }} {{ traits.email | capitalize }} {{ traits.missing | upcase | default: "x" }}', ctx)).toBe(
      'ADA Ada@example.com x',
    );
    // Broken templates (never accepted by validation) still never leak braces.
    expect(renderTemplate('Hi {{ trait.x }} and {{ }} and {{ traits.firstName', ctx)).toBe('Hi  and  and ');
  });

  it('never renders {{ from the template for any context (property)', () => {
    const piece = fc.constantFrom(
      'Hi ',
      '{{ traits.firstName }}',
      '{{ traits.a.b | default: "x" }}',
      '{{ computed.c }}',
      '{{ event.properties.x }}',
      '{{ journey.name }}',
      '{{',
      '}}',
      '{{ nope }}',
      ' ',
      '{ {',
    );
    const val = fc.oneof(
      fc.string().filter((s) => !s.includes('{') && !s.includes('}')),
      fc.integer(),
      fc.constant(null),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), val, val, (pieces, a, b) => {
        const out = renderTemplate(pieces.join(''), { traits: { firstName: a, a: { b } }, computed: { c: b }, event: { properties: { x: a } } });
        expect(out).not.toContain('{{');
      }),
      { numRuns: 500 },
    );
  });

  it('escapes for HTML email bodies and URLs when asked', () => {
    expect(renderTemplate('<p>{{ traits.html }}</p>', ctx, { escape: 'html' })).toBe('<p>&lt;b&gt;&quot;Tom&quot; &amp; Jerry&#39;s&lt;/b&gt;</p>');
    expect(renderTemplate('<p>{{ traits.html }}</p>', ctx)).toBe('<p><b>"Tom" & Jerry\'s</b></p>');
    expect(renderTemplate('https://x.example/?e={{ traits.email }}', ctx, { escape: 'url' })).toBe('https://x.example/?e=ada%40example.com');
  });

  it('renderValue keeps JSON types for whole-value templates (webhook bodies)', () => {
    expect(
      renderValue(
        {
          email: '{{ traits.email }}',
          tier: 'vip',
          spent: '{{ computed.lifetime_revenue }}',
          tags: '{{ traits.tags }}',
          note: 'for {{ traits.firstName }}',
          none: '{{ traits.missing }}',
        },
        ctx,
      ),
    ).toEqual({
      email: 'ada@example.com',
      tier: 'vip',
      spent: 1250.5,
      tags: ['a', 'b'],
      note: 'for Ada',
      none: '',
    });
  });
});

describe('several operators on a list hold for one same element (as an EventBridge range)', () => {
  it('{gte: 1, lte: 2} on [0.5, 2.5] is false, on [0.5, 1.5] true', () => {
    const c = cond('{ trait: v, gte: 1, lte: 2 }');
    expect(evaluateCondition(c, { traits: { v: [0.5, 2.5] }, now: NOW })).toBe(false);
    expect(evaluateCondition(c, { traits: { v: [0.5, 1.5] }, now: NOW })).toBe(true);
  });
});
