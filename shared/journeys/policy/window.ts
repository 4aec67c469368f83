/**
 * Quiet hours and send days (docs/journeys.md#governance), pure: when a message due now may go out
 * in the person's time zone — now, or the start of the next send window. Wall-clock times come from
 * the runtime's zone data (Intl), so a window opens at 08:00 local on both sides of a DST change; a
 * window opening inside a spring-forward gap opens when the gap ends (e.g. 03:00 for 02:30).
 */
import { firstInstantAt, isTimeZone, localTime, type ActionStep, type ChannelPolicy, type GovernedChannel, type PolicyDef } from '../../definitions';

const DAY_MS = 86_400_000;

/** What governs one message (besides its cap): quiet hours and send days of its channel. */
export type SendWindow = Pick<ChannelPolicy, 'quietHours' | 'days'>;

const inQuiet = (w: SendWindow, minute: number): boolean => {
  const q = w.quietHours;
  if (!q) return false;
  return q.from < q.to ? minute >= q.from && minute < q.to : minute >= q.from || minute < q.to;
};

/** True when a message may go out at local minute `minute` of a day that is weekday `weekday`. */
export function openAt(w: SendWindow, minute: number, weekday: number): boolean {
  return (!w.days || w.days.includes(weekday)) && !inQuiet(w, minute);
}

/** True when a message may go out at instant `t` in `zone`. */
export function isOpen(w: SendWindow, t: number, zone: string): boolean {
  const l = localTime(t, zone);
  return openAt(w, l.minuteOfDay, l.weekday);
}

/**
 * The first instant at or after `now` at which a message may go out: `now` itself when the window is
 * open, else the next window's start — the end of the quiet hours, on a send day. A day whose window
 * a DST change swallows whole is skipped.
 */
export function nextSendTime(w: SendWindow, now: number, zone: string): number {
  let from = now;
  for (let attempt = 0; attempt < 16; attempt++) {
    const l = localTime(from, zone);
    if (openAt(w, l.minuteOfDay, l.weekday)) return from;
    let next: number | undefined;
    for (let k = 0; k <= 8 && next === undefined; k++) {
      const date = Date.UTC(l.year, l.month - 1, l.day + k);
      const weekday = new Date(date).getUTCDay();
      if (w.days && !w.days.includes(weekday)) continue;
      // Today: quiet now, so the window opens when the quiet hours end, if they end today.
      // A later day: at midnight, or when that day's early quiet hours end.
      const minute = k === 0 ? (w.quietHours && w.quietHours.to > l.minuteOfDay ? w.quietHours.to : undefined) : inQuiet(w, 0) ? w.quietHours!.to : 0;
      if (minute === undefined) continue;
      next = firstInstantAt(date + minute * 60_000, zone, from + 1);
    }
    // Unreachable with a valid window (a send day exists): never hold a message forever.
    if (next === undefined) return from + DAY_MS;
    from = next;
  }
  return from;
}

/** Where a person's zone comes from, first valid wins; then the policy's. */
export interface ZoneSources {
  /** `context.timezone` of the event being handled (a trigger, an exit/wait/watch event). */
  eventZone?: unknown;
  /** The run's triggering event (its `context.timezone`). */
  runEvent?: Record<string, unknown>;
  /** The person's traits (`timezone`). */
  traits?: Record<string, unknown>;
}

/** `context.timezone` of a message, when it is a string. */
export const contextZone = (message: Record<string, unknown> | undefined): unknown => (message?.context as Record<string, unknown> | undefined)?.timezone;

/**
 * The person's IANA zone: the latest event's `context.timezone` (the event being handled, else the
 * one that triggered the run), else the `timezone` trait, else the policy's `timezone`.
 */
export function personZone(policy: PolicyDef, s: ZoneSources): string {
  for (const z of [s.eventZone, contextZone(s.runEvent), s.traits?.timezone]) if (isTimeZone(z)) return z;
  return policy.timezone;
}

/** The policy's channel of an action step, when the policy governs it (an email/SMS step not marked transactional). */
export function governedChannel(policy: PolicyDef, step: ActionStep): GovernedChannel | undefined {
  if (step.action !== 'email' && step.action !== 'sms') return undefined;
  if (step.transactional) return undefined;
  return policy.channels[step.action] ? step.action : undefined;
}

/**
 * When a message step due at `now` must wait for its send window: the window's start, or undefined
 * when it may go out now (or the policy does not govern it).
 */
export function deferUntil(policy: PolicyDef, step: ActionStep, now: number, zone: ZoneSources): number | undefined {
  const channel = governedChannel(policy, step);
  const w = channel && policy.channels[channel];
  if (!w || (!w.quietHours && !w.days)) return undefined;
  const at = nextSendTime(w, now, personZone(policy, zone));
  return at > now ? at : undefined;
}
