/**
 * Checks shared by collect and normalize: prototype-pollution keys and ISO-8601 timestamps.
 */

/**
 * How far past its arrival a message's `timestamp` may lie (device clocks run fast; sentAt corrects
 * most of it). Beyond, normalize sets `timestamp` to `receivedAt` and keeps the sent value as
 * `originalTimestamp`: a `9999-12-31` timestamp would otherwise win last-write-wins for ever.
 */
export const FUTURE_SKEW_MS = 5 * 60_000;

/** Why a whole number beyond 2^53 is refused as an id (collect, normalize and identity say the same). */
export const UNSAFE_NUMBER = 'is a whole number beyond 2^53, which JSON rounds into another id: send it as a string';

/** Keys that could pollute prototypes when a consumer merges objects naively. Rejected anywhere. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The first segment of a user-given dotted path that is a forbidden key (`__proto__`, `constructor`,
 * `prototype`), or undefined. Every path that builds or walks an object (trigger filters, import
 * targets, definition fields) is refused with it: written through, `a.__proto__.x` would set `x` on
 * every object of a warm Lambda.
 */
export const forbiddenSegment = (segments: readonly string[]): string | undefined => segments.find((s) => FORBIDDEN_KEYS.has(s));

/**
 * Path of the first forbidden key in `value` (e.g. `properties.a[2].__proto__`), or undefined.
 * `base` prefixes the path (e.g. `batch[3]`). Iterates own enumerable keys only; depth-limited.
 */
export function findForbiddenKey(value: unknown, base = ''): string | undefined {
  const hit = walk(value, 0);
  if (!hit) return undefined;
  return formatPath(base, hit);
}

function walk(value: unknown, depth: number): (string | number)[] | undefined {
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v !== null && typeof v === 'object') {
        const p = walk(v, depth + 1);
        if (p) return [i, ...p];
      }
    }
    return undefined;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (FORBIDDEN_KEYS.has(k)) return [k];
    const v = (value as Record<string, unknown>)[k];
    if (v !== null && typeof v === 'object') {
      const p = walk(v, depth + 1);
      if (p) return [k, ...p];
    }
  }
  return undefined;
}

/** `formatPath('batch[3]', ['properties', 'a', 0])` → `batch[3].properties.a[0]`. */
export function formatPath(base: string, parts: readonly (string | number | symbol)[]): string {
  let out = base;
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an ISO-8601 date or date-time string to epoch milliseconds, or returns NaN.
 * A date-time without a zone is read as UTC (never as the machine's local time). Fractions beyond
 * milliseconds are truncated. Out-of-range parts (month 13, 25:00) are rejected.
 */
export function parseIsoTimestamp(value: unknown): number {
  if (typeof value !== 'string' || value.length > 40) return NaN;
  const m = ISO_RE.exec(value.trim());
  if (!m) return NaN;
  const year = +m[1]!,
    month = +m[2]!,
    day = +m[3]!;
  const hour = m[4] ? +m[4] : 0,
    minute = m[5] ? +m[5] : 0,
    second = m[6] ? +m[6] : 0;
  const ms = m[7] ? +m[7].slice(0, 3).padEnd(3, '0') : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return NaN;
  let t = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), ms);
  // Reject e.g. Feb 30 (Date.UTC would roll over).
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return NaN;
  const zone = m[8];
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zh = +digits.slice(0, 2),
      zm = digits.length > 2 ? +digits.slice(2, 4) : 0;
    if (zh > 23 || zm > 59) return NaN;
    t -= sign * (zh * 60 + zm) * 60_000;
  }
  return t;
}

/** ISO-8601 UTC with milliseconds (`2024-05-01T12:00:00.000Z`), or undefined when `value` does not parse. */
export function toIsoUtc(value: unknown): string | undefined {
  const t = parseIsoTimestamp(value);
  if (Number.isNaN(t)) return undefined;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
