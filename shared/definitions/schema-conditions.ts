/**
 * Schemas of segments and of what they are made of, shared with computed traits and journeys:
 * operators, `where` filters (dotted paths to values or `{operator: value}`) and conditions
 * (all/any/not, trait, computed, identifier, consent, segment, event).
 */
import { z } from 'zod';
import { describe, isScalar, type Add, type Path } from './issues';
import { isPlainObject } from '../lang';
import {
  channelSchema,
  common,
  computedIdSchema,
  durationOf,
  flex,
  ID_TYPE_RE,
  idSchema,
  pathOf,
  strict,
  sub,
  text,
  type DefinitionBase,
} from './schema-fields';
import { MESSAGE_ROOTS, OPERATORS, type Condition, type EventCondition, type PropertyFilter, type SegmentDef, type Test } from './types';

// ---------------------------------------------------------------------------------------------
// Operators, where filters, conditions
// ---------------------------------------------------------------------------------------------

const NUMERIC_OPS = ['gte', 'gt', 'lte', 'lt', 'eq', 'ne'] as const;

function testOf(op: string, v: unknown, add: Add): Test | undefined {
  switch (op) {
    case 'gte':
    case 'gt':
    case 'lte':
    case 'lt':
      if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string') return { op, value: v };
      add([], `${op} compares with a number or a string, not ${describe(v)}`);
      return undefined;
    case 'eq':
    case 'ne':
      if (isScalar(v)) return { op, value: v };
      add([], `${op} compares with a single value (string, number, true, false or null), not ${describe(v)}`);
      return undefined;
    case 'in':
      if (Array.isArray(v) && v.length && v.every(isScalar)) return { op, value: v };
      add([], `in needs a non-empty list of values, not ${describe(v)}`);
      return undefined;
    case 'prefix':
      if (typeof v === 'string') return { op, value: v };
      add([], `prefix needs a string, not ${describe(v)}`);
      return undefined;
    case 'exists':
      if (typeof v === 'boolean') return { op, value: v };
      add([], `exists must be true or false, not ${describe(v)}`);
      return undefined;
    default:
      add([], `unknown operator (operators: ${OPERATORS.join(', ')})`);
      return undefined;
  }
}

/** `{gte: 500, lt: 1000}` → tests; every key must be an operator. */
function testsOf(obj: Record<string, unknown>, keys: string[], add: Add, path: Path): Test[] {
  const out: Test[] = [];
  for (const k of keys) {
    const t = testOf(k, obj[k], (p, m) => add([...path, k, ...p], m));
    if (t) out.push(t);
  }
  return out;
}

function filterValue(v: unknown, add: Add): Test[] | undefined {
  if (isScalar(v)) return [{ op: 'eq', value: v }];
  if (Array.isArray(v)) {
    if (v.length && v.every(isScalar)) return [{ op: 'in', value: v }];
    add([], 'a list in where means "one of these values" and must hold strings, numbers, true, false or null');
    return undefined;
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (!keys.length) {
      add([], `needs an operator (${OPERATORS.join(', ')})`);
      return undefined;
    }
    const bad = keys.filter((k) => !(OPERATORS as readonly string[]).includes(k));
    if (bad.length) {
      for (const k of bad) add([k], `unknown operator (operators: ${OPERATORS.join(', ')}; write nested properties as a dotted path)`);
      return undefined;
    }
    return testsOf(v, keys, add, []);
  }
  add([], `must be a value or {operator: value}, not ${describe(v)}`);
  return undefined;
}

interface WhereOpts {
  roots: readonly string[];
}

export function whereOf(v: unknown, add: Add, opts: WhereOpts): PropertyFilter[] | undefined {
  if (!isPlainObject(v)) {
    add([], `where must be a mapping of dotted paths to values, e.g. { properties.store_id: SH-001 }, not ${describe(v)}`);
    return undefined;
  }
  const out: PropertyFilter[] = [];
  let ok = true;
  for (const [key, value] of Object.entries(v)) {
    const here = (p: Path, m: string) => {
      ok = false;
      add([key, ...p], m);
    };
    if ((OPERATORS as readonly string[]).includes(key)) {
      here([], `"${key}" is an operator, not a property path; write { properties.<name>: { ${key}: ... } }`);
      continue;
    }
    const path = pathOf(key, (p, m) => here(p, m), opts.roots, 'property path');
    const tests = filterValue(value, here);
    if (path && tests) out.push({ path, tests });
  }
  return ok ? out : undefined;
}

export const whereSchema = (roots: readonly string[] = MESSAGE_ROOTS) => flex((v, add) => whereOf(v, add, { roots }));

const CONDITION_KEYS = ['all', 'any', 'not', 'trait', 'computed', 'identifier', 'consent', 'segment', 'event'] as const;
const EVENT_KEYS = ['event', 'count', 'within', 'where', 'since'];

export interface ConditionOpts {
  inJourney: boolean;
}

