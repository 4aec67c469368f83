/**
 * The person's timeline as λ journey reads it: the events a run follows (its exit event, its
 * wait-until events, the events its `since: journey.start` conditions count) that happened since the
 * run's start, so an event that reached λ journey before the run existed still counts
 * (docs/journeys.md#out-of-order-events). The port is read by the shell (handler.ts) and the events
 * go into the pure machine through its context; dynamo-timeline.ts reads the timeline table.
 */
import { eventConditions, walkSteps, type Condition, type JourneyDef, type PropertyFilter } from '../definitions';

/** A timeline event as the machine applies it: the stored message fields (shared/identity TimelineItem). */
export interface TimelineEvent {
  messageId: string;
  type: string;
  event?: string;
  timestamp: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  /** Properties/traits were too large for the timeline and are not stored. */
  truncated?: boolean;
  [k: string]: unknown;
}

export interface TimelineReader {
  /**
   * Events of these profiles (the run's, the live survivor's and the ones it absorbed) at or after
   * `sinceMs`, read consistently, the newest `limit` at most. Lake index items are not events.
   */
  since(profileIds: string[], sinceMs: number, limit: number): Promise<TimelineEvent[]>;
}

/** At most this many events per read: a run that follows a busy person reads its newest events. */
export const TIMELINE_READ_LIMIT = 100;
/** At most this many profiles per read (the run's, the survivor, the first ones it absorbed). */
export const TIMELINE_MAX_PROFILES = 5;

/** Message fields the timeline keeps (resolve's timelineItem): a filter on any other root cannot be judged from it. */
const KEPT_ROOTS = new Set(['properties', 'traits', 'event', 'type', 'name', 'groupId', 'messageId', 'timestamp', 'receivedAt']);

interface Followed {
  event: string;
  where: PropertyFilter[];
}

const cache = new WeakMap<object, Followed[]>();

/** The track events the journey follows, with their filters: exit event, wait-until events, `since` counters. */
export function followedEvents(def: Pick<JourneyDef, 'steps' | 'exit'>): Followed[] {
  const hit = cache.get(def);
  if (hit) return hit;
  const out: Followed[] = [];
  if (def.exit?.type === 'event') out.push({ event: def.exit.event, where: def.exit.where });
  const conds: Condition[] = def.exit?.type === 'condition' ? [def.exit.condition] : [];
  for (const { step } of walkSteps(def.steps)) {
    if (step.type === 'waitUntil') out.push({ event: step.event, where: step.where });
    if (step.type === 'branch') conds.push(step.if);
  }
  for (const c of conds.flatMap(eventConditions)) if (c.since) out.push({ event: c.event, where: c.where });
  cache.set(def, out);
  return out;
}

/** Whether runs of this journey react to events after entry (then λ journey reads the timeline). */
export const followsEvents = (def: Pick<JourneyDef, 'steps' | 'exit'>): boolean => followedEvents(def).length > 0;

const judgeable = (f: PropertyFilter, e: TimelineEvent) => {
  const root = f.path.split(/[.[]/)[0]!;
  return KEPT_ROOTS.has(root) && !(e.truncated && (root === 'properties' || root === 'traits'));
};

/**
 * Whether a timeline event may be applied to a run: a track event the journey follows, and every
 * filter on that event can be judged from what the timeline kept. Otherwise it is left to its bus
 * delivery (a filter on `context.*`, or properties too large for the timeline: docs/journeys.md).
 */
export function recoverable(def: Pick<JourneyDef, 'steps' | 'exit'>, e: TimelineEvent): boolean {
  if (e.type !== 'track' || typeof e.event !== 'string' || typeof e.messageId !== 'string') return false;
  const filters = followedEvents(def).filter((f) => f.event === e.event);
  return filters.length > 0 && filters.every((f) => f.where.every((w) => judgeable(w, e)));
}

/** Oldest first, then by messageId: the order in which they happened. */
export function inTimeOrder(events: TimelineEvent[]): TimelineEvent[] {
  const at = (e: TimelineEvent) => Date.parse(e.timestamp);
  return [...events].sort((a, b) => at(a) - at(b) || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0));
}
