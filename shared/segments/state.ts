/**
 * Computed traits and event counters kept on the profile, and segment membership evaluated from
 * them (docs/segments.md). Pure functions over a ProfileRecord:
 *
 * - `profileExtension(rt)`: the hook λ resolve calls exactly where it applies a message (after its
 *   dedupe) and where a survivor absorbs a merged-away profile — so every message counts once.
 * - `settleProfile(rec, rt, now)`: the attributes to store (`cstate`, `computed`, `segments`,
 *   `recheckAt`), evaluated at `now`.
 *
 * States are kept as JSON in the profile item's `cstate` attribute: `{ <key>: { w?, b: Bucket[] } }`
 * (key: `ct_…` per computed trait, `ev_…` per event condition; `w` the window in ms so a state can
 * be pruned even after its definition is gone).
 */
import {
  applyComputedTrait,
  bucketSize,
  computedTraitValue,
  evaluateCondition,
  nextChangeAt,
  pruneComputedState,
  type Bucket,
  type ComputedState,
  type EvalContext,
  type Json,
} from '../definitions';
import type { NormalizedMessage } from '../message';
import { type ProfileExtension, type ProfileRecord, publicComputed, scoresOf } from '../identity';
import type { SegmentRuntime } from './runtime';

export interface StoredState extends ComputedState {
  /** Window in ms (absent: all time). */
  w?: number;
}
export type States = Record<string, StoredState>;

/** Parsed states per profile `extra` object, so a batch parses each profile once. */
const parsed = new WeakMap<object, States>();

function extraOf(p: ProfileRecord): Record<string, unknown> {
  return (p.extra ??= {});
}

/** The profile's states (parsed once per `extra` object; mutate through `setStates`). */
export function statesOf(p: ProfileRecord): States {
  const extra = extraOf(p);
  let s = parsed.get(extra);
  if (!s) {
    s = {};
    const raw = extra.cstate;
    if (typeof raw === 'string' && raw) {
      try {
        s = JSON.parse(raw) as States;
      } catch {
        s = {};
      }
    }
    parsed.set(extra, s);
  }
  return s;
}

const before = (t1: number, k1: string, t2: number, k2: string) => t1 < t2 || (t1 === t2 && k1 < k2);

function mergeBucket(a: Bucket, b: Bucket): Bucket {
  const out: Bucket = { i: a.i, c: a.c + b.c, s: a.s + b.s };
  const mn = [a.mn, b.mn].filter((x): x is number => x !== undefined);
  const mx = [a.mx, b.mx].filter((x): x is number => x !== undefined);
  if (mn.length) out.mn = Math.min(...mn);
  if (mx.length) out.mx = Math.max(...mx);
  const f = [a.f, b.f].filter((x) => x !== undefined) as NonNullable<Bucket['f']>[];
  const l = [a.l, b.l].filter((x) => x !== undefined) as NonNullable<Bucket['l']>[];
  if (f.length) out.f = f.reduce((x, y) => (before(y.t, y.k, x.t, x.k) ? y : x));
  if (l.length) out.l = l.reduce((x, y) => (before(x.t, x.k, y.t, y.k) ? y : x));
  return out;
}

/**
 * The state of the union of two histories (a profile absorbing a merged-away one): buckets with the
 * same index combine (counts and sums add, min/max, earliest first, latest last); buckets no window
 * can reach any more, given the newest of both, are dropped as applyComputedTrait drops them.
 * Reading either way at any time from the newest event on gives the same value as applying every
 * message of both histories to one state (tests/unit/segments-state.test.ts).
 */
export function mergeComputedState(a: ComputedState | undefined, b: ComputedState | undefined, windowMs?: number): ComputedState {
  if (!a?.b.length) return b ? { b: b.b.map((x) => ({ ...x })) } : { b: [] };
  if (!b?.b.length) return { b: a.b.map((x) => ({ ...x })) };
  const byI = new Map<number, Bucket>();
  for (const x of [...a.b, ...b.b]) {
    const cur = byI.get(x.i);
    byI.set(x.i, cur ? mergeBucket(cur, x) : { ...x });
  }
  let out = [...byI.values()].sort((x, y) => x.i - y.i);
  if (windowMs !== undefined && out.length) {
    const size = bucketSize(windowMs);
    const keepFrom = out[out.length - 1]!.i - Math.ceil(windowMs / size);
    out = out.filter((x) => x.i >= keepFrom);
  }
  return { b: out };
}

