import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { compilePattern, matchesPattern, validatePattern } from '#shared/eventbridge/pattern';
import { compileEventPattern, compileTrigger, matchesFilters, parseDefinitions, type JourneyDef, type PropertyFilter, type Test } from '#shared/definitions';

const journeys = parseDefinitions(readFileSync(new URL('../../examples/journeys.yaml', import.meta.url), 'utf8'), 'journeys.yaml') as JourneyDef[];

/** A bus event as λ resolve publishes it (docs/api.md#events-on-the-bus): the normalised message plus a profile snapshot. */
function busEvent(event: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: 'e1',
    source: 'cairn',
    'detail-type': 'track',
    account: '000000000000',
    time: '2025-01-01T00:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      type: 'track',
      event,
      properties,
      traits: {},
      context: {},
      userId: 'u1',
      messageId: 'm1',
      timestamp: '2025-01-01T00:00:00.000Z',
      profile: { profileId: 'p1', traits: { firstName: 'Ada' }, computed: { revenue: 10 } },
      ...extra,
    },
  };
}

function journeyWhere(where: string, trigger = `{ event: E, where: ${where} }`): JourneyDef {
  return parseDefinitions(`kind: journey\nid: j\ntrigger: ${trigger}\nsteps: [{ action: traits, set: { a: 1 } }]\n`, 'j.yaml')[0] as JourneyDef;
}

