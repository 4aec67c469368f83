import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { compilePattern, matchesPattern, parsePattern, validatePattern } from '#shared/eventbridge/pattern';
import { CairnError } from '#shared/errors';

interface Case {
  name: string;
  expect: 'match' | 'no-match' | 'invalid';
  event: unknown;
  pattern: unknown;
}
const cases = JSON.parse(readFileSync(new URL('../fixtures/eventbridge-patterns/cases.json', import.meta.url), 'utf8')) as Case[];

describe('EventBridge pattern cases validated against AWS TestEventPattern', () => {
  it('has the fixture', () => expect(cases.length).toBeGreaterThan(100));

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (c.expect === 'invalid') {
      let err: unknown;
      try {
        validatePattern(c.pattern);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CairnError);
      expect((err as CairnError).code).toBe('invalid_event_pattern');
      expect(() => matchesPattern(c.pattern, c.event)).toThrow(CairnError);
    } else {
      expect(() => validatePattern(c.pattern)).not.toThrow();
      expect(matchesPattern(c.pattern, c.event)).toBe(c.expect === 'match');
      // The precompiled matcher agrees and is reusable.
      const m = compilePattern(c.pattern);
      expect(m(c.event)).toBe(c.expect === 'match');
      expect(m(c.event)).toBe(c.expect === 'match');
    }
  });
});

describe('pattern validation details', () => {
  it('names the offending field', () => {
    expect(() => validatePattern({ detail: { amount: [{ numeric: ['>', 'x'] }] } })).toThrow(/detail\.amount\.numeric/);
    expect(() => parsePattern('{"source": ["a"')).toThrow(/not valid JSON/);
    expect(() => validatePattern([])).toThrow(/must be a JSON object/);
    expect(() => validatePattern({})).toThrow(/empty objects/);
    expect(() => validatePattern({ detail: {} })).toThrow(/detail: empty objects/);
  });
  it('enforces $or shape', () => {
    expect(() => validatePattern({ $or: [{ a: ['x'] }] })).toThrow(/at least 2/);
    expect(() => validatePattern({ $or: { a: ['x'] } })).toThrow(/array/);
    expect(() => validatePattern({ $or: [{ a: ['x'] }, 'b'] })).toThrow(/only objects/);
    expect(() => validatePattern({ $or: [{ prefix: ['x'] }, { b: ['y'] }] })).toThrow(/reserved/);
  });
  it('checks numeric forms', () => {
    expect(() => validatePattern({ n: [{ numeric: ['=', 1, '<', 3] }] })).toThrow();
    expect(() => validatePattern({ n: [{ numeric: ['>', 5, '<', 3] }] })).toThrow(/bottom/);
    expect(() => validatePattern({ n: [{ numeric: ['<', 5, '>', 3] }] })).toThrow();
    expect(() => validatePattern({ n: [{ numeric: ['>=', 1, '<=', 3] }] })).not.toThrow();
    expect(() => validatePattern({ n: [{ numeric: [] }] })).toThrow();
  });
  it('rejects mixed anything-but lists and bad wildcard escapes', () => {
    expect(() => validatePattern({ a: [{ 'anything-but': ['x', 1] }] })).toThrow(/all values/);
    expect(() => validatePattern({ a: [{ 'anything-but': [] }] })).toThrow(/empty/);
    expect(() => validatePattern({ a: [{ wildcard: 'a\\b' }] })).toThrow(/escape/);
    expect(() => validatePattern({ a: [{ prefix: 'a', suffix: 'b' }] })).toThrow(/one key/);
  });
});

describe('matching details', () => {
  const ev = {
    source: 'cairn',
    'detail-type': 'track',
    detail: {
      event: 'Order Completed',
      properties: {
        revenue: 42.5,
        items: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 3 },
        ],
        tags: ['vip', 'eu'],
      },
      ip: '2001:db8::1',
      nothing: null,
    },
  };
  it('applies array consistency within arrays of objects', () => {
    expect(matchesPattern({ detail: { properties: { items: { sku: ['b'], qty: [3] } } } }, ev)).toBe(true);
    expect(matchesPattern({ detail: { properties: { items: { sku: ['a'], qty: [3] } } } }, ev)).toBe(false);
  });
  it('matches equivalent IP spellings, $or, exists on null and numeric ranges', () => {
    expect(matchesPattern({ detail: { ip: ['2001:0db8:0:0:0:0:0:1'] } }, ev)).toBe(true);
    expect(matchesPattern({ detail: { nothing: [{ exists: true }] } }, ev)).toBe(true);
    expect(matchesPattern({ detail: { properties: [{ exists: true }] } }, ev)).toBe(false);
    expect(matchesPattern({ detail: { properties: [{ exists: false }] } }, ev)).toBe(true);
    expect(matchesPattern({ detail: { $or: [{ event: ['nope'] }, { 'properties.revenue': [{ numeric: ['>', 40, '<=', 42.5] }] }] } }, ev)).toBe(true);
    expect(matchesPattern({ detail: { $or: [{ event: ['nope'] }, { 'properties.revenue': [{ numeric: ['>', 42.5] }] }] } }, ev)).toBe(false);
    expect(matchesPattern({ detail: { properties: { tags: [{ 'anything-but': 'vip' }] } } }, ev)).toBe(true);
    expect(matchesPattern({ detail: { properties: { tags: [{ 'anything-but': ['vip', 'eu'] }] } } }, ev)).toBe(false);
  });
  it('treats dotted event keys like nested ones', () => {
    expect(matchesPattern({ detail: { a: { b: ['x'] } } }, { detail: { 'a.b': 'x' } })).toBe(true);
  });
});

