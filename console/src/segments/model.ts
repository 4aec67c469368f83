/**
 * The segment builder's form and the definitions grammar, both ways (docs/definitions.md#conditions):
 * a form is a tree of groups (all / any) and conditions (trait, computed trait, event within a
 * window, consent, another segment, identifier), each of which may be negated (`not`). `toDocument`
 * writes the segment document the API takes; `fromDefinition` reads a validated one back. A document
 * the form cannot hold exactly (`fromDefinition` answers null) is edited as YAML only.
 */
import { OPERATORS, type Condition, type Operator, type SegmentDef, type Test } from '#shared/definitions';

export { OPERATORS, type Operator };

/** One operator and its value as typed in the form. */
export interface FormTest {
  op: Operator;
  value: string;
}
export interface FormFilter {
  path: string;
  tests: FormTest[];
}

export type FormLeaf =
  | { kind: 'trait'; path: string; tests: FormTest[] }
  | { kind: 'computed'; id: string; tests: FormTest[] }
  | { kind: 'identifier'; idType: string; tests: FormTest[] }
  | { kind: 'consent'; channel: string }
  | { kind: 'segment'; id: string }
  | { kind: 'event'; event: string; count: FormTest[]; within: string; where: FormFilter[] };
export type FormGroup = { kind: 'group'; op: 'all' | 'any'; children: FormNode[]; not?: boolean };
export type FormNode = (FormLeaf | FormGroup) & { not?: boolean };

export interface SegmentForm {
  id: string;
  name: string;
  description: string;
  root: FormGroup;
}

export const emptyForm = (): SegmentForm => ({ id: '', name: '', description: '', root: { kind: 'group', op: 'all', children: [] } });

export const LEAF_KINDS = ['trait', 'computed', 'event', 'consent', 'segment', 'identifier'] as const;
export type LeafKind = (typeof LEAF_KINDS)[number];

export function newLeaf(kind: LeafKind): FormLeaf {
  switch (kind) {
    case 'trait':
      return { kind, path: '', tests: [{ op: 'eq', value: '' }] };
    case 'computed':
      return { kind, id: '', tests: [{ op: 'gte', value: '' }] };
    case 'identifier':
      return { kind, idType: 'email', tests: [] };
    case 'consent':
      return { kind, channel: 'email' };
    case 'segment':
      return { kind, id: '' };
    case 'event':
      return { kind, event: '', count: [{ op: 'gte', value: '1' }], within: '30d', where: [] };
  }
}

// ---- form → document ------------------------------------------------------------------------

type Scalar = string | number | boolean | null;

/** A typed value from the text of the form: numbers as numbers, true/false/null as themselves. */
function scalar(text: string): Scalar {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  if (t !== '' && /^-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  return t;
}

function testValue(t: FormTest): unknown {
  switch (t.op) {
    case 'in':
      return t.value
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
        .map(scalar);
    case 'exists':
      return t.value.trim() !== 'false';
    case 'prefix':
      return t.value;
    default:
      return scalar(t.value);
  }
}

const tests = (ts: FormTest[]) => Object.fromEntries(ts.map((t) => [t.op, testValue(t)]));

function leafSource(n: FormLeaf): Record<string, unknown> {
  switch (n.kind) {
    case 'trait':
      return { trait: n.path, ...tests(n.tests) };
    case 'computed':
      return { computed: n.id, ...tests(n.tests) };
    case 'identifier':
      return { identifier: n.idType, ...tests(n.tests) };
    case 'consent':
      return { consent: n.channel };
    case 'segment':
      return { segment: n.id };
    case 'event': {
      const out: Record<string, unknown> = { event: n.event };
      if (n.count.length) out.count = tests(n.count);
      if (n.within.trim()) out.within = n.within.trim();
      if (n.where.length) out.where = Object.fromEntries(n.where.map((f) => [f.path, tests(f.tests)]));
      return out;
    }
  }
}

/** The grammar's condition (source form) of a node. */
export function conditionSource(n: FormNode): Record<string, unknown> {
  const inner = n.kind === 'group' ? { [n.op]: n.children.map(conditionSource) } : leafSource(n);
  return n.not ? { not: inner } : inner;
}

/** The segment document (as `PUT /v1/segments/{id}` takes it). A group of one is written as that one condition. */
export function toDocument(form: SegmentForm): Record<string, unknown> {
  const root: FormNode = form.root.children.length === 1 && !form.root.not ? form.root.children[0]! : form.root;
  return {
    kind: 'segment',
    ...(form.id ? { id: form.id } : {}),
    ...(form.name.trim() ? { name: form.name.trim() } : {}),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    where: conditionSource(root),
  };
}

// ---- document → form ------------------------------------------------------------------------

const text = (v: unknown): string => (Array.isArray(v) ? v.map(text).join(', ') : v === null ? 'null' : String(v));
const formTests = (ts: Test[]): FormTest[] => ts.map((t) => ({ op: t.op, value: text(t.value) }));

function nodeOf(c: Condition): FormNode {
  switch (c.type) {
    case 'all':
    case 'any':
      return { kind: 'group', op: c.type, children: c.of.map(nodeOf) };
    case 'not': {
      const inner = nodeOf(c.of);
      return { ...inner, not: !inner.not };
    }
    case 'trait':
      return { kind: 'trait', path: c.path, tests: formTests(c.tests) };
    case 'computed':
      return { kind: 'computed', id: c.id, tests: formTests(c.tests) };
    case 'identifier':
      return { kind: 'identifier', idType: c.idType, tests: formTests(c.tests) };
    case 'consent':
      return { kind: 'consent', channel: c.channel };
    case 'segment':
      return { kind: 'segment', id: c.id };
    case 'event':
      return {
        kind: 'event',
        event: c.event,
        count: formTests(c.count),
        within: c.within ?? '',
        where: c.where.map((f) => ({ path: f.path, tests: formTests(f.tests) })),
      };
  }
}

/**
 * The form of a validated segment, or null when the form cannot hold it exactly: what the form would
 * write back must be the same condition (checked by `sameCondition` with the validator's output).
 */
export function fromDefinition(def: SegmentDef): SegmentForm {
  const root = nodeOf(def.where);
  return {
    id: def.id,
    name: def.name ?? '',
    description: def.description ?? '',
    root: root.kind === 'group' && !root.not ? root : { kind: 'group', op: 'all', children: [root] },
  };
}

/** Conditions compared by meaning as the validator compiles them (source positions aside). */
export function sameCondition(a: Condition, b: Condition): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