describe('new-store-coupon trigger', () => {
  const pattern = compileTrigger(journeys.find((j) => j.id === 'new-store-coupon')!);
  const match = compilePattern(pattern);

  it('compiles to a valid pattern on the Cairn bus', () => {
    validatePattern(pattern);
    expect(pattern).toEqual({
      source: ['cairn'],
      'detail-type': ['track'],
      detail: { event: ['Order Completed'], properties: { store_id: ['SH-001'], total: [{ numeric: ['>=', 500] }] } },
    });
  });

  it.each([
    ['a 500 order at SH-001', busEvent('Order Completed', { store_id: 'SH-001', total: 500 }), true],
    ['a 1200.5 order at SH-001', busEvent('Order Completed', { store_id: 'SH-001', total: 1200.5, order_id: 'o1' }), true],
    ['a 499 order at SH-001', busEvent('Order Completed', { store_id: 'SH-001', total: 499 }), false],
    ['a 499.99 order at SH-001', busEvent('Order Completed', { store_id: 'SH-001', total: 499.99 }), false],
    ['a total sent as the string "500"', busEvent('Order Completed', { store_id: 'SH-001', total: '500' }), false],
    ['a 500 order at another store', busEvent('Order Completed', { store_id: 'SH-002', total: 500 }), false],
    ['a store id in another case', busEvent('Order Completed', { store_id: 'sh-001', total: 500 }), false],
    ['no total', busEvent('Order Completed', { store_id: 'SH-001' }), false],
    ['another event', busEvent('Order Refunded', { store_id: 'SH-001', total: 500 }), false],
  ])('%s → %s', (_n, event, expected) => {
    expect(match(event)).toBe(expected);
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it('does not fire on an identify or a segment event', () => {
    const ev = busEvent('Order Completed', { store_id: 'SH-001', total: 500 });
    expect(match({ ...ev, 'detail-type': 'identify' })).toBe(false);
    expect(match({ ...ev, source: 'someone.else' })).toBe(false);
  });
});

describe('segment triggers', () => {
  it.each([
    ['entered', 'segment.entered'],
    ['exited', 'segment.exited'],
  ])('on: %s → detail-type %s with detail.segment', (on, detailType) => {
    const p = compileTrigger(journeyWhere('', `{ segment: churn-risk, on: ${on} }`));
    const m = compilePattern(p);
    const ev = (dt: string, segment: string) => ({ source: 'cairn', 'detail-type': dt, detail: { segment, profileId: 'p1' } });
    expect(m(ev(detailType, 'churn-risk'))).toBe(true);
    expect(m(ev(detailType, 'high-value'))).toBe(false);
    expect(m(ev(detailType === 'segment.entered' ? 'segment.exited' : 'segment.entered', 'churn-risk'))).toBe(false);
  });
});

describe('each operator compiles to EventBridge and matches as EventBridge does', () => {
  const cases: [string, string, unknown, [unknown, boolean][]][] = [
    [
      'eq string',
      '{ properties.c: red }',
      { c: ['red'] },
      [
        ['red', true],
        ['Red', false],
        [undefined, false],
        [['blue', 'red'], true],
      ],
    ],
    [
      'eq number',
      '{ properties.n: 5 }',
      { n: [5] },
      [
        [5, true],
        [5.0, true],
        ['5', false],
        [6, false],
      ],
    ],
    [
      'eq true',
      '{ properties.b: true }',
      { b: [true] },
      [
        [true, true],
        ['true', false],
        [false, false],
      ],
    ],
    [
      'eq null',
      '{ properties.x: null }',
      { x: [null] },
      [
        [null, true],
        [undefined, false],
        ['null', false],
      ],
    ],
    [
      'in (list)',
      '{ properties.c: [red, 3] }',
      { c: ['red', 3] },
      [
        ['red', true],
        [3, true],
        ['3', false],
        ['blue', false],
      ],
    ],
    [
      'in (operator)',
      '{ properties.c: { in: [a, b] } }',
      { c: ['a', 'b'] },
      [
        ['b', true],
        ['c', false],
      ],
    ],
    [
      'ne string → anything-but',
      '{ properties.c: { ne: red } }',
      { c: [{ 'anything-but': 'red' }] },
      [
        ['blue', true],
        ['red', false],
        [undefined, false],
        [5, true],
      ],
    ],
    [
      'ne number → anything-but',
      '{ properties.n: { ne: 0 } }',
      { n: [{ 'anything-but': 0 }] },
      [
        [1, true],
        [0, false],
        ['0', true],
      ],
    ],
    [
      'prefix',
      '{ properties.sku: { prefix: "AB-" } }',
      { sku: [{ prefix: 'AB-' }] },
      [
        ['AB-1', true],
        ['ab-1', false],
        ['XAB-', false],
        [12, false],
      ],
    ],
    [
      'exists true',
      '{ properties.coupon: { exists: true } }',
      { coupon: [{ exists: true }] },
      [
        ['X', true],
        [null, true],
        [undefined, false],
        [0, true],
      ],
    ],
    [
      'exists false',
      '{ properties.coupon: { exists: false } }',
      { coupon: [{ exists: false }] },
      [
        [undefined, true],
        ['X', false],
      ],
    ],
    [
      'gte',
      '{ properties.t: { gte: 500 } }',
      { t: [{ numeric: ['>=', 500] }] },
      [
        [500, true],
        [499.99, false],
        ['500', false],
        [1e6, true],
      ],
    ],
    [
      'gt',
      '{ properties.t: { gt: 500 } }',
      { t: [{ numeric: ['>', 500] }] },
      [
        [500, false],
        [500.01, true],
      ],
    ],
    [
      'lte',
      '{ properties.t: { lte: 10 } }',
      { t: [{ numeric: ['<=', 10] }] },
      [
        [10, true],
        [10.5, false],
        [-3, true],
      ],
    ],
    [
      'lt',
      '{ properties.t: { lt: 10 } }',
      { t: [{ numeric: ['<', 10] }] },
      [
        [10, false],
        [9.999, true],
      ],
    ],
    [
      'range gte + lt',
      '{ properties.t: { lt: 100, gte: 10 } }',
      { t: [{ numeric: ['>=', 10, '<', 100] }] },
      [
        [10, true],
        [99, true],
        [100, false],
        [9, false],
      ],
    ],
  ];
  it.each(cases)('%s', (_name, where, expectedProps, rows) => {
    const p = compileTrigger(journeyWhere(where));
    expect(p.detail).toEqual({ event: ['E'], properties: expectedProps });
    const m = compilePattern(p);
    const j = journeyWhere(where);
    const filters = (j.trigger as { where: PropertyFilter[] }).where;
    for (const [value, expected] of rows) {
      const props: Record<string, unknown> = {};
      if (value !== undefined) props[Object.keys(expectedProps as object)[0]!] = value;
      const ev = busEvent('E', props);
      expect([value, m(ev)]).toEqual([value, expected]);
      // The evaluator (segments, computed traits) reads a where filter the same way.
      expect([value, matchesFilters(ev.detail, filters)]).toEqual([value, expected]);
    }
  });

  it('filters on the profile snapshot and on context', () => {
    const p = compileTrigger(journeyWhere('{ profile.traits.firstName: Ada, context.locale: { prefix: fr } }'));
    expect(compilePattern(p)(busEvent('E', {}, { context: { locale: 'fr-FR' } }))).toBe(true);
    expect(compilePattern(p)(busEvent('E', {}, { context: { locale: 'en-GB' } }))).toBe(false);
  });

  it('nested paths with a shared prefix merge', () => {
    const p = compileEventPattern('E', [
      { path: 'properties.address.city', tests: [{ op: 'eq', value: 'Paris' }] },
      { path: 'properties.address.zip', tests: [{ op: 'prefix', value: '75' }] },
    ]);
    expect(p.detail).toEqual({ properties: { address: { city: ['Paris'], zip: [{ prefix: '75' }] } }, event: ['E'] });
  });

  it('an array of values matches when any element matches', () => {
    const m = compilePattern(compileTrigger(journeyWhere('{ properties.tags: vip }')));
    expect(m(busEvent('E', { tags: ['new', 'vip'] }))).toBe(true);
    expect(m(busEvent('E', { tags: [] }))).toBe(false);
  });
});

describe('compiled triggers agree with the evaluator on random events (property)', () => {
  const scalar = fc.oneof(
    fc.constantFrom('a', 'ab', 'b', 'B', ''),
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom(0.5, 2.5),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.constant(undefined));
  const str = fc.constantFrom('a', 'ab', 'b');
  const num = fc.integer({ min: -3, max: 3 });
  const test: fc.Arbitrary<Test[]> = fc.oneof(
    scalar.map((v) => [{ op: 'eq', value: v } as Test]),
    fc.array(scalar, { minLength: 1, maxLength: 3 }).map((v) => [{ op: 'in', value: v } as Test]),
    fc.oneof(str, num).map((v) => [{ op: 'ne', value: v } as Test]),
    str.map((v) => [{ op: 'prefix', value: v } as Test]),
    fc.boolean().map((v) => [{ op: 'exists', value: v } as Test]),
    fc.tuple(fc.constantFrom('gte', 'gt'), num).map(([op, v]) => [{ op, value: v } as Test]),
    fc.tuple(fc.constantFrom('lte', 'lt'), num).map(([op, v]) => [{ op, value: v } as Test]),
    fc.tuple(fc.constantFrom('gte', 'gt'), num, fc.constantFrom('lte', 'lt'), fc.integer({ min: 1, max: 4 })).map(
      ([a, lo, b, w]) =>
        [
          { op: a, value: lo },
          { op: b, value: lo + w },
        ] as Test[],
    ),
  );
  const keys = ['x', 'y', 'z'];

  it('pattern(event) === (event name matches && where filters pass)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 3 }),
        fc.array(test, { minLength: 3, maxLength: 3 }),
        fc.tuple(value, value, value),
        fc.constantFrom('E', 'F'),
        (fields, tests, values, name) => {
          const where: PropertyFilter[] = fields.map((k, i) => ({ path: `properties.${k}`, tests: tests[i]! }));
          const props: Record<string, unknown> = {};
          keys.forEach((k, i) => {
            if (values[i] !== undefined) props[k] = values[i];
          });
          const ev = busEvent(name, props);
          const expected = name === 'E' && matchesFilters(ev.detail, where);
          expect(compilePattern(compileEventPattern('E', where))(ev)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