/** Applies one message to every computed trait and event counter of the runtime. */
export function applyToStates(
  states: States,
  rt: SegmentRuntime,
  m: NormalizedMessage | { type?: string; event?: string; timestamp: string | number; messageId?: string },
): boolean {
  const list = [...rt.all, ...(m.type === 'track' && m.event ? (rt.byEvent.get(m.event) ?? []) : [])];
  let changed = false;
  for (const a of list) {
    const cur = states[a.key];
    const next = applyComputedTrait(a.def, cur, m as never);
    if (next !== cur) {
      states[a.key] = a.def.windowMs !== undefined ? { ...next, w: a.def.windowMs } : next;
      changed = true;
    }
  }
  return changed;
}

/** The resolve hook: computed traits and counters updated with each applied message, merged on absorb. */
export function profileExtension(rt: SegmentRuntime): ProfileExtension {
  return {
    apply(p, m) {
      if (!rt.all.length && !(m.type === 'track' && m.event && rt.byEvent.has(m.event))) return;
      applyToStates(statesOf(p), rt, m);
    },
    absorb(s, l) {
      inheritPublished(s, l);
      const a = statesOf(s);
      const b = statesOf(l);
      for (const key of Object.keys(b)) {
        const w = a[key]?.w ?? b[key]!.w;
        const merged = mergeComputedState(a[key], b[key], w);
        a[key] = w !== undefined ? { ...merged, w } : merged;
      }
    },
  };
}

/** What a bucket must keep for an aggregate to be read (and merged) later. */
function compact(b: Bucket, aggregate: string): Bucket {
  switch (aggregate) {
    case 'count':
      return { i: b.i, c: b.c, s: 0 };
    case 'sum':
      return { i: b.i, c: b.c, s: b.s };
    case 'min':
      return { i: b.i, c: b.c, s: 0, ...(b.mn !== undefined ? { mn: b.mn } : {}) };
    case 'max':
      return { i: b.i, c: b.c, s: 0, ...(b.mx !== undefined ? { mx: b.mx } : {}) };
    case 'first':
      return { i: b.i, c: b.c, s: 0, ...(b.f ? { f: b.f } : {}) };
    case 'last':
      return { i: b.i, c: b.c, s: 0, ...(b.l ? { l: b.l } : {}) };
    default:
      return b;
  }
}

/**
 * States pruned at `now` and reduced to what their aggregate reads (a counter keeps counts only);
 * states of definitions no longer applied are dropped once empty.
 */
export function pruneStates(states: States, rt: SegmentRuntime, now: number): States {
  const aggregateOf = new Map<string, string>([...rt.traits, ...rt.counters].map((a) => [a.key, a.def.aggregate]));
  const out: States = {};
  for (const [key, st] of Object.entries(states)) {
    const pruned = st.w !== undefined ? pruneComputedState({ windowMs: st.w }, st, now) : st;
    const agg = aggregateOf.get(key);
    if (agg === undefined && pruned.b.length === 0) continue;
    const b = agg === undefined ? pruned.b : pruned.b.map((x) => compact(x, agg));
    out[key] = st.w !== undefined ? { b, w: st.w } : { b };
  }
  return out;
}

/** Values of the defined computed traits at `now`. */
export function computedValues(states: States, rt: SegmentRuntime, now: number): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const t of rt.traits) out[t.traitId] = computedTraitValue(t.def, states[t.key], now);
  return out;
}

const consentView = (p: ProfileRecord): Record<string, { granted: boolean }> =>
  Object.fromEntries(Object.entries(p.consent).map(([ch, v]) => [ch, { granted: v.granted }]));

/**
 * What conditions see of a person at `now` (segments, and journeys' audience/branch conditions):
 * traits, computed traits (built-in and defined, windowed ones exact at `now`), identifiers,
 * consent, segment membership as stored, and the event counters.
 */
export function profileEvalContext(
  p: ProfileRecord,
  rt: SegmentRuntime,
  now: number,
  states: States = statesOf(p),
  values?: Record<string, Json>,
): EvalContext {
  const computedDefs: EvalContext['computedDefs'] = {};
  const computedStates: EvalContext['computedStates'] = {};
  for (const t of rt.traits) {
    computedDefs[t.traitId] = t.def;
    computedStates[t.traitId] = states[t.key] ?? { b: [] };
  }
  const events: Record<string, ComputedState> = {};
  for (const c of rt.counters) if (states[c.key]) events[c.key] = states[c.key]!;
  return {
    traits: p.traits,
    computed: { ...scoresOf(p), ...publicComputed(p), ...(values ?? computedValues(states, rt, now)) },
    identities: p.identities,
    consent: consentView(p),
    segments: storedSegments(p),
    events,
    computedDefs,
    computedStates,
    now,
  };
}

