/**
 * Durations as marketers write them: a positive whole number and a unit, `30s 15m 2h 3d 2w`, or
 * several of them in decreasing units (`1h30m`, `1d12h`). At most 3650 days.
 */
const UNIT_MS = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const ORDER = ['w', 'd', 'h', 'm', 's'];
export const MAX_DURATION_MS = 3650 * 86_400_000;
export const DURATION_HINT = 'use 30s, 15m, 3d, 2w';

/** Milliseconds, or null when `text` is not a duration. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (!/^(\d+[wdhms])+$/.test(s)) return null;
  let ms = 0;
  let last = -1;
  for (const m of s.matchAll(/(\d+)([wdhms])/g)) {
    const unit = m[2] as keyof typeof UNIT_MS;
    const rank = ORDER.indexOf(unit);
    if (rank <= last) return null; // units repeated or out of order (`3m1h`)
    last = rank;
    ms += Number(m[1]) * UNIT_MS[unit];
  }
  if (ms <= 0 || ms > MAX_DURATION_MS || !Number.isSafeInteger(ms)) return null;
  return ms;
}

/** `259200000` → `3d` (largest units first). */
export function formatDuration(ms: number): string {
  let rest = ms;
  let out = '';
  for (const u of ORDER) {
    const n = Math.floor(rest / UNIT_MS[u as keyof typeof UNIT_MS]);
    if (n) {
      out += `${n}${u}`;
      rest -= n * UNIT_MS[u as keyof typeof UNIT_MS];
    }
  }
  return out || `${ms}ms`;
}
