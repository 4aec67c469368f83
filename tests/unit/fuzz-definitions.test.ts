/**
 * Fuzzing the definition parser (shared/definitions: readDocuments, checkDefinitions,
 * parseDefinitions, loadDefinitions) with fast-check: random text, random YAML/JSON documents built
 * from the grammar's own words, prototype-pollution keys, deep nesting and alias bombs. Every
 * failure is a typed CairnError (`invalid_definition`), never another exception; nothing pollutes
 * Object.prototype.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CairnError } from '#shared/errors';
import { checkDefinitions, loadDefinitions, parseDefinitions, readDocuments } from '#shared/definitions';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

/** Runs `f`; it may return or throw a CairnError, nothing else. */
function typedOnly(f: () => unknown, label: string): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof CairnError)) throw new Error(`${label.slice(0, 200)}\n→ ${(e as Error)?.name}: ${(e as Error)?.message?.slice(0, 300)}`);
    expect(e.code).toMatch(/^[a-z_]+$/);
    expect(e.status).toBe(400);
  }
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

const parsers: [string, (text: string) => unknown][] = [
  ['readDocuments', (t) => readDocuments(t, 'fuzz.yaml')],
  ['checkDefinitions', (t) => checkDefinitions(t, 'fuzz.yaml')],
  ['parseDefinitions', (t) => parseDefinitions(t, 'fuzz.yaml')],
  [
    'loadDefinitions',
    (t) =>
      loadDefinitions([
        { file: 'a.yaml', text: t },
        { file: 'b.json', text: t },
      ]),
  ],
];
const parseAll = (text: string) => {
  for (const [name, p] of parsers) typedOnly(() => p(text), `${name}(${JSON.stringify(text)})`);
};

const WORDS = [
  'kind',
  'id',
  'computedTrait',
  'segment',
  'journey',
  'event',
  'aggregate',
  'count',
  'sum',
  'min',
  'max',
  'first',
  'last',
  'property',
  'window',
  '30d',
  '0d',
  '-1d',
  'where',
  'all',
  'any',
  'not',
  'trait',
  'computed',
  'identifier',
  'consent',
  'performed',
  'atLeast',
  'times',
  'within',
  'trigger',
  'entered',
  'exited',
  'audience',
  'steps',
  'action',
  'email',
  'sms',
  'webhook',
  'wait',
  'until',
  'branch',
  'if',
  'then',
  'else',
  'frequencyCap',
  'exit',
  'channel',
  'template',
  '{{ traits.name }}',
  '{{',
  '}}',
  'gte',
  'lte',
  'eq',
  'in',
  'exists',
  'url',
  'https://x.example',
  '__proto__',
  'constructor',
  'prototype',
  'polluted',
];
const word = fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 8 }));
const doc: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, word, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), tie('o'), tie('a')),
  o: fc.array(fc.tuple(word, tie('v')), { maxLength: 6 }).map((es) => {
    const o: Record<string, unknown> = {};
    // defineProperty: `__proto__` becomes an own key, as a parser would make it.
    for (const [k, v] of es) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
    return o;
  }),
  a: fc.array(tie('v'), { maxLength: 4 }),
})).v;
const definitionLike = fc
  .record({
    kind: fc.constantFrom('computedTrait', 'segment', 'journey', 'nope'),
    id: fc.oneof(fc.constantFrom('a', 'b-1', 'x'), word),
    rest: fc.dictionary(fc.constantFrom(...WORDS), doc, { maxKeys: 5 }),
  })
  .map(({ kind, id, rest }) => ({ kind, id, ...rest }));

describe('definition parser fuzz', () => {
  it('random text: a typed error or definitions, nothing else', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 })), parseAll), { numRuns: 200 });
  });

  it('random documents in YAML and JSON, definition-shaped or not, one or several per file', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(definitionLike, doc), { minLength: 1, maxLength: 3 }), fc.constantFrom('yaml', 'json', 'multi'), (docs, format) => {
        const text = format === 'json' ? JSON.stringify(docs) : format === 'yaml' ? stringify(docs) : docs.map((d) => stringify(d)).join('---\n');
        parseAll(text);
      }),
      { numRuns: 400 },
    );
  });

  it('prototype-pollution keys at any depth are refused as fields, and pollute nothing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('__proto__', 'constructor', 'prototype'),
        fc.array(fc.constantFrom('where', 'all', 'steps', 'trigger', 'x'), { maxLength: 4 }),
        (bad, path) => {
          let inner = `{"${bad}":{"polluted":true}}`;
          for (const p of [...path].reverse()) inner = `{"${p}":${inner}}`;
          for (const text of [`{"kind":"segment","id":"s","where":${inner}}`, `kind: segment\nid: s\n${bad}:\n  polluted: true\n`]) {
            parseAll(text);
            expect(() => parseDefinitions(text, 'f.yaml')).toThrow(CairnError);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('deep nesting (100,000 levels) and alias bombs: a typed error, quickly', () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      laughs.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const cases = [
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
      Array.from({ length: 3_000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n'),
      '- '.repeat(20_000) + 'x',
      laughs.join('\n'),
      `kind: segment\nid: s\nwhere: ${'{"not":'.repeat(10_000)}{"trait":"x","exists":true}${'}'.repeat(10_000)}`,
    ];
    for (const text of cases) {
      const t0 = performance.now();
      parseAll(text);
      expect(() => parseDefinitions(text, 'f.yaml'), text.slice(0, 40)).toThrow(CairnError);
      expect(performance.now() - t0, text.slice(0, 40)).toBeLessThan(10_000);
    }
  });
});