// ---- properties -----------------------------------------------------------------------------

const key = fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/);
const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
// Events whose arrays hold only scalars, so any set of leaves can be matched together.
const { event } = fc.letrec((tie) => ({
  event: fc.dictionary(key, tie('value'), { minKeys: 1, maxKeys: 5 }),
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(scalar, { minLength: 1, maxLength: 4 }), tie('event')),
}));

type Leaf = { path: string[]; value: unknown };
function leaves(obj: Record<string, unknown>, path: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...leaves(v as Record<string, unknown>, [...path, k]));
    else out.push({ path: [...path, k], value: v });
  }
  return out;
}
function patternFrom(ls: Leaf[], pick: (l: Leaf) => unknown[]): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const l of ls) {
    let cur = p;
    for (const seg of l.path.slice(0, -1)) cur = (cur[seg] ??= {}) as Record<string, unknown>;
    cur[l.path[l.path.length - 1]!] = pick(l);
  }
  return p;
}

describe('pattern properties', () => {
  it('a pattern built from an event’s own leaf values always matches it', () => {
    fc.assert(
      fc.property(event, fc.nat(), fc.nat(), (ev, seed, idx) => {
        const all = leaves(ev);
        const chosen = all.filter((_, i) => (seed >> i) % 2 === 0 || i === idx % all.length);
        const pattern = patternFrom(chosen, (l) => (Array.isArray(l.value) ? [l.value[idx % l.value.length]] : [l.value]));
        expect(compilePattern(pattern)(ev)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('exists:true on every leaf matches; exists:false on any present leaf does not', () => {
    fc.assert(
      fc.property(event, fc.nat(), (ev, idx) => {
        const all = leaves(ev);
        expect(
          matchesPattern(
            patternFrom(all, () => [{ exists: true }]),
            ev,
          ),
        ).toBe(true);
        expect(
          matchesPattern(
            patternFrom([all[idx % all.length]!], () => [{ exists: false }]),
            ev,
          ),
        ).toBe(false);
      }),
    );
  });

  it('anything-but a value never matches that value, and matches any other value of its type', () => {
    const v = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
    fc.assert(
      fc.property(v, v, (a, b) => {
        expect(matchesPattern({ f: [{ 'anything-but': a }] }, { f: a })).toBe(false);
        expect(matchesPattern({ f: [{ 'anything-but': [a] }] }, { f: [a] })).toBe(false);
        if (typeof a === typeof b) expect(matchesPattern({ f: [{ 'anything-but': a }] }, { f: b })).toBe(!Object.is(a, b) && a !== b);
      }),
    );
  });

  it('numeric ranges agree with arithmetic comparison', () => {
    const n = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 });
    fc.assert(
      fc.property(n, n, n, (x, a, b) => {
        fc.pre(a < b);
        expect(matchesPattern({ v: [{ numeric: ['>=', a, '<', b] }] }, { v: x })).toBe(x >= a && x < b);
        expect(matchesPattern({ v: [{ numeric: ['>', a, '<=', b] }] }, { v: x })).toBe(x > a && x <= b);
        expect(matchesPattern({ v: [{ numeric: ['=', a] }] }, { v: x })).toBe(x === a);
        // Numbers never match string-typed event values.
        expect(matchesPattern({ v: [{ numeric: ['>=', a] }] }, { v: String(x) })).toBe(false);
      }),
    );
  });

  it('prefix, suffix and wildcard agree with string operations', () => {
    const s = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(s, s, (hay, needle) => {
        fc.pre(!needle.includes('*') && !needle.includes('\\'));
        expect(matchesPattern({ v: [{ prefix: needle }] }, { v: hay })).toBe(hay.startsWith(needle));
        expect(matchesPattern({ v: [{ suffix: needle }] }, { v: hay })).toBe(hay.endsWith(needle));
        expect(matchesPattern({ v: [{ wildcard: needle ? `*${needle}*` : '*' }] }, { v: hay })).toBe(hay.includes(needle));
        expect(matchesPattern({ v: [{ prefix: { 'equals-ignore-case': needle } }] }, { v: hay })).toBe(hay.toLowerCase().startsWith(needle.toLowerCase()));
      }),
    );
  });

  it('validation only ever throws typed invalid_event_pattern errors', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }), (p, ev) => {
        let m: ((e: unknown) => boolean) | undefined;
        try {
          m = compilePattern(p);
        } catch (e) {
          expect(e).toBeInstanceOf(CairnError);
          expect((e as CairnError).code).toBe('invalid_event_pattern');
          return;
        }
        expect(typeof m(ev)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
