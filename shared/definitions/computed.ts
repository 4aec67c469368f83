/**
 * Computed traits, incrementally: `applyComputedTrait(def, state, message)` folds one message into a
 * small JSON state (stored on the profile), `computedTraitValue(def, state, now)` reads the value.
 *
 * Rolling windows are bucketed so that a window slides without rescanning history: a window of W
 * uses buckets of S = 1 day when W ≥ 1d, 1 hour when W ≥ 1h, 1 minute when W ≥ 1m, else 1 second
 * (UTC, aligned on the epoch). At time `now` the window holds the buckets from the one containing
 * `now − W` to the one containing `now`: it always covers at least the last W, and less than one
 * bucket more. Buckets that can no longer be in any window are dropped as messages arrive (and by
 * `pruneComputedState`). Without a window a single all-time bucket is kept.
 *
 * Event conditions of segments and journeys (`event: X, count: {gte: 2}, within: 30d`) are counted
 * with the same machinery: `eventCounters(defs)` lists the counters to keep per profile, keyed by
 * `counterKey(condition)`.
 *
 * Idempotency per messageId is the caller's job (apply each message once).
 */
import { createHash } from 'node:crypto';
import { getPath } from './path';
import { matchesFilters } from './match';
import type { ComputedTraitDef, Condition, Definition, EventCondition, Json, Step } from './types';

/** One time bucket: count, sum, min, max, and the first/last value with their time and messageId. */
export interface Bucket {
  /** Bucket index: floor(time / size); 0 for the all-time bucket. */
  i: number;
  c: number;
  s: number;
  mn?: number;
  mx?: number;
  f?: { t: number; k: string; v: Json };
  l?: { t: number; k: string; v: Json };
}

/** JSON-serialisable state of one computed trait on one profile. Buckets sorted by `i`. */
export interface ComputedState {
  b: Bucket[];
}

