/**
 * Validation of one definition document (zod v4, strict: unknown fields are rejected) into the
 * normalised `Definition` of types.ts. Every problem becomes a line naming the file, the document
 * (0-based index and id) and the field path, e.g.
 * `segments.yaml: document 2 (id: churn-risk): where.all[1].not.within: "60x" is not a duration (use 30s, 15m, 3d, 2w)`;
 * all lines of a document are collected and thrown as one CairnError `invalid_definition`.
 */
import { z } from 'zod';
import { CairnError } from '../errors';
import { DURATION_HINT, parseDuration } from './duration';
import { PATH_RE } from './path';
import { parseTemplate } from './template';
import { compileEventPattern } from './trigger';
import { hasVariables } from './variables';
import {
  ACTIONS,
  AGGREGATES,
  BUILTIN_COMPUTED,
  KINDS,
  MESSAGE_ROOTS,
  OPERATORS,
  type ActionStep,
  type ComputedTraitDef,
  type Condition,
  type Definition,
  type EventCondition,
  type JourneyDef,
  type JourneyExit,
  type JsonObject,
  type Origin,
  type PropertyFilter,
  type SegmentDef,
  type Step,
  type Test,
  type Trigger,
} from './types';

export type Path = (string | number)[];
export interface DefinitionIssue {
  file: string;
  index: number;
  id?: string;
  kind?: string;
  path: Path;
  message: string;
  /** The full line: `file: document N (id: x): path: message`. */
  text: string;
}
type Add = (path: Path, message: string) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number | boolean | null =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(document)';
}

