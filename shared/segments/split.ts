/**
 * Computed traits, event counters and segment state split by an unmerge (docs/segments.md, Unmerges;
 * shared/identity/unmerge.ts). Pure functions over the two records the unmerge writes:
 *
 * - the revived side: its states as at the merge (its frozen record) plus its events the survivor
 *   applied since, folded as λ resolve folds them;
 * - the survivor: per bucket, what the other side contributed (its frozen states and those events)
 *   taken out. A bucket its own timeline events account for entirely is rebuilt from them (exact);
 *   otherwise counts and sums are subtracted, and a minimum, maximum, first or last value the other
 *   side may have set is recomputed from its own events in that bucket;
 * - both settled at now (membership, values, recheck time) in the same write. The revived side's
 *   published membership is reset: what was published for it before the merge is inherited
 *   (`segInh`), so the segments it is still in get their index rows back without a second
 *   `segment.entered`, and those it left get `segment.exited`.
 */
import { applyComputedTrait, type Bucket, type ComputedState, type MessageLike } from '../definitions';
import type { ProfileRecord, TimelineItem } from '../identity';
import type { Accumulator, SegmentRuntime } from './runtime';
import { applyToStates, inheritedOf, mergeComputedState, publishedOf, settleProfile, statesOf, withSettled, type Inherited, type States } from './state';

/** What a computed trait reads of a timeline event (properties dropped to fit the item are not there: docs/identity.md). */
const asMessage = (e: TimelineItem): MessageLike => ({
  type: e.type,
  event: e.event,
  name: e.name,
  groupId: e.groupId,
  messageId: e.messageId,
  timestamp: e.timestamp,
  properties: e.properties ?? {},
  traits: e.traits ?? {},
});

/** Events in the order resolve would apply them one after another (time, then messageId). */
const inTimeOrder = (events: TimelineItem[]) =>
  [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0));

const accumulators = (rt: SegmentRuntime): Map<string, Accumulator> => new Map([...rt.traits, ...rt.counters].map((a) => [a.key, a as Accumulator]));

function fold(acc: Accumulator, events: TimelineItem[]): ComputedState {
  let st: ComputedState | undefined;
  for (const e of events) st = applyComputedTrait(acc.def, st, asMessage(e));
  return st ?? { b: [] };
}

/** Sets or removes an optional bucket field. */
function put<K extends 'mn' | 'mx' | 'f' | 'l'>(b: Bucket, k: K, v: Bucket[K] | undefined): void {
  if (v === undefined) delete b[k];
  else b[k] = v;
}

/** The revived side's states: its states as at the merge, plus its moved events. */
export function revivedStates(frozen: States, moved: TimelineItem[], rt: SegmentRuntime): States {
  const states = structuredClone(frozen);
  for (const e of inTimeOrder(moved)) applyToStates(states, rt, asMessage(e));
  return states;
}

/**
 * The survivor's states without the other side's contribution: its frozen states and its moved
 * events (by the accumulators of `rt`; a state whose definition is gone loses the frozen part only).
 * `mergedIds`: every messageId of the other side (first/last values it set are recomputed).
 */
