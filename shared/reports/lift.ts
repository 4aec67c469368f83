/**
 * The confidence interval of a journey's lift (docs/reports.md#journey): treated conversion minus
 * holdout conversion, two independent proportions, with Newcombe's hybrid score interval (method 10
 * of Newcombe 1998, "Interval estimation for the difference between independent proportions"):
 *
 *   Wilson score interval of each proportion p = x/n, z = 1.96 (95 %):
 *     (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)  →  [l, u]
 *   d = p1 − p2
 *   low  = d − √((p1 − l1)² + (u2 − p2)²)
 *   high = d + √((u1 − p1)² + (p2 − l2)²)
 *
 * Unlike the normal approximation (d ± z·√(p1q1/n1 + p2q2/n2)) it stays inside [−1, 1], and it
 * neither collapses to zero width nor goes wild when a group converts 0 % or 100 % or is small —
 * the usual case for a holdout of a few percent. An interval that contains 0 says the data do not
 * show the journey changed the conversion rate either way.
 */
import type { QueryResult } from './result';

export const Z95 = 1.959963984540054;

/** Wilson score interval of x successes out of n (n > 0). */
export function wilson(x: number, n: number, z = Z95): [number, number] {
  const p = x / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const den = 1 + z2 / n;
  return [Math.max(0, (centre - half) / den), Math.min(1, (centre + half) / den)];
}

/** Newcombe's hybrid score interval of p1 − p2 (null when a group is empty). */
export function newcombe(x1: number, n1: number, x2: number, n2: number, z = Z95): [number, number] | null {
  if (!(n1 > 0 && n2 > 0)) return null;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = wilson(x1, n1, z);
  const [l2, u2] = wilson(x2, n2, z);
  const d = p1 - p2;
  return [d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Adds `lift / ci95_low_pct_points` and `lift / ci95_high_pct_points` after the journey report's
 * `lift` row, from its `treated` and `holdout` rows (people, converted). No lift row (no holdout): unchanged.
 */
export function withLiftInterval(result: QueryResult): QueryResult {
  const at = result.rows.findIndex((r) => r[0] === 'lift');
  if (at < 0) return result;
  const row = (item: string) => result.rows.find((r) => r[0] === 'audience' && r[1] === item);
  const n = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0));
  const t = row('treated');
  const h = row('holdout');
  const ci = t && h ? newcombe(n(t[3]), n(t[2]), n(h[3]), n(h[2])) : null;
  const rows = [...result.rows];
  rows.splice(
    at + 1,
    0,
    ['lift', 'ci95_low_pct_points', null, null, ci ? round1(100 * ci[0]) : null],
    ['lift', 'ci95_high_pct_points', null, null, ci ? round1(100 * ci[1]) : null],
  );
  return { columns: result.columns, rows };
}