export function documentLabel(origin: Origin, id?: string): string {
  return `${origin.file}: document ${origin.index}${id ? ` (id: ${id})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// zod plumbing: messages a marketer can act on
// ---------------------------------------------------------------------------------------------

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function zodMessage(iss: z.core.$ZodRawIssue): string | undefined {
  const input = (iss as { input?: unknown }).input;
  switch (iss.code) {
    case 'invalid_type':
      if (input === undefined) return 'is required';
      return `must be ${TYPE_NAMES[iss.expected] ?? iss.expected}, not ${describe(input)}`;
    case 'invalid_value':
      return `must be ${iss.values.length === 1 ? describe(iss.values[0]) : 'one of ' + iss.values.map((v) => String(v)).join(', ')}, not ${describe(input)}`;
    case 'too_small':
      if (iss.origin === 'string') return 'must not be empty';
      if (iss.origin === 'array') return `must have at least ${String(iss.minimum)} item${Number(iss.minimum) === 1 ? '' : 's'}`;
      return `must be at least ${String(iss.minimum)}, not ${describe(input)}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters long`;
      if (iss.origin === 'array') return `must have at most ${String(iss.maximum)} items`;
      return `must be at most ${String(iss.maximum)}, not ${describe(input)}`;
    case 'invalid_format':
      return `${describe(input)} is not valid here`;
    default:
      return undefined;
  }
}

const PARSE_OPTS = { reportInput: true, error: zodMessage } as const;

function issuesOf(error: z.ZodError): { path: Path; message: string }[] {
  const out: { path: Path; message: string }[] = [];
  for (const i of error.issues) {
    const path = i.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (i.code === 'unrecognized_keys') for (const k of i.keys) out.push({ path: [...path, k], message: i.message });
    else out.push({ path, message: i.message });
  }
  return out;
}

/** A strict object schema: unknown fields are reported one by one, with the fields that are allowed. */
function strict<S extends z.ZodRawShape>(shape: S, what: string) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field (${what} takes: ${allowed})` : undefined),
  });
}

/** A field parsed by a hand-written function that reports its own issues (relative paths). */
function flex<T>(fn: (v: unknown, add: Add) => T | undefined, required = 'is required') {
  return z.unknown().transform((v, ctx) => {
    if (v === undefined) {
      ctx.addIssue({ code: 'custom', message: required, input: v });
      return z.NEVER;
    }
    let failed = false;
    const r = fn(v, (path, message) => {
      failed = true;
      ctx.addIssue({ code: 'custom', message, path, input: v });
    });
    return failed || r === undefined ? z.NEVER : r;
  });
}

/** Runs a zod schema from inside a flex function, reporting its issues under `path`. */
function sub<S extends z.ZodType>(schema: S, v: unknown, path: Path, add: Add): z.output<S> | undefined {
  const r = schema.safeParse(v, PARSE_OPTS);
  if (r.success) return r.data;
  for (const i of issuesOf(r.error)) add([...path, ...i.path], i.message);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Leaf schemas
// ---------------------------------------------------------------------------------------------

export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
export const COMPUTED_ID_RE = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
const CHANNEL_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,47}$/;
const ID_TYPE_RE = /^[a-z][a-z0-9_]{0,31}$/;

const text = z.string().min(1);
const idSchema = z.string().regex(ID_RE, {
  error: (iss) => `${describe(iss.input)} is not a valid id (letters, digits, - and _, starting with a letter or digit, at most 48)`,
});
const computedIdSchema = z.string().regex(COMPUTED_ID_RE, {
  error: (iss) => `${describe(iss.input)} is not a valid computed trait id (letters, digits and _, not starting with a digit, at most 48)`,
});
const channelSchema = z.string().regex(CHANNEL_RE, { error: (iss) => `${describe(iss.input)} is not a consent channel name` });

function durationOf(v: unknown, add: Add): { text: string; ms: number } | undefined {
  const ms = typeof v === 'string' ? parseDuration(v) : null;
  if (v === undefined) add([], `is required (a duration: ${DURATION_HINT})`);
  else if (ms === null) {
    add([], `${describe(v)} is not a duration (${DURATION_HINT})`);
  }
  return ms === null ? undefined : { text: v as string, ms };
}
const durationSchema = flex(durationOf, `is required (a duration: ${DURATION_HINT})`);

function pathOf(v: unknown, add: Add, roots: readonly string[] | null, what = 'path'): string | undefined {
  if (typeof v !== 'string' || !PATH_RE.test(v)) {
    add([], `${describe(v)} is not a dotted ${what} (e.g. properties.total)`);
    return undefined;
  }
  if (roots && !roots.includes(v.split('.')[0]!)) {
    add([], `"${v}" must start with one of ${roots.map((r) => r + '.').join(', ')} (e.g. properties.${v})`);
    return undefined;
  }
  return v;
}

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
  if (isObject(v)) {
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

function whereOf(v: unknown, add: Add, opts: WhereOpts): PropertyFilter[] | undefined {
  if (!isObject(v)) {
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

const whereSchema = (roots: readonly string[] = MESSAGE_ROOTS) => flex((v, add) => whereOf(v, add, { roots }));

const CONDITION_KEYS = ['all', 'any', 'not', 'trait', 'computed', 'identifier', 'consent', 'segment', 'event'] as const;
const EVENT_KEYS = ['event', 'count', 'within', 'where', 'since'];

interface ConditionOpts {
  inJourney: boolean;
}

function conditionOf(v: unknown, add: Add, opts: ConditionOpts, depth = 0): Condition | undefined {
  if (depth > 32) {
    add([], 'conditions are nested too deeply (at most 32 levels)');
    return undefined;
  }
  if (!isObject(v)) {
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
      else name = sub(kind === 'computed' ? computedIdSchema : z.string().regex(ID_TYPE_RE, { error: (i) => `${describe(i.input)} is not an identifier type (e.g. email, phone, user_id)` }), val, [kind], fail);
      const ops = rest.filter((k) => (OPERATORS as readonly string[]).includes(k));
      for (const k of rest) if (!ops.includes(k)) fail([k], `unknown field (a ${kind} condition takes ${kind} and the operators ${OPERATORS.join(', ')})`);
      if (kind !== 'identifier' && !ops.length) fail([], `a ${kind} condition needs an operator (${OPERATORS.join(', ')}), e.g. { ${kind}: ${String(val)}, gte: 1 }`);
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
        else if (!isObject(c) || !Object.keys(c).length) fail(['count'], `count must be a mapping of operators (${NUMERIC_OPS.join(', ')}) to numbers, not ${describe(c)}`);
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

const conditionSchema = (opts: ConditionOpts) => flex((v, add) => conditionOf(v, add, opts));

// ---------------------------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------------------------

const common = { kind: z.string(), name: text.optional(), description: z.string().optional() };

const computedTraitSchema = strict(
  {
    ...common,
    id: computedIdSchema,
    event: text.optional(),
    aggregate: z.enum(AGGREGATES),
    property: flex((v, add) => pathOf(v, add, MESSAGE_ROOTS, 'property path')).optional(),
    window: durationSchema.optional(),
    where: whereSchema().optional(),
  },
  'a computed trait',
);

const segmentSchema = strict({ ...common, id: idSchema, where: conditionSchema({ inJourney: false }) }, 'a segment');

const JOURNEY_ROOTS = [...MESSAGE_ROOTS, 'profile'] as const;

function triggerOf(v: unknown, add: Add): Trigger | undefined {
  if (isObject(v) && 'segment' in v) {
    const t = sub(strict({ segment: idSchema, on: z.enum(['entered', 'exited']).optional() }, 'a segment trigger'), v, [], add);
    return t && { type: 'segment', segment: t.segment, on: t.on ?? 'entered' };
  }
  if (isObject(v) && 'event' in v) {
    const t = sub(strict({ event: text, where: whereSchema(JOURNEY_ROOTS).optional() }, 'an event trigger'), v, [], add);
    return t && checkPattern(t.event, t.where ?? [], add) ? { type: 'event', event: t.event, where: t.where ?? [] } : undefined;
  }
  add([], `a trigger is { event: <name>, where?: {...} } or { segment: <id>, on: entered|exited }, not ${describe(v)}`);
  return undefined;
}

function exitOf(v: unknown, add: Add): JourneyExit | undefined {
  if (isObject(v) && 'event' in v && Object.keys(v).every((k) => k === 'event' || k === 'where')) {
    const t = sub(strict({ event: text, where: whereSchema().optional() }, 'an event exit'), v, [], add);
    return t && checkPattern(t.event, t.where ?? [], add) ? { type: 'event', event: t.event, where: t.where ?? [] } : undefined;
  }
  const c = conditionOf(v, add, { inJourney: true });
  return c && { type: 'condition', condition: c };
}

function holdoutOf(v: unknown, add: Add): number | undefined {
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*%$/.exec(v.trim()) : null;
  const p = m ? Number(m[1]) : NaN;
  if (!m || !(p >= 0 && p < 100)) {
    add([], `holdout is a percentage from 0% to 99%, e.g. 10%, not ${describe(v)}`);
    return undefined;
  }
  return p;
}

const json = z.json();
const templateText = text;
const optId = idSchema.optional();
const stepConsent = z.union([channelSchema, z.literal('none')]).optional();

const ACTION_SCHEMAS = {
  email: strict({ id: optId, action: z.literal('email'), subject: templateText, body: templateText, to: templateText.optional(), from: templateText.optional(), consent: stepConsent }, 'an email step'),
  sms: strict({ id: optId, action: z.literal('sms'), text: templateText, to: templateText.optional(), consent: stepConsent }, 'an sms step'),
  webhook: strict(
    {
      id: optId,
      action: z.literal('webhook'),
      url: z.string().regex(/^https?:\/\/[^/{}\s?#]+([/?#].*)?$/s, {
        error: (i) =>
          typeof i.input === 'string' && hasVariables(i.input)
            ? `${describe(i.input)} is not a webhook URL: its variable is resolved when a file is read (npx cairn apply), never by the stack (docs/definitions.md#variables)`
            : `${describe(i.input)} is not a webhook URL (https://host/path; templates are allowed after the host)`,
      }),
      method: z.enum(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']).optional(),
      body: json.optional(),
      headers: z.record(z.string().min(1), z.string()).optional(),
    },
    'a webhook step',
  ),
  traits: strict({ id: optId, action: z.literal('traits'), set: z.record(z.string().min(1), json).optional(), unset: z.array(z.string().min(1)).min(1).optional() }, 'a traits step'),
  event: strict({ id: optId, action: z.literal('event'), name: text.optional(), event: text.optional(), properties: z.record(z.string(), json).optional() }, 'an event step'),
} as const;

