/**
 * Global frequency caps (docs/journeys.md#governance), pure: whether one more message may go to a
 * person on a channel, given the messages the person was sent on it across every journey.
 *
 * Priorities without clairvoyance: nothing waits for a message that may never come, and a message
 * already sent is never taken back. Instead a cap may reserve its last slots for higher priorities:
 * with `max: 2, reserve: { high: 1 }`, a `normal` or `low` journey may send while fewer than 1
 * message went out in the window, a `high` one while fewer than 2. So a `high` message finds a slot
 * that lower ones could not use, at the price of that slot staying empty when none comes.
 */
import type { ChannelCap, Priority } from '../../definitions';

/** One message counted against a person's cap on a channel. */
export interface Send {
  /** `<runId>#<stepId>`: the same action is counted once, however often it is retried. */
  id: string;
  at: number;
  journeyId: string;
  priority: Priority;
}

/** How many slots of `cap` a message of `priority` may use. */
export function slotsFor(cap: ChannelCap, priority: Priority): number {
  const above = priority === 'high' ? 0 : priority === 'normal' ? cap.reserve.high : cap.reserve.high + cap.reserve.normal;
  return Math.max(0, cap.max - above);
}

export type CapDecision =
  /** `sends`: the list to store (the window's, with this message); `added`: false when it was counted already. */
  | { allowed: true; sends: Send[]; added: boolean }
  /** Over the cap: nothing to store. `used`: messages in the window; `slots`: what this priority may use. */
  | { allowed: false; used: number; slots: number };

/**
 * The decision for message `send` against `sends` (the person's on this channel, any age): sends
 * older than the cap's window are dropped; a message already counted (a retry) is allowed again
 * without counting twice.
 */
export function decideCap(sends: Send[], cap: ChannelCap, send: Send): CapDecision {
  const live = sends.filter((s) => s.at > send.at - cap.perMs);
  if (live.some((s) => s.id === send.id)) return { allowed: true, sends: live, added: false };
  const slots = slotsFor(cap, send.priority);
  if (live.length >= slots) return { allowed: false, used: live.length, slots };
  return { allowed: true, sends: [...live, send], added: true };
}
