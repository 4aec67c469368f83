/**
 * Weekly retention: people (resolved profiles, see people.ts) grouped by the ISO week (Monday, UTC) of
 * their first event in the range; for each following week 0..weeks, how many of the cohort had any
 * event that week and the share of the cohort that is. Week 0 is always 100%. A week that starts after
 * `lastDay` (today, or `--until` when earlier) has not happened yet: its `active` and `retained_pct`
 * are null (blank), never 0, so a recent cohort does not read as lost.
 */
import { lit, pct, timeRange, ts, type Dialect } from './dialect';
import { RAW_PERSON, people, type PersonBy } from './people';

export interface RetentionOptions {
  weeks: number;
  since?: string;
  until?: string;
  /** Who a person is (default `profile`: resolved through the profile snapshots; see people.ts). */
  by?: PersonBy;
  /** Read profile snapshots from this UTC date on only (`--profiles-since`; default all). */
  profilesSince?: string;
  /** The last UTC day (YYYY-MM-DD) the figures cover: weeks starting after it are null. Default: every week shows. */
  lastDay?: string;
}

/** The Monday (ISO week start, UTC) of a YYYY-MM-DD date. */
export function mondayOf(date: string): string {
  const t = Date.parse(`${date}T00:00:00Z`);
  const back = (new Date(t).getUTCDay() + 6) % 7;
  return new Date(t - back * 86_400_000).toISOString().slice(0, 10);
}

export function retentionSql(o: RetentionOptions, d: Dialect): string {
  const p = people(o.by ?? 'profile', d, o.profilesSince);
  const where = [`${RAW_PERSON} IS NOT NULL`, `"timestamp" IS NOT NULL`, ...timeRange(o, d)];
  const weekNumbers = Array.from({ length: o.weeks + 1 }, (_, i) => `(${i})`).join(', ');
  // The week of `lastDay` has happened (in part); a later one has not. Both are Mondays: whole weeks apart.
  const happened = o.lastDay ? `w.n <= date_diff('week', s.cohort_week, DATE ${lit(mondayOf(o.lastDay))})` : 'true';
  return [
    `WITH ${p.ctes.map((c) => `${c},\n`).join('')}activity AS (SELECT DISTINCT ${p.person} AS person, CAST(date_trunc('week', ${ts('"timestamp"', d)}) AS DATE) AS wk FROM ${p.from} WHERE ${where.join(' AND ')}),`,
    `cohorts AS (SELECT person, min(wk) AS cohort_week FROM activity GROUP BY person),`,
    `sizes AS (SELECT cohort_week, count(*) AS cohort_size FROM cohorts GROUP BY cohort_week),`,
    `active AS (SELECT c.cohort_week, date_diff('week', c.cohort_week, a.wk) AS week_number, count(*) AS active`,
    `  FROM activity a JOIN cohorts c ON a.person = c.person GROUP BY c.cohort_week, date_diff('week', c.cohort_week, a.wk)),`,
    `week_numbers AS (SELECT n FROM (VALUES ${weekNumbers}) AS w(n))`,
    `SELECT CAST(s.cohort_week AS VARCHAR) AS cohort_week, s.cohort_size, w.n AS week_number,`,
    `  CASE WHEN ${happened} THEN coalesce(a.active, 0) END AS active,`,
    `  CASE WHEN ${happened} THEN ${pct('coalesce(a.active, 0)', 's.cohort_size')} END AS retained_pct`,
    `FROM sizes s CROSS JOIN week_numbers w LEFT JOIN active a ON a.cohort_week = s.cohort_week AND a.week_number = w.n`,
    `ORDER BY s.cohort_week, w.n`,
  ].join('\n');
}