const STEP_KINDS = ['action', 'wait', 'if', 'exit'] as const;

interface StepScope {
  /** Prefix of derived ids: '' at the top level, `remind.then-` in a branch. */
  prefix: string;
}

function stepsOf(v: unknown, add: Add, scope: StepScope, depth: number): Step[] | undefined {
  if (!Array.isArray(v) || !v.length) {
    add([], `must be a non-empty list of steps, not ${describe(v)}`);
    return undefined;
  }
  const out: Step[] = [];
  let ok = true;
  v.forEach((s, i) => {
    const r = stepOf(s, (p, m) => {
      ok = false;
      add([i, ...p], m);
    }, `${scope.prefix}${i + 1}`, depth);
    if (r) out.push(r);
  });
  return ok ? out : undefined;
}

function stepOf(v: unknown, add: Add, derivedId: string, depth: number): Step | undefined {
  if (depth > 16) {
    add([], 'branches are nested too deeply (at most 16 levels)');
    return undefined;
  }
  if (!isObject(v)) {
    add([], `a step must be a mapping with one of ${STEP_KINDS.join(', ')}, not ${describe(v)}`);
    return undefined;
  }
  const kinds = STEP_KINDS.filter((k) => k in v);
  if (kinds.length !== 1) {
    add([], kinds.length ? `a step has exactly one of ${STEP_KINDS.join(', ')}, found ${kinds.join(' and ')}` : `a step needs one of ${STEP_KINDS.join(', ')}`);
    return undefined;
  }
  const declared = typeof v.id === 'string' ? v.id : undefined;
  const id = declared ?? derivedId;
  const base = { id, declaredId: declared !== undefined };
  switch (kinds[0]!) {
    case 'action': {
      const a = v.action;
      if (typeof a !== 'string' || !(ACTIONS as readonly string[]).includes(a)) {
        add(['action'], `must be one of ${ACTIONS.join(', ')}, not ${describe(a)}`);
        return undefined;
      }
      const r = sub(ACTION_SCHEMAS[a as keyof typeof ACTION_SCHEMAS], v, [], add) as Record<string, unknown> | undefined;
      if (!r) return undefined;
      let templatesOk = true;
      for (const [field, t] of stepTemplates({ ...r, type: 'action' } as ActionStep))
        for (const e of parseTemplate(t).errors) {
          templatesOk = false;
          add(field, `in step ${id}: ${e}`);
        }
      if (!templatesOk) return undefined;
      const { id: _id, ...fields } = r;
      if (a === 'webhook') return { ...base, type: 'action', ...(fields as object), method: (fields.method as 'POST') ?? 'POST' } as ActionStep;
      if (a === 'traits') {
        if (!fields.set && !fields.unset) {
          add([], 'a traits step needs set: {...} or unset: [...]');
          return undefined;
        }
        const both = Object.keys((fields.set as object) ?? {}).filter((k) => ((fields.unset as string[]) ?? []).includes(k));
        if (both.length) {
          add(['unset'], `${both.join(', ')} cannot be both set and unset`);
          return undefined;
        }
      }
      if (a === 'event') {
        if ((fields.name === undefined) === (fields.event === undefined)) {
          add([], 'an event step needs the event name in name (or event), once');
          return undefined;
        }
        const { event, name, ...restFields } = fields;
        return { ...base, type: 'action', ...(restFields as object), name: (name ?? event) as string } as ActionStep;
      }
      return { ...base, type: 'action', ...(fields as object) } as ActionStep;
    }
    case 'wait': {
      const r = sub(strict({ id: optId, wait: z.unknown() }, 'a wait step'), v, [], add);
      if (!r) return undefined;
      if (typeof r.wait === 'string' || typeof r.wait === 'number') {
        const d = durationOf(r.wait, (p, m) => add(['wait', ...p], m));
        return d && { ...base, type: 'wait', ms: d.ms, duration: d.text };
      }
      const w = sub(
        strict(
          {
            until: strict({ event: text, where: whereSchema().optional() }, 'wait until'),
            timeout: durationSchema,
            onTimeout: z.enum(['continue', 'exit']).optional(),
          },
          'a wait',
        ),
        r.wait,
        ['wait'],
        add,
      );
      if (!w || !checkPattern(w.until.event, w.until.where ?? [], (p, m) => add(['wait', 'until', ...p], m))) return undefined;
      return {
        ...base,
        type: 'waitUntil',
        event: w.until.event,
        where: w.until.where ?? [],
        timeoutMs: w.timeout.ms,
        timeout: w.timeout.text,
        onTimeout: w.onTimeout ?? 'continue',
      };
    }
    case 'if': {
      const r = sub(strict({ id: optId, if: z.unknown(), then: z.unknown(), else: z.unknown().optional() }, 'a branch step'), v, [], add);
      if (!r) return undefined;
      let ok = true;
      const fail = (p: Path, m: string) => {
        ok = false;
        add(p, m);
      };
      const cond = conditionOf(r.if, (p, m) => fail(['if', ...p], m), { inJourney: true });
      const then = stepsOf(r.then, (p, m) => fail(['then', ...p], m), { prefix: `${id}.then-` }, depth + 1);
      const els = r.else === undefined ? [] : stepsOf(r.else, (p, m) => fail(['else', ...p], m), { prefix: `${id}.else-` }, depth + 1);
      return ok && cond && then && els ? { ...base, type: 'branch', if: cond, then, else: els } : undefined;
    }
    case 'exit': {
      const r = sub(strict({ id: optId, exit: z.literal(true) }, 'an exit step'), v, [], add);
      return r && { ...base, type: 'exit' };
    }
  }
  return undefined;
}

