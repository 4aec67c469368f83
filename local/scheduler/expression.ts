/**
 * EventBridge Scheduler schedule expressions, as far as the local scheduler runs them:
 * `at(yyyy-mm-ddThh:mm:ss)` in an IANA time zone (one-time) and `rate(n minute|minutes|hour|hours|day|days)`.
 */

export type ParsedExpression = { kind: 'at'; at: number } | { kind: 'rate'; everyMs: number };

/** Throws Error with a user-facing message when the expression or time zone is not valid. */
export function parseScheduleExpression(expr: string, timeZone = 'UTC'): ParsedExpression {
  zoneFormatter(timeZone); // validates the zone
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expr);
  if (at) {
    const [y, mo, d, h, mi, s] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) throw new Error(`Invalid Schedule Expression ${expr}.`);
    const utc = Date.UTC(y, mo - 1, d, h, mi, s);
    if (new Date(utc).getUTCDate() !== d) throw new Error(`Invalid Schedule Expression ${expr}.`);
    return { kind: 'at', at: zonedToUtc(utc, timeZone) };
  }
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expr);
  if (rate) {
    const n = Number(rate[1]);
    if (n < 1) throw new Error(`Invalid Schedule Expression ${expr}: the value must be a positive integer.`);
    const unit = rate[2]!.replace(/s$/, '');
    const ms = unit === 'minute' ? 60_000 : unit === 'hour' ? 3_600_000 : 86_400_000;
    return { kind: 'rate', everyMs: n * ms };
  }
  if (/^cron\(.*\)$/.test(expr)) throw new Error(`cron() schedules are not supported by the local scheduler (use at() or rate()): ${expr}`);
  throw new Error(`Invalid Schedule Expression ${expr}.`);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new Error(`Invalid ScheduleExpressionTimezone ${timeZone}.`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset (ms) of `timeZone` from UTC at instant `utcMs`. */
function offsetAt(utcMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of zoneFormatter(timeZone).formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** The UTC instant of wall-clock time `wallMs` (expressed as if UTC) in `timeZone`. */
export function zonedToUtc(wallMs: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return wallMs;
  let guess = wallMs - offsetAt(wallMs, timeZone);
  guess = wallMs - offsetAt(guess, timeZone); // settle across a DST change
  return guess;
}