/** The message fields computed traits read (a NormalizedMessage fits). */
export interface MessageLike {
  type?: string;
  event?: string;
  messageId?: string;
  timestamp: string | number;
  [k: string]: unknown;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Bucket size for a window (see the file comment). */
export function bucketSize(windowMs: number): number {
  return windowMs >= DAY ? DAY : windowMs >= HOUR ? HOUR : windowMs >= MINUTE ? MINUTE : 1000;
}

/** The value the definition aggregates from one message; undefined when the message does not count. */
function extract(def: Pick<ComputedTraitDef, 'event' | 'aggregate' | 'property' | 'where'>, msg: MessageLike): { v: Json } | undefined {
  if (def.event !== undefined && (msg.type !== 'track' || msg.event !== def.event)) return undefined;
  if (def.where.length && !matchesFilters(msg, def.where)) return undefined;
  if (def.aggregate === 'count') return { v: null };
  const v = getPath(msg, def.property!);
  if (def.aggregate === 'sum' || def.aggregate === 'min' || def.aggregate === 'max') {
    return typeof v === 'number' && Number.isFinite(v) ? { v } : undefined;
  }
  if (v === undefined || v === null) return undefined;
  return { v: JSON.parse(JSON.stringify(v)) as Json };
}

function timeOf(msg: MessageLike): number {
  return typeof msg.timestamp === 'number' ? msg.timestamp : Date.parse(msg.timestamp);
}

const before = (t1: number, k1: string, t2: number, k2: string) => t1 < t2 || (t1 === t2 && k1 < k2);

function addTo(b: Bucket, v: Json, t: number, k: string): Bucket {
  const n: Bucket = { ...b, c: b.c + 1 };
  if (typeof v === 'number') {
    n.s = b.s + v;
    n.mn = b.mn === undefined ? v : Math.min(b.mn, v);
    n.mx = b.mx === undefined ? v : Math.max(b.mx, v);
  }
  if (!b.f || before(t, k, b.f.t, b.f.k)) n.f = { t, k, v };
  if (!b.l || before(b.l.t, b.l.k, t, k)) n.l = { t, k, v };
  return n;
}

/** Drops buckets that no window at or after `nowIdx` (a bucket index) can reach. */
function prune(b: Bucket[], windowMs: number, size: number, nowIdx: number): Bucket[] {
  const keepFrom = nowIdx - Math.ceil(windowMs / size);
  return b[0] && b[0].i < keepFrom ? b.filter((x) => x.i >= keepFrom) : b;
}

/**
 * Folds one message into the state (pure: returns a new state). Messages that do not match the
 * definition, lack the property, or are too old for the window leave it unchanged. `now` (optional)
 * lets pruning advance even when the message is old.
 */
export function applyComputedTrait(
  def: Pick<ComputedTraitDef, 'event' | 'aggregate' | 'property' | 'where' | 'windowMs'>,
  state: ComputedState | undefined,
  msg: MessageLike,
  now?: number,
): ComputedState {
  const cur = state?.b ?? [];
  const t = timeOf(msg);
  const x = Number.isFinite(t) ? extract(def, msg) : undefined;
  const k = String(msg.messageId ?? '');
  if (def.windowMs === undefined) {
    if (!x) return state ?? { b: [] };
    const b0 = cur[0] ?? { i: 0, c: 0, s: 0 };
    return { b: [addTo(b0, x.v, t, k)] };
  }
  const size = bucketSize(def.windowMs);
  const idx = Number.isFinite(t) ? Math.floor(t / size) : -Infinity;
  const newest = Math.max(cur.length ? cur[cur.length - 1]!.i : -Infinity, x ? idx : -Infinity, now !== undefined ? Math.floor(now / size) : -Infinity);
  let b = cur;
  if (x && idx >= newest - Math.ceil(def.windowMs / size)) {
    const pos = b.findIndex((e) => e.i >= idx);
    if (pos >= 0 && b[pos]!.i === idx) b = [...b.slice(0, pos), addTo(b[pos]!, x.v, t, k), ...b.slice(pos + 1)];
    else {
      const fresh = addTo({ i: idx, c: 0, s: 0 }, x.v, t, k);
      b = pos < 0 ? [...b, fresh] : [...b.slice(0, pos), fresh, ...b.slice(pos)];
    }
  }
  b = Number.isFinite(newest) ? prune(b, def.windowMs, size, newest) : b;
  return b === cur && state ? state : { b };
}

/** Drops expired buckets as of `now` (for storage; reading does not need it). */
export function pruneComputedState(def: Pick<ComputedTraitDef, 'windowMs'>, state: ComputedState, now: number): ComputedState {
  if (def.windowMs === undefined) return state;
  const size = bucketSize(def.windowMs);
  const b = prune(state.b, def.windowMs, size, Math.floor(now / size));
  return b === state.b ? state : { b };
}

/** Buckets inside the window at `now`. */
function windowBuckets(def: Pick<ComputedTraitDef, 'windowMs'>, state: ComputedState | undefined, now: number): Bucket[] {
  const b = state?.b ?? [];
  if (def.windowMs === undefined) return b;
  const size = bucketSize(def.windowMs);
  const from = Math.floor((now - def.windowMs) / size);
  const to = Math.floor(now / size);
  return b.filter((x) => x.i >= from && x.i <= to);
}

/** Sums are kept as floats; read back with 15 significant digits (0.1 + 0.2 reads 0.3). */
const clean = (n: number) => Number(n.toPrecision(15));

/**
 * The value at `now`: count and sum are numbers (0 when nothing matched); min, max, first and last
 * are null when nothing matched in the window.
 */
export function computedTraitValue(def: Pick<ComputedTraitDef, 'aggregate' | 'windowMs'>, state: ComputedState | undefined, now: number): Json {
  const bs = windowBuckets(def, state, now);
  switch (def.aggregate) {
    case 'count':
      return bs.reduce((a, b) => a + b.c, 0);
    case 'sum':
      return clean(bs.reduce((a, b) => a + b.s, 0));
    case 'min': {
      const v = bs.filter((b) => b.mn !== undefined).map((b) => b.mn!);
      return v.length ? Math.min(...v) : null;
    }
    case 'max': {
      const v = bs.filter((b) => b.mx !== undefined).map((b) => b.mx!);
      return v.length ? Math.max(...v) : null;
    }
    case 'first': {
      let best: Bucket['f'];
      for (const b of bs) if (b.f && (!best || before(b.f.t, b.f.k, best.t, best.k))) best = b.f;
      return best ? best.v : null;
    }
    case 'last': {
      let best: Bucket['l'];
      for (const b of bs) if (b.l && (!best || before(best.t, best.k, b.l.t, b.l.k))) best = b.l;
      return best ? best.v : null;
    }
  }
}

/** Alias of computedTraitValue: the state's value at `now`, expired buckets ignored. */
export const valueAt = computedTraitValue;

/**
 * Times after `now` at which a bucket leaves the window (the only times the value can change
 * without a new message), ascending. [] for all-time traits.
 */
export function windowChangeTimes(def: Pick<ComputedTraitDef, 'windowMs'>, state: ComputedState | undefined, now: number): number[] {
  if (def.windowMs === undefined) return [];
  const size = bucketSize(def.windowMs);
  const out: number[] = [];
  for (const b of windowBuckets(def, state, now)) {
    const t = (b.i + 1) * size + def.windowMs;
    if (t > now) out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Event counters for conditions
// ---------------------------------------------------------------------------------------------

/** A counter the profile keeps for an event condition: a count computed trait keyed by `key`. */
export interface EventCounter extends Pick<ComputedTraitDef, 'event' | 'aggregate' | 'where' | 'windowMs'> {
  key: string;
  aggregate: 'count';
  event: string;
  /**
   * `profile`: kept on the profile for all time/the window (λ resolve). `journey`: a `since:
   * journey.start` condition; the journey runtime keeps one per person in the journey, applying
   * only messages after the person entered.
   */
  scope: 'profile' | 'journey';
}

/** Stable key of an event condition's counter (same event, filters, window and since → same key). */
export function counterKey(c: EventCondition): string {
  // Conditions are immutable once validated: remember each one's key (evaluation asks per profile).
  const known = keyOf.get(c);
  if (known !== undefined) return known;
  const canon = JSON.stringify([c.event, c.where, c.withinMs ?? null, c.since ?? null]);
  const key = 'ev_' + createHash('sha256').update(canon).digest('hex').slice(0, 16);
  keyOf.set(c, key);
  return key;
}
const keyOf = new WeakMap<EventCondition, string>();

export function counterFor(c: EventCondition): EventCounter {
  return {
    key: counterKey(c),
    aggregate: 'count',
    event: c.event,
    where: c.where,
    ...(c.withinMs !== undefined ? { windowMs: c.withinMs } : {}),
    scope: c.since ? 'journey' : 'profile',
  };
}

/** Every event condition inside a condition tree. */
export function eventConditions(c: Condition): EventCondition[] {
  switch (c.type) {
    case 'all':
    case 'any':
      return c.of.flatMap(eventConditions);
    case 'not':
      return eventConditions(c.of);
    case 'event':
      return [c];
    default:
      return [];
  }
}

function stepConditions(steps: Step[]): Condition[] {
  return steps.flatMap((s) => (s.type === 'branch' ? [s.if, ...stepConditions(s.then), ...stepConditions(s.else)] : []));
}

/** Every condition of a definition (segment where, journey audience, exit condition, branches). */
export function conditionsOf(d: Definition): Condition[] {
  if (d.kind === 'segment') return [d.where];
  if (d.kind === 'journey') {
    const out: Condition[] = [];
    if (d.audience) out.push(d.audience);
    if (d.exit?.type === 'condition') out.push(d.exit.condition);
    return [...out, ...stepConditions(d.steps)];
  }
  return [];
}

/** The distinct event counters a set of definitions needs, by key. */
export function eventCounters(defs: Definition[]): EventCounter[] {
  const out = new Map<string, EventCounter>();
  for (const d of defs)
    for (const c of conditionsOf(d).flatMap(eventConditions)) {
      const counter = counterFor(c);
      out.set(counter.key, counter);
    }
  return [...out.values()];
}