const journeySchema = strict(
  {
    ...common,
    id: idSchema,
    enabled: z.boolean().optional(),
    trigger: flex(triggerOf),
    audience: conditionSchema({ inJourney: true }).optional(),
    consent: z.union([channelSchema, z.literal('none')]).optional(),
    frequency: strict({ max: z.number().int().min(1).max(1000), per: durationSchema }, 'frequency').optional(),
    exit: flex(exitOf).optional(),
    holdout: flex(holdoutOf).optional(),
    steps: flex((v, add) => stepsOf(v, add, { prefix: 'step-' }, 0)),
  },
  'a journey',
);

// ---------------------------------------------------------------------------------------------
// Journey-wide checks: step ids, consent, templates, EventBridge-compatible filters
// ---------------------------------------------------------------------------------------------

/** Every step of a journey, depth first, with its path in the document. */
export function walkSteps(steps: Step[], path: Path = ['steps']): { step: Step; path: Path }[] {
  const out: { step: Step; path: Path }[] = [];
  steps.forEach((step, i) => {
    const here = [...path, i];
    out.push({ step, path: here });
    if (step.type === 'branch') {
      out.push(...walkSteps(step.then, [...here, 'then']));
      out.push(...walkSteps(step.else, [...here, 'else']));
    }
  });
  return out;
}

