/**
 * RFM, the one implementation: the quintile scoring and the named groups, used by λ scores (written
 * back to profiles, in TypeScript) and by `npx cairn report rfm` (as SQL over the lake, from the same
 * rule table). Pure: no I/O.
 *
 * Scores 1–5 are quintiles with SQL `ntile(5)` semantics, 5 best: most recent (fewest days since the
 * last order), most orders, most money. Ties on a quintile boundary are split by person id (the
 * report's user id, the profile id here), so equal values can land in neighbouring scores.
 *
 * Groups (first rule that matches; R, F, M the scores):
 *   champions    R ≥ 4 and F ≥ 4
 *   loyal        R = 3 and F ≥ 4
 *   new          R ≥ 4 and F = 1
 *   potential    R ≥ 3               (the rest of the recent buyers)
 *   cant_lose    F ≥ 4 and M ≥ 4     (R ≤ 2 from here on)
 *   at_risk      F ≥ 3
 *   hibernating  R = 2
 *   lost         otherwise
 */

export const RFM_GROUPS = ['champions', 'loyal', 'potential', 'new', 'at_risk', 'cant_lose', 'hibernating', 'lost'] as const;
export type RfmGroup = (typeof RFM_GROUPS)[number];

/** Inclusive score bounds [lo, hi] a rule requires of R, F and M (absent: any score). */
interface RfmRule {
  group: RfmGroup;
  r?: [number, number];
  f?: [number, number];
  m?: [number, number];
}

/** The rules in order; the last one (no bounds) is the fallback. */
export const RFM_RULES: readonly RfmRule[] = [
  { group: 'champions', r: [4, 5], f: [4, 5] },
  { group: 'loyal', r: [3, 3], f: [4, 5] },
  { group: 'new', r: [4, 5], f: [1, 1] },
  { group: 'potential', r: [3, 5] },
  { group: 'cant_lose', f: [4, 5], m: [4, 5] },
  { group: 'at_risk', f: [3, 5] },
  { group: 'hibernating', r: [2, 2] },
  { group: 'lost' },
];

const within = (v: number, b?: [number, number]) => !b || (v >= b[0] && v <= b[1]);

/** The group of scores (r, f, m), each 1–5. */
export function rfmGroup(r: number, f: number, m: number): RfmGroup {
  for (const rule of RFM_RULES) if (within(r, rule.r) && within(f, rule.f) && within(m, rule.m)) return rule.group;
  return 'lost';
}

function boundSql(col: string, b: [number, number]): string {
  if (b[0] === b[1]) return `${col} = ${b[0]}`;
  if (b[1] >= 5) return `${col} >= ${b[0]}`;
  if (b[0] <= 1) return `${col} <= ${b[1]}`;
  return `${col} BETWEEN ${b[0]} AND ${b[1]}`;
}

/** The same rules as a SQL CASE over columns r, f, m (the report's `rfm_group`). */
export function rfmGroupSql(): string {
  const lines = ['CASE'];
  for (const rule of RFM_RULES) {
    const conds = (['r', 'f', 'm'] as const).filter((k) => rule[k]).map((k) => boundSql(k, rule[k]!));
    lines.push(conds.length ? `  WHEN ${conds.join(' AND ')} THEN '${rule.group}'` : `  ELSE '${rule.group}'`);
  }
  lines.push('END');
  return lines.join('\n');
}

export const RFM_GROUP_SQL = rfmGroupSql();

/** SQL `ntile(n)` of the 0-based row `i` of `count` ordered rows: groups differ by at most one row, larger ones first. */
export function ntile(i: number, count: number, n = 5): number {
  const q = Math.floor(count / n);
  const rem = count % n;
  const big = rem * (q + 1);
  return i < big ? Math.floor(i / (q + 1)) + 1 : rem + Math.floor((i - big) / q) + 1;
}

/** One buyer's inputs: at least one order. */
export interface RfmInput {
  /** Person id (tie-break of equal values). */
  id: string;
  /** Whole days from the last order's UTC date to the as-of date. */
  recencyDays: number;
  frequency: number;
  monetary: number;
}

export interface RfmScore {
  r: number;
  f: number;
  m: number;
  group: RfmGroup;
}

const byId = (a: RfmInput, b: RfmInput) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Scores every buyer against the whole population, as the report's SQL does:
 * r = ntile(5) OVER (ORDER BY recency_days DESC, person), f over (frequency, person), m over (monetary, person).
 */
export function scoreRfm(people: readonly RfmInput[]): Map<string, RfmScore> {
  const n = people.length;
  const rank = (sorted: RfmInput[]) => new Map(sorted.map((p, i) => [p.id, ntile(i, n)]));
  const r = rank([...people].sort((a, b) => b.recencyDays - a.recencyDays || byId(a, b)));
  const f = rank([...people].sort((a, b) => a.frequency - b.frequency || byId(a, b)));
  const m = rank([...people].sort((a, b) => a.monetary - b.monetary || byId(a, b)));
  const out = new Map<string, RfmScore>();
  for (const p of people) {
    const s = { r: r.get(p.id)!, f: f.get(p.id)!, m: m.get(p.id)! };
    out.set(p.id, { ...s, group: rfmGroup(s.r, s.f, s.m) });
  }
  return out;
}

/** Whole days between two UTC dates (`date_diff('day', CAST(t AS DATE), asOf)`). */
export function daysBetween(lastIso: string, asOf: string): number {
  const day = (s: string) => Math.floor(Date.parse(s.length === 10 ? `${s}T00:00:00.000Z` : s) / 86_400_000);
  return day(asOf) - day(lastIso);
}
