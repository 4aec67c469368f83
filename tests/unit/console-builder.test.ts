/**
 * The segment builder's form ↔ YAML round trip (console/src/segments): a form written as a segment
 * document and read back is the same form; every example segment read into the form writes back the
 * same condition; random forms survive the trip through the YAML text and shared/definitions'
 * validator (the one the API runs); what the form cannot hold is reported, not altered.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import {
  emptyForm,
  type FormFilter,
  type FormLeaf,
  type FormTest,
  type FormNode,
  fromDefinition,
  sameCondition,
  type SegmentForm,
  toDocument,
} from '#console/src/segments/model';
import { checkSegmentDoc, checkSegmentYaml, runningSet } from '#console/src/segments/validate';

const examples = (file: string) => parseAllDocuments(readFileSync(`examples/${file}`, 'utf8')).flatMap((d) => d.toJS() as Record<string, unknown>[]);
const running = runningSet(
  [...examples('computed-traits.yaml'), ...examples('segments.yaml')].map((definition) => ({ kind: String(definition.kind), definition })),
);

/** Form → YAML text → validator → form. */
function trip(form: SegmentForm) {
  const text = stringify(toDocument(form));
  const checked = checkSegmentYaml(text, running, undefined);
  return { text, checked, back: checked.def ? fromDefinition(checked.def) : undefined };
}

const leaf = (l: FormLeaf, not = false): FormNode => ({ ...l, ...(not ? { not } : {}) });

describe('the segment builder round trip', () => {
  it('"spent over 500 in 30 days, with email consent" writes the grammar a person would and reads back the same form', () => {
    const form: SegmentForm = {
      ...emptyForm(),
      id: 'big-spenders',
      name: 'Spent over 500 in 30 days',
      root: {
        kind: 'group',
        op: 'all',
        children: [leaf({ kind: 'computed', id: 'orders_90d', tests: [{ op: 'gt', value: '500' }] }), leaf({ kind: 'consent', channel: 'email' })],
      },
    };
    const { text, checked, back } = trip(form);
    expect(text).toBe(
      'kind: segment\nid: big-spenders\nname: Spent over 500 in 30 days\nwhere:\n  all:\n    - computed: orders_90d\n      gt: 500\n    - consent: email\n',
    );
    expect(checked.problems).toEqual([]);
    expect(back).toEqual(form);
  });

  it('holds every kind of condition, negation, nested groups and event filters', () => {
    const form: SegmentForm = {
      ...emptyForm(),
      id: 'everything',
      root: {
        kind: 'group',
        op: 'any',
        children: [
          leaf({ kind: 'trait', path: 'plan', tests: [{ op: 'in', value: 'pro, team' }] }),
          leaf({ kind: 'identifier', idType: 'phone', tests: [{ op: 'prefix', value: '+33' }] }),
          leaf({ kind: 'segment', id: 'high-value' }, true),
          {
            kind: 'group',
            op: 'all',
            not: true,
            children: [
              leaf({
                kind: 'event',
                event: 'Order Completed',
                count: [{ op: 'gte', value: '2' }],
                within: '30d',
                where: [{ path: 'properties.total', tests: [{ op: 'gte', value: '500' }] }],
              }),
              leaf({ kind: 'trait', path: 'vip', tests: [{ op: 'eq', value: 'true' }] }),
            ],
          },
        ],
      },
    };
    const { checked, back } = trip(form);
    expect(checked.problems).toEqual([]);
    expect(back).toEqual(form);
  });

  it('reads every example segment into the form and writes back the same condition', () => {
    const segments = examples('segments.yaml');
    expect(segments.length).toBeGreaterThan(2);
    for (const doc of segments) {
      const checked = checkSegmentDoc(doc, running, undefined);
      expect(checked.problems, String(doc.id)).toEqual([]);
      const again = checkSegmentDoc(toDocument(fromDefinition(checked.def!)), running, undefined);
      expect(again.problems, String(doc.id)).toEqual([]);
      expect(sameCondition(again.def!.where, checked.def!.where), String(doc.id)).toBe(true);
    }
  });

  it('reports what the validator refuses, with the field, as the API would', () => {
    expect(checkSegmentYaml('where: { computed: nope, gt: 1 }', running, 'x').problems[0]?.message).toMatch(/computed.*unknown computed trait "nope"/);
    expect(checkSegmentYaml('where: { consent: email }\nwhere: { consent: sms }', running, 'x').problems[0]?.line).toBe(2);
    expect(checkSegmentYaml('where: { segment: x }', running, 'x').problems.length).toBeGreaterThan(0);
  });

  it('a document the form cannot hold exactly is noticed (a value typed as a string that looks like a number)', () => {
    const checked = checkSegmentDoc({ id: 'x', where: { trait: 'zip', eq: '75001' } }, running, undefined);
    const again = checkSegmentDoc(toDocument(fromDefinition(checked.def!)), running, undefined);
    expect(sameCondition(again.def!.where, checked.def!.where)).toBe(false);
  });

  it('random forms survive the trip through YAML and the validator', () => {
    const word = fc.stringMatching(/^[a-z][a-z_]{0,8}$/);
    const num = fc.integer({ min: -1000, max: 100_000 }).map(String);
    const test = fc.record({ op: fc.constantFrom('gte' as const, 'gt' as const, 'lte' as const, 'lt' as const, 'eq' as const, 'ne' as const), value: num });
    const leafArb = fc.oneof(
      fc.record({ kind: fc.constant('trait' as const), path: word, tests: fc.array(test, { minLength: 1, maxLength: 1 }), not: fc.boolean() }),
      fc.record({
        kind: fc.constant('computed' as const),
        id: fc.constantFrom('lifetime_revenue', 'orders_90d', 'revenue'),
        tests: fc.array(test, { minLength: 1, maxLength: 1 }),
        not: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('consent' as const), channel: fc.constantFrom('email', 'sms'), not: fc.boolean() }),
      fc.record({ kind: fc.constant('segment' as const), id: fc.constantFrom('high-value', 'churn-risk'), not: fc.boolean() }),
      fc.record({
        kind: fc.constant('event' as const),
        event: fc.constantFrom('Order Completed', 'Product Viewed'),
        count: fc.constant([{ op: 'gte', value: '1' }] as FormTest[]),
        within: fc.constantFrom('', '7d', '30d'),
        where: fc.constant([] as FormFilter[]),
        not: fc.boolean(),
      }),
    );
    const node: fc.Arbitrary<FormNode> = fc.letrec<{ node: FormNode }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leafArb,
        fc.record({
          kind: fc.constant('group' as const),
          op: fc.constantFrom('all' as const, 'any' as const),
          children: fc.array(tie('node'), { minLength: 2, maxLength: 3 }),
          not: fc.boolean(),
        }),
      ),
    })).node;
    const strip = (n: FormNode): FormNode => {
      const { not, ...rest } = n as FormNode & { not?: boolean };
      const base = (rest.kind === 'group' ? { ...rest, children: rest.children.map(strip) } : rest) as FormNode;
      return not ? { ...base, not } : base;
    };
    fc.assert(
      fc.property(fc.array(node, { minLength: 2, maxLength: 4 }), (children) => {
        const form: SegmentForm = { ...emptyForm(), id: 'random', root: { kind: 'group', op: 'all', children: children.map(strip) } };
        const { checked, back } = trip(form);
        expect(checked.problems).toEqual([]);
        expect(back).toEqual(form);
      }),
      { numRuns: 150 },
    );
  });
});