/**
 * What was last published for a profile (`segPub` on the profile item: segments, scheduled recheck
 * time, and `v`, a stamp new with every record of it — the version of the record it was written on).
 */
export interface Published {
  s: string[];
  r: number | null;
  /** Absent before the first record (and on records of before stamps). */
  v?: number;
}

export function publishedOf(p: ProfileRecord): Published {
  const raw = p.extra?.segPub;
  if (typeof raw === 'string') {
    try {
      const v = JSON.parse(raw) as Partial<Published>;
      return { s: Array.isArray(v.s) ? v.s : [], r: typeof v.r === 'number' ? v.r : null, ...(typeof v.v === 'number' ? { v: v.v } : {}) };
    } catch {
      // fall through
    }
  }
  return { s: [], r: null };
}

/**
 * What a profile took over from the profiles it absorbed and whose effects are not recorded yet
 * (`segInh` on the profile item, JSON; effects.ts clears it when it records `segPub`):
 * `s` the segments the person was already published as a member of (enter/exit events are about the
 * person: a merge does not enter them again, docs/segments.md, Merges); `x` the merged-away profiles
 * and `g` the segments their index rows may be under (removed with the survivor's effects).
 */
export interface Inherited {
  s: string[];
  x: string[];
  g: string[];
}

export function inheritedOf(p: ProfileRecord): Inherited {
  const raw = p.extra?.segInh;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  if (typeof raw === 'string') {
    try {
      const v = JSON.parse(raw) as Partial<Inherited>;
      return { s: list(v.s), x: list(v.x), g: list(v.g) };
    } catch {
      // fall through
    }
  }
  return { s: [], x: [], g: [] };
}

const union = (...xs: string[][]) => [...new Set(xs.flat())].sort();

/** On absorb: the survivor inherits what was published for the merged-away profile (and what it had inherited). */
export function inheritPublished(s: ProfileRecord, l: ProfileRecord): void {
  const pub = publishedOf(l).s;
  const li = inheritedOf(l);
  const g = union(pub, storedSegments(l), li.g);
  if (!g.length && !li.s.length) return;
  const si = inheritedOf(s);
  const out: Inherited = { s: union(si.s, pub, li.s), x: union(si.x, [l.profileId], li.x), g: union(si.g, g) };
  extraOf(s).segInh = JSON.stringify(out);
}

export function storedSegments(p: ProfileRecord): string[] {
  const s = p.extra?.segments;
  return Array.isArray(s) ? s.filter((x): x is string => typeof x === 'string') : [];
}

export interface Settled {
  cstate: string;
  computed: Record<string, Json>;
  segments: string[];
  /** When membership may next change by itself (ms, whole seconds), or null. */
  recheckAt: number | null;
}

/** The segment-related attributes of a profile at `now`. */
export function settleProfile(p: ProfileRecord, rt: SegmentRuntime, now: number): Settled {
  const states = pruneStates(statesOf(p), rt, now);
  const values = computedValues(states, rt, now);
  const ctx = { ...profileEvalContext(p, rt, now, states, values), segmentDefs: rt.segmentDefs };
  const members: string[] = [];
  let next: number | null = null;
  for (const s of rt.segments) {
    if (evaluateCondition(s.where, ctx)) members.push(s.id);
    // Only segments with a rolling window can change without a new event.
    if (!rt.timed.has(s.id)) continue;
    const t = nextChangeAt(s.where, ctx);
    if (t !== null && (next === null || t < next)) next = t;
  }
  return {
    cstate: JSON.stringify(states),
    computed: values,
    segments: members.sort(),
    recheckAt: next === null ? null : Math.ceil(next / 1000) * 1000,
  };
}

/** A copy of `extra` with the settled attributes (recheckAt removed when null). */
export function withSettled(extra: Record<string, unknown> | undefined, s: Settled): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(extra ?? {}), cstate: s.cstate, computed: s.computed, segments: s.segments };
  if (s.recheckAt === null) delete out.recheckAt;
  else out.recheckAt = s.recheckAt;
  return out;
}

/** True when storing `s` would change what the profile holds. */
export function settledDiffers(p: ProfileRecord, s: Settled): boolean {
  const e = p.extra ?? {};
  return (
    e.cstate !== s.cstate ||
    JSON.stringify(e.computed ?? {}) !== JSON.stringify(s.computed) ||
    JSON.stringify(storedSegments(p)) !== JSON.stringify(s.segments) ||
    (e.recheckAt ?? null) !== s.recheckAt
  );
}
