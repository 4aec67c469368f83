/**
 * Schemas of journey steps (actions, waits, branches, exits) with their derived ids, the walk over
 * a journey's steps and their template-bearing fields, and the check that a journey's event filter
 * compiles to an EventBridge pattern (used by steps' `wait: until` and by journeys' trigger and exit).
 */
import { z } from 'zod';
import { CairnError } from '../errors';
import { describe, type Add, type Path } from './issues';
import { isPlainObject } from '../lang';
import { conditionOf, whereSchema } from './schema-conditions';
import { channelSchema, durationOf, durationSchema, idSchema, strict, sub, text } from './schema-fields';
import { parseTemplate } from './template';
import { compileEventPattern } from './trigger';
import { hasVariables } from './variables';
import { ACTIONS, type ActionStep, type PropertyFilter, type Step } from './types';

const json = z.json();
const templateText = text;
export const optId = idSchema.optional();
const stepConsent = z.union([channelSchema, z.literal('none')]).optional();

const ACTION_SCHEMAS = {
  email: strict(
    {
      id: optId,
      action: z.literal('email'),
      subject: templateText,
      body: templateText,
      to: templateText.optional(),
      from: templateText.optional(),
      consent: stepConsent,
      transactional: z.boolean().optional(),
    },
    'an email step',
  ),
  sms: strict(
    { id: optId, action: z.literal('sms'), text: templateText, to: templateText.optional(), consent: stepConsent, transactional: z.boolean().optional() },
    'an sms step',
  ),
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
  traits: strict(
    { id: optId, action: z.literal('traits'), set: z.record(z.string().min(1), json).optional(), unset: z.array(z.string().min(1)).min(1).optional() },
    'a traits step',
  ),
  event: strict(
    { id: optId, action: z.literal('event'), name: text.optional(), event: text.optional(), properties: z.record(z.string(), json).optional() },
    'an event step',
  ),
  coupon: strict(
    {
      id: optId,
      action: z.literal('coupon'),
      // A pool id is spelled like a journey id (shared/coupons POOL_ID_RE).
      pool: idSchema,
      trait: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, { error: (i) => `${describe(i.input)} is not a trait name (letters, digits, _ and -, at most 64)` })
        .optional(),
    },
    'a coupon step',
  ),
} as const;

const STEP_KINDS = ['action', 'wait', 'if', 'exit'] as const;

interface StepScope {
  /** Prefix of derived ids: '' at the top level, `remind.then-` in a branch. */
  prefix: string;
}

export function stepsOf(v: unknown, add: Add, scope: StepScope, depth: number): Step[] | undefined {
  if (!Array.isArray(v) || !v.length) {
    add([], `must be a non-empty list of steps, not ${describe(v)}`);
    return undefined;
  }
  const out: Step[] = [];
  let ok = true;
  v.forEach((s, i) => {
    const r = stepOf(
      s,
      (p, m) => {
        ok = false;
        add([i, ...p], m);
      },
      `${scope.prefix}${i + 1}`,
      depth,
    );
    if (r) out.push(r);
  });
  return ok ? out : undefined;
}

function stepOf(v: unknown, add: Add, derivedId: string, depth: number): Step | undefined {
  if (depth > 16) {
    add([], 'branches are nested too deeply (at most 16 levels)');
    return undefined;
  }
  if (!isPlainObject(v)) {
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
      const { id: _id, transactional, ...fields } = r;
      // Only `true` is kept: `transactional: false` is the default, the step as if it were not written.
      if (transactional === true) fields.transactional = true;
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
      if (a === 'coupon') return { ...base, type: 'action', ...(fields as object), trait: (fields.trait as string) ?? `coupon_${fields.pool}` } as ActionStep;
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
    else if (Array.isArray(v))
      v.forEach((e, i) => {
        deep(e, [...path, i]);
      });
    else if (isPlainObject(v)) for (const [k, e] of Object.entries(v)) deep(e, [...path, k]);
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
    case 'coupon':
      break;
  }
  return out;
}

/** Event filters of journeys are matched by EventBridge rules: they must compile to a pattern. */
export function checkPattern(event: string, where: PropertyFilter[], add: Add): boolean {
  try {
    compileEventPattern(event, where);
    return true;
  } catch (e) {
    if (e instanceof CairnError && e.code === 'invalid_definition') add((e.details?.path as Path) ?? [], e.message);
    else if (e instanceof CairnError) add(['where'], e.message);
    else throw e;
    return false;
  }
}