/** Template-bearing fields of an action step: [field path relative to the step, text]. */
export function stepTemplates(step: Step): [Path, string][] {
  if (step.type !== 'action') return [];
  const out: [Path, string][] = [];
  const deep = (v: unknown, path: Path) => {
    if (typeof v === 'string') out.push([path, v]);
    else if (Array.isArray(v)) v.forEach((e, i) => deep(e, [...path, i]));
    else if (isObject(v)) for (const [k, e] of Object.entries(v)) deep(e, [...path, k]);
  };
  switch (step.action) {
    case 'email':
      for (const f of ['subject', 'body', 'to', 'from'] as const) if (step[f] !== undefined) out.push([[f], step[f]!]);
      break;
    case 'sms':
      for (const f of ['text', 'to'] as const) if (step[f] !== undefined) out.push([[f], step[f]!]);
      break;
    case 'webhook':
      out.push([['url'], step.url]);
      deep(step.headers, ['headers']);
      deep(step.body, ['body']);
      break;
    case 'traits':
      deep(step.set, ['set']);
      break;
    case 'event':
      deep(step.properties, ['properties']);
      break;
  }
  return out;
}

function checkJourney(j: JourneyDef, add: Add): void {
  const seen = new Map<string, Path>();
  let messaging = false;
  for (const { step, path } of walkSteps(j.steps)) {
    const prev = seen.get(step.id);
    if (prev) add([...path, 'id'], `duplicate step id "${step.id}" (also ${formatPath(prev)})`);
    else seen.set(step.id, path);
    if (step.type === 'action' && (step.action === 'email' || step.action === 'sms') && !step.consent) messaging = true;
    for (const [field, t] of stepTemplates(step)) {
      const { parts } = parseTemplate(t);
      if (j.trigger.type === 'segment')
        for (const p of parts)
          if (typeof p !== 'string' && p.root === 'event')
            add([...path, ...field], `in step ${step.id}: {{ ${p.path} }} refers to nothing: the journey is triggered by a segment, not an event`);
    }
  }
  if (messaging && j.source.consent === undefined)
    add(['consent'], 'this journey sends email or SMS: name the consent channel it needs (e.g. consent: email), or consent: none');
}