export function survivorStates(
  states: States,
  frozen: States,
  events: { moved: TimelineItem[]; mergedIds: Set<string>; own: TimelineItem[] },
  rt: SegmentRuntime,
): States {
  const accs = accumulators(rt);
  const moved = inTimeOrder(events.moved);
  const own = inTimeOrder(events.own);
  const out: States = {};
  for (const [key, st] of Object.entries(states)) {
    const acc = accs.get(key);
    const other = mergeComputedState(frozen[key], acc ? fold(acc, moved) : undefined);
    if (!other.b.length) {
      out[key] = st;
      continue;
    }
    const theirs = new Map(other.b.map((x) => [x.i, x]));
    let mine: Map<number, Bucket> | undefined;
    const ownBucket = (i: number) => (mine ??= new Map((acc ? fold(acc, own).b : []).map((x) => [x.i, x]))).get(i);
    const b: Bucket[] = [];
    for (const x of st.b) {
      const o = theirs.get(x.i);
      if (!o) {
        b.push(x);
        continue;
      }
      const c = x.c - o.c;
      if (c <= 0) continue;
      const r = ownBucket(x.i);
      // Its own events on the timeline account for the whole rest: the bucket is exactly theirs.
      if (r && r.c === c) {
        b.push({ ...r });
        continue;
      }
      const y: Bucket = { ...x, c, s: x.s - o.s };
      if (x.mn !== undefined && o.mn !== undefined && o.mn <= x.mn) put(y, 'mn', r?.mn);
      if (x.mx !== undefined && o.mx !== undefined && o.mx >= x.mx) put(y, 'mx', r?.mx);
      if (x.f && events.mergedIds.has(x.f.k)) put(y, 'f', r?.f);
      if (x.l && events.mergedIds.has(x.l.k)) put(y, 'l', r?.l);
      b.push(y);
    }
    out[key] = st.w !== undefined ? { b, w: st.w } : { b };
  }
  return out;
}

/** Message ids behind a state's first/last values. */
function valueKeys(states: States): string[] {
  return Object.values(states).flatMap((st) => st.b.flatMap((x) => [x.f?.k, x.l?.k].filter((k): k is string => k !== undefined)));
}

const union = (...xs: string[][]) => [...new Set(xs.flat())].sort();

/** `extra` with the inherited segments set (removed when there are none). */
function withInherited(extra: Record<string, unknown>, inh: Inherited): Record<string, unknown> {
  const out = { ...extra };
  if (inh.s.length || inh.x.length) out.segInh = JSON.stringify(inh);
  else delete out.segInh;
  return out;
}

/** The survivor's `extra` without the other side: states split, inheritance from it dropped, settled at `now`. */
export function splitSurvivor(
  s: ProfileRecord,
  merged: ProfileRecord,
  events: { moved: TimelineItem[]; mergedEvents: TimelineItem[]; own: TimelineItem[] },
  rt: SegmentRuntime,
  now: number,
): void {
  const frozen = statesOf(merged);
  const mergedIds = new Set([...events.mergedEvents.map((e) => e.messageId), ...valueKeys(frozen)]);
  const states = survivorStates(statesOf(s), frozen, { moved: events.moved, mergedIds, own: events.own }, rt);
  let extra: Record<string, unknown> = { ...(s.extra ?? {}), cstate: JSON.stringify(states) };
  // What it inherited from the other side and has not recorded yet belongs to that side again.
  const inh = inheritedOf(s);
  if (inh.s.length || inh.x.length) {
    const gone = new Set([merged.profileId, ...merged.mergedFrom]);
    const theirs = new Set([...publishedOf(merged).s, ...inheritedOf(merged).s]);
    const x = inh.x.filter((id) => !gone.has(id));
    extra = withInherited(extra, { s: inh.s.filter((id) => !theirs.has(id)), x, g: x.length ? inh.g : [] });
  }
  s.extra = extra;
  s.extra = withSettled(s.extra, settleProfile(s, rt, now));
}

/**
 * The revived side's `extra`: its states plus its moved events, settled at `now`. Nothing is
 * published for it as a live profile (the merge removed its index rows and schedule); what was
 * published for it before is inherited, like a survivor inherits it on a merge.
 */
export function splitRevived(l: ProfileRecord, moved: TimelineItem[], rt: SegmentRuntime, now: number): void {
  const states = revivedStates(statesOf(l), moved, rt);
  const published = union(publishedOf(l).s, inheritedOf(l).s);
  // Nothing published as a live profile, stamped anew: its transitions from here on get ids its
  // transitions before the merge never had (transitionId).
  const extra: Record<string, unknown> = { ...(l.extra ?? {}), cstate: JSON.stringify(states), segPub: JSON.stringify({ s: [], r: null, v: now }) };
  l.extra = withInherited(extra, { s: published, x: [], g: [] });
  l.extra = withSettled(l.extra, settleProfile(l, rt, now));
}