export function conditionOf(v: unknown, add: Add, opts: ConditionOpts, depth = 0): Condition | undefined {
  if (depth > 32) {
    add([], 'conditions are nested too deeply (at most 32 levels)');
    return undefined;
  }
  if (!isPlainObject(v)) {
    add([], `a condition must be a mapping with one of ${CONDITION_KEYS.join(', ')}, not ${describe(v)}`);
    return undefined;
  }
  const keys = Object.keys(v);
  const kinds = keys.filter((k) => (CONDITION_KEYS as readonly string[]).includes(k));
  if (kinds.length === 0) {
    add([], `a condition needs one of ${CONDITION_KEYS.join(', ')} (found ${keys.join(', ') || 'nothing'})`);
    return undefined;
  }
  if (kinds.length > 1) {
    add([], `a condition has exactly one of ${CONDITION_KEYS.join(', ')}, found ${kinds.join(' and ')} (combine conditions with all: [...])`);
    return undefined;
  }
  const kind = kinds[0]!;
  const rest = keys.filter((k) => k !== kind);
  let ok = true;
  const fail = (path: Path, m: string) => {
    ok = false;
    add(path, m);
  };
  const noOthers = (what: string) => {
    for (const k of rest) fail([k], `unknown field (${what})`);
  };
  const val = v[kind];

  switch (kind) {
    case 'all':
    case 'any': {
      noOthers(`a ${kind} condition only has ${kind}: [conditions]`);
      if (!Array.isArray(val) || !val.length) {
        fail([kind], `${kind} needs a non-empty list of conditions, not ${describe(val)}`);
        return undefined;
      }
      const of: Condition[] = [];
      val.forEach((c, i) => {
        const r = conditionOf(c, (p, m) => fail([kind, i, ...p], m), opts, depth + 1);
        if (r) of.push(r);
      });
      return ok ? { type: kind, of } : undefined;
    }
    case 'not': {
      noOthers('a not condition only has not: condition');
      const of = conditionOf(val, (p, m) => fail(['not', ...p], m), opts, depth + 1);
      return ok && of ? { type: 'not', of } : undefined;
    }
    case 'trait':
    case 'computed':
    case 'identifier': {
      let name: string | undefined;
      if (kind === 'trait') name = pathOf(val, (p, m) => fail(['trait', ...p], m), null, 'trait path');
      else
        name = sub(
          kind === 'computed'
            ? computedIdSchema
            : z.string().regex(ID_TYPE_RE, { error: (i) => `${describe(i.input)} is not an identifier type (e.g. email, phone, user_id)` }),
          val,
          [kind],
          fail,
        );
      const ops = rest.filter((k) => (OPERATORS as readonly string[]).includes(k));
      for (const k of rest) if (!ops.includes(k)) fail([k], `unknown field (a ${kind} condition takes ${kind} and the operators ${OPERATORS.join(', ')})`);
      if (kind !== 'identifier' && !ops.length)
        fail([], `a ${kind} condition needs an operator (${OPERATORS.join(', ')}), e.g. { ${kind}: ${String(val)}, gte: 1 }`);
      const tests = testsOf(v, ops, fail, []);
      if (!ok || name === undefined) return undefined;
      if (kind === 'trait') return { type: 'trait', path: name, tests };
      if (kind === 'computed') return { type: 'computed', id: name, tests };
      return { type: 'identifier', idType: name, tests };
    }
    case 'consent':
    case 'segment': {
      noOthers(kind === 'consent' ? 'a consent condition only has consent: <channel> (negate it with not)' : 'a segment condition only has segment: <id>');
      const id = sub(kind === 'consent' ? channelSchema : idSchema, val, [kind], fail);
      if (!ok || id === undefined) return undefined;
      return kind === 'consent' ? { type: 'consent', channel: id } : { type: 'segment', id };
    }
    case 'event': {
      for (const k of rest) if (!EVENT_KEYS.includes(k)) fail([k], `unknown field (an event condition takes ${EVENT_KEYS.join(', ')})`);
      const event = sub(text, val, ['event'], fail);
      const cond: EventCondition = { type: 'event', event: event ?? '', count: [{ op: 'gte', value: 1 }], where: [] };
      if ('count' in v) {
        const c = v.count;
        if (typeof c === 'number') fail(['count'], `count needs an operator, e.g. count: { gte: ${c} }`);
        else if (!isPlainObject(c) || !Object.keys(c).length)
          fail(['count'], `count must be a mapping of operators (${NUMERIC_OPS.join(', ')}) to numbers, not ${describe(c)}`);
        else {
          const tests: Test[] = [];
          for (const [op, n] of Object.entries(c)) {
            if (!(NUMERIC_OPS as readonly string[]).includes(op)) fail(['count', op], `unknown operator for a count (use ${NUMERIC_OPS.join(', ')})`);
            else if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) fail(['count', op], `a count compares with a whole number, not ${describe(n)}`);
            else tests.push({ op, value: n } as Test);
          }
          cond.count = tests;
        }
      }
      if ('within' in v) {
        const d = durationOf(v.within, (p, m) => fail(['within', ...p], m));
        if (d) {
          cond.within = d.text;
          cond.withinMs = d.ms;
        }
      }
      if ('where' in v) {
        const w = whereOf(v.where, (p, m) => fail(['where', ...p], m), { roots: MESSAGE_ROOTS });
        if (w) cond.where = w;
      }
      if ('since' in v) {
        if (!opts.inJourney) fail(['since'], 'since: journey.start is only available in journeys');
        else if (v.since !== 'journey.start') fail(['since'], `since must be journey.start, not ${describe(v.since)}`);
        else if ('within' in v) fail(['since'], 'use either within or since, not both');
        else cond.since = 'journey.start';
      }
      return ok ? cond : undefined;
    }
  }
  return undefined;
}

export const conditionSchema = (opts: ConditionOpts) => flex((v, add) => conditionOf(v, add, opts));

export const segmentSchema = strict({ ...common, id: idSchema, where: conditionSchema({ inJourney: false }) }, 'a segment');

export function segmentDef(p: z.output<typeof segmentSchema>, base: DefinitionBase): SegmentDef {
  return { ...base, kind: 'segment', where: p.where } satisfies SegmentDef;
}
