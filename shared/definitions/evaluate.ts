/**
 * Pure evaluation of conditions against one person's data at a time `now`, and the earliest time a
 * result could change without a new event (windows sliding), for scheduled re-evaluation.
 */
import { CairnError } from '../errors';
import { computedTraitValue, counterFor, windowChangeTimes, bucketSize, type ComputedState } from './computed';
import { testValues } from './match';
import { valuesAt } from './path';
import type { ComputedTraitDef, Condition, EventCondition, PropertyFilter, SegmentDef } from './types';
import { isPlainObject } from '../lang';

/** What a callback is asked when it counts events (see EvalContext.events). */
export interface EventQuery {
  /** counterKey(condition): the key of the bucketed counter that answers this query. */
  key: string;
  event: string;
  where: PropertyFilter[];
  /** Count events in the window ending at `now` (bucketed as in computed.ts). */
  withinMs?: number;
  /** Count events at or after this time (`since: journey.start`). */
  sinceMs?: number;
  now: number;
}
export type CountEvents = (q: EventQuery) => number;

export interface EvalContext {
  /** Profile traits. A null trait counts as absent. */
  traits?: Record<string, unknown>;
  /** Computed trait values by id (defined and built-in). A null value counts as absent. */
  computed?: Record<string, unknown>;
  identities?: { type: string; value: string }[];
  /** channel → granted (a boolean, or `{granted}` as on the profile). */
  consent?: Record<string, boolean | { granted: boolean }>;
  /** Current segment membership (ids), used for `segment:` conditions unless segmentDefs is given. */
  segments?: Iterable<string> | Record<string, unknown>;
  /**
   * Event history: either the person's event counters (counterKey → state, see `eventCounters`), or
   * a callback that counts. Needed only by event conditions; missing, they throw
   * `event_history_unavailable`.
   */
  events?: Record<string, ComputedState> | CountEvents;
  /** Evaluation time, ms since the epoch. */
  now: number;
  /** The journey instance (for `since: journey.start`): when the person entered, ms. */
  journey?: { start: number };
  /**
   * Optional, for time-exact results: definitions and states of windowed computed traits. When both
   * are given for an id, the value is read from the state at `now` instead of `computed`.
   */
  computedDefs?: Record<string, Pick<ComputedTraitDef, 'aggregate' | 'windowMs'>>;
  computedStates?: Record<string, ComputedState>;
  /** Optional: segment definitions; `segment:` conditions are then evaluated from them, recursively. */
  segmentDefs?: Record<string, Condition>;
}

function present(values: unknown[]): unknown[] {
  return values.filter((v) => v !== null);
}

function computedValue(id: string, ctx: EvalContext): unknown {
  const def = ctx.computedDefs?.[id];
  const state = ctx.computedStates?.[id];
  if (def && state) return computedTraitValue(def, state, ctx.now);
  return ctx.computed?.[id];
}

function isMember(id: string, ctx: EvalContext, stack: string[]): boolean {
  const def = ctx.segmentDefs?.[id];
  if (def) {
    if (stack.includes(id)) throw new CairnError('invalid_definition', `segment ${id} refers to itself through ${stack.join(' → ')}`, 400);
    return evalCond(def, ctx, [...stack, id]);
  }
  const s = ctx.segments;
  if (!s) return false;
  if (typeof (s as Iterable<string>)[Symbol.iterator] === 'function') {
    for (const x of s as Iterable<string>) if (x === id) return true;
    return false;
  }
  return Object.hasOwn(s, id) && (s as Record<string, unknown>)[id] !== false;
}

/** How many times the person performed the event condition's event, as the condition counts it. */
export function countFor(c: EventCondition, ctx: EvalContext): number {
  const counter = counterFor(c);
  const events = ctx.events;
  if (!events)
    throw new CairnError('event_history_unavailable', `event condition on "${c.event}" needs the person's event counters or a countEvents callback`, 500);
  if (c.since && !ctx.journey) throw new CairnError('event_history_unavailable', `since: journey.start needs the journey instance (ctx.journey.start)`, 500);
  if (typeof events === 'function') {
    return events({
      key: counter.key,
      event: c.event,
      where: c.where,
      ...(c.withinMs !== undefined ? { withinMs: c.withinMs } : {}),
      ...(c.since ? { sinceMs: ctx.journey!.start } : {}),
      now: ctx.now,
    });
  }
  const state = events[counter.key];
  return state ? (computedTraitValue(counter, state, ctx.now) as number) : 0;
}

