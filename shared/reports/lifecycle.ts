/**
 * Lifecycle (AARRR): people per stage over a window of UTC days [since, until], two ways:
 * - `new_people`: the cohort first seen in the window (acquisition), and how many of them reached
 *   each later stage in the window;
 * - `all_people`: everyone active in the window (any event), and how many reached each stage.
 *
 * Stages (person = the resolved profile, see people.ts; "in the window" = event timestamp in it):
 *   acquisition  new: the person's first event in the whole lake is in the window; all: any event in it
 *   activation   a `track` of an activation event (default `Order Completed`) in the window
 *   retention    events in at least 2 distinct ISO weeks (Monday, UTC) within the window
 *   revenue      a `track` with properties.revenue, else properties.total, > 0 in the window
 *   referral     a `track` of a referral event (default `Referral Sent`) in the window, or named as
 *                `properties.referrer_id` on another person's event in the window
 * Each later stage is a share of the acquisition row of its column (a person may reach a stage
 * without the ones before it: the stages are counted, not required in order).
 */
import { addDays, dayStart, jsonText, lit, nextDay, pct, ts, type Dialect } from './dialect';
import { RAW_PERSON, people, type PersonBy } from './people';

export interface LifecycleOptions {
  since: string;
  until: string;
  /**
   * Consecutive windows as long as [since, until], the last one being it (`--windows`; unset: that
   * window alone). All are counted in one query (one scan of the lake, not one per window); each row
   * then names its window (`window_since`, `window_until`).
   */
  windows?: number;
  activationEvents: string[];
  referralEvents: string[];
  /** Who a person is (default `profile`: resolved through the profile snapshots; see people.ts). */
  by?: PersonBy;
  /** Read profile snapshots from this UTC date on only (`--profiles-since`; default all). */
  profilesSince?: string;
}

export const LIFECYCLE_STAGES = ['acquisition', 'activation', 'retention', 'revenue', 'referral'] as const;

/** Most windows one lifecycle query counts (the console asks for at most 12). */
export const MAX_LIFECYCLE_WINDOWS = 52;

/** `count` consecutive windows as long as [since, until], the last one being it, oldest first. */
export function lifecycleWindows(since: string, until: string, count: number): { since: string; until: string }[] {
  const days = Math.round((Date.parse(`${until}T00:00:00Z`) - Date.parse(`${since}T00:00:00Z`)) / 86_400_000) + 1;
  return Array.from({ length: count }, (_, i) => {
    const back = (count - 1 - i) * days;
    return { since: addDays(since, -back), until: addDays(until, -back) };
  });
}

export function lifecycleSql(o: LifecycleOptions, d: Dialect): string {
  const t = ts('"timestamp"', d);
  const list = (xs: string[]) => xs.map(lit).join(', ');
  const amount = `coalesce(TRY_CAST(${jsonText('properties', 'revenue', d)} AS DOUBLE), TRY_CAST(${jsonText('properties', 'total', d)} AS DOUBLE), 0)`;
  const referrer = jsonText('properties', 'referrer_id', d);
  // `win` reads ev's columns unqualified: `wins` has none of these names.
  const wins = lifecycleWindows(o.since, o.until, o.windows ?? 1);
  // First-seen needs every event before the windows too: no lower bound here.
  const p = people(o.by ?? 'profile', d, o.profilesSince);
  // A referrer is named by user id: mapped to its person the same way.
  const ref = p.mapUserId('w.referrer', 'idm_r');
  const ev = [`${RAW_PERSON} IS NOT NULL`, `"timestamp" IS NOT NULL`, `${t} < ${dayStart(nextDay(o.until))}`];
  const column = LIFECYCLE_STAGES.map((_, i) => `WHEN ${i + 1} THEN f.${['active', 'activated', 'retained', 'paid', 'referred'][i]}`).join(' ');
  const named = o.windows !== undefined;
  return [
    `WITH ${p.ctes.map((c) => `${c},\n`).join('')}ev AS (SELECT ${p.person} AS person, ${t} AS t, type, event, properties FROM ${p.from} WHERE ${ev.join(' AND ')}),`,
    `wins AS (${wins
      .map(
        (w, i) =>
          `SELECT ${i + 1} AS wi, ${lit(w.since)} AS window_since, ${lit(w.until)} AS window_until, ${dayStart(w.since)} AS start_t, ${dayStart(nextDay(w.until))} AS end_t`,
      )
      .join(' UNION ALL ')}),`,
    `stage_names AS (${LIFECYCLE_STAGES.map((s, i) => `SELECT ${i + 1} AS k, ${lit(s)} AS stage`).join(' UNION ALL ')}),`,
    `first_seen AS (SELECT person, min(t) AS first_t FROM ev GROUP BY person),`,
    `win AS (SELECT ws.wi, e.person, e.t, e.type, e.event, ${amount} AS amount, ${referrer} AS referrer`,
    `  FROM ev e JOIN wins ws ON e.t >= ws.start_t AND e.t < ws.end_t),`,
    `per AS (SELECT wi, person, count(DISTINCT date_trunc('week', t)) AS weeks,`,
    `  max(CASE WHEN type = 'track' AND event IN (${list(o.activationEvents)}) THEN 1 ELSE 0 END) AS activated,`,
    `  max(CASE WHEN type = 'track' AND amount > 0 THEN 1 ELSE 0 END) AS paid,`,
    `  max(CASE WHEN type = 'track' AND event IN (${list(o.referralEvents)}) THEN 1 ELSE 0 END) AS referral_sent`,
    `  FROM win GROUP BY wi, person),`,
    `referrers AS (SELECT DISTINCT w.wi, ${ref.person} AS person FROM win w ${ref.join} WHERE w.referrer IS NOT NULL AND ${ref.person} <> w.person),`,
    `flags AS (SELECT p.wi, p.person, CASE WHEN fs.first_t >= ws.start_t THEN 1 ELSE 0 END AS acquired, 1 AS active, p.activated,`,
    `  CASE WHEN p.weeks >= 2 THEN 1 ELSE 0 END AS retained, p.paid,`,
    `  CASE WHEN p.referral_sent = 1 OR r.person IS NOT NULL THEN 1 ELSE 0 END AS referred`,
    `  FROM per p JOIN first_seen fs ON fs.person = p.person JOIN wins ws ON ws.wi = p.wi LEFT JOIN referrers r ON r.person = p.person AND r.wi = p.wi),`,
    // Every window gets every stage, counted 0 when nobody is in it.
    `stages AS (SELECT ws.wi, ws.window_since, ws.window_until, s.k, s.stage,`,
    `  sum(CASE WHEN f.acquired = 1 THEN CASE s.k ${column} END ELSE 0 END) AS new_people, sum(CASE s.k ${column} END) AS all_people`,
    `  FROM wins ws CROSS JOIN stage_names s LEFT JOIN flags f ON f.wi = ws.wi GROUP BY ws.wi, ws.window_since, ws.window_until, s.k, s.stage)`,
    `SELECT ${named ? 'window_since, window_until, ' : ''}stage, coalesce(new_people, 0) AS new_people,`,
    `  ${pct('new_people', 'first_value(new_people) OVER (PARTITION BY wi ORDER BY k)')} AS new_pct,`,
    `  coalesce(all_people, 0) AS all_people, ${pct('all_people', 'first_value(all_people) OVER (PARTITION BY wi ORDER BY k)')} AS all_pct`,
    `FROM stages ORDER BY wi, k`,
  ].join('\n');
}
