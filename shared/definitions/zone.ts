/**
 * IANA time zones with the runtime's own zone data (Intl; the same on Node 20 and 22): whether a name
 * is a zone, the wall-clock time of an instant in a zone, and the instants a wall-clock time names
 * (none in a spring-forward gap, two in a fall-back overlap). Used to validate a policy's
 * `timezone` and to place quiet hours in the person's local time (shared/journeys/policy/window.ts).
 */

/** A wall-clock reading: the local date, minutes since local midnight, and the weekday (0 = Sunday). */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  minuteOfDay: number;
  weekday: number;
  /** The reading as if it were UTC, ms (seconds included): `Date.UTC(year, month - 1, day, h, m, s)`. */
  wall: number;
}

const MAX_FORMATTERS = 1_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    // Names are the caller's data (a trait, an event's context): bounded, never a growing map.
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/** True when `zone` is an IANA time zone name the runtime knows (`Europe/Paris`, `UTC`). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || !zone || zone.length > 64) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time of instant `t` (ms) in `zone` (a valid zone: isTimeZone). */
export function localTime(t: number, zone: string): LocalTime {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const year = p.year!;
  const month = p.month!;
  const day = p.day!;
  const hour = p.hour!;
  const minute = p.minute!;
  const wall = Date.UTC(year, month - 1, day, hour, minute, p.second!);
  return { year, month, day, minuteOfDay: hour * 60 + minute, weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(), wall };
}

/** `zone`'s offset from UTC at instant `t`, ms (wall − UTC; Intl resolves seconds, so `t` is taken to the second). */
export function offsetAt(t: number, zone: string): number {
  return localTime(t, zone).wall - Math.floor(t / 1000) * 1000;
}

/**
 * The instants whose wall-clock time in `zone` is `wall` (a reading as if UTC, ms), ascending: one
 * usually, two in a fall-back overlap, none in a spring-forward gap. As Temporal does, the offsets a
 * day either side are the candidates (no zone changes its offset twice within two days).
 */
export function instantsAt(wall: number, zone: string): number[] {
  const offsets = new Set([offsetAt(wall - 86_400_000, zone), offsetAt(wall + 86_400_000, zone)]);
  const out = new Set<number>();
  for (const o of offsets) {
    const t = wall - o;
    if (localTime(t, zone).wall === wall) out.add(t);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The first instant at or after which the wall clock in `zone` reads `wall` or later, and not before
 * `notBefore`: the wall time itself when it exists (its earliest occurrence not before `notBefore`),
 * else, in a spring-forward gap, the instant the gap ends (the clock jumps past `wall`).
 */
export function firstInstantAt(wall: number, zone: string, notBefore = Number.NEGATIVE_INFINITY): number | undefined {
  const at = instantsAt(wall, zone).filter((t) => t >= notBefore);
  if (at.length) return at[0];
  if (instantsAt(wall, zone).length) return undefined; // it exists, but only before notBefore
  // In a gap: between `wall − larger offset` (before the jump) and `wall − smaller offset` (after it),
  // the smallest instant whose wall clock reads `wall` or later. Offsets change on whole seconds.
  const a = offsetAt(wall - 86_400_000, zone);
  const b = offsetAt(wall + 86_400_000, zone);
  let lo = Math.floor((wall - Math.max(a, b)) / 1000);
  let hi = Math.ceil((wall - Math.min(a, b)) / 1000);
  if (localTime(hi * 1000, zone).wall < wall) return undefined;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localTime(mid * 1000, zone).wall >= wall) hi = mid;
    else lo = mid;
  }
  const t = hi * 1000;
  return t >= notBefore ? t : undefined;
}