function evalCond(c: Condition, ctx: EvalContext, stack: string[]): boolean {
  switch (c.type) {
    case 'all':
      return c.of.every((x) => evalCond(x, ctx, stack));
    case 'any':
      return c.of.some((x) => evalCond(x, ctx, stack));
    case 'not':
      return !evalCond(c.of, ctx, stack);
    case 'trait':
      return testValues(present(valuesAt(ctx.traits ?? {}, c.path)), c.tests);
    case 'computed': {
      const v = computedValue(c.id, ctx);
      return testValues(present(v === undefined ? [] : valuesAt({ v }, 'v')), c.tests);
    }
    case 'identifier': {
      const values = (ctx.identities ?? []).filter((i) => i.type === c.idType).map((i) => i.value);
      return values.length > 0 && testValues(values, c.tests);
    }
    case 'consent': {
      const g = ctx.consent?.[c.channel];
      return g === true || (isPlainObject(g) && g.granted === true);
    }
    case 'segment':
      return isMember(c.id, ctx, stack);
    case 'event':
      return testValues([countFor(c, ctx)], c.count);
  }
}

/** True when the condition holds for the person described by `ctx` at `ctx.now`. */
export function evaluateCondition(cond: Condition, ctx: EvalContext): boolean {
  return evalCond(cond, ctx, []);
}

/** Times after ctx.now at which a leaf's input can change by itself; `poll` when unknown. */
function candidateTimes(c: Condition, ctx: EvalContext, out: Set<number>, poll: { at: number | null }, stack: string[]): void {
  switch (c.type) {
    case 'all':
    case 'any':
      for (const x of c.of) candidateTimes(x, ctx, out, poll, stack);
      return;
    case 'not':
      candidateTimes(c.of, ctx, out, poll, stack);
      return;
    case 'computed': {
      const def = ctx.computedDefs?.[c.id];
      const state = ctx.computedStates?.[c.id];
      if (def && state) for (const t of windowChangeTimes(def, state, ctx.now)) out.add(t);
      return;
    }
    case 'segment': {
      const def = ctx.segmentDefs?.[c.id];
      if (def && !stack.includes(c.id)) candidateTimes(def, ctx, out, poll, [...stack, c.id]);
      return;
    }
    case 'event': {
      if (c.withinMs === undefined) return;
      const events = ctx.events;
      if (typeof events === 'function') {
        // A callback cannot say when its events expire: re-check after one bucket if anything counts.
        if (countFor({ ...c, count: [] }, ctx) > 0) {
          const t = ctx.now + bucketSize(c.withinMs);
          poll.at = poll.at === null ? t : Math.min(poll.at, t);
        }
        return;
      }
      const counter = counterFor(c);
      for (const t of windowChangeTimes(counter, events?.[counter.key], ctx.now)) out.add(t);
      return;
    }
    default:
      return;
  }
}

/**
 * The earliest time after ctx.now at which the condition's result flips without any new event or
 * profile change (a rolling window sliding past an event), or null if it cannot. With a countEvents
 * callback the exact time is unknown: the answer is then at most one window bucket away, and a
 * re-evaluation at that time may find no change (call again).
 */
export function nextChangeAt(cond: Condition, ctx: EvalContext): number | null {
  const times = new Set<number>();
  const poll = { at: null as number | null };
  candidateTimes(cond, ctx, times, poll, []);
  const current = evaluateCondition(cond, ctx);
  const sorted = [...times].filter((t) => t > ctx.now && (poll.at === null || t < poll.at)).sort((a, b) => a - b);
  for (const t of sorted.slice(0, 5000)) if (evaluateCondition(cond, { ...ctx, now: t }) !== current) return t;
  return poll.at;
}

/**
 * Segment membership for one person: every segment whose condition holds (segments referring to
 * segments are evaluated from their definitions), and the earliest time any membership could change
 * by itself (skip that with `nextChange: false` when no schedule is needed).
 */
export function evaluateSegments(
  segments: Pick<SegmentDef, 'id' | 'where'>[],
  ctx: EvalContext,
  opts: { nextChange?: boolean } = {},
): { members: string[]; nextChangeAt: number | null } {
  const segmentDefs: Record<string, Condition> = { ...(ctx.segmentDefs ?? {}) };
  for (const s of segments) segmentDefs[s.id] = s.where;
  const full: EvalContext = { ...ctx, segmentDefs };
  const members: string[] = [];
  let next: number | null = null;
  for (const s of segments) {
    if (evaluateCondition(s.where, full)) members.push(s.id);
    if (opts.nextChange === false) continue;
    const t = nextChangeAt(s.where, full);
    if (t !== null && (next === null || t < next)) next = t;
  }
  return { members, nextChangeAt: next };
}
