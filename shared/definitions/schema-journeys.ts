/**
 * Schema of a journey (trigger, audience, consent, frequency, exit, holdout, steps, priority) and the
 * journey-wide checks: unique step ids, a consent channel for messaging, templates that refer to
 * what the trigger provides. Steps themselves are in schema-steps.ts.
 */
import { z } from 'zod';
import { describe, formatPath, type Add, type Path } from './issues';
import { isPlainObject } from '../lang';
import { conditionOf, conditionSchema, whereSchema } from './schema-conditions';
import { channelSchema, common, durationSchema, flex, idSchema, strict, sub, text, type DefinitionBase } from './schema-fields';
import { checkPattern, stepsOf, stepTemplates, walkSteps } from './schema-steps';
import { parseTemplate } from './template';
import { MESSAGE_ROOTS, PRIORITIES, type JourneyDef, type JourneyExit, type JourneyMigrate, type Trigger } from './types';

const JOURNEY_ROOTS = [...MESSAGE_ROOTS, 'profile'] as const;

function triggerOf(v: unknown, add: Add): Trigger | undefined {
  if (isPlainObject(v) && 'segment' in v) {
    const t = sub(strict({ segment: idSchema, on: z.enum(['entered', 'exited']).optional() }, 'a segment trigger'), v, [], add);
    return t && { type: 'segment', segment: t.segment, on: t.on ?? 'entered' };
  }
  if (isPlainObject(v) && 'event' in v) {
    const t = sub(strict({ event: text, where: whereSchema(JOURNEY_ROOTS).optional() }, 'an event trigger'), v, [], add);
    return t && checkPattern(t.event, t.where ?? [], add) ? { type: 'event', event: t.event, where: t.where ?? [] } : undefined;
  }
  add([], `a trigger is { event: <name>, where?: {...} } or { segment: <id>, on: entered|exited }, not ${describe(v)}`);
  return undefined;
}

function exitOf(v: unknown, add: Add): JourneyExit | undefined {
  if (isPlainObject(v) && 'event' in v && Object.keys(v).every((k) => k === 'event' || k === 'where')) {
    const t = sub(strict({ event: text, where: whereSchema().optional() }, 'an event exit'), v, [], add);
    return t && checkPattern(t.event, t.where ?? [], add) ? { type: 'event', event: t.event, where: t.where ?? [] } : undefined;
  }
  const c = conditionOf(v, add, { inJourney: true });
  return c && { type: 'condition', condition: c };
}

/** Step ids as the map names them: declared (`pause`) or derived (`remind.then-1`). */
const STEP_REF_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

function migrateOf(v: unknown, add: Add): JourneyMigrate | undefined {
  const m = sub(
    strict(
      {
        from: z.number().int().min(1),
        map: z.record(z.string(), z.unknown()).optional(),
      },
      'migrate',
    ),
    v,
    [],
    add,
  );
  if (!m) return undefined;
  const map: Record<string, string> = {};
  let ok = true;
  for (const [from, to] of Object.entries(m.map ?? {})) {
    if (!STEP_REF_RE.test(from)) {
      add(['map', from], `${describe(from)} is not a step id`);
      ok = false;
    } else if (typeof to !== 'string' || !STEP_REF_RE.test(to)) {
      add(['map', from], `must be the id of a step of this journey, not ${describe(to)}`);
      ok = false;
    } else map[from] = to;
  }
  return ok ? { from: m.from, map } : undefined;
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

export const journeySchema = strict(
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
    migrate: flex(migrateOf).optional(),
    priority: z.enum(PRIORITIES).optional(),
  },
  'a journey',
);

function checkJourney(j: JourneyDef, add: Add): void {
  const seen = new Map<string, Path>();
  let messaging = false;
  const coupons = walkSteps(j.steps).some(({ step }) => step.type === 'action' && step.action === 'coupon');
  for (const { step, path } of walkSteps(j.steps)) {
    const prev = seen.get(step.id);
    if (prev) add([...path, 'id'], `duplicate step id "${step.id}" (also ${formatPath(prev)})`);
    else seen.set(step.id, path);
    if (step.type === 'action' && (step.action === 'email' || step.action === 'sms') && !step.consent) messaging = true;
    for (const [field, t] of stepTemplates(step)) {
      const { parts } = parseTemplate(t);
      if (!coupons)
        for (const p of parts)
          if (typeof p !== 'string' && p.root === 'coupon')
            add([...path, ...field], `in step ${step.id}: {{ ${p.path} }} needs a coupon step in this journey (action: coupon, pool: <pool>)`);
      if (j.trigger.type === 'segment')
        for (const p of parts)
          if (typeof p !== 'string' && p.root === 'event')
            add([...path, ...field], `in step ${step.id}: {{ ${p.path} }} refers to nothing: the journey is triggered by a segment, not an event`);
    }
  }
  // The other side of the map (version `from`'s steps) is checked against the stored version when applied.
  for (const [from, to] of Object.entries(j.migrate?.map ?? {})) {
    const at = seen.get(to);
    const step = at && walkSteps(j.steps).find((s) => s.step.id === to)?.step;
    if (!step) add(['migrate', 'map', from], `"${to}" is not a step of this journey`);
    else if (step.type !== 'wait' && step.type !== 'waitUntil')
      add(['migrate', 'map', from], `"${to}" is not a wait step: a waiting run can only move to a wait (wait: or wait: {until})`);
  }
  if (messaging && j.source.consent === undefined)
    add(['consent'], 'this journey sends email or SMS: name the consent channel it needs (e.g. consent: email), or consent: none');
}

export function journeyDef(p: z.output<typeof journeySchema>, base: DefinitionBase, add: Add): JourneyDef {
  const def = {
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
    ...(p.migrate ? { migrate: p.migrate } : {}),
    ...(p.priority ? { priority: p.priority } : {}),
  } satisfies JourneyDef;
  checkJourney(def, add);
  return def;
}