/** Event filters of journeys are matched by EventBridge rules: they must compile to a pattern. */
function checkPattern(event: string, where: PropertyFilter[], add: Add): boolean {
  try {
    compileEventPattern(event, where);
    return true;
  } catch (e) {
    if (e instanceof CairnError && e.code === 'invalid_definition') add(((e.details?.path as Path) ?? []), e.message);
    else if (e instanceof CairnError) add(['where'], e.message);
    else throw e;
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

function issueText(origin: Origin, id: string | undefined, path: Path, message: string) {
  return `${documentLabel(origin, id)}: ${formatPath(path)}: ${message}`;
}

/** Throws one CairnError `invalid_definition` listing every issue (one per line). */
export function definitionError(issues: DefinitionIssue[]): CairnError {
  const lines = issues.map((i) => i.text);
  return new CairnError('invalid_definition', lines.join('\n'), 400, {
    errors: lines,
    ...(issues.length === 1 ? { file: issues[0]!.file, index: issues[0]!.index, id: issues[0]!.id, field: formatPath(issues[0]!.path) } : {}),
  });
}

/** The issues of one document; [] when it is valid. */
export function checkDefinition(doc: unknown, where: Origin): { def?: Definition; issues: DefinitionIssue[] } {
  const id = isObject(doc) && typeof doc.id === 'string' ? doc.id : undefined;
  const kind = isObject(doc) && typeof doc.kind === 'string' ? doc.kind : undefined;
  const issues: DefinitionIssue[] = [];
  const add: Add = (path, message) =>
    issues.push({ file: where.file, index: where.index, id, kind, path, message, text: issueText(where, id, path, message) });
  if (!isObject(doc)) {
    add([], `a definition must be a mapping with kind: ${KINDS.join(', ')}, not ${describe(doc)}`);
    return { issues };
  }
  if (!kind || !(KINDS as readonly string[]).includes(kind)) {
    add(['kind'], `must be one of ${KINDS.join(', ')}, not ${describe(doc.kind)}`);
    return { issues };
  }
  const schema = kind === 'computedTrait' ? computedTraitSchema : kind === 'segment' ? segmentSchema : journeySchema;
  const parsed = sub(schema as z.ZodType, doc, [], add) as Record<string, unknown> | undefined;
  if (!parsed || issues.length) return { issues };
  const source = JSON.parse(JSON.stringify(doc)) as JsonObject;
  const base = {
    id: parsed.id as string,
    ...(parsed.name !== undefined ? { name: parsed.name as string } : {}),
    ...(parsed.description !== undefined ? { description: parsed.description as string } : {}),
    source,
    origin: { file: where.file, index: where.index },
  };
  let def: Definition;
  if (kind === 'computedTrait') {
    const p = parsed as z.output<typeof computedTraitSchema>;
    if (p.aggregate === 'count' && p.property !== undefined)
      add(['property'], 'count counts events and takes no property (filter with where: { <path>: { exists: true } })');
    if (p.aggregate !== 'count' && p.property === undefined) add(['property'], `${p.aggregate} needs the property to aggregate, e.g. property: properties.total`);
    if ((BUILTIN_COMPUTED as readonly string[]).includes(p.id)) add(['id'], `"${p.id}" is a built-in computed trait; choose another id`);
    def = {
      ...base,
      kind: 'computedTrait',
      ...(p.event !== undefined ? { event: p.event } : {}),
      aggregate: p.aggregate,
      ...(p.property !== undefined ? { property: p.property } : {}),
      ...(p.window ? { window: p.window.text, windowMs: p.window.ms } : {}),
      where: p.where ?? [],
    } satisfies ComputedTraitDef;
  } else if (kind === 'segment') {
    def = { ...base, kind: 'segment', where: (parsed as z.output<typeof segmentSchema>).where } satisfies SegmentDef;
  } else {
    const p = parsed as z.output<typeof journeySchema>;
    def = {
      ...base,
      kind: 'journey',
      name: p.name ?? p.id,
      enabled: p.enabled ?? true,
      trigger: p.trigger,
      ...(p.audience ? { audience: p.audience } : {}),
      consent: p.consent === undefined || p.consent === 'none' ? null : p.consent,
      ...(p.frequency ? { frequency: { max: p.frequency.max, per: p.frequency.per.text, perMs: p.frequency.per.ms } } : {}),
      ...(p.exit ? { exit: p.exit } : {}),
      holdout: p.holdout ?? 0,
      steps: p.steps,
    } satisfies JourneyDef;
    checkJourney(def, add);
  }
  return issues.length ? { issues } : { def, issues };
}

/**
 * Validates one document (parsed YAML/JSON) into a Definition. Throws CairnError
 * `invalid_definition` whose message has one line per problem, each naming the file, the document
 * (index and id) and the field path.
 */
export function validateDefinition(doc: unknown, where: Origin): Definition {
  const { def, issues } = checkDefinition(doc, where);
  if (!def) throw definitionError(issues);
  return def;
}

